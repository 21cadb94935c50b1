"""The behavioural suite's levels: the written pairs rated blind by two annotators, then adjudicated.

    python benchmarks/behaviour/build.py batches    # written/*.jsonl -> blind batches for two passes
    python benchmarks/behaviour/build.py adjudicate # the statements the passes disagree on -> one batch
    python benchmarks/behaviour/build.py build      # -> suite.jsonl + quality.json

Two AI-agent sessions wrote minimal pairs per category with the levels they intended
(``written/``). Each statement was then rated blind in two independent passes (``bra_*``, ``brb_*``):
text only, hidden gold statements in every batch, and the two halves of a pair never in the same
batch, so a rater does not see the contrast. Where the passes disagree a third session adjudicated.
The suite's level of a statement is the raters' level, not the writer's intention; a pair whose
statements the raters put at levels the category did not intend stays in the suite with the raters'
levels (the pair test then checks the direction the raters saw).
"""

from __future__ import annotations

import argparse
import json
import random
import sys
from collections import Counter
from pathlib import Path

HERE = Path(__file__).resolve().parent
ROOT = HERE.parents[1]
sys.path.insert(0, str(ROOT / "training"))

from annotation import (LEVELS, agreement, adjudication_workspace, check, hidden_gold_sample, item_id,  # noqa: E402
                        read_jsonl, read_labels, write_jsonl)

GOLD_FILES = [ROOT / "training" / "gold" / f for f in ("gold.jsonl", "gold_round3.jsonl")]
PASSES = {"bra": 61, "brb": 62}


def cases() -> list[dict]:
    return [c for path in sorted((HERE / "written").glob("*.jsonl")) for c in read_jsonl(path)]


def statements() -> list[tuple[str, str]]:
    """(statement id, text): ``<case_id>/a`` and ``<case_id>/b``."""
    return [(f"{c['case_id']}/{side}", c[side]) for c in cases() for side in "ab"]


def batches() -> None:
    gold = [g for path in GOLD_FILES for g in read_jsonl(path) if g.get("split", "dev") == "dev"]
    key = []
    for p, (name, seed) in enumerate(PASSES.items()):
        rng = random.Random(seed)
        for b in range(2):
            batch = f"{name}_{b:02d}"
            # a-halves of even cases and b-halves of odd ones in one batch, the rest in the other; swapped in pass B
            items = [(sid, text, False) for i, c in enumerate(cases()) for side in "ab"
                     for sid, text in [(f"{c['case_id']}/{side}", c[side])]
                     if ((i + (side == "b") + p + b) % 2 == 0)]
            items += [(g["gold_id"], g["text"], True) for g in hidden_gold_sample(gold, 30, rng)]
            rng.shuffle(items)
            write_jsonl(HERE / "batches" / f"{batch}.jsonl", [{"item_id": item_id(batch, s), "text": t} for s, t, _ in items])
            key += [{"item_id": item_id(batch, s), "source_id": s, "batch": batch, "hidden": h} for s, _, h in items]
    write_jsonl(HERE / "batches" / "key.jsonl", key)
    print(f"{len(statements())} statements, {len(key)} items in {len({k['batch'] for k in key})} batches")


def _passes() -> tuple[dict, dict]:
    key = read_jsonl(HERE / "batches" / "key.jsonl")
    gold = {g["gold_id"]: g["level"] for path in GOLD_FILES for g in read_jsonl(path)}
    ratings, quality = {name: {} for name in PASSES}, {}
    for batch in sorted({k["batch"] for k in key}):
        labels = read_labels(HERE / "annotations" / f"{batch}.jsonl")
        quality[batch] = check(labels, key, batch, gold)
        for k in key:
            if k["batch"] == batch and not k["hidden"]:
                ratings[batch[:3]][k["source_id"]] = labels[k["item_id"]]
    # Passes below QWK 0.90 were redone by a fresh annotator; the discarded ones are scored, never used.
    for path in sorted((HERE / "annotations" / "discarded").glob("*.jsonl")):
        quality[f"discarded {path.stem}"] = check(read_labels(path), key, path.stem.split("_pass")[0], gold)
    return ratings, quality


def adjudicate() -> None:
    ratings, _ = _passes()
    text = dict(statements())
    a, b = (ratings[name] for name in PASSES)
    items = [{"item_id": item_id("badj", s), "text": text[s], "first": a[s], "second": b[s]} for s in sorted(text) if a[s] != b[s]]
    adjudication_workspace(items, Path("/tmp") / "b_adj")
    print(f"{len(items)} disagreements written to /tmp/b_adj (copy labels.jsonl to annotations/adjudication.jsonl)")


def build() -> None:
    ratings, quality = _passes()
    a, b = (ratings[name] for name in PASSES)
    adj = {r["item_id"]: r["level"] for r in read_jsonl(HERE / "annotations" / "adjudication.jsonl")}

    def level(sid):
        return a[sid] if a[sid] == b[sid] else int(adj[item_id("badj", sid)])

    out = []
    for c in cases():
        la, lb = level(f"{c['case_id']}/a"), level(f"{c['case_id']}/b")
        out.append({"case_id": c["case_id"], "category": c["category"], "a": c["a"], "b": c["b"], "level_a": la,
                    "level_b": lb, "written_level_a": c["level_a"], "written_level_b": c["level_b"], "note": c.get("note")})
    write_jsonl(HERE / "suite.jsonl", out)
    sids = sorted(a)
    written = {f"{c['case_id']}/{s}": c[f"level_{s}"] for c in cases() for s in "ab"}
    summary = {"pairs": len(out), "categories": dict(Counter(c["category"] for c in out)),
               "passes A vs B (before adjudication)": agreement([a[s] for s in sids], [b[s] for s in sids]),
               "adjudicated": sum(a[s] != b[s] for s in sids),
               "writer's level vs final": agreement([written[s] for s in sids], [level(s) for s in sids]),
               "pairs whose rated direction differs from the written one": sum(
                   (c["level_b"] > c["level_a"]) != (c["written_level_b"] > c["written_level_a"])
                   or (c["level_b"] < c["level_a"]) != (c["written_level_b"] < c["written_level_a"]) for c in out),
               "levels": dict(Counter(LEVELS[lv] for c in out for lv in (c["level_a"], c["level_b"]))),
               "batches vs hidden gold": quality}
    (HERE / "quality.json").write_text(json.dumps(summary, indent=2) + "\n")
    print(json.dumps({k: v for k, v in summary.items() if k != "batches vs hidden gold"}, indent=2))


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("step", choices=("batches", "adjudicate", "build"))
    {"batches": batches, "adjudicate": adjudicate, "build": build}[parser.parse_args().step]()
