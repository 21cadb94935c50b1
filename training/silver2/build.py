"""Merge silver round 2's ratings into ``silver2.jsonl`` and ``quality.json``.

    python training/silver2/build.py

Every statement of every strand (``candidates_<strand>.jsonl``) with the level its one annotator
gave, who that was (``annotation_log.jsonl``), when, and the batch's QWK against its hidden gold
statements. Batches below QWK 0.90 were rated again by a fresh annotator; their first passes sit in
``annotations/discarded/`` and are scored in ``quality.json``, never used. A batch whose every pass
stayed below 0.90 is dropped (``DROPPED``): its statements are left out of ``silver2.jsonl``.
"""

from __future__ import annotations

import json
import sys
from collections import Counter
from pathlib import Path

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE.parent))

from annotation import GOLD_FILES, LEVELS, agreement, collect, read_jsonl, read_log, write_jsonl  # noqa: E402

STRANDS = ("natural", "shortcut", "active1", "active2", "structure", "recent", "active3", "active4", "structure2", "recent2", "recent3", "recent4", "structure3", "active5", "recent5", "recent6", "spoken", "written", "recent7", "spoken2", "written2", "spoken3", "written3", "trade", "trade2", "active6")
# batch: why its statements are left out
DROPPED = {"sac3_05": "four annotators, hidden-gold QWK 0.883, 0.897, 0.851, 0.871: none reached 0.90",
           "sre7_05": "three annotators, hidden-gold QWK 0.858, 0.859, 0.877: none reached 0.90 (all three read "
                      "six of its 30 gold statements alike, one or two levels from gold)",
           "ssp2_00": "three annotators, hidden-gold QWK 0.845, 0.893, 0.893: none reached 0.90"}
FIELDS = ("doc_id", "source", "actor", "date", "doc_type", "text")


def main() -> None:
    gold = {g["gold_id"]: g["level"] for path in GOLD_FILES for g in read_jsonl(path)}
    log = read_log(HERE / "annotation_log.jsonl")
    rows, quality = [], {}
    hidden_first, hidden_gold = [], []
    for strand in STRANDS:
        path = HERE / "batches" / f"key_{strand}.jsonl"
        if not path.is_file():
            continue
        key = read_jsonl(path)
        ratings, q = collect(key, HERE / "annotations", gold, log, dropped=tuple(DROPPED))
        quality.update(q)
        for batch in {k["batch"] for k in key} - set(DROPPED):
            labels = {r["item_id"]: r["level"] for r in read_jsonl(HERE / "annotations" / f"{batch}.jsonl")}
            for k in key:
                if k["batch"] == batch and k["hidden"]:
                    hidden_first.append(labels[k["item_id"]])
                    hidden_gold.append(gold[k["source_id"]])
        for c in read_jsonl(HERE / f"candidates_{strand}.jsonl"):
            if c["cand_id"] not in ratings:
                assert any(k["batch"] in DROPPED for k in key if k["source_id"] == c["cand_id"]), c["cand_id"]
                continue
            r = ratings[c["cand_id"]]
            rows.append({"silver_id": c["cand_id"], "strand": strand, **{f: c[f] for f in FIELDS},
                         "level": r["level"], "label": LEVELS[r["level"]], **{k: v for k, v in r.items() if k != "level"}})
    ids = Counter(r["silver_id"] for r in rows)
    assert len(ids) == len(rows), f"silver ids used twice: {[i for i, n in ids.items() if n > 1][:5]}"
    write_jsonl(HERE / "silver2.jsonl", rows)
    summary = {"n": len(rows), "strands": dict(Counter(r["strand"] for r in rows)),
               "levels": {name: sum(r["level"] == k for r in rows) for k, name in enumerate(LEVELS)},
               "levels per strand": {s: [sum(r["level"] == k for r in rows if r["strand"] == s) for k in range(5)]
                                     for s in STRANDS},
               "sources": dict(Counter(r["source"] for r in rows)),
               "doc_types": dict(Counter(r["doc_type"] for r in rows)),
               "decades": dict(sorted(Counter(r["date"][:3] + "0s" for r in rows).items())),
               "all batches vs hidden gold": agreement(hidden_first, hidden_gold), "dropped batches": DROPPED,
               "batches": quality}
    (HERE / "quality.json").write_text(json.dumps(summary, indent=2) + "\n")
    print(json.dumps({k: v for k, v in summary.items() if k != "batches"}, indent=2))


if __name__ == "__main__":
    main()
