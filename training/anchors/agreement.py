"""Agreement of the anchor set's author labels with the blind second annotation, before
adjudication (``author_level``), and the final labels (``level``) against the blind ones.

    python training/anchors/agreement.py
"""

import json
from pathlib import Path

import numpy as np
from sklearn.metrics import cohen_kappa_score, confusion_matrix

HERE = Path(__file__).parent


def main() -> None:
    rows = {r["text"]: r for r in map(json.loads, open(HERE / "anchors.jsonl", encoding="utf-8"))}
    blind = {r["text"]: r["level"] for r in map(json.loads, open(HERE / "blind_labels.jsonl", encoding="utf-8"))}
    if set(rows) != set(blind):
        raise SystemExit("anchors.jsonl and blind_labels.jsonl hold different statements")
    texts = sorted(rows)
    b = np.array([blind[t] for t in texts])
    for name in ("author_level", "level"):
        a = np.array([rows[t][name] for t in texts])
        print(f"{name} vs blind, {len(texts)} statements: QWK {cohen_kappa_score(a, b, weights='quadratic'):.3f}, "
              f"exact {np.mean(a == b):.3f}, kappa {cohen_kappa_score(a, b):.3f}")
    a = np.array([rows[t]["author_level"] for t in texts])
    print("rows: author label, columns: blind label\n", confusion_matrix(a, b, labels=range(5)))


if __name__ == "__main__":
    main()
