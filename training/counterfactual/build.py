"""Counterfactual pairs: minimal edits of real statements, each edit rated blind.

    python training/counterfactual/build.py sources --round 7      # a round's source statements for the writers (rounds 4-7)
    python training/counterfactual/build.py batches [--round 2-7]    # written edits -> candidates + blind batches
    python training/counterfactual/build.py build                  # ratings of every round -> edits.jsonl + quality.json

Writers (AI-agent sessions, ``written/<writer>.jsonl``) received real statements from silver round 2's
natural draw (text only) and wrote three minimal edits of each: two that change the tone (negation,
condition, consequence, reported speech, hedge, veiled threat, insult, demand; one up, one down where
the sentence allows) and one that keeps the tone while changing the topic words (tariff, war,
sanction, weapon, reserves ... put into calm sentences or taken out of hostile ones). They state the
level they intend. The edits are then rated blind, like silver statements (text only, mixed batches
with hidden gold statements, another annotator): that rating is the edit's label, not the writer's
intention. The pair's other half is the source statement with its silver rating.

Round 2 (``written/cf2_*``) asked for two edits of sources from the shortcut and active-learning
strands, of the kinds round 1 had fewest of and the behavioural weak spots of the previous model
(negation, reported speech, reporters' questions, veiled threats in spoken register, hedges, blame
added to or removed from a statement of concern).

Round 3 (``written/cf3_*``) asked for two edits of sources from the ``recent3`` strand (the register
nearest the future period): one that changes the level (negation, veiled threat in spoken register,
condition with a consequence, reported speech, a threat at the end of a friendly statement) and one
that keeps it while putting in or taking out strategic-sounding words (tariffs, sanctions, war,
reserves, Treasury holdings, leverage, ...).

Round 4 (``written/cf4_*``) asked for two edits of sources from the ``structure3`` strand (``sources``:
equal numbers from each of its seven sentence forms, at random), one that changes the level and one that
keeps it, aimed at the weakest categories of the model of 2026-12-06's behavioural suite: negation,
veiled threats in spoken register, leverage named without the word "card", trade measures that punish
or merely regulate, and calm statements about reserves and holdings.

Round 5 (``written/cf5_*``) asked for two edits of sources from the ``spoken``, ``spoken2``, ``written`` and
``written2`` strands (White House remarks, briefings, fact sheets and statements before the future period), a
suggested kind for the level-changing one (negation and veiled threats most often); a writer names the kind
it used where the sentence did not allow the suggested one.

Round 6 (``written/cf6_*``) did the same with sources from the ``spoken3``, ``written3`` and ``trade2`` strands,
suggesting negation (4 in 10), veiled threats (3), reported speech (2) and consequences (1): the behavioural
suite's weakest categories for the e5 model of 2026-12-07 (negation 29 %, veiled threats 36 %, reported
speech 57 %).

Round 7 (``written/cf7_*``) did the same with sources from the ``active6`` strand (the statements the shipped e5
model was least sure of), suggesting reported speech less often (1 in 10; in round 6 most such sources held
no threat to report) and consequences more (2 in 10).

Edits that use the word "card" are left out, so the motivating remark ("... holdings exists as a
card in our negotiations") stays an independent test.
"""

from __future__ import annotations

import argparse
import json
import re
import sys
from collections import Counter
from pathlib import Path

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE.parent))

from annotation import GOLD_FILES, LEVELS, agreement, collect, read_jsonl, read_log, write_batches, write_jsonl  # noqa: E402

SILVER2 = HERE.parent / "silver2" / "silver2.jsonl"
# batch: why its edits are left out (no pass reached QWK 0.90 on its hidden gold statements)
DROPPED = {"sed6_01": "three annotators with the scale's brief, hidden-gold QWK 0.891, 0.891, 0.875 (a fourth pass, "
                      "0.872, had a brief that misstated the reported-speech rule and was never eligible)"}
CARD = re.compile(r"\bcards?\b", re.I)
KINDS = ("negation", "condition", "consequence", "reported", "hedge", "veiled", "insult", "demand", "topic")


