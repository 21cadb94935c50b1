"""Input checks shared by calibrators, metrics and conformal sets (private: import the public names
from :mod:`tonecls.calibration`, :mod:`tonecls.metrics` or :mod:`tonecls.conformal`)."""

from __future__ import annotations

import numpy as np

BINNINGS = ("uniform", "quantile")
DEFAULT_BINS = 15


def check_choice(name: str, value, choices) -> None:
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

def non_finite(obj, where: str = "") -> str | None:
    """Path of the first number in ``obj`` (nested lists/dicts) that is NaN or infinite, or None."""
    if isinstance(obj, bool) or obj is None or isinstance(obj, str):
        return None
    if isinstance(obj, (int, float, np.floating, np.integer)):
        return None if np.isfinite(obj) else f"{where or 'value'} = {obj!r}"
    if isinstance(obj, dict):
        return next((w for k, v in obj.items() if (w := non_finite(v, f"{where}.{k}" if where else str(k)))), None)
    if isinstance(obj, (list, tuple)):
        return next((w for i, v in enumerate(obj) if (w := non_finite(v, f"{where}[{i}]"))), None)
    return f"{where or 'value'} is {type(obj).__name__}, not a number"
