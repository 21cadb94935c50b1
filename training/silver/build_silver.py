"""The silver set: statements from training documents, each rated once by one annotator session.

    python training/silver/build_silver.py batches   # blind batches for the annotators (text only)
    python training/silver/build_silver.py build     # merge their labels into silver.jsonl + quality.json

Each batch hides gold dev-fit statements (already human-labelled, adjudicated) among the silver
candidates; the annotator cannot tell them apart. Their labels are not used for training, only to
measure each annotator against gold (``quality.json``); a batch whose labels fail that check is
annotated again, and the failed pass is kept in ``annotations/discarded/`` with its score.
Candidates come from documents of no gold round (README.md), so no gold document is in the silver set.
"""

from __future__ import annotations

import argparse
import hashlib
import json
import random
import sys
from pathlib import Path

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE.parents[1]))
sys.path.insert(0, str(HERE.parent))

from gold.build_gold import LEVELS, agreement  # noqa: E402
from train_default import GOLD, _half, load_gold, not_in, read_jsonl  # noqa: E402

CANDIDATES = ("candidates_stratified.jsonl", "candidates_hostile.jsonl")
GOLD_FILES = (HERE.parent / "gold" / "gold.jsonl", HERE.parent / "gold" / "gold_round3.jsonl")
BATCHES = 5
HIDDEN_PER_BATCH = 30


def _item_id(key: str) -> str:
    return "x" + hashlib.sha256(key.encode()).hexdigest()[:8]


def batches(seed: int = 18) -> None:
    rng = random.Random(seed)
    candidates = [c for name in CANDIDATES for c in read_jsonl(HERE / name)]
    # The dev-fit half as it was when the batches were drawn (before load_gold dropped s0033).
    dev_fit = [r for r in read_jsonl(GOLD) if r["split"] == "dev" and _half(r["doc_id"]) == 0]
    hidden = rng.sample(dev_fit, BATCHES * HIDDEN_PER_BATCH)
    rng.shuffle(candidates)
    key = []
    for b in range(BATCHES):
        items = [(c["gold_id"], c["text"]) for c in candidates[b::BATCHES]]
        items += [(g["gold_id"], g["text"]) for g in hidden[b * HIDDEN_PER_BATCH:(b + 1) * HIDDEN_PER_BATCH]]
        rng.shuffle(items)
        with open(HERE / "batches" / f"batch_{b}.jsonl", "w", encoding="utf-8") as f:
            for source_id, text in items:
                f.write(json.dumps({"item_id": _item_id(source_id), "text": text}, ensure_ascii=False) + "\n")
                key.append({"item_id": _item_id(source_id), "source_id": source_id, "batch": b})
    with open(HERE / "batches" / "key.jsonl", "w", encoding="utf-8") as f:
        f.writelines(json.dumps(k) + "\n" for k in key)
    print(f"{len(candidates)} candidates and {len(hidden)} hidden gold statements in {BATCHES} batches")


def build() -> None:
    # A document can be re-released under another id ("corrected-..."): drop any statement whose
    # text is also a gold statement's, so no gold sentence is trained on under another document.
    drawn = [c for name in CANDIDATES for c in read_jsonl(HERE / name)]
    candidates = {c["gold_id"]: c for c in not_in(drawn, [g for path in GOLD_FILES for g in read_jsonl(path)])}
    duplicates = sorted(c["gold_id"] for c in drawn if c["gold_id"] not in candidates)
    gold = {g["gold_id"]: g for g in load_gold()[0]}
    key = {k["item_id"]: k for k in read_jsonl(HERE / "batches" / "key.jsonl")}
    rows, quality = [], {}
    first_all, gold_all = [], []
    for b in range(BATCHES):
        labels = {r["item_id"]: r["level"] for r in read_jsonl(HERE / "annotations" / f"batch_{b}.jsonl")}
        expected = {i for i, k in key.items() if k["batch"] == b}
        assert set(labels) == expected, f"batch {b}: {len(expected - set(labels))} items unlabelled, {len(set(labels) - expected)} unknown"
        assert all(v in range(5) for v in labels.values()), f"batch {b}: a level outside 0-4"
        pairs = [(labels[i], gold[key[i]["source_id"]]["level"]) for i in expected if key[i]["source_id"] in gold]
        quality[f"batch {b}"] = agreement([p[0] for p in pairs], [p[1] for p in pairs])
        first_all += [p[0] for p in pairs]
        gold_all += [p[1] for p in pairs]
        for i in sorted(expected):
            source_id = key[i]["source_id"]
            if source_id in candidates:
                c = candidates[source_id]
                rows.append({"silver_id": source_id, **{k: c[k] for k in ("doc_id", "source", "actor", "date", "text")},
                             "level": labels[i], "label": LEVELS[labels[i]], "annotator": b})
    quality["all annotators vs gold"] = agreement(first_all, gold_all)
    for path in sorted((HERE / "annotations" / "discarded").glob("*.jsonl")):
        labels = {r["item_id"]: r["level"] for r in read_jsonl(path)}
        pairs = [(level, gold[key[i]["source_id"]]["level"]) for i, level in labels.items() if key[i]["source_id"] in gold]
        quality[f"discarded {path.stem} vs gold"] = agreement([p[0] for p in pairs], [p[1] for p in pairs])
    rows.sort(key=lambda r: r["silver_id"])
    with open(HERE / "silver.jsonl", "w", encoding="utf-8") as f:
        f.writelines(json.dumps(r, ensure_ascii=False) + "\n" for r in rows)
    counts = {name: sum(r["level"] == k for r in rows) for k, name in enumerate(LEVELS)}
    (HERE / "quality.json").write_text(json.dumps({"levels": counts, "n": len(rows), "dropped as gold duplicates": duplicates,
                                                   **quality}, indent=2) + "\n")
    print(json.dumps({"levels": counts, **quality}, indent=2))


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("step", choices=("batches", "build"))
    step = parser.parse_args().step
    (HERE / "batches").mkdir(exist_ok=True)
    batches() if step == "batches" else build()