# round -> (writers' files, batch name, batch seed, candidates file, key file)
ROUNDS = {1: ("cf_w*.jsonl", "sed", 36, "candidates.jsonl", "key.jsonl"),
          2: ("cf2_w*.jsonl", "sed2", 37, "candidates_round2.jsonl", "key_round2.jsonl"),
          3: ("cf3_w*.jsonl", "sed3", 38, "candidates_round3.jsonl", "key_round3.jsonl"),
          4: ("cf4_w*.jsonl", "sed4", 39, "candidates_round4.jsonl", "key_round4.jsonl"),
          5: ("cf5_w*.jsonl", "sed5", 40, "candidates_round5.jsonl", "key_round5.jsonl"),
          6: ("cf6_w*.jsonl", "sed6", 41, "candidates_round6.jsonl", "key_round6.jsonl"),
          7: ("cf7_w*.jsonl", "sed7", 42, "candidates_round7.jsonl", "key_round7.jsonl")}
# round -> the silver 2 strands its sources come from, how many, the draw's seed, whether equal numbers
# come from each sentence form of the (one) strand, and the suggested kinds of the level-changing edit (given
# to the sources in turn, by count; round 5's were given outside this script)
SOURCES = {4: {"strands": ("structure3",), "n": 440, "seed": 39, "by_form": True},
           5: {"strands": ("spoken", "spoken2", "written", "written2"), "n": 440, "seed": 40, "by_form": False},
           6: {"strands": ("spoken3", "written3", "trade2"), "n": 440, "seed": 41, "by_form": False,
               "kinds": {"negation": 4, "veiled": 3, "reported": 2, "consequence": 1}},
           7: {"strands": ("active6",), "n": 440, "seed": 42, "by_form": False,
               "kinds": {"negation": 4, "veiled": 3, "consequence": 2, "reported": 1}}}


