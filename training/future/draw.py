"""Draw the future test: statements from the latest period of the shared corpora, never trained on.

    python training/future/draw.py candidates               # candidates.jsonl (natural draw across document types)
    python training/future/draw.py batches                  # blind batches for two independent annotation passes
    python training/future/draw.py candidates --round 2     # candidates_2.jsonl: more future-dev statements
    python training/future/draw.py batches --round 2
    python training/future/draw.py candidates --round 3     # candidates_3.jsonl: more future-test statements
    python training/future/draw.py batches --round 3

The period is White House releases from July 2024 and UN General Debate speeches of 2021-2022
(``training.annotation.in_future``). Statements are drawn naturally: quotas per document type only,
documents in random order, a random statement of each (at most two per document in round 1, three in
round 2), no keyword enrichment. Each pass rates every candidate; the passes use different batch
compositions, item ids and hidden gold statements, so the two ratings of a statement are blind to each other.

Round 2 (drawn 2026-12-06) enlarges ``future-dev`` only: 800 more statements of documents whose stable
hash puts them in ``future-dev`` (none of round 1's statements), so model choices rest on about three
times as many statements while ``future-test``, the headline, stays exactly as it was.

Round 3 (drawn 2026-12-08, before any model was scored on it) enlarges ``future-test`` the same way: 797
more statements of ``future-test`` documents (the quotas ask 800; too few joint statements and
proclamations), none of rounds 1-2. Round 1's 347 test statements hold 11 at
``assertive`` or above, and sampling noise alone puts a perfectly calibrated model's ECE on them at about
0.044, above the 0.04 target: the headline could not tell the targets apart from noise.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE.parents[1]))
sys.path.insert(0, str(HERE.parent))

from annotation import documents, draw, in_future, read_jsonl, stable_half, write_batches, write_jsonl  # noqa: E402

GOLD_DEV = [HERE.parent / "gold" / "gold.jsonl", HERE.parent / "gold" / "gold_round3.jsonl"]
# Rounds 2 and 3: 800 statements in round 1's proportions.
LATER_QUOTAS = {"UN speech": 272, "remarks": 185, "press briefing": 109, "fact sheet": 76, "statement": 87,
                "readout": 44, "joint statement": 22, "proclamation": 5}
# Per round: quotas per document type, draw seed, statements per document, candidate prefix, passes
# (name -> seed of its batches), batch size, and the split whose documents it draws from (round 1: both).
ROUNDS = {
    1: dict(quotas={"UN speech": 250, "remarks": 170, "press briefing": 100, "fact sheet": 70, "statement": 80,
                    "readout": 40, "joint statement": 20, "proclamation": 8},
            seed=2024, per_doc=2, prefix="f", passes={"fa": 101, "fb": 202}, size=185, split=None),
    2: dict(quotas=LATER_QUOTAS, seed=2025, per_doc=3, prefix="g", passes={"ga": 303, "gb": 404}, size=200,
            split="future-dev"),
    3: dict(quotas=LATER_QUOTAS, seed=2026, per_doc=3, prefix="h", passes={"ha": 505, "hb": 606}, size=200,
            split="future-test"),
}


def split_of(doc_id: str) -> str:
    """``future-dev`` or ``future-test``, by a stable hash of the document id (so no document is in both)."""
    return "future-test" if stable_half(f"future|{doc_id}") else "future-dev"


def candidates_file(round_: int) -> Path:
    return HERE / ("candidates.jsonl" if round_ == 1 else f"candidates_{round_}.jsonl")


def key_file(round_: int) -> Path:
    return HERE / "batches" / ("key.jsonl" if round_ == 1 else f"key_{round_}.jsonl")


def candidates(round_: int) -> None:
    spec = ROUNDS[round_]
    docs = [(d["doc_type"], d) for d in documents() if in_future(d["source"], d["date"])]
    keep = None
    if round_ > 1:
        docs = [(t, d) for t, d in docs if split_of(d["id"]) == spec["split"]]
        taken = {" ".join(c["text"].lower().split()) for r in range(1, round_) for c in read_jsonl(candidates_file(r))}
        keep = lambda s: " ".join(s.lower().split()) not in taken  # noqa: E731
    rows = draw(docs, spec["quotas"], seed=spec["seed"], per_doc=spec["per_doc"], prefix=spec["prefix"], keep=keep)
    write_jsonl(candidates_file(round_), rows)
    print(f"{len(rows)} candidates from {len({r['doc_id'] for r in rows})} documents")


def batches(round_: int) -> None:
    spec = ROUNDS[round_]
    cands = read_jsonl(candidates_file(round_))
    gold = [g for path in GOLD_DEV for g in read_jsonl(path) if g.get("split", "dev") == "dev"]
    key = []
    for name, seed in spec["passes"].items():
        key += write_batches(name, cands, gold, size=spec["size"], hidden=30, seed=seed, out=HERE / "batches")
    write_jsonl(key_file(round_), key)
    print(f"{len(key)} items in {len({k['batch'] for k in key})} batches")


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("step", choices=("candidates", "batches"))
    parser.add_argument("--round", type=int, default=1, choices=sorted(ROUNDS))
    args = parser.parse_args()
    {"candidates": candidates, "batches": batches}[args.step](args.round)
