"""Merge the two blind passes and the adjudication of the future test into ``future.jsonl``.

    python training/future/build.py

Reads ``candidates.jsonl``, ``batches/key.jsonl`` (which item of which batch is which statement),
``annotations/fa_*.jsonl`` and ``fb_*.jsonl`` (pass A and pass B, by different annotators, with
different batch compositions and item ids) and ``annotations/adjudication.jsonl`` (the level of
every statement the passes disagree on). Writes ``future.jsonl`` (final level, both ratings,
split) and ``quality.json`` (each batch against its hidden gold statements, A against B).

Split: by document, ``future-dev`` (to choose models) or ``future-test`` (to report only), by a
stable hash of the document id.
"""

from __future__ import annotations

import json
import sys
from collections import Counter
from pathlib import Path

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE.parent))

from annotation import LEVELS, agreement, check, item_id, read_jsonl, read_labels, stable_half, write_jsonl  # noqa: E402
from draw import GOLD_DEV, PASSES  # noqa: E402


def split_of(doc_id: str) -> str:
    return "future-test" if stable_half(f"future|{doc_id}") else "future-dev"


def main() -> None:
    cands = {c["cand_id"]: c for c in read_jsonl(HERE / "candidates.jsonl")}
    key = read_jsonl(HERE / "batches" / "key.jsonl")
    gold = {g["gold_id"]: g["level"] for path in GOLD_DEV for g in read_jsonl(path)}
    ratings: dict[str, dict[str, tuple[int, str]]] = {}
    quality = {}
    for batch in sorted({k["batch"] for k in key}):
        labels = read_labels(HERE / "annotations" / f"{batch}.jsonl")
        quality[batch] = check(labels, key, batch, gold)
        for k in key:
            if k["batch"] == batch and not k["hidden"]:
                ratings.setdefault(k["source_id"], {})[batch[:2]] = (labels[k["item_id"]], batch)
    adjudicated = {r["item_id"]: r for r in read_jsonl(HERE / "annotations" / "adjudication.jsonl")}
    rows = []
    for cid, c in sorted(cands.items()):
        (a, batch_a), (b, batch_b) = (ratings[cid][p] for p in PASSES)
        adj = adjudicated.get(item_id("fadj", cid))
        if a != b and adj is None:
            raise SystemExit(f"{cid}: the passes disagree ({a} vs {b}) and there is no adjudication")
        level = a if a == b else int(adj["level"])
        rows.append({"future_id": cid, **{k: c[k] for k in ("doc_id", "source", "actor", "date", "doc_type", "text")},
                     "level": level, "label": LEVELS[level], "annotator_1": a, "annotator_2": b,
                     "adjudicated": a != b, "adjudication_reason": adj["reason"] if a != b else None,
                     "batches": [batch_a, batch_b], "split": split_of(c["doc_id"])})
    write_jsonl(HERE / "future.jsonl", rows)
    first = [r["annotator_1"] for r in rows]
    second = [r["annotator_2"] for r in rows]
    summary = {"n": len(rows), "passes A vs B (before adjudication)": agreement(first, second),
               "adjudicated": sum(r["adjudicated"] for r in rows),
               "adjudicated to A's level": sum(r["adjudicated"] and r["level"] == r["annotator_1"] for r in rows),
               "adjudicated to B's level": sum(r["adjudicated"] and r["level"] == r["annotator_2"] for r in rows),
               "batches vs hidden gold": quality}
    for split in ("future-dev", "future-test"):
        part = [r for r in rows if r["split"] == split]
        summary[split] = {"n": len(part), "documents": len({r["doc_id"] for r in part}),
                          "levels": {name: sum(r["level"] == k for r in part) for k, name in enumerate(LEVELS)},
                          "doc_types": dict(Counter(r["doc_type"] for r in part).most_common()),
                          "sources": dict(Counter(r["source"] for r in part).most_common())}
    (HERE / "quality.json").write_text(json.dumps(summary, indent=2) + "\n")
    print(json.dumps({k: v for k, v in summary.items() if k != "batches vs hidden gold"}, indent=2))


if __name__ == "__main__":
    main()
