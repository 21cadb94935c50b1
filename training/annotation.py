"""Human-quality labels at scale: draw statements, write blind batches, collect and check ratings.

One home for the machinery that every labelled set of ``training/`` shares (the future test, the
second silver round, the counterfactual edits):

* :func:`documents` and :func:`doc_type`: the shared corpora, one record per document, with its type
  (UN speech, remarks, press briefing, fact sheet, statement, readout, joint statement, proclamation);
* :func:`in_future`: the period that no training data may come from (White House from July 2024,
  UN General Debate 2021-2022);
* :func:`draw`: statements cut by the library's own segmenter, drawn with quotas per stratum and at
  most ``per_doc`` per document;
* :func:`write_batches`: blind batches (``item_id`` + ``text`` only) that hide gold statements,
  stratified by level, among the candidates; the key to them stays with the project;
* :func:`workspace`: a private folder for one annotator, with the scale and the instructions;
* :func:`take`: an annotator's finished ``labels.jsonl`` into the set's ``annotations/``, logged with who
  and when (a pass already there goes to ``annotations/discarded/`` first: :func:`discard`);
* :func:`collect`: an annotator's ``[item_id, level]`` pairs, checked (every item once, levels
  0-4) and measured against the hidden gold levels.

    python training/annotation.py take training/silver2 ssp_00 /work/annotators/spoken/ssp_00 \
        --annotator "AI-agent session helper-261"
    python training/annotation.py discard training/silver2 sre7_05    # the last pass of a dropped batch

Annotators are AI-agent sessions given the scale and a batch, nothing else; they decide every
level by reading, and programs that assign levels are forbidden.
"""

from __future__ import annotations

import gzip
import hashlib
import json
import random
import re
import shutil
import sys
from collections import defaultdict
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
SHARED = ROOT.parent / "shared"
# The gold set (two blind ratings + adjudication): its dev statements hide in every labelling batch.
GOLD_FILES = [ROOT / "training" / "gold" / f for f in ("gold.jsonl", "gold_round3.jsonl")]
CORPORA = ("un-general-debate-1990-2022.jsonl.gz", "white-house-2021-2025.jsonl.gz")
SCALE = SHARED / "tone-scale.md"
LEVELS = ("cautious", "measured", "firm", "assertive", "confrontational")
DOC_TYPES = ("UN speech", "remarks", "press briefing", "fact sheet", "statement", "readout",
             "joint statement", "proclamation")


def read_jsonl(path) -> list[dict]:
    with open(path, encoding="utf-8") as f:
        return [json.loads(line) for line in f if line.strip()]


def write_jsonl(path, rows) -> None:
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_suffix(path.suffix + ".tmp")
    with open(tmp, "w", encoding="utf-8") as f:
        f.writelines(json.dumps(r, ensure_ascii=False) + "\n" for r in rows)
    tmp.replace(path)


def doc_type(doc: dict) -> str:
    """The kind of document, from its source and title (White House releases carry it in the title)."""
    source, title = doc["source"], doc.get("title", "").lower()
    if source == "un-general-debate":
        return "UN speech"
    if source == "white-house-press-briefings" or "gaggle" in title or "press call" in title:
        return "press briefing"
    if source == "white-house-speeches-remarks":
        return "remarks"
    for key, name in (("proclamation", "proclamation"), ("joint statement", "joint statement"),
                      ("fact sheet", "fact sheet"), ("readout", "readout"), ("remarks", "remarks")):
        if key in title:
            return name
    return "statement"


def in_future(source: str, date: str) -> bool:
    """Whether a statement's document lies in the held-out future period (never trained on)."""
    if source == "un-general-debate":
        return date[:4] >= "2021"
    return date[:7] >= "2024-07"


def documents(data=SHARED / "data" / "statements"):
    """Every document of the shared corpora, with ``doc_type`` added."""
    for name in CORPORA:
        with gzip.open(Path(data) / name, "rt", encoding="utf-8") as f:
            for line in f:
                d = json.loads(line)
                d["doc_type"] = doc_type(d)
                yield d


