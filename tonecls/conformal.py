"""Split-conformal prediction sets of tone levels, with ordinal intervals.

Fit on **probabilities** of a held-out split (calibrated ones, e.g. ``calibrator.transform``
of logits the calibrator was not fitted on), then every new statement gets a set of levels that
contains its true level with probability at least ``1 - alpha``, averaged over statements
(marginal coverage; it holds for any model as long as the held-out and new statements are
exchangeable).

``method="ordinal"`` (default) gives contiguous intervals ``low..high``: starting at the most
probable level, the interval grows one level at a time towards the more probable neighbour. The
conformity score of a true level is the probability mass already in the interval before the
true level joins it; an interval keeps growing while the mass so far is at most the conformal
quantile. ``method="lac"`` keeps every level whose probability is at least ``1 - q`` (Sadinle et
al., 2019); its sets can have gaps, and :meth:`ConformalPredictor.predict` returns their hull.

The quantile is the ``ceil((n + 1)(1 - alpha))``-th smallest of the ``n`` held-out scores (the
finite-sample correction); when that exceeds ``n`` every level is returned.

>>> import numpy as np
>>> from tonecls.conformal import ConformalPredictor
>>> rng = np.random.default_rng(0)
>>> probs = rng.dirichlet(np.ones(5), size=400)
>>> y = np.array([rng.choice(5, p=p) for p in probs])
>>> cp = ConformalPredictor(alpha=0.1).fit(probs[:200], y[:200])
>>> low, high = cp.predict(probs[200:])
>>> bool(((low <= y[200:]) & (y[200:] <= high)).mean() >= 0.8)
True
"""

from __future__ import annotations

import math

import numpy as np

from ._checks import check_labels, check_probabilities
from .exceptions import NotFittedError

METHODS = ("ordinal", "lac")


def _greedy_intervals(p: np.ndarray):
    """For each row, the nested intervals grown from the mode.

    Returns ``prev_mass`` (n, k): mass of the interval before step ``j``; ``low``/``high``
    (n, k): the interval after step ``j``; ``step_of`` (n, k): the step at which each level joins.
    Ties between neighbours go to the lower (more cautious) level.
    """
    n, k = p.shape
    rows = np.arange(n)
    mode = p.argmax(axis=1)
    low, high = mode.copy(), mode.copy()
    mass = p[rows, mode].copy()
    prev_mass = np.zeros((n, k))
    lows, highs = np.empty((n, k), dtype=np.int64), np.empty((n, k), dtype=np.int64)
    step_of = np.empty((n, k), dtype=np.int64)
    lows[:, 0], highs[:, 0] = low, high
    step_of[rows, mode] = 0
    for j in range(1, k):
        prev_mass[:, j] = mass
        p_left = np.where(low > 0, p[rows, np.maximum(low - 1, 0)], -1.0)
        p_right = np.where(high < k - 1, p[rows, np.minimum(high + 1, k - 1)], -1.0)
        go_left = p_left >= p_right
        new = np.where(go_left, low - 1, high + 1)
        low = np.where(go_left, new, low)
        high = np.where(go_left, high, new)
        mass = mass + p[rows, new]
        lows[:, j], highs[:, j] = low, high
        step_of[rows, new] = j
    return prev_mass, lows, highs, step_of


