"""Calibrators on logits, and calibration metrics on probabilities.

Every calibrator takes **logits** (shape ``(n, k)``, the raw outputs of
:meth:`ToneClassifier.predict_logits`), never probabilities, and shares one interface:
``fit(logits, y) -> self``, ``transform(logits) -> probabilities``, ``to_dict()`` /
``from_dict(d)`` (plain JSON numbers, no pickle). Anything that looks like probabilities
(every row non-negative and summing to 1) is refused with a ``ValueError``.

>>> import numpy as np
>>> from tonecls.calibration import make_calibrator, expected_calibration_error, softmax
>>> rng = np.random.default_rng(0)
>>> z = rng.normal(0, 2, (2000, 5))                                   # true logits
>>> y = (rng.random(2000)[:, None] > np.cumsum(softmax(z), axis=1)).sum(axis=1)
>>> logits = 3 * z                                                    # an over-confident model
>>> cal = make_calibrator("temperature").fit(logits, y)
>>> round(cal.temperature_, 1)
3.0
>>> round(expected_calibration_error(y, softmax(logits)), 2), round(expected_calibration_error(y, cal.transform(logits)), 2)
(0.21, 0.03)

Methods (``CALIBRATORS``): ``none`` (plain softmax), ``temperature``, ``vector``,
``isotonic``, ``histogram``, ``platt``, ``beta``. Metrics are pure functions of ``(y, probs)``:
:func:`expected_calibration_error` (equal-width or equal-mass bins, top-label or class-wise),
:func:`adaptive_calibration_error`, :func:`maximum_calibration_error`, :func:`brier_score`,
:func:`negative_log_likelihood`, :func:`ranked_probability_score`,
:func:`expected_level_calibration_error`, :func:`calibration_curve` for the per-bin numbers, and
:func:`ece_consistency`, the ECE that sampling noise alone gives perfectly calibrated probabilities.
See ``docs/calibration.md`` for the estimators' definitions.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from .exceptions import CalibrationError, NotFittedError  # noqa: F401 (re-exported)

FORMAT = "tonecls-calibration"
FORMAT_VERSION = 1
BINNINGS = ("uniform", "quantile")
KINDS = ("top_label", "classwise")
DEFAULT_BINS = 15
_EPS = float(np.finfo(np.float64).eps)


# ============================================================================ validation
def _check_choice(name: str, value, choices) -> None:
    if value not in choices:
        raise ValueError(f"Unknown {name} {value!r}; choose one of {list(choices)}.")


def _looks_like_probabilities(a: np.ndarray) -> bool:
    return bool(np.all(a >= 0) and np.allclose(a.sum(axis=1), 1.0, rtol=0, atol=1e-6))


def check_logits(logits, n_classes: int | None = None) -> np.ndarray:
    """Return ``logits`` as a float64 ``(n, k)`` array, or raise ``ValueError`` saying why.

    Refuses NaN/inf, wrong shapes, a wrong number of classes, and probabilities (rows that are
    all non-negative and sum to 1): calibrators take logits, e.g. ``clf.predict_logits(texts)``.
    """
    a = np.asarray(logits, dtype=np.float64)
    if a.ndim != 2 or a.shape[0] == 0 or a.shape[1] < 2:
        raise ValueError(f"Expected logits of shape (n_samples, n_classes) with n_classes >= 2, got shape {a.shape}.")
    if n_classes is not None and a.shape[1] != n_classes:
        raise ValueError(f"Expected {n_classes} logits per row (as at fit time), got {a.shape[1]}.")
    if not np.all(np.isfinite(a)):
        raise ValueError(f"Logits contain NaN or infinite values (rows {np.flatnonzero(~np.isfinite(a).all(axis=1))[:5].tolist()}...).")
    if _looks_like_probabilities(a):
        raise ValueError(
            "These look like probabilities (every row is non-negative and sums to 1), but calibrators "
            "take logits: pass the model's raw outputs, e.g. clf.predict_logits(texts). If you only have "
            "probabilities, pass np.log(probs)."
        )
    return a


def check_probabilities(probs, n_classes: int | None = None) -> np.ndarray:
    """Return ``probs`` as a float64 ``(n, k)`` array of probabilities, or raise ``ValueError``."""
    p = np.asarray(probs, dtype=np.float64)
    if p.ndim != 2 or p.shape[0] == 0 or p.shape[1] < 2:
        raise ValueError(f"Expected probabilities of shape (n_samples, n_classes) with n_classes >= 2, got shape {p.shape}.")
    if n_classes is not None and p.shape[1] != n_classes:
        raise ValueError(f"Expected {n_classes} probabilities per row, got {p.shape[1]}.")
    if not np.all(np.isfinite(p)):
        raise ValueError("Probabilities contain NaN or infinite values.")
    if not _looks_like_probabilities(p):
        raise ValueError(
            "Expected probabilities (non-negative rows summing to 1); these look like logits. "
            "Pass calibrator.transform(logits) or clf.predict_proba(texts)."
        )
    return p


def check_labels(y, n_samples: int, n_classes: int) -> np.ndarray:
    """Return ``y`` as an int array of class ids in ``[0, n_classes)``, or raise ``ValueError``."""
    arr = np.asarray(y)
    if arr.ndim != 1 or arr.shape[0] != n_samples:
        raise ValueError(f"Expected {n_samples} labels in a 1-D array, got shape {arr.shape}.")
    if arr.dtype.kind == "f":
        if not np.all(np.isfinite(arr)) or not np.all(arr == np.round(arr)):
            raise ValueError("Labels must be whole level ids (0, 1, ...); found NaN or fractions.")
    elif arr.dtype.kind not in "iub":
        raise ValueError(f"Labels must be integer level ids, got dtype {arr.dtype}; convert names with "
                         "tonecls.scale.level_from_label.")
    out = arr.astype(np.int64)
    bad = np.flatnonzero((out < 0) | (out >= n_classes))
    if bad.size:
        raise ValueError(f"Labels must be in [0, {n_classes - 1}]; row {bad[0]} has {arr[bad[0]]!r}.")
    return out


def softmax(logits: np.ndarray) -> np.ndarray:
    z = logits - logits.max(axis=-1, keepdims=True)
    e = np.exp(z)
    return e / e.sum(axis=-1, keepdims=True)


def log_softmax(logits: np.ndarray) -> np.ndarray:
    z = logits - logits.max(axis=-1, keepdims=True)
    return z - np.log(np.exp(z).sum(axis=-1, keepdims=True))


def _one_vs_rest_log_odds(logits: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """``log p_k`` and ``log(1 - p_k)`` of the softmax, computed stably."""
    lp = log_softmax(logits)
    k = logits.shape[1]
    log_rest = np.empty_like(lp)
    for j in range(k):
        others = np.delete(lp, j, axis=1)
        m = others.max(axis=1, keepdims=True)
        log_rest[:, j] = (m + np.log(np.exp(others - m).sum(axis=1, keepdims=True)))[:, 0]
    return lp, log_rest


# ============================================================================ calibrators
class Calibrator:
    """Base class: shared validation, (de)serialisation and the optional conformal predictor.

    Subclasses set ``method`` and implement ``_fit``, ``_transform``, ``_get_state`` and
    ``_set_state``. A fitted calibrator may carry a fitted conformal predictor in
    ``conformal_`` (see :mod:`tonecls.conformal`); it is saved with it in ``calibration.json``.
    """

    method: str = ""
    _params: tuple[str, ...] = ()

    def get_params(self) -> dict:
        return {name: getattr(self, name) for name in self._params}

    def __repr__(self) -> str:
        args = ", ".join(f"{k}={v!r}" for k, v in self.get_params().items())
        return f"{type(self).__name__}({args})"

    @property
    def is_fitted(self) -> bool:
        return hasattr(self, "n_classes_")

    def _check_fitted(self) -> None:
        if not self.is_fitted:
            raise NotFittedError(f"This {type(self).__name__} is not fitted yet: call fit(logits, y) first.")

    def fit(self, logits, y) -> "Calibrator":
        """Fit on held-out ``logits`` (n, k) and true class ids ``y`` (n,); returns ``self``.

        Refitting drops a previously attached conformal predictor and ``info_``: both describe
        the old fit's probabilities and would otherwise be saved with the new one.
        """
        logits = check_logits(logits)
        y = check_labels(y, logits.shape[0], logits.shape[1])
        for stale in ("conformal_", "info_"):
            self.__dict__.pop(stale, None)
        self.n_classes_ = logits.shape[1]
        self._fit(logits, y)
        return self

    def transform(self, logits) -> np.ndarray:
        """Calibrated probabilities, shape ``(n, k)``, rows summing to 1."""
        self._check_fitted()
        return self._transform(check_logits(logits, self.n_classes_))

    def fit_transform(self, logits, y) -> np.ndarray:
        return self.fit(logits, y).transform(logits)

    def set_conformal(self, conformal) -> "Calibrator":
        """Attach a fitted conformal predictor (fitted on this calibrator's probabilities)."""
        self._check_fitted()
        if conformal is not None and not getattr(conformal, "is_fitted", False):
            raise NotFittedError("The conformal predictor is not fitted: fit it on held-out probabilities first.")
        self.conformal_ = conformal
        return self

    def to_dict(self) -> dict:
        """A JSON-ready dict of plain numbers; :func:`calibrator_from_dict` restores it."""
        self._check_fitted()
        out = {"format": FORMAT, "version": FORMAT_VERSION, "method": self.method, "params": self.get_params(),
               "n_classes": int(self.n_classes_), "state": self._get_state()}
        if getattr(self, "conformal_", None) is not None:
            out["conformal"] = self.conformal_.to_dict()
        if getattr(self, "info_", None):
            out["info"] = self.info_
        return out

    @classmethod
    def from_dict(cls, d: dict) -> "Calibrator":
        return calibrator_from_dict(d)

    # subclass hooks
    def _fit(self, logits, y):  # pragma: no cover - abstract
        raise NotImplementedError

    def _transform(self, logits):  # pragma: no cover - abstract
        raise NotImplementedError

    def _get_state(self) -> dict:
        return {}

    def _set_state(self, state: dict) -> None:
        pass

    def _check_state(self) -> None:
        """Raise ``ValueError`` if loaded parameters cannot be right (shapes, signs); on load."""


class IdentityCalibrator(Calibrator):
    """No calibration: plain softmax. Useful as a baseline, or to carry a conformal predictor.

    >>> import numpy as np
    >>> IdentityCalibrator().fit(np.array([[2.0, 0, 0, 0, 0], [0, 1.0, 0, 0, 0]]), [0, 1]).transform([[0, 0, 0, 0, 0.0]]).round(2)
    array([[0.2, 0.2, 0.2, 0.2, 0.2]])
    """

    method = "none"

    def _fit(self, logits, y):
        pass

    def _transform(self, logits):
        return softmax(logits)


class TemperatureScaling(Calibrator):
    """Divide all logits by one temperature ``T`` that minimises NLL (Guo et al., 2017).

    ``T > 1`` softens an over-confident model, ``T < 1`` sharpens an under-confident one; the
    most probable level never changes. ``T`` is searched in ``[1/max_temperature,
    max_temperature]`` by bounded Brent minimisation on ``log T`` (the NLL is convex in ``1/T``,
    so the minimum is unique).

    >>> import numpy as np
    >>> rng = np.random.default_rng(0); z = rng.normal(0, 2, (1000, 5))
    >>> y = (rng.random(1000)[:, None] > np.cumsum(softmax(z), axis=1)).sum(axis=1)
    >>> TemperatureScaling().fit(0.5 * z, y).temperature_ < 1       # under-confident: sharpen
    True
    """

    method = "temperature"
    _params = ("max_temperature",)

    def __init__(self, *, max_temperature: float = 100.0):
        self.max_temperature = max_temperature

    def _fit(self, logits, y):
        from scipy.optimize import minimize_scalar

        if not self.max_temperature > 1:
            raise ValueError(f"max_temperature must be > 1, got {self.max_temperature!r}.")
        bound = float(np.log(self.max_temperature))
        res = minimize_scalar(lambda t: temperature_nll(logits, y, float(np.exp(t))), bounds=(-bound, bound),
                              method="bounded", options={"xatol": 1e-7})
        self.temperature_ = float(np.exp(res.x))

    def _transform(self, logits):
        return softmax(logits / self.temperature_)

    def _get_state(self):
        return {"temperature": self.temperature_}

    def _set_state(self, state):
        self.temperature_ = float(state["temperature"])

    def _check_state(self):
        if not self.temperature_ > 0:  # a negative temperature would invert every prediction
            raise ValueError(f"temperature {self.temperature_!r} must be > 0 (a negative one inverts every prediction)")


def temperature_nll(logits: np.ndarray, y: np.ndarray, temperature: float) -> float:
    """Mean NLL of ``softmax(logits / temperature)`` (the objective of :class:`TemperatureScaling`)."""
    lp = log_softmax(np.asarray(logits, dtype=np.float64) / temperature)
    return float(-lp[np.arange(len(y)), y].mean())


class VectorScaling(Calibrator):
    """Per-level scale and shift of the logits, ``z * w + b``, minimising NLL by L-BFGS.

    Starts from the identity (``w = 1``, ``b = 0``), so the NLL on the fitting data never gets
    worse; ``l2`` (default 0) pulls ``w, b`` towards the identity for small fitting sets.
    """

    method = "vector"
    _params = ("l2", "max_iter")

    def __init__(self, *, l2: float = 0.0, max_iter: int = 500):
        self.l2 = l2
        self.max_iter = max_iter

    def _fit(self, logits, y):
        from scipy.optimize import minimize

        n, k = logits.shape
        onehot = np.eye(k)[y]

        def objective(theta):
            w, b = theta[:k], theta[k:]
            lp = log_softmax(logits * w + b)
            loss = -(onehot * lp).sum() / n + 0.5 * self.l2 * (((w - 1) ** 2).sum() + (b ** 2).sum())
            g = (np.exp(lp) - onehot) / n
            grad = np.concatenate([(g * logits).sum(axis=0) + self.l2 * (w - 1), g.sum(axis=0) + self.l2 * b])
            return loss, grad

        theta0 = np.concatenate([np.ones(k), np.zeros(k)])
        res = minimize(objective, theta0, jac=True, method="L-BFGS-B", options={"maxiter": self.max_iter})
        theta = res.x if objective(res.x)[0] <= objective(theta0)[0] else theta0
        self.weights_, self.bias_ = theta[:k].copy(), theta[k:].copy()

    def _transform(self, logits):
        return softmax(logits * self.weights_ + self.bias_)

    def _get_state(self):
        return {"weights": self.weights_.tolist(), "bias": self.bias_.tolist()}

    def _set_state(self, state):
        self.weights_ = np.asarray(state["weights"], dtype=np.float64)
        self.bias_ = np.asarray(state["bias"], dtype=np.float64)

    def _check_state(self):
        _check_shape("weights", self.weights_, (self.n_classes_,))
        _check_shape("bias", self.bias_, (self.n_classes_,))


class _OneVsRest(Calibrator):
    """One-vs-rest calibrators: each level's softmax probability is mapped by its own function,
    then the rows are renormalised. :meth:`predict_one_vs_rest` gives the per-level values
    before renormalisation."""

    def predict_one_vs_rest(self, logits) -> np.ndarray:
        """Per-level calibrated probabilities before renormalisation (rows need not sum to 1)."""
        self._check_fitted()
        return np.clip(self._one_vs_rest(check_logits(logits, self.n_classes_)), 0.0, 1.0)

    def _transform(self, logits):
        q = np.clip(self._one_vs_rest(logits), 0.0, 1.0)
        total = q.sum(axis=1, keepdims=True)
        empty = total[:, 0] <= 0
        if empty.any():  # every level mapped to 0: fall back to the uncalibrated softmax
            q[empty] = softmax(logits[empty])
            total[empty] = 1.0
        return q / total


class IsotonicCalibration(_OneVsRest):
    """One-vs-rest isotonic regression of ``1[y = k]`` on the softmax probability ``p_k``
    (Zadrozny & Elkan, 2002), renormalised. The fitted step functions are stored as their
    thresholds; values outside the fitted range are clipped, as in scikit-learn.

    Isotonic maps are flexible: expect zero probabilities on small fitting sets (the NLL metric
    clips them) and use ``temperature`` unless the dev set has thousands of rows.
    """

    method = "isotonic"

    def _fit(self, logits, y):
        from sklearn.isotonic import IsotonicRegression

        p = softmax(logits)
        self.x_thresholds_, self.y_thresholds_ = [], []
        for k in range(self.n_classes_):
            iso = IsotonicRegression(y_min=0.0, y_max=1.0, out_of_bounds="clip").fit(p[:, k], (y == k).astype(float))
            self.x_thresholds_.append(np.asarray(iso.X_thresholds_, dtype=np.float64))
            self.y_thresholds_.append(np.asarray(iso.y_thresholds_, dtype=np.float64))

    def _one_vs_rest(self, logits):
        p = softmax(logits)
        out = np.empty_like(p)
        for k in range(self.n_classes_):
            xs, ys = self.x_thresholds_[k], self.y_thresholds_[k]
            out[:, k] = np.interp(p[:, k], xs, ys) if len(xs) > 1 else ys[0]
        return out

    def _get_state(self):
        return {"x_thresholds": [x.tolist() for x in self.x_thresholds_],
                "y_thresholds": [y.tolist() for y in self.y_thresholds_]}

    def _set_state(self, state):
        self.x_thresholds_ = [np.asarray(x, dtype=np.float64) for x in state["x_thresholds"]]
        self.y_thresholds_ = [np.asarray(y, dtype=np.float64) for y in state["y_thresholds"]]

    def _check_state(self):
        _check_per_level(self, "x_thresholds", self.x_thresholds_)
        _check_per_level(self, "y_thresholds", self.y_thresholds_)
        for k, (x, y) in enumerate(zip(self.x_thresholds_, self.y_thresholds_)):
            if x.shape != y.shape or len(x) == 0 or np.any(np.diff(x) < 0) or np.any((y < 0) | (y > 1)):
                raise ValueError(f"thresholds of level {k} are not an increasing map into [0, 1] of matching lengths")


class HistogramBinning(_OneVsRest):
    """One-vs-rest histogram binning (Zadrozny & Elkan, 2001): each level's softmax probability
    is replaced by the observed frequency of that level in its bin, renormalised.

    ``binning="quantile"`` (default) uses equal-mass bins, ``"uniform"`` equal-width bins on
    [0, 1]; an empty bin (no fitting data) maps to its centre. On the fitting data, each
    level's binned mean prediction equals its observed frequency.
    """

    method = "histogram"
    _params = ("n_bins", "binning")

    def __init__(self, *, n_bins: int = DEFAULT_BINS, binning: str = "quantile"):
        self.n_bins = n_bins
        self.binning = binning

    def _fit(self, logits, y):
        _check_choice("binning", self.binning, BINNINGS)
        if not (isinstance(self.n_bins, (int, np.integer)) and self.n_bins >= 1):
            raise ValueError(f"n_bins must be a positive int, got {self.n_bins!r}.")
        p = softmax(logits)
        self.bin_edges_, self.bin_values_ = [], []
        for k in range(self.n_classes_):
            if self.binning == "uniform":
                edges = np.linspace(0.0, 1.0, self.n_bins + 1)
            else:
                edges = np.quantile(p[:, k], np.linspace(0.0, 1.0, self.n_bins + 1))
                edges[0], edges[-1] = 0.0, 1.0
                edges = np.maximum.accumulate(edges)
            ids = _bin_ids(p[:, k], edges)
            values = np.empty(len(edges) - 1)
            for b in range(len(values)):
                mask = ids == b
                values[b] = (y[mask] == k).mean() if mask.any() else 0.5 * (edges[b] + edges[b + 1])
            self.bin_edges_.append(edges)
            self.bin_values_.append(values)

    def _one_vs_rest(self, logits):
        p = softmax(logits)
        out = np.empty_like(p)
        for k in range(self.n_classes_):
            out[:, k] = self.bin_values_[k][_bin_ids(p[:, k], self.bin_edges_[k])]
        return out

    def _get_state(self):
        return {"bin_edges": [e.tolist() for e in self.bin_edges_], "bin_values": [v.tolist() for v in self.bin_values_]}

    def _set_state(self, state):
        self.bin_edges_ = [np.asarray(e, dtype=np.float64) for e in state["bin_edges"]]
        self.bin_values_ = [np.asarray(v, dtype=np.float64) for v in state["bin_values"]]

    def _check_state(self):
        _check_per_level(self, "bin_edges", self.bin_edges_)
        _check_per_level(self, "bin_values", self.bin_values_)
        for k, (e, v) in enumerate(zip(self.bin_edges_, self.bin_values_)):
            if len(e) != len(v) + 1 or len(v) == 0 or np.any(np.diff(e) < 0) or np.any((v < 0) | (v > 1)):
                raise ValueError(f"bins of level {k}: need n + 1 increasing edges and n values in [0, 1]")


def _fit_logistic(features: np.ndarray, target: np.ndarray, theta0: np.ndarray, max_iter: int) -> np.ndarray:
    """Unregularised logistic regression ``sigmoid(features @ theta[:-1] + theta[-1])`` by L-BFGS,
    started at ``theta0`` and never returning parameters worse than ``theta0``."""
    from scipy.optimize import minimize

    x = np.hstack([features, np.ones((len(features), 1))])
    n = len(target)

    def objective(theta):
        s = x @ theta
        # binary cross-entropy = log(1 + e^s) - t s, computed stably
        loss = (np.logaddexp(0.0, s) - target * s).sum() / n
        grad = x.T @ (1.0 / (1.0 + np.exp(-s)) - target) / n
        return loss, grad

    res = minimize(objective, theta0, jac=True, method="L-BFGS-B", options={"maxiter": max_iter})
    return res.x if objective(res.x)[0] <= objective(theta0)[0] else theta0


class PlattScaling(_OneVsRest):
    """One-vs-rest Platt scaling: ``sigmoid(a_k * s_k + c_k)`` on each level's log-odds
    ``s_k = log p_k - log(1 - p_k)`` of the softmax, fitted by unregularised logistic regression
    (starting from the identity ``a = 1, c = 0``), renormalised."""

    method = "platt"
    _params = ("max_iter",)

    def __init__(self, *, max_iter: int = 200):
        self.max_iter = max_iter

    def _features(self, logits):
        lp, lrest = _one_vs_rest_log_odds(logits)
        return [(lp[:, k] - lrest[:, k])[:, None] for k in range(logits.shape[1])]

    def _identity(self):
        return np.array([1.0, 0.0])

    def _fit(self, logits, y):
        feats = self._features(logits)
        self.coef_ = np.array([_fit_logistic(feats[k], (y == k).astype(float), self._identity(), self.max_iter)
                               for k in range(self.n_classes_)])

    def _one_vs_rest(self, logits):
        feats = self._features(logits)
        s = np.stack([feats[k] @ self.coef_[k, :-1] + self.coef_[k, -1] for k in range(self.n_classes_)], axis=1)
        return 1.0 / (1.0 + np.exp(-s))

    def _get_state(self):
        return {"coef": self.coef_.tolist()}

    def _set_state(self, state):
        self.coef_ = np.asarray(state["coef"], dtype=np.float64)

    def _check_state(self):
        _check_shape("coef", self.coef_, (self.n_classes_, len(self._identity())))


class BetaCalibration(PlattScaling):
    """One-vs-rest beta calibration (Kull et al., 2017):
    ``sigmoid(a_k log p_k - b_k log(1 - p_k) + c_k)`` on each level's softmax probability,
    fitted by unregularised logistic regression from the identity, renormalised. It includes
    Platt scaling (``a = b``) and can bend the map where Platt can only shift and scale it."""

    method = "beta"

    def _features(self, logits):
        lp, lrest = _one_vs_rest_log_odds(logits)
        return [np.stack([lp[:, k], -lrest[:, k]], axis=1) for k in range(logits.shape[1])]

    def _identity(self):
        return np.array([1.0, 1.0, 0.0])


CALIBRATORS: dict[str, type[Calibrator]] = {
    "none": IdentityCalibrator,
    "temperature": TemperatureScaling,
    "vector": VectorScaling,
    "isotonic": IsotonicCalibration,
    "histogram": HistogramBinning,
    "platt": PlattScaling,
    "beta": BetaCalibration,
}


def make_calibrator(name: str = "temperature", **params) -> Calibrator:
    """A new, unfitted calibrator by name (one of :data:`CALIBRATORS`)."""
    _check_choice("calibration method", name, CALIBRATORS)
    return CALIBRATORS[name](**params)


def _check_shape(name: str, a: np.ndarray, shape: tuple) -> None:
    if a.shape != shape:
        raise ValueError(f"{name} has shape {a.shape}, expected {shape}")


def _check_per_level(cal, name: str, arrays) -> None:
    if len(arrays) != cal.n_classes_ or any(a.ndim != 1 for a in arrays):
        raise ValueError(f"{name} needs one list of numbers per level ({cal.n_classes_})")


def _non_finite(obj, where: str = "") -> str | None:
    """Path of the first number in ``obj`` (nested lists/dicts) that is NaN or infinite, or None."""
    if isinstance(obj, bool) or obj is None or isinstance(obj, str):
        return None
    if isinstance(obj, (int, float, np.floating, np.integer)):
        return None if np.isfinite(obj) else f"{where or 'value'} = {obj!r}"
    if isinstance(obj, dict):
        return next((w for k, v in obj.items() if (w := _non_finite(v, f"{where}.{k}" if where else str(k)))), None)
    if isinstance(obj, (list, tuple)):
        return next((w for i, v in enumerate(obj) if (w := _non_finite(v, f"{where}[{i}]"))), None)
    return f"{where or 'value'} is {type(obj).__name__}, not a number"


def calibrator_from_dict(d: dict) -> Calibrator:
    """Rebuild a fitted calibrator (and its conformal predictor, if any) from :meth:`Calibrator.to_dict`.

    Everything is checked on load (a calibrator that loads is usable): the format and version,
    a known method, ``n_classes`` >= 2, every parameter a finite number, shapes that fit
    ``n_classes``, a temperature > 0, and the conformal predictor's settings. Anything else raises
    :class:`~tonecls.exceptions.CalibrationError` saying what is wrong.
    """
    if not isinstance(d, dict) or d.get("format") != FORMAT:
        raise CalibrationError(f"not a tonecls calibration (expected a JSON object with format {FORMAT!r}).")
    if not isinstance(d.get("version", 0), int) or d.get("version", 0) > FORMAT_VERSION:
        raise CalibrationError(f"calibration format version {d.get('version')!r} is newer than this tonecls supports "
                               f"({FORMAT_VERSION}); upgrade tonecls.")
    if d.get("method") not in CALIBRATORS:
        raise CalibrationError(f"unknown calibration method {d.get('method')!r}; known: {list(CALIBRATORS)}.")
    params, state = d.get("params") or {}, d.get("state") or {}
    if not isinstance(params, dict) or not isinstance(state, dict):
        raise CalibrationError("'params' and 'state' must be JSON objects.")
    bad = _non_finite({"params": params, "state": state, "n_classes": d.get("n_classes")})
    if bad:
        raise CalibrationError(f"{bad}: every parameter must be a finite number.")
    n = d.get("n_classes")
    if not isinstance(n, int) or isinstance(n, bool) or n < 2:
        raise CalibrationError(f"n_classes must be an integer >= 2, got {n!r}.")
    try:
        cal = make_calibrator(d["method"], **params)
        cal.n_classes_ = n
        cal._set_state(state)
        cal._check_state()
    except (KeyError, TypeError, ValueError) as err:
        what = f"missing {err}" if isinstance(err, KeyError) else str(err)
        raise CalibrationError(f"{d['method']} calibration: {what}.") from None
    if d.get("conformal") is not None:
        from .conformal import ConformalPredictor

        conf = d["conformal"]
        bad = _non_finite({k: v for k, v in conf.items() if k != "coverage_on_fit"}) if isinstance(conf, dict) else None
        try:
            if bad:
                raise ValueError(f"{bad}: every number must be finite")
            cal.conformal_ = ConformalPredictor.from_dict(conf)
            if cal.conformal_.n_classes_ != n:
                raise ValueError(f"it has {cal.conformal_.n_classes_} levels, the calibrator {n}")
        except (KeyError, TypeError, ValueError, AttributeError) as err:
            what = f"missing {err}" if isinstance(err, KeyError) else str(err)
            raise CalibrationError(f"conformal intervals: {what}.") from None
    if d.get("info"):
        cal.info_ = d["info"]
    return cal


# ============================================================================ metrics
def _bin_ids(values: np.ndarray, edges: np.ndarray) -> np.ndarray:
    """Bin index of each value for bins ``(e_b, e_{b+1}]`` (the first includes its left edge),
    the convention of ``sklearn.calibration.calibration_curve``."""
    return np.searchsorted(edges[1:-1], values, side="left")


def _bins(values: np.ndarray, n_bins: int, binning: str) -> tuple[np.ndarray, np.ndarray]:
    """Bin ids and edges: equal-width bins on [0, 1] or equal-mass bins (sorted values split
    into ``n_bins`` groups whose sizes differ by at most one)."""
    _check_choice("binning", binning, BINNINGS)
    if not (isinstance(n_bins, (int, np.integer)) and n_bins >= 1):
        raise ValueError(f"n_bins must be a positive int, got {n_bins!r}.")
    if binning == "uniform":
        edges = np.linspace(0.0, 1.0, n_bins + 1)
        return _bin_ids(values, edges), edges
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


def _binned_gap(curve: CalibrationCurve, n: int) -> tuple[float, float]:
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
    _check_choice("kind", kind, KINDS)
    y, p = _validate(y, probs)
    if kind == "top_label":
        return _binned_gap(calibration_curve(y, p, n_bins=n_bins, binning=binning), len(y))[0]
    return float(np.mean([_binned_gap(calibration_curve(y, p, n_bins=n_bins, binning=binning, level=k), len(y))[0]
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
    return _binned_gap(calibration_curve(y, p, n_bins=n_bins, binning=binning), len(y))[1]


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
    return _binned_gap(curve, len(y))[0] * top


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


# ============================================================================ fitting a model's calibration
def fit_calibration(logits, y, *, method: str = "temperature", conformal_alpha: float | None = None,
                    conformal_method: str = "ordinal", conformal_fraction: float = 0.3, seed: int = 0,
                    n_bins: int = DEFAULT_BINS, **params) -> Calibrator:
    """Fit a calibrator (and optionally a conformal predictor) on held-out dev logits.

    Without ``conformal_alpha`` the calibrator is fitted on all rows. With it, a random
    ``conformal_fraction`` of the rows (``seed``) is kept out of the calibrator's fit and used to
    fit a :class:`~tonecls.conformal.ConformalPredictor` on the calibrated probabilities, so the
    coverage guarantee holds. The returned calibrator carries ``conformal_`` and ``info_``
    (sizes, seed, and NLL / ECE / Brier before and after on each part), all saved by ``to_dict``.
    ``tonecls calibrate`` is this function plus writing ``calibration.json``.
    """
    logits = check_logits(logits)
    y = check_labels(y, logits.shape[0], logits.shape[1])
    n = len(y)
    fit_idx, conf_idx = np.arange(n), np.arange(0)
    if conformal_alpha is not None:
        if not 0 < conformal_fraction < 1:
            raise ValueError(f"conformal_fraction must be in (0, 1), got {conformal_fraction!r}.")
        perm = np.random.default_rng(seed).permutation(n)
        n_conf = int(round(conformal_fraction * n))
        if n_conf < 1 or n - n_conf < 2:
            raise ValueError(f"{n} rows are too few to split {conformal_fraction:.0%} off for conformal prediction.")
        conf_idx, fit_idx = np.sort(perm[:n_conf]), np.sort(perm[n_conf:])
    cal = make_calibrator(method, **params).fit(logits[fit_idx], y[fit_idx])

    def summary(idx):
        before, after = softmax(logits[idx]), cal.transform(logits[idx])
        pick = ("nll", "ece", "brier")
        return {"n": int(len(idx)),
                "before": {k: v for k, v in calibration_metrics(y[idx], before, n_bins=n_bins).items() if k in pick},
                "after": {k: v for k, v in calibration_metrics(y[idx], after, n_bins=n_bins).items() if k in pick}}

    info = {"seed": seed, "fit": summary(fit_idx)}
    if conformal_alpha is not None:
        from .conformal import ConformalPredictor, interval_width

        probs = cal.transform(logits[conf_idx])
        cp = ConformalPredictor(alpha=conformal_alpha, method=conformal_method).fit(probs, y[conf_idx])
        cal.set_conformal(cp)
        info["held_out"] = summary(conf_idx)
        info["held_out"]["conformal_mean_width"] = interval_width(*cp.predict(probs))
        if cp.quantile_ is None:
            import warnings

            warnings.warn(f"{n_conf} held-out rows are too few for {1 - conformal_alpha:.0%} sets: every interval "
                          f"will span all levels (need at least {int(np.ceil(1 / conformal_alpha)) - 1}).",
                          stacklevel=2)
    cal.info_ = info
    return cal