def _stable(key: str) -> int:
    return int(hashlib.sha256(key.encode()).hexdigest(), 16)


def draw(docs, quotas: dict, *, seed: int, per_doc: int = 2, keep=None, prefix: str) -> list[dict]:
    """Statements drawn naturally within strata: ``quotas`` maps a stratum name to a count.

    ``docs`` is a list of ``(stratum, document)``. Within a stratum, documents are taken in a
    seeded random order and one random statement each (cut by ``tonecls.labeling.split_statements``);
    a second pass takes a second one, up to ``per_doc``. ``keep(statement) -> bool`` filters
    candidate statements (e.g. a word list); without it the draw follows the documents' own text.
    """
    from tonecls.labeling.segment import split_statements

    rng = random.Random(seed)
    by_stratum = defaultdict(list)
    for stratum, d in docs:
        by_stratum[stratum].append(d)
    chosen, seen = [], set()
    for stratum in sorted(quotas):
        pool = sorted(by_stratum[stratum], key=lambda d: d["id"])
        rng.shuffle(pool)
        options = {}
        for d in pool:
            statements = [s for s in split_statements(d["text"]) if keep is None or keep(s)]
            rng.shuffle(statements)
            options[d["id"]] = (d, statements)
        taken = 0
        for round_ in range(per_doc):
            for d in pool:
                if taken >= quotas[stratum]:
                    break
                doc, statements = options[d["id"]]
                while len(statements) > round_:
                    s = statements[round_]
                    key = " ".join(s.lower().split())
                    if key in seen:
                        statements.pop(round_)
                        continue
                    seen.add(key)
                    chosen.append({"doc_id": doc["id"], "source": doc["source"], "actor": doc["actor"], "date": doc["date"],
                                   "doc_type": doc["doc_type"], "stratum": stratum, "text": s})
                    taken += 1
                    break
        if taken < quotas[stratum]:
            print(f"stratum {stratum!r}: {taken} of {quotas[stratum]} (not enough documents)")
    rng.shuffle(chosen)
    return [{"cand_id": f"{prefix}{i:05d}", **c} for i, c in enumerate(chosen)]


def item_id(salt: str, source_id: str) -> str:
    """The id an annotator sees: a salted hash, so hidden gold statements look like any other."""
    return "x" + hashlib.sha256(f"{salt}|{source_id}".encode()).hexdigest()[:10]


def hidden_gold_sample(gold: list[dict], n: int, rng: random.Random) -> list[dict]:
    """``n`` gold statements spread over the levels (about 5/9/6/6/4 of 30), so QWK on them means something."""
    share = np.array([5, 9, 6, 6, 4]) / 30
    want = np.floor(share * n).astype(int)
    want[1] += n - want.sum()
    out = []
    for level, k in enumerate(want):
        pool = [g for g in gold if g["level"] == level]
        out += rng.sample(pool, min(k, len(pool)))
    return out


def write_batches(name: str, candidates: list[dict], gold: list[dict], *, size: int, hidden: int, seed: int,
                  out: Path) -> list[dict]:
    """Blind batches ``out/<name>_<b>.jsonl`` of about ``size`` candidates plus ``hidden`` gold statements.

    Returns the key rows (``item_id``, ``source_id``, ``batch``, ``hidden``); annotators never see it.
    """
    rng = random.Random(seed)
    n_batches = max(1, round(len(candidates) / size))
    order = rng.sample(candidates, len(candidates))
    key = []
    for b in range(n_batches):
        batch = f"{name}_{b:02d}"
        items = [(c["cand_id"], c["text"], False) for c in order[b::n_batches]]
        items += [(g["gold_id"], g["text"], True) for g in hidden_gold_sample(gold, hidden, rng)]
        rng.shuffle(items)
        rows = [{"item_id": item_id(batch, sid), "text": text} for sid, text, _ in items]
        write_jsonl(out / f"{batch}.jsonl", rows)
        key += [{"item_id": item_id(batch, sid), "source_id": sid, "batch": batch, "hidden": h} for sid, _, h in items]
    return key


