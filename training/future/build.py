"""Merge the two blind passes and the adjudication of the future test into ``future.jsonl``.

    python training/future/build.py
    python training/future/build.py --disagreements 3 --to FOLDER   # an adjudicator's folder for round 3

Per round of ``draw.ROUNDS``: reads its candidates (``candidates.jsonl``, ``candidates_2.jsonl``, ...), its
key (``batches/key.jsonl``, ``batches/key_2.jsonl``, ...: which item of which batch is which statement), the
two passes' annotations (``annotations/fa_*.jsonl`` and ``fb_*.jsonl``; ``ga_*``, ``gb_*``; ``ha_*``,
``hb_*``: by different annotators, with different batch compositions and item ids) and its adjudication
(``annotations/adjudication.jsonl``, ``adjudication_2.jsonl``, ...: the level of every statement the passes
disagree on). A pass below QWK 0.90 on its hidden gold statements was rated again by another annotator and
stays, scored and unused, in ``annotations/discarded/``. Writes ``future.jsonl`` (final level, both
ratings, round, split) and ``quality.json`` (each batch against its hidden gold statements, A against B
per round).

Split: by document, ``future-dev`` (to choose models) or ``future-test`` (to report only), by a
stable hash of the document id (``draw.split_of``); round 2 drew from ``future-dev`` documents only, round 3
from ``future-test`` documents only.
"""

from __future__ import annotations

import json
import sys
from collections import Counter
from pathlib import Path

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE.parent))

from annotation import LEVELS, adjudication_workspace, agreement, check, item_id, read_jsonl, read_labels, write_jsonl  # noqa: E402
from draw import GOLD_DEV, ROUNDS, candidates_file, key_file, split_of  # noqa: E402


def adjudication_file(round_: int) -> Path:
    return HERE / "annotations" / ("adjudication.jsonl" if round_ == 1 else f"adjudication_{round_}.jsonl")


def ratings(round_: int, gold: dict) -> tuple[dict, dict]:
    """``cand_id -> {pass: (level, batch)}`` of one round, and each of its batches against its hidden gold."""
    key = read_jsonl(key_file(round_))
    out: dict[str, dict[str, tuple[int, str]]] = {}
    quality = {}
    for batch in sorted({k["batch"] for k in key}):
        labels = read_labels(HERE / "annotations" / f"{batch}.jsonl")
        quality[batch] = check(labels, key, batch, gold)
        for k in key:
            if k["batch"] == batch and not k["hidden"]:
                out.setdefault(k["source_id"], {})[batch.split("_")[0]] = (labels[k["item_id"]], batch)
    return out, quality


def disagreements(round_: int, folder: Path) -> None:
    """An adjudicator's folder (``annotation.adjudication_workspace``) with every statement of ``round_`` that
    the two passes rated differently; its ``labels.jsonl`` becomes the round's adjudication file."""
    spec = ROUNDS[round_]
    gold = {g["gold_id"]: g["level"] for path in GOLD_DEV for g in read_jsonl(path)}
    rated, _ = ratings(round_, gold)
    cands = {c["cand_id"]: c for c in read_jsonl(candidates_file(round_))}
    a, b = spec["passes"]
    items = [{"item_id": item_id(f"{spec['prefix']}adj", cid), "text": cands[cid]["text"],
              "first": r[a][0], "second": r[b][0]}
             for cid, r in sorted(rated.items()) if r[a][0] != r[b][0]]
    adjudication_workspace(items, folder, seed=round_)
    print(f"{len(items)} disagreements of {len(rated)} statements in {folder}")


def merge(round_: int, gold: dict) -> tuple[list[dict], dict]:
    """The rows of one round, and each of its batches against its hidden gold statements."""
    spec = ROUNDS[round_]
    passes = list(spec["passes"])
    cands = {c["cand_id"]: c for c in read_jsonl(candidates_file(round_))}
    rated, quality = ratings(round_, gold)
    adjudicated = {r["item_id"]: r for r in read_jsonl(adjudication_file(round_))}
    rows = []
    for cid, c in sorted(cands.items()):
        (a, batch_a), (b, batch_b) = (rated[cid][p] for p in passes)
        adj = adjudicated.get(item_id(f"{spec['prefix']}adj", cid))
        if a != b and adj is None:
            raise SystemExit(f"{cid}: the passes disagree ({a} vs {b}) and there is no adjudication")
        level = a if a == b else int(adj["level"])
        split = split_of(c["doc_id"])
        if round_ > 1 and split != spec["split"]:
            raise SystemExit(f"{cid}: round {round_} draws {spec['split']} documents only, {c['doc_id']} is {split}")
        rows.append({"future_id": cid, **{k: c[k] for k in ("doc_id", "source", "actor", "date", "doc_type", "text")},
                     "level": level, "label": LEVELS[level], "annotator_1": a, "annotator_2": b,
                     "adjudicated": a != b, "adjudication_reason": adj["reason"] if a != b else None,
                     "batches": [batch_a, batch_b], "round": round_, "split": split})
    summary = {"n": len(rows), "passes A vs B (before adjudication)": agreement(
                   [r["annotator_1"] for r in rows], [r["annotator_2"] for r in rows]),
               "adjudicated": sum(r["adjudicated"] for r in rows),
               "adjudicated to A's level": sum(r["adjudicated"] and r["level"] == r["annotator_1"] for r in rows),
               "adjudicated to B's level": sum(r["adjudicated"] and r["level"] == r["annotator_2"] for r in rows)}
    return rows, {"summary": summary, "batches": quality}


def main() -> None:
    gold = {g["gold_id"]: g["level"] for path in GOLD_DEV for g in read_jsonl(path)}
    rows, rounds, quality = [], {}, {}
    for round_ in ROUNDS:
        part, q = merge(round_, gold)
        rows += part
        rounds[f"round {round_}"] = q["summary"]
        quality |= q["batches"]
    keys = [k for round_ in ROUNDS for k in read_jsonl(key_file(round_))]
    for path in sorted((HERE / "annotations" / "discarded").glob("*.jsonl")):  # passes below QWK 0.90, redone
        quality[f"discarded {path.stem}"] = check(read_labels(path), keys, path.stem.split("_pass")[0], gold)
    texts = Counter(" ".join(r["text"].lower().split()) for r in rows)
    assert max(texts.values()) == 1, "a statement was drawn twice"
    write_jsonl(HERE / "future.jsonl", rows)
    summary = {"n": len(rows), "rounds": rounds, "batches vs hidden gold": quality}
    for split in ("future-dev", "future-test"):
        part = [r for r in rows if r["split"] == split]
        summary[split] = {"n": len(part), "documents": len({r["doc_id"] for r in part}),
                          "levels": {name: sum(r["level"] == k for r in part) for k, name in enumerate(LEVELS)},
                          "doc_types": dict(Counter(r["doc_type"] for r in part).most_common()),
                          "sources": dict(Counter(r["source"] for r in part).most_common())}
    (HERE / "quality.json").write_text(json.dumps(summary, indent=2) + "\n")
    print(json.dumps({k: v for k, v in summary.items() if k != "batches vs hidden gold"}, indent=2))


if __name__ == "__main__":
    import argparse

    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--disagreements", type=int, metavar="ROUND",
                        help="write an adjudicator's folder (--to) for ROUND's disagreements instead of building")
    parser.add_argument("--to", type=Path, help="the adjudicator's folder (must not exist)")
    args = parser.parse_args()
    if args.disagreements:
        if args.to is None:
            parser.error("--disagreements needs --to FOLDER (the adjudicator's folder, which must not exist)")
        disagreements(args.disagreements, args.to)
    else:
        main()
