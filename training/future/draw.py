"""Draw the future test: statements from the latest period of the shared corpora, never trained on.

    python training/future/draw.py candidates     # candidates.jsonl (natural draw across document types)
    python training/future/draw.py batches        # blind batches for two independent annotation passes

The period is White House releases from July 2024 and UN General Debate speeches of 2021-2022
(``training.annotation.in_future``). Statements are drawn naturally: quotas per document type only,
documents in random order, a random statement of each (at most two per document), no keyword
enrichment. Each pass rates every candidate; the passes use different batch compositions, item ids
and hidden gold statements, so the two ratings of a statement are blind to each other.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE.parents[1]))
sys.path.insert(0, str(HERE.parent))

from annotation import documents, draw, in_future, read_jsonl, write_batches, write_jsonl  # noqa: E402

QUOTAS = {"UN speech": 250, "remarks": 170, "press briefing": 100, "fact sheet": 70, "statement": 80,
          "readout": 40, "joint statement": 20, "proclamation": 8}
GOLD_DEV = [HERE.parent / "gold" / "gold.jsonl", HERE.parent / "gold" / "gold_round3.jsonl"]
PASSES = {"fa": 101, "fb": 202}   # pass name -> seed of its batches


def candidates() -> None:
    docs = [(d["doc_type"], d) for d in documents() if in_future(d["source"], d["date"])]
    rows = draw(docs, QUOTAS, seed=2024, prefix="f")
    write_jsonl(HERE / "candidates.jsonl", rows)
    print(f"{len(rows)} candidates from {len({r['doc_id'] for r in rows})} documents")


def batches() -> None:
    cands = read_jsonl(HERE / "candidates.jsonl")
    gold = [g for path in GOLD_DEV for g in read_jsonl(path) if g.get("split", "dev") == "dev"]
    key = []
    for name, seed in PASSES.items():
        key += write_batches(name, cands, gold, size=185, hidden=30, seed=seed, out=HERE / "batches")
    write_jsonl(HERE / "batches" / "key.jsonl", key)
    print(f"{len(key)} items in {len({k['batch'] for k in key})} batches")


if __name__ == "__main__":

    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("step", choices=("candidates", "batches"))
    {"candidates": candidates, "batches": batches}[parser.parse_args().step]()