INSTRUCTIONS = """# Your task: rate the tone of {n} official statements

You are an annotator for a tone-rating project. Read `tone-scale.md` in this folder first and
keep it open: it defines five levels, 0 cautious, 1 measured, 2 firm, 3 assertive,
4 confrontational, and the rules for hard cases. Then rate every statement in `batch.jsonl`.

Rules:
- Work only in this folder. Do not open any other file or folder on this machine, and do not
  look anything up: the statement text and the scale are all you need.
- Decide every level yourself by reading the statement against the scale. Writing or running a
  program, regular expression or word list that assigns or suggests levels is forbidden; so is
  copying levels from anywhere. You may use a program only to read the batch and to check your
  output file's format (every id once, levels 0-4).
- Rate the tone the speaker takes toward other actors, not how grave the topic is. Apply the
  hard-case rules (strongest clause; reported speech; condemning without a named response is
  firm; named response or punishment is assertive/confrontational; treaty text is measured;
  when torn between adjacent levels, the lower one unless a marker of the higher one is present).
- Write `labels.jsonl` in this folder: one JSON object per line, `{{"item_id": "...", "level": N}}`,
  using the `item_id` of each statement, never its position. Append as you go (e.g. after every
  20-30 statements), so work is not lost; if you re-rate an item, the last line for it counts.
- Every item_id of `batch.jsonl` must appear; there are {n}. Check before you finish.
- When done, reply with one line: the number of items labelled and your level counts.
"""


def workspace(batch_file: Path, folder: Path) -> Path:
    """A private folder for one annotator: ``tone-scale.md``, ``batch.jsonl``, ``INSTRUCTIONS.md``."""
    folder.mkdir(parents=True, exist_ok=False)
    shutil.copy(SCALE, folder / "tone-scale.md")
    shutil.copy(batch_file, folder / "batch.jsonl")
    n = len(read_jsonl(batch_file))
    (folder / "INSTRUCTIONS.md").write_text(INSTRUCTIONS.format(n=n), encoding="utf-8")
    return folder


def read_labels(path) -> dict[str, int]:
    """``item_id -> level`` from an annotator's file; the last line for an id counts."""
    labels = {}
    for r in read_jsonl(path):
        level = r["level"]
        if isinstance(level, str) and level.strip().isdigit():
            level = int(level)
        if level not in range(5):
            raise ValueError(f"{path}: level {r['level']!r} for {r['item_id']} is not 0-4")
        labels[r["item_id"]] = int(level)
    return labels


def agreement(first, second) -> dict:
    from sklearn.metrics import cohen_kappa_score

    a, b = np.asarray(first), np.asarray(second)
    return {"n": len(a), "qwk": round(float(cohen_kappa_score(a, b, weights="quadratic", labels=range(5))), 4),
            "exact": round(float((a == b).mean()), 4), "within_one": round(float((abs(a - b) <= 1).mean()), 4)}


def check(labels: dict, key: list[dict], batch: str, gold_levels: dict) -> dict:
    """Completeness of one batch's labels and their agreement with the hidden gold statements."""
    expected = {k["item_id"] for k in key if k["batch"] == batch}
    missing, unknown = expected - set(labels), set(labels) - expected
    if missing or unknown:
        raise ValueError(f"{batch}: {len(missing)} items unlabelled, {len(unknown)} unknown ids")
    pairs = [(labels[k["item_id"]], gold_levels[k["source_id"]]) for k in key if k["batch"] == batch and k["hidden"]]
    return agreement([p[0] for p in pairs], [p[1] for p in pairs])


def stable_half(key: str) -> int:
    return _stable(key) % 2


def words(pattern: str):
    """A case-insensitive whole-word matcher for ``draw(keep=...)``."""
    rx = re.compile(pattern, re.I)
    return lambda s: bool(rx.search(s))