def sources(round_: int, out: Path) -> None:
    """A round's source statements (``SOURCES``; rounds 1-3 were drawn before this script drew them), at
    random, as ``out/sources.jsonl`` (``source_id``, ``text``: what the writers see)."""
    import random

    if round_ not in SOURCES:
        raise SystemExit(f"sources --round {round_}: this script draws the sources of rounds {sorted(SOURCES)} "
                         "(rounds 1-3: see the README)")
    spec = SOURCES[round_]
    rows = [r for r in read_jsonl(SILVER2) if r["strand"] in spec["strands"]]
    rng, chosen = random.Random(spec["seed"]), []
    if spec["by_form"]:
        (strand,) = spec["strands"]
        form = {c["cand_id"]: c["stratum"] for c in read_jsonl(HERE.parent / "silver2" / f"candidates_{strand}.jsonl")}
        forms = sorted({form[r["silver_id"]] for r in rows})
        for i, f in enumerate(forms):
            pool = [r for r in rows if form[r["silver_id"]] == f]
            chosen += rng.sample(pool, spec["n"] // len(forms) + (i < spec["n"] % len(forms)))
    else:
        chosen = rng.sample(rows, spec["n"])
    rng.shuffle(chosen)
    kinds = [k for k, n in spec.get("kinds", {}).items() for _ in range(n)]
    write_jsonl(out / "sources.jsonl", [{"source_id": r["silver_id"], "text": r["text"]}
                                        | ({"suggested_kind": kinds[i % len(kinds)]} if kinds else {})
                                        for i, r in enumerate(chosen)])
    print(f"{len(chosen)} sources of {', '.join(spec['strands'])} -> {out / 'sources.jsonl'}")


def written(pattern: str) -> list[dict]:
    """The writers' edits; where a writer rewrote an edit, its last line counts."""
    rows = {}
    for path in sorted((HERE / "written").glob(pattern)):
        for r in read_jsonl(path):
            rows[path.stem, r.get("edit_id")] = {**r, "writer": path.stem}
    return list(rows.values())


def batches(round_: int) -> None:
    pattern, name, seed, candidates_file, key_file = ROUNDS[round_]
    sources = {r["silver_id"]: r for r in read_jsonl(SILVER2)}
    rows, dropped = [], Counter()
    seen = {" ".join(r["text"].lower().split()) for earlier, other in ROUNDS.items() if earlier < round_
            for r in read_jsonl(HERE / other[3])}  # an edit already rated in an earlier round
    for r in written(pattern):
        text = " ".join(str(r.get("text", "")).split())
        src = sources.get(r.get("source_id"))
        why = ("unknown source" if src is None else "same as source" if src and text.lower() == src["text"].lower()
               else "empty" if not text else "uses 'card'" if CARD.search(text) else "duplicate" if text.lower() in seen
               else None)
        if why:
            dropped[why] += 1
            continue
        seen.add(text.lower())
        # a writer who could not use the suggested kind names its own first, then why: "negation (instead of ...)"
        kind = str(r.get("kind") or "").split("(")[0].strip() or None
        rows.append({"cand_id": r["edit_id"], "source_id": r["source_id"], "text": text, "kind": kind,
                     "direction": r.get("direction"), "intended_level": r.get("intended_level"), "writer": r["writer"]})
    write_jsonl(HERE / candidates_file, rows)
    gold = [g for path in GOLD_FILES for g in read_jsonl(path) if g.get("split", "dev") == "dev"]
    key = write_batches(name, rows, gold, size=200, hidden=30, seed=seed, out=HERE / "batches")
    write_jsonl(HERE / "batches" / key_file, key)
    print(f"{len(rows)} edits in {len({k['batch'] for k in key})} batches; dropped {dict(dropped)}")


def build() -> None:
    gold = {g["gold_id"]: g["level"] for path in GOLD_FILES for g in read_jsonl(path)}
    sources = {r["silver_id"]: r for r in read_jsonl(SILVER2)}
    ratings, quality = {}, {}
    for round_, (_, _, _, candidates_file, key_file) in ROUNDS.items():
        if (HERE / "batches" / key_file).is_file():
            r, q = collect(read_jsonl(HERE / "batches" / key_file), HERE / "annotations", gold,
                           read_log(HERE / "annotation_log.jsonl"), dropped=tuple(DROPPED))
            ratings.update({k: {**v, "round": round_} for k, v in r.items()})
            quality.update(q)
    in_dropped = {k["source_id"] for _, _, _, _, key_file in ROUNDS.values() if (HERE / "batches" / key_file).is_file()
                  for k in read_jsonl(HERE / "batches" / key_file) if k["batch"] in DROPPED}
    rows, unrated = [], Counter()
    for c in (c for _, _, _, f, _ in ROUNDS.values() if (HERE / f).is_file() for c in read_jsonl(HERE / f)):
        if c["cand_id"] in in_dropped:
            unrated[c["writer"]] += 1
            continue
        r, src = ratings[c["cand_id"]], sources[c["source_id"]]
        rows.append({"edit_id": c["cand_id"], "round": r["round"], "source_id": c["source_id"], "source_text": src["text"],
                     "source_level": src["level"], "text": c["text"], "kind": c["kind"], "writer": c["writer"],
                     "intended_direction": c["direction"], "intended_level": c["intended_level"],
                     "level": r["level"], "label": LEVELS[r["level"]],
                     **{k: v for k, v in r.items() if k not in ("level", "round")}})
    write_jsonl(HERE / "edits.jsonl", rows)
    moved = Counter()
    for r in rows:
        d = r["level"] - r["source_level"]
        got = "up" if d > 0 else "down" if d < 0 else "same"
        moved[(r["intended_direction"], got)] += 1
    intended = [r for r in rows if isinstance(r["intended_level"], int) and r["intended_level"] in range(5)]
    summary = {"n": len(rows), "per round": dict(Counter(r["round"] for r in rows)),
               "sources": len({r["source_id"] for r in rows}),
               "levels": {name: sum(r["level"] == k for r in rows) for k, name in enumerate(LEVELS)},
               "kinds": dict(Counter(r["kind"] for r in rows)),
               "pairs that change level (blind ratings)": sum(r["level"] != r["source_level"] for r in rows),
               "pairs that keep level (blind ratings)": sum(r["level"] == r["source_level"] for r in rows),
               "intended direction vs blind direction": {f"{a} -> {b}": n for (a, b), n in sorted(moved.items())},
               "writer's intended level vs blind rating": agreement([r["intended_level"] for r in intended],
                                                                    [r["level"] for r in intended]),
               "dropped batches": DROPPED, "edits left unrated (dropped batches), per writer": dict(unrated),
               "batches": quality}
    (HERE / "quality.json").write_text(json.dumps(summary, indent=2) + "\n")
    print(json.dumps({k: v for k, v in summary.items() if k != "batches"}, indent=2))


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("step", choices=("sources", "batches", "build"))
    parser.add_argument("--round", type=int, default=1, choices=sorted(ROUNDS))
    parser.add_argument("--out", default=str(HERE / "batches"), help="sources: where sources.jsonl goes")
    a = parser.parse_args()
    if a.step == "sources":
        sources(a.round, Path(a.out))
    elif a.step == "batches":
        batches(a.round)
    else:
        build()