class ConformalPredictor:
    """Split-conformal level sets at confidence ``1 - alpha`` (``fit(probs, y)``, ``predict(probs)``).

    Learned state: ``quantile_`` (None means "all levels"), ``n_calibration_``, ``n_classes_``,
    ``coverage_`` (coverage on the fitting split).
    """

    def __init__(self, *, alpha: float = 0.1, method: str = "ordinal"):
        self.alpha = alpha
        self.method = method

    def __repr__(self) -> str:
        return f"ConformalPredictor(alpha={self.alpha!r}, method={self.method!r})"

    @property
    def is_fitted(self) -> bool:
        return hasattr(self, "n_classes_")

    def _check_fitted(self):
        if not self.is_fitted:
            raise NotFittedError("This ConformalPredictor is not fitted yet: call fit(probs, y) on held-out data first.")

    def _validate_options(self):
        if self.method not in METHODS:
            raise ValueError(f"Unknown conformal method {self.method!r}; choose one of {list(METHODS)}.")
        if not (isinstance(self.alpha, (float, int)) and 0 < self.alpha < 1):
            raise ValueError(f"alpha must be in (0, 1), e.g. 0.1 for 90% sets; got {self.alpha!r}.")

    def scores(self, probs, y) -> np.ndarray:
        """Non-conformity score of each true level (larger = less expected)."""
        p = check_probabilities(probs)
        y = check_labels(y, p.shape[0], p.shape[1])
        self._validate_options()
        if self.method == "lac":
            return 1.0 - p[np.arange(len(y)), y]
        prev_mass, _, _, step_of = _greedy_intervals(p)
        rows = np.arange(len(y))
        return prev_mass[rows, step_of[rows, y]]

    def fit(self, probs, y) -> "ConformalPredictor":
        """Fit on held-out probabilities ``(n, k)`` and true levels ``(n,)``; returns ``self``."""
        s = np.sort(self.scores(probs, y))
        n = len(s)
        rank = math.ceil((n + 1) * (1 - self.alpha) - 1e-9)  # tolerance: float noise must not add a rank
        self.quantile_ = None if rank > n else float(s[rank - 1])
        self.n_calibration_ = n
        self.n_classes_ = int(np.asarray(probs).shape[1])
        low, high = self.predict(probs)
        y = np.asarray(y)
        self.coverage_ = float(((low <= y) & (y <= high)).mean()) if self.method == "ordinal" else \
            float(self.predict_set(probs)[np.arange(n), y].mean())
        return self

    def predict_set(self, probs) -> np.ndarray:
        """Boolean mask ``(n, k)``: level ``j`` is in the set of row ``i``. Never empty (the most
        probable level is always in); contiguous for ``method="ordinal"``."""
        self._check_fitted()
        p = check_probabilities(probs, self.n_classes_)
        n, k = p.shape
        if self.quantile_ is None:
            return np.ones((n, k), dtype=bool)
        if self.method == "lac":
            mask = 1.0 - p <= self.quantile_
            mask[np.arange(n), p.argmax(axis=1)] = True
            return mask
        low, high = self._ordinal(p)
        levels = np.arange(k)[None, :]
        return (levels >= low[:, None]) & (levels <= high[:, None])

    def _ordinal(self, p):
        prev_mass, lows, highs, _ = _greedy_intervals(p)
        steps = (prev_mass <= self.quantile_).sum(axis=1) - 1  # step 0 always counts (prev mass 0)
        rows = np.arange(len(p))
        return lows[rows, steps], highs[rows, steps]

    def predict(self, probs) -> tuple[np.ndarray, np.ndarray]:
        """``(low, high)`` int arrays: the interval of levels for each row (the hull of the set
        for ``method="lac"``)."""
        self._check_fitted()
        p = check_probabilities(probs, self.n_classes_)
        if self.quantile_ is None:
            return np.zeros(len(p), dtype=np.int64), np.full(len(p), p.shape[1] - 1, dtype=np.int64)
        if self.method == "ordinal":
            return self._ordinal(p)
        mask = self.predict_set(p)
        k = p.shape[1]
        return mask.argmax(axis=1).astype(np.int64), (k - 1 - mask[:, ::-1].argmax(axis=1)).astype(np.int64)

    def to_dict(self) -> dict:
        """Plain-number dict (``quantile`` null means every level)."""
        self._check_fitted()
        return {"method": self.method, "alpha": float(self.alpha), "quantile": self.quantile_,
                "n_calibration": int(self.n_calibration_), "n_classes": int(self.n_classes_),
                "coverage_on_fit": float(self.coverage_)}

    @classmethod
    def from_dict(cls, d: dict) -> "ConformalPredictor":
        cp = cls(alpha=float(d["alpha"]), method=d["method"])
        cp._validate_options()
        cp.quantile_ = None if d.get("quantile") is None else float(d["quantile"])
        cp.n_calibration_ = int(d["n_calibration"])
        cp.n_classes_ = int(d["n_classes"])
        cp.coverage_ = float(d.get("coverage_on_fit", float("nan")))
        return cp


def interval_coverage(y, low, high) -> float:
    """Fraction of rows whose true level lies in ``[low, high]``."""
    y, low, high = (np.asarray(a) for a in (y, low, high))
    return float(((low <= y) & (y <= high)).mean())


def interval_width(low, high) -> float:
    """Mean number of levels in the intervals."""
    return float((np.asarray(high) - np.asarray(low) + 1).mean())
