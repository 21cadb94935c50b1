"""Merge the gold annotations into ``gold.jsonl`` and report inter-annotator agreement.

``python training/gold/build_gold.py`` reads the candidates (``candidates*.jsonl``), the two
blind annotation passes of each round and the adjudication of their disagreements
(``annotations/``), and writes ``gold.jsonl`` and ``agreement.json`` beside this file.

Round 3 (``candidates_round3.jsonl``, documents of neither earlier round) is all ``dev`` and goes to
``gold_round3.jsonl``, not ``gold.jsonl``: it waits there until the default model's recipe is
rerun with it, so the shipped model's recorded numbers stay reproducible.

Final label: the level both annotators gave, or, where they differ, the adjudicator's.
Split: by document, so no document is in both splits; each document goes to ``dev`` or
``test`` by a stable hash of its id, separately within each corpus and decade so that both
splits span every source and period.
"""

from __future__ import annotations

import hashlib
import json
from collections import Counter, defaultdict
from pathlib import Path

import numpy as np
from sklearn.metrics import cohen_kappa_score

HERE = Path(__file__).resolve().parent
ROUNDS = [("candidates.jsonl", "annotator_a.jsonl", "annotator_b.jsonl"),
          ("candidates_supplement.jsonl", "annotator_c.jsonl", "annotator_d.jsonl")]
ROUND3 = ("candidates_round3.jsonl", "annotator_e.jsonl", "annotator_f.jsonl")
LEVELS = ("cautious", "measured", "firm", "assertive", "confrontational")


def _read(path: Path) -> list[dict]:
    with open(path, encoding="utf-8") as f:
        return [json.loads(line) for line in f if line.strip()]


def agreement(first: list[int], second: list[int]) -> dict:
    a, b = np.asarray(first), np.asarray(second)
    return {"n": len(a), "qwk": round(float(cohen_kappa_score(a, b, weights="quadratic")), 4),
            "exact": round(float((a == b).mean()), 4), "within_one": round(float((abs(a - b) <= 1).mean()), 4),
            "cohen_kappa": round(float(cohen_kappa_score(a, b)), 4)}


def split_of(doc_id: str, source: str, date: str) -> str:
    # A stable hash of the document id, salted by corpus and decade.
    return "test" if int(hashlib.sha256(f"{source[:2]}|{date[:3]}|{doc_id}".encode()).hexdigest(), 16) % 2 else "dev"


def merge_round(candidates: str, first_file: str, second_file: str, adjudicated: dict, split=None):
    """(rows with final levels, agreement before adjudication, first labels, second labels) of one round."""
    cands = _read(HERE / candidates)
    first = {r["gold_id"]: r["level"] for r in _read(HERE / "annotations" / first_file)}
    second = {r["gold_id"]: r["level"] for r in _read(HERE / "annotations" / second_file)}
    assert set(first) == set(second) == {c["gold_id"] for c in cands}, f"incomplete annotations for {candidates}"
    ids = [c["gold_id"] for c in cands]
    rows = []
    for c in cands:
        a, b = first[c["gold_id"]], second[c["gold_id"]]
        if a != b and c["gold_id"] not in adjudicated:
            raise SystemExit(f"{c['gold_id']}: annotators disagree ({a} vs {b}) and there is no adjudication")
        level = a if a == b else adjudicated[c["gold_id"]]
        rows.append({**c, "level": level, "label": LEVELS[level], "annotator_1": a, "annotator_2": b,
                     "adjudicated": a != b, "split": split or split_of(c["doc_id"], c["source"], c["date"])})
    firsts, seconds = [first[i] for i in ids], [second[i] for i in ids]
    return rows, agreement(firsts, seconds), firsts, seconds


def main() -> None:
    adjudicated = {r["gold_id"]: r["level"] for name in ("adjudication.jsonl", "adjudication_round3.jsonl")
                   for r in _read(HERE / "annotations" / name)}
    rows, report = [], {"rounds": {}}
    all_first, all_second = [], []
    for candidates, first_file, second_file in ROUNDS:
        round_rows, report["rounds"][candidates], firsts, seconds = merge_round(candidates, first_file, second_file,
                                                                               adjudicated)
        rows += round_rows
        all_first += firsts
        all_second += seconds
    report["overall"] = agreement(all_first, all_second)
    report["disagreements"] = sum(r["adjudicated"] for r in rows)
    counts = defaultdict(Counter)
    for r in rows:
        counts[r["split"]][r["label"]] += 1
    report["counts"] = {s: {name: counts[s][name] for name in LEVELS} | {"total": sum(counts[s].values())}
                        for s in ("dev", "test")}
    docs = defaultdict(set)
    for r in rows:
        docs[r["doc_id"]].add(r["split"])
    assert all(len(s) == 1 for s in docs.values()), "a document is in two splits"
    report["documents"] = {s: sum(1 for v in docs.values() if s in v) for s in ("dev", "test")}
    with open(HERE / "gold.jsonl", "w", encoding="utf-8") as f:
        for r in sorted(rows, key=lambda r: r["gold_id"]):
            f.write(json.dumps(r, ensure_ascii=False) + "\n")
    round3, report["round 3 (gold_round3.jsonl, dev only)"], _, _ = merge_round(*ROUND3, adjudicated, split="dev")
    report["round 3 (gold_round3.jsonl, dev only)"]["disagreements"] = sum(r["adjudicated"] for r in round3)
    report["round 3 (gold_round3.jsonl, dev only)"]["counts"] = {name: sum(r["label"] == name for r in round3)
                                                                 for name in LEVELS}
    with open(HERE / "gold_round3.jsonl", "w", encoding="utf-8") as f:
        for r in round3:
            f.write(json.dumps(r, ensure_ascii=False) + "\n")
    (HERE / "agreement.json").write_text(json.dumps(report, indent=2) + "\n")
    print(json.dumps(report, indent=2))


if __name__ == "__main__":
    main()