ADJUDICATION = """# Your task: settle {n} disagreements between two annotators

Two annotators rated each statement in `disagreements.jsonl` independently on the tone scale of
`tone-scale.md` (read it first: levels 0 cautious, 1 measured, 2 firm, 3 assertive,
4 confrontational, and the rules for hard cases). They disagreed; each line shows the statement
and the two ratings (`rating_1`, `rating_2`, in no particular order). Decide the correct level by
reading the statement against the scale and its hard-case rules; it is usually one of the two
ratings, but may be another level if the scale clearly says so.

Rules: work only in this folder; do not open anything else. Decide every level by reading;
no program may assign or suggest levels. Write `labels.jsonl` here, one line per statement:
`{{"item_id": "...", "level": N, "reason": "one short sentence naming the rule or marker"}}`.
Every item_id must appear once. When done, reply with one line: items settled and level counts.
"""


def adjudication_workspace(items: list[dict], folder: Path, seed: int = 0) -> Path:
    """A folder for an adjudicator: ``items`` of ``item_id``, ``text`` and the two ratings (shown in random order)."""
    rng = random.Random(seed)
    folder.mkdir(parents=True, exist_ok=False)
    shutil.copy(SCALE, folder / "tone-scale.md")
    rows = []
    for it in items:
        pair = [it["first"], it["second"]]
        rng.shuffle(pair)
        rows.append({"item_id": it["item_id"], "text": it["text"], "rating_1": pair[0], "rating_2": pair[1]})
    write_jsonl(folder / "disagreements.jsonl", rows)
    (folder / "INSTRUCTIONS.md").write_text(ADJUDICATION.format(n=len(rows)), encoding="utf-8")
    return folder


def collect(key: list[dict], annotations: Path, gold_levels: dict, log: dict,
            dropped: tuple[str, ...] = ()) -> tuple[dict, dict]:
    """Every batch of ``key`` from ``annotations/<batch>.jsonl``: ``(source_id -> rating, quality)``.

    ``rating`` holds the level, the batch, who rated it and when (from ``log``: batch -> {annotator,
    finished_at}) and the batch's QWK on its hidden gold statements; ``quality`` has one entry per
    batch, plus one per discarded pass in ``annotations/discarded/`` (a batch below QWK 0.90 was
    rated again from scratch by another annotator; the first pass stays there, scored, never used).
    A ``dropped`` batch (no pass reached 0.90) has only discarded passes: its statements get no rating.
    """
    ratings, quality = {}, {}
    for batch in sorted({k["batch"] for k in key} - set(dropped)):
        labels = read_labels(annotations / f"{batch}.jsonl")
        q = check(labels, key, batch, gold_levels)
        quality[batch] = {**q, **log.get(batch, {})}
        for k in key:
            if k["batch"] == batch and not k["hidden"]:
                ratings[k["source_id"]] = {"level": labels[k["item_id"]], "batch": batch,
                                           "annotator": log.get(batch, {}).get("annotator"),
                                           "annotated_at": log.get(batch, {}).get("finished_at"),
                                           "batch_qwk": q["qwk"]}
    batches = {k["batch"] for k in key}
    for path in sorted((annotations / "discarded").glob("*.jsonl")):
        batch = path.stem.split("_pass")[0]
        if batch not in batches:
            continue
        labels = read_labels(path)
        pairs = [(labels[k["item_id"]], gold_levels[k["source_id"]]) for k in key
                 if k["batch"] == batch and k["hidden"] and k["item_id"] in labels]
        quality[f"discarded {path.stem}"] = {**agreement([p[0] for p in pairs], [p[1] for p in pairs]),
                                             **log.get(path.stem, {})}
    return ratings, quality


def discard(folder: Path, batch: str) -> Path:
    """Move ``folder/annotations/<batch>.jsonl`` to ``annotations/discarded/<batch>_pass<k>.jsonl`` (the next
    free ``k``) and rename its line in ``folder/annotation_log.jsonl`` to match: a pass below QWK 0.90 stays
    scored, never used."""
    current = folder / "annotations" / f"{batch}.jsonl"
    if not current.is_file():
        raise FileNotFoundError(f"{current}: no pass of {batch} to discard")
    k = 1 + len(list((folder / "annotations" / "discarded").glob(f"{batch}_pass*.jsonl")))
    target = folder / "annotations" / "discarded" / f"{batch}_pass{k}.jsonl"
    target.parent.mkdir(parents=True, exist_ok=True)
    current.replace(target)
    log = read_jsonl(folder / "annotation_log.jsonl")
    mine = [r for r in log if r["batch"] == batch]
    if len(mine) != 1:
        raise ValueError(f"annotation_log.jsonl has {len(mine)} lines for {batch}, expected one")
    mine[0]["batch"] = target.stem
    write_jsonl(folder / "annotation_log.jsonl", log)
    return target


