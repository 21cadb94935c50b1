"""Calibrators: from a model's logits to calibrated probabilities.

Every calibrator takes **logits** (shape ``(n, k)``, the raw outputs of
:meth:`ToneClassifier.predict_logits`), never probabilities, and shares one interface:
``fit(logits, y) -> self``, ``transform(logits) -> probabilities``, ``to_dict()`` /
``from_dict(d)`` (plain JSON numbers, no pickle). Anything that looks like probabilities
(every row non-negative and summing to 1) is refused with a ``ValueError``.

>>> import numpy as np
>>> from tonecls.calibration import make_calibrator, softmax
>>> from tonecls.metrics import expected_calibration_error
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
``isotonic``, ``histogram``, ``platt``, ``beta``. Metrics live in :mod:`tonecls.metrics`; a
calibrator stored with its conformal predictor (``calibration.json``) is a
:class:`~tonecls.bundle.CalibrationBundle`.
"""

from __future__ import annotations

import numpy as np

from ._checks import BINNINGS, DEFAULT_BINS, check_choice, check_labels, check_logits, non_finite
from .exceptions import CalibrationError, NotFittedError  # noqa: F401 (re-exported)
from .metrics import bin_ids

FORMAT = "tonecls-calibration"
FORMAT_VERSION = 1


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
    """Base class: shared validation and (de)serialisation.

    Subclasses set ``method`` and implement ``_fit``, ``_transform``, ``_get_state`` and
    ``_set_state``.
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
        """Fit on held-out ``logits`` (n, k) and true class ids ``y`` (n,); returns ``self``."""
        logits = check_logits(logits)
        y = check_labels(y, logits.shape[0], logits.shape[1])
        self.n_classes_ = logits.shape[1]
        self._fit(logits, y)
        return self

    def transform(self, logits) -> np.ndarray:
        """Calibrated probabilities, shape ``(n, k)``, rows summing to 1."""
        self._check_fitted()
        return self._transform(check_logits(logits, self.n_classes_))

    def fit_transform(self, logits, y) -> np.ndarray:
        return self.fit(logits, y).transform(logits)

    def to_dict(self) -> dict:
        """A JSON-ready dict of plain numbers; :meth:`from_dict` restores it."""
        self._check_fitted()
        return {"format": FORMAT, "version": FORMAT_VERSION, "method": self.method, "params": self.get_params(),
                "n_classes": int(self.n_classes_), "state": self._get_state()}

    @classmethod
    def from_dict(cls, d: dict) -> "Calibrator":
        """The calibrator :meth:`to_dict` wrote; a :class:`CalibrationError` if it is not a ``cls``.

        >>> import numpy as np
        >>> d = TemperatureScaling().fit(np.eye(5) * 3, np.arange(5)).to_dict()
        >>> type(Calibrator.from_dict(d)).__name__
        'TemperatureScaling'
        >>> VectorScaling.from_dict(d)
        Traceback (most recent call last):
        ...
        tonecls.exceptions.CalibrationError: the stored calibration is 'temperature' (TemperatureScaling), not a VectorScaling.
        """
        cal = calibrator_from_dict(d)
        if not isinstance(cal, cls):
            raise CalibrationError(f"the stored calibration is {d['method']!r} ({type(cal).__name__}), "
                                   f"not a {cls.__name__}.")
        return cal

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
    """No calibration: plain softmax. Useful as a baseline, or under a conformal predictor.

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
        check_choice("binning", self.binning, BINNINGS)
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
            ids = bin_ids(p[:, k], edges)
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
            out[:, k] = self.bin_values_[k][bin_ids(p[:, k], self.bin_edges_[k])]
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


def _sigmoid(s: np.ndarray) -> np.ndarray:
    """``1 / (1 + e^-s)`` without overflow for large ``|s|``."""
    return np.exp(-np.logaddexp(0.0, -s))


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
        grad = x.T @ (_sigmoid(s) - target) / n
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
        return _sigmoid(s)

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
    check_choice("calibration method", name, CALIBRATORS)
    return CALIBRATORS[name](**params)


def _check_shape(name: str, a: np.ndarray, shape: tuple) -> None:
    if a.shape != shape:
        raise ValueError(f"{name} has shape {a.shape}, expected {shape}")


def _check_per_level(cal, name: str, arrays) -> None:
    if len(arrays) != cal.n_classes_ or any(a.ndim != 1 for a in arrays):
        raise ValueError(f"{name} needs one list of numbers per level ({cal.n_classes_})")



def calibrator_from_dict(d: dict) -> Calibrator:
    """Rebuild a fitted calibrator from :meth:`Calibrator.to_dict` (other keys, such as a
    :class:`~tonecls.bundle.CalibrationBundle`'s ``conformal`` and ``info``, are not read here).

    Everything is checked on load (a calibrator that loads is usable): the format and version,
    a known method, ``n_classes`` >= 2, every parameter a finite number, shapes that fit
    ``n_classes`` and a temperature > 0. Anything else raises
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
    bad = non_finite({"params": params, "state": state, "n_classes": d.get("n_classes")})
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
    return cal
