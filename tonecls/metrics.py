"""Metrics of tone predictions, all pure functions of true levels and predictions.

Ordinal metrics take levels (or a continuous score): :func:`quadratic_weighted_kappa`,
:func:`macro_f1`, :func:`mean_absolute_error`, :func:`accuracy`, :func:`spearman`,
:func:`confusion_matrix`, :func:`per_level_report`, and :func:`ordinal_metrics` of probabilities;
:func:`bootstrap_qwk` resamples a QWK (or the difference of two models' QWK on the same statements),
by statement or by document.
Calibration metrics take ``(y, probs)``: :func:`expected_calibration_error` (equal-width or
equal-mass bins, top-label or class-wise), :func:`adaptive_calibration_error`,
:func:`maximum_calibration_error`, :func:`brier_score`, :func:`negative_log_likelihood`,
:func:`ranked_probability_score`, :func:`expected_level_calibration_error`,
:func:`calibration_curve` for the per-bin numbers, and :func:`ece_consistency`, the ECE that
sampling noise alone gives perfectly calibrated probabilities. See ``docs/calibration.md`` for the
estimators' definitions.

>>> from tonecls.metrics import quadratic_weighted_kappa, expected_calibration_error
>>> quadratic_weighted_kappa([0, 1, 2, 3, 4], [0, 1, 2, 4, 4])
0.9565217391304348
>>> expected_calibration_error([0, 1], [[0.9, 0.1], [0.3, 0.7]])
0.2
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from ._checks import BINNINGS, DEFAULT_BINS, check_choice, check_labels, check_probabilities
from .scale import LEVELS, NUM_LEVELS

KINDS = ("top_label", "classwise")
_EPS = float(np.finfo(np.float64).eps)


def _levels(y, n_levels: int = NUM_LEVELS) -> np.ndarray:
    arr = np.asarray(y)
    if arr.ndim != 1:
        raise ValueError(f"Expected a 1-D array of levels, got shape {arr.shape}.")
    return check_labels(arr, len(arr), n_levels)


def _pair(y_true, y_pred, n_levels):
    t = _levels(y_true, n_levels)
    p = _levels(y_pred, n_levels)
    if len(t) != len(p):
        raise ValueError(f"y_true has {len(t)} rows but y_pred has {len(p)}.")
    if len(t) == 0:
        raise ValueError("No rows to evaluate.")
    return t, p


# ============================================================================ ordinal metrics
def confusion_matrix(y_true, y_pred, n_levels: int = NUM_LEVELS) -> np.ndarray:
    """``(n_levels, n_levels)`` counts; row = true level, column = predicted level."""
    t, p = _pair(y_true, y_pred, n_levels)
    return np.bincount(t * n_levels + p, minlength=n_levels * n_levels).reshape(n_levels, n_levels)


def accuracy(y_true, y_pred, n_levels: int = NUM_LEVELS) -> float:
    """Fraction of exactly right levels."""
    t, p = _pair(y_true, y_pred, n_levels)
    return float((t == p).mean())


def mean_absolute_error(y_true, y_pred, n_levels: int = NUM_LEVELS) -> float:
    """Mean distance in levels between true and predicted level."""
    t, p = _pair(y_true, y_pred, n_levels)
    return float(np.abs(t - p).mean())


def quadratic_weighted_kappa(y_true, y_pred, n_levels: int = NUM_LEVELS) -> float:
    """Cohen's kappa with quadratic weights ``(i - j)^2 / (K - 1)^2``: 1 = perfect agreement,
    0 = chance; disagreements cost the square of their distance in levels."""
    cm = confusion_matrix(y_true, y_pred, n_levels).astype(np.float64)
    idx = np.arange(n_levels)
    w = (idx[:, None] - idx[None, :]) ** 2 / (n_levels - 1) ** 2
    expected = np.outer(cm.sum(axis=1), cm.sum(axis=0)) / cm.sum()
    denom = (w * expected).sum()
    return 1.0 if denom == 0 else float(1.0 - (w * cm).sum() / denom)


def bootstrap_qwk(y_true, y_pred, y_other=None, *, groups=None, draws: int = 2000, seed: int = 0,
                  n_levels: int = NUM_LEVELS) -> np.ndarray:
    """An array of ``draws`` values: the QWK of ``y_pred`` on resamples with replacement, or
    ``QWK(y_pred) - QWK(y_other)`` when ``y_other`` is given (paired: both scored on the same resample).
    With ``groups`` (one key per statement, e.g. its document) whole groups are resampled, each taking
    all its statements.

    >>> d = bootstrap_qwk([0, 1, 2, 3, 4, 1], [0, 1, 2, 3, 3, 1], [0, 1, 1, 2, 3, 1], draws=200)
    >>> d.shape, bool((d > 0).mean() > 0.9)
    ((200,), True)
    """
    if draws < 1:
        raise ValueError(f"draws must be at least 1, got {draws}.")
    t = _levels(y_true, n_levels)
    preds = [_levels(p, n_levels) for p in ((y_pred,) if y_other is None else (y_pred, y_other))]
    if any(len(p) != len(t) for p in preds):
        raise ValueError(f"Expected predictions for each of the {len(t)} statements, got {[len(p) for p in preds]}.")
    rng = np.random.default_rng(seed)
    if groups is None:
        members = None
    else:
        g = np.asarray(groups)
        if g.ndim != 1 or len(g) != len(t):
            raise ValueError(f"Expected one group per statement ({len(t)}), got shape {g.shape}.")
        keys, inverse = np.unique(g, return_inverse=True)
        if len(keys) < 2:
            raise ValueError("A group bootstrap needs at least two groups (one group resamples to itself).")
        order = np.argsort(inverse, kind="stable")
        members = np.split(order, np.cumsum(np.bincount(inverse))[:-1])
    out = np.empty(draws)
    for b in range(draws):
        idx = (rng.integers(len(t), size=len(t)) if members is None
               else np.concatenate([members[j] for j in rng.integers(len(members), size=len(members))]))
        q = [quadratic_weighted_kappa(t[idx], p[idx], n_levels) for p in preds]
        out[b] = q[0] if y_other is None else q[0] - q[1]
    return out


def spearman(y_true, scores) -> float:
    """Spearman rank correlation of a continuous score with the true level (average ranks for
    ties); NaN when either side is constant."""
    from scipy.stats import rankdata

    t = np.asarray(y_true, dtype=np.float64)
    s = np.asarray(scores, dtype=np.float64)
    if t.shape != s.shape or t.ndim != 1:
        raise ValueError(f"Expected two 1-D arrays of the same length, got {t.shape} and {s.shape}.")
    rt, rs = rankdata(t), rankdata(s)
    rt, rs = rt - rt.mean(), rs - rs.mean()
    denom = np.sqrt((rt ** 2).sum() * (rs ** 2).sum())
    return float("nan") if denom == 0 else float((rt * rs).sum() / denom)


def _precision_recall_f1(cm: np.ndarray):
    cm = cm.astype(np.float64)
    tp = np.diag(cm)
    predicted, support = cm.sum(axis=0), cm.sum(axis=1)
    with np.errstate(invalid="ignore", divide="ignore"):
        precision = np.where(predicted > 0, tp / predicted, 0.0)
        recall = np.where(support > 0, tp / support, 0.0)
        f1 = np.where(precision + recall > 0, 2 * precision * recall / (precision + recall), 0.0)
    return precision, recall, f1, support


def per_level_report(y_true, y_pred, labels=LEVELS) -> list[dict]:
    """Precision, recall, F1 and support of every level (0 where undefined)."""
    precision, recall, f1, support = _precision_recall_f1(confusion_matrix(y_true, y_pred, len(labels)))
    return [{"level": k, "label": labels[k], "precision": float(precision[k]), "recall": float(recall[k]),
             "f1": float(f1[k]), "support": int(support[k])} for k in range(len(labels))]


def macro_f1(y_true, y_pred, n_levels: int = NUM_LEVELS) -> float:
    """Unweighted mean of the per-level F1 over all levels (a level never seen nor predicted counts 0)."""
    return float(_precision_recall_f1(confusion_matrix(y_true, y_pred, n_levels))[2].mean())


def ordinal_metrics(y_true, probs) -> dict:
    """Ordinal metrics of probabilities: the predicted level is the most probable one, the
    continuous score the expected level (used for Spearman ρ and ``mae_expected``). Logits are
    refused: pass ``softmax(logits)`` or ``calibrator.transform(logits)``."""
    p = check_probabilities(probs)
    k = p.shape[1]
    t = _levels(y_true, k)
    pred = p.argmax(axis=1)
    expected = p @ np.arange(k, dtype=np.float64)
    return {
        "accuracy": accuracy(t, pred, k),
        "macro_f1": macro_f1(t, pred, k),
        "qwk": quadratic_weighted_kappa(t, pred, k),
        "spearman": spearman(t, expected),
        "mae": mean_absolute_error(t, pred, k),
        "mae_expected": float(np.abs(expected - t).mean()),
    }



# ============================================================================ calibration metrics
def bin_ids(values: np.ndarray, edges: np.ndarray) -> np.ndarray:
    """Bin index of each value for bins ``(e_b, e_{b+1}]`` (the first includes its left edge),
    the convention of ``sklearn.calibration.calibration_curve``."""
    return np.searchsorted(edges[1:-1], values, side="left")


def _bins(values: np.ndarray, n_bins: int, binning: str) -> tuple[np.ndarray, np.ndarray]:
    """Bin ids and edges: equal-width bins on [0, 1] or equal-mass bins (sorted values split
    into ``n_bins`` groups whose sizes differ by at most one)."""
    check_choice("binning", binning, BINNINGS)
    if not (isinstance(n_bins, (int, np.integer)) and n_bins >= 1):
        raise ValueError(f"n_bins must be a positive int, got {n_bins!r}.")
    if binning == "uniform":
        edges = np.linspace(0.0, 1.0, n_bins + 1)
        return bin_ids(values, edges), edges
    order = np.argsort(values, kind="stable")
    ids = np.empty(len(values), dtype=np.int64)
    groups = np.array_split(order, min(n_bins, len(values)))
    edges = [0.0]
    for b, g in enumerate(groups):
        ids[g] = b
        edges.append(float(values[g].max()) if len(g) else edges[-1])
    edges[-1] = max(edges[-1], 1.0)
    return ids, np.asarray(edges)


def _validate(y, probs):
    p = check_probabilities(probs)
    return check_labels(y, p.shape[0], p.shape[1]), p


@dataclass(frozen=True)
class CalibrationCurve:
    """Per-bin numbers of a reliability diagram (empty bins included, with NaN means)."""

    confidence: np.ndarray  # mean predicted probability in each bin
    accuracy: np.ndarray  # observed frequency (top-label: accuracy) in each bin
    count: np.ndarray  # samples in each bin
    bin_edges: np.ndarray  # n_bins + 1 edges

    def to_dict(self) -> dict:
        def clean(a):
            return [None if not np.isfinite(v) else float(v) for v in a]

        return {"confidence": clean(self.confidence), "accuracy": clean(self.accuracy),
                "count": [int(c) for c in self.count], "bin_edges": [float(e) for e in self.bin_edges]}

    @classmethod
    def from_dict(cls, d: dict) -> "CalibrationCurve":
        def arr(v):
            return np.array([np.nan if x is None else x for x in v], dtype=np.float64)

        return cls(arr(d["confidence"]), arr(d["accuracy"]), np.asarray(d["count"], dtype=np.int64),
                   np.asarray(d["bin_edges"], dtype=np.float64))


def _curve(conf: np.ndarray, hit: np.ndarray, n_bins: int, binning: str) -> CalibrationCurve:
    ids, edges = _bins(conf, n_bins, binning)
    nb = len(edges) - 1
    count = np.bincount(ids, minlength=nb)
    with np.errstate(invalid="ignore", divide="ignore"):
        confidence = np.bincount(ids, weights=conf, minlength=nb) / count
        accuracy = np.bincount(ids, weights=hit.astype(np.float64), minlength=nb) / count
    return CalibrationCurve(confidence, accuracy, count, edges)


def calibration_curve(y, probs, *, n_bins: int = DEFAULT_BINS, binning: str = "uniform",
                      level: int | None = None) -> CalibrationCurve:
    """Per-bin mean confidence, observed accuracy and count.

    Top-label by default (confidence = max probability, accuracy = argmax is right); with
    ``level=k`` the one-vs-rest curve of level ``k`` (confidence = ``p_k``, accuracy = frequency of
    ``y == k``), which equals ``sklearn.calibration.calibration_curve`` on the non-empty bins.

    >>> import numpy as np
    >>> c = calibration_curve([0, 1, 1], [[0.9, 0.1], [0.2, 0.8], [0.6, 0.4]], n_bins=2)
    >>> c.count.tolist(), c.accuracy.tolist()
    ([0, 3], [nan, 0.6666666666666666])
    """
    y, p = _validate(y, probs)
    if level is None:
        return _curve(p.max(axis=1), p.argmax(axis=1) == y, n_bins, binning)
    if not 0 <= level < p.shape[1]:
        raise ValueError(f"level must be in [0, {p.shape[1] - 1}], got {level!r}.")
    return _curve(p[:, level], y == level, n_bins, binning)


def binned_gap(curve: CalibrationCurve, n: int) -> tuple[float, float]:
    seen = curve.count > 0
    gaps = np.abs(curve.accuracy[seen] - curve.confidence[seen])
    return float((gaps * curve.count[seen]).sum() / n), float(gaps.max(initial=0.0))


def expected_calibration_error(y, probs, *, n_bins: int = DEFAULT_BINS, binning: str = "uniform",
                               kind: str = "top_label") -> float:
    """ECE: ``sum_b (n_b / n) |acc_b - conf_b|`` over bins of the confidence.

    ``kind="top_label"`` bins the max probability and compares with accuracy (Guo et al.);
    ``kind="classwise"`` averages over levels the ECE of each level's one-vs-rest probability
    (Kull et al.). ``binning="uniform"`` (default, 15 equal-width bins on [0, 1]) or
    ``"quantile"`` (equal-mass bins). A plug-in estimate: it is biased upwards on small sets.
    """
    check_choice("kind", kind, KINDS)
    y, p = _validate(y, probs)
    if kind == "top_label":
        return binned_gap(calibration_curve(y, p, n_bins=n_bins, binning=binning), len(y))[0]
    return float(np.mean([binned_gap(calibration_curve(y, p, n_bins=n_bins, binning=binning, level=k), len(y))[0]
                          for k in range(p.shape[1])]))


def ece_consistency(probs, *, n_bins: int = DEFAULT_BINS, binning: str = "uniform", n_draws: int = 1000,
                    seed: int = 0) -> dict[str, float]:
    """The top-label ECE that *perfectly calibrated* probabilities ``probs`` would show on a set
    this size: levels drawn from ``probs`` themselves, ECE measured, ``n_draws`` times
    (consistency resampling, Bröcker & Smith 2007). Returns the mean and the 95th percentile: an
    observed ECE below the percentile is within what sampling noise alone produces.

    >>> band = ece_consistency([[0.7, 0.3]] * 200, n_bins=10)
    >>> 0.0 < band["mean"] < band["q95"] < 0.1
    True
    """
    p = check_probabilities(probs)
    rng = np.random.default_rng(seed)
    cdf = np.cumsum(p, axis=1)
    draws = np.empty(n_draws)
    for i in range(n_draws):
        y = np.minimum((rng.random(len(p))[:, None] > cdf).sum(axis=1), p.shape[1] - 1)
        draws[i] = expected_calibration_error(y, p, n_bins=n_bins, binning=binning)
    return {"mean": float(draws.mean()), "q95": float(np.quantile(draws, 0.95))}


def adaptive_calibration_error(y, probs, *, n_bins: int = DEFAULT_BINS, kind: str = "top_label") -> float:
    """Adaptive ECE: :func:`expected_calibration_error` with equal-mass bins (each bin holds
    about ``n / n_bins`` samples), so no bin is nearly empty (Nixon et al., 2019)."""
    return expected_calibration_error(y, probs, n_bins=n_bins, binning="quantile", kind=kind)


def maximum_calibration_error(y, probs, *, n_bins: int = DEFAULT_BINS, binning: str = "uniform") -> float:
    """MCE: the largest ``|acc_b - conf_b|`` over non-empty top-label bins."""
    y, p = _validate(y, probs)
    return binned_gap(calibration_curve(y, p, n_bins=n_bins, binning=binning), len(y))[1]


def brier_score(y, probs) -> float:
    """Multiclass Brier score: mean over samples of ``sum_k (p_k - 1[y = k])^2``, in [0, 2]."""
    y, p = _validate(y, probs)
    onehot = np.eye(p.shape[1])[y]
    return float(((p - onehot) ** 2).sum(axis=1).mean())


def negative_log_likelihood(y, probs) -> float:
    """Mean ``-log p_y`` (probabilities clipped to ``[eps, 1 - eps]`` like scikit-learn's ``log_loss``)."""
    y, p = _validate(y, probs)
    return float(-np.log(np.clip(p[np.arange(len(y)), y], _EPS, 1 - _EPS)).mean())


def ranked_probability_score(y, probs) -> float:
    """Ranked probability score for ordered levels: mean over samples of
    ``sum_{k<K-1} (P(level <= k) - 1[y <= k])^2 / (K - 1)``, in [0, 1]. Unlike Brier, it
    penalises probability on levels far from the true one more than on adjacent levels."""
    y, p = _validate(y, probs)
    k = p.shape[1]
    cdf = np.cumsum(p, axis=1)[:, :-1]
    obs = (y[:, None] <= np.arange(k - 1)[None, :]).astype(np.float64)
    return float(((cdf - obs) ** 2).sum(axis=1).mean() / (k - 1))


def expected_level_calibration_error(y, probs, *, n_bins: int = DEFAULT_BINS, binning: str = "uniform") -> float:
    """Calibration of the expected level, in levels: bin ``E[level] = sum_k k p_k`` (equal-width
    bins on [0, K-1] or equal-mass bins) and average ``|mean E[level] - mean observed level|``
    weighted by bin mass. 0 when the continuous score is unbiased within every bin."""
    y, p = _validate(y, probs)
    top = p.shape[1] - 1
    expected = p @ np.arange(p.shape[1], dtype=np.float64)
    curve = _curve(expected / top, y / top, n_bins, binning)
    return binned_gap(curve, len(y))[0] * top


def expected_level_curve(y, probs, *, n_bins: int = DEFAULT_BINS, binning: str = "uniform") -> CalibrationCurve:
    """Per-bin mean expected level and mean observed level (both divided by ``K - 1``, the score scale)."""
    y, p = _validate(y, probs)
    top = p.shape[1] - 1
    return _curve(p @ np.arange(p.shape[1], dtype=np.float64) / top, y / top, n_bins, binning)


def calibration_metrics(y, probs, *, n_bins: int = DEFAULT_BINS) -> dict[str, float]:
    """All calibration metrics above, by name (the set shown in reports and by ``tonecls calibrate``)."""
    y, p = _validate(y, probs)
    return {
        "nll": negative_log_likelihood(y, p),
        "brier": brier_score(y, p),
        "rps": ranked_probability_score(y, p),
        "ece": expected_calibration_error(y, p, n_bins=n_bins),
        "ece_equal_mass": adaptive_calibration_error(y, p, n_bins=n_bins),
        "ece_classwise": expected_calibration_error(y, p, n_bins=n_bins, kind="classwise"),
        "ece_classwise_equal_mass": adaptive_calibration_error(y, p, n_bins=n_bins, kind="classwise"),
        "mce": maximum_calibration_error(y, p, n_bins=n_bins),
        "level_ece": expected_level_calibration_error(y, p, n_bins=n_bins),
    }