def take(folder: Path, batch: str, workspace_dir: Path, annotator: str) -> Path:
    """Copy the annotator's ``workspace_dir/labels.jsonl`` to ``folder/annotations/<batch>.jsonl`` and log
    ``annotator`` with the file's time as ``finished_at``; a pass of ``batch`` already there is discarded first."""
    from datetime import datetime, timezone

    labels = workspace_dir / "labels.jsonl"
    read_labels(labels)  # refuse a file that is not [item_id, level] lines before anything moves
    if (folder / "annotations" / f"{batch}.jsonl").is_file():
        discard(folder, batch)
    target = folder / "annotations" / f"{batch}.jsonl"
    shutil.copyfile(labels, target)
    finished = datetime.fromtimestamp(labels.stat().st_mtime, timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ")
    with open(folder / "annotation_log.jsonl", "a", encoding="utf-8") as f:
        f.write(json.dumps({"batch": batch, "annotator": annotator, "role": "rater", "finished_at": finished}) + "\n")
    return target


def score(folder: Path, batch: str, gold_files=None) -> dict:
    """Hidden-gold agreement of the pass in ``folder/annotations/<batch>.jsonl``, read with the batch's key
    (``folder/batches/key*.jsonl``) and the gold levels (``GOLD_FILES`` unless ``gold_files``): the
    number to judge a pass by as soon as it is taken, before the whole strand is in."""
    key = [k for path in sorted((folder / "batches").glob("key*.jsonl")) for k in read_jsonl(path) if k["batch"] == batch]
    if not key:
        raise ValueError(f"{folder / 'batches'}: no key file names batch {batch}")
    gold = {g["gold_id"]: g["level"] for path in (GOLD_FILES if gold_files is None else gold_files) for g in read_jsonl(path)}
    return check(read_labels(folder / "annotations" / f"{batch}.jsonl"), key, batch, gold)


def read_log(path: Path) -> dict:
    """``annotation_log.jsonl``: one line per batch pass, who annotated it and when it was finished."""
    return {r["batch"]: {k: v for k, v in r.items() if k != "batch"} for r in read_jsonl(path)} if path.is_file() else {}


if __name__ == "__main__":
    import argparse

    parser = argparse.ArgumentParser(description="Take an annotator's finished pass into a labelled set (and score it), "
                                                 "score one, or discard one.")
    sub = parser.add_subparsers(dest="step", required=True)
    t = sub.add_parser("take", help="copy WORKSPACE/labels.jsonl to FOLDER/annotations/BATCH.jsonl and log it")
    t.add_argument("folder", type=Path, help="the labelled set, e.g. training/silver2")
    t.add_argument("batch")
    t.add_argument("workspace", type=Path, help="the annotator's private folder")
    t.add_argument("--annotator", required=True, help='who rated it, e.g. "AI-agent session helper-261"')
    d = sub.add_parser("discard", help="move FOLDER/annotations/BATCH.jsonl to annotations/discarded/")
    d.add_argument("folder", type=Path)
    d.add_argument("batch")
    q = sub.add_parser("score", help="hidden-gold agreement of FOLDER/annotations/BATCH.jsonl")
    q.add_argument("folder", type=Path)
    q.add_argument("batch")
    a = parser.parse_args()
    if a.step == "discard":
        print(discard(a.folder, a.batch))
    else:
        if a.step == "take":
            print(take(a.folder, a.batch, a.workspace, a.annotator))
        try:
            print(json.dumps(score(a.folder, a.batch)))
        except ValueError as err:  # taken, but not scorable yet (an incomplete pass, no key)
            print(f"not scored: {err}", file=sys.stderr)
            sys.exit(1)
