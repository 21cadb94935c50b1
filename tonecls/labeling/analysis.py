"""Measure labeling functions and aggregated weak labels (coverage, overlap, conflict, accuracy).

>>> import numpy as np
>>> L = np.array([[0, -1], [2, 2], [-1, 3], [-1, -1]])
>>> s = lf_summary(L, ["a", "b"], gold=np.array([0, 2, 2, 1]))
>>> s["a"]["coverage"], s["a"]["overlap"], s["b"]["conflict"], s["b"]["accuracy"]
(0.5, 0.25, 0.0, 0.5)
>>> weak_label_metrics(np.array([0, 2, -1, 1]), np.array([0, 2, 2, 1]))["coverage"]
0.75
"""

from __future__ import annotations

import numpy as np

from ..scale import NUM_LEVELS

__all__ = ["lf_summary", "weak_label_metrics"]


def lf_summary(L: np.ndarray, names, gold: np.ndarray | None = None) -> dict[str, dict]:
    """Per function: coverage (share of rows it votes on), overlap (votes where another function
    also votes), conflict (votes where another function votes a different level), and with
    ``gold``: accuracy of its votes, the mean absolute error of its votes in levels, and the
    number of votes it was measured on. Shares are of all rows."""
    L = np.asarray(L)
    n = max(len(L), 1)
    voted = L >= 0
    n_votes = voted.sum(axis=1)
    out = {}
    for j, name in enumerate(names):
        v = voted[:, j]
        others = n_votes - v
        diff = np.zeros(len(L), dtype=bool)
        for k in range(L.shape[1]):
            if k != j:
                diff |= voted[:, k] & (L[:, k] != L[:, j])
        d = {"level": sorted(int(x) for x in np.unique(L[v, j])) if v.any() else [],
             "votes": int(v.sum()), "coverage": round(float(v.sum() / n), 4),
             "overlap": round(float((v & (others > 0)).sum() / n), 4),
             "conflict": round(float((v & diff).sum() / n), 4)}
        if gold is not None:
            g = np.asarray(gold)
            m = v & (g >= 0)
            d["gold_votes"] = int(m.sum())
            d["accuracy"] = round(float((L[m, j] == g[m]).mean()), 4) if m.any() else None
            d["mae"] = round(float(np.abs(L[m, j] - g[m]).mean()), 4) if m.any() else None
        out[name] = d
    return out


def weak_label_metrics(pred: np.ndarray, gold: np.ndarray, *, fill: int | None = None) -> dict:
    """QWK, macro-F1, accuracy and MAE of weak levels against gold on the rows not abstained
    (``pred >= 0``), plus coverage and per-level counts. With ``fill`` (e.g. 1 = measured), abstained
    rows are filled with that level first and every row counts."""
    from sklearn.metrics import cohen_kappa_score, f1_score

    pred, gold = np.asarray(pred).copy(), np.asarray(gold)
    if fill is not None:
        pred[pred < 0] = fill
    m = pred >= 0
    out = {"n": int(len(gold)), "covered": int(m.sum()), "coverage": round(float(m.mean()), 4) if len(gold) else 0.0,
           "pred_counts": np.bincount(pred[m], minlength=NUM_LEVELS).tolist(),
           "gold_counts_covered": np.bincount(gold[m], minlength=NUM_LEVELS).tolist()}
    if m.sum() >= 2 and len(np.unique(gold[m])) > 1:
        labels = list(range(NUM_LEVELS))
        out["qwk"] = round(float(cohen_kappa_score(gold[m], pred[m], weights="quadratic", labels=labels)), 4)
        out["macro_f1"] = round(float(f1_score(gold[m], pred[m], average="macro", labels=labels, zero_division=0)), 4)
        out["accuracy"] = round(float((gold[m] == pred[m]).mean()), 4)
        out["mae"] = round(float(np.abs(gold[m] - pred[m]).mean()), 4)
        out["f1_per_level"] = [round(float(x), 4) for x in
                               f1_score(gold[m], pred[m], average=None, labels=labels, zero_division=0)]
    return out
