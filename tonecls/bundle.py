"""What a model folder's ``calibration.json`` holds: a calibrator, the conformal predictor fitted
on its probabilities (optional), and a record of the fit.

:func:`fit_calibration` builds one from held-out logits (``tonecls calibrate`` is that function
plus :func:`save_calibration`); :func:`load_calibration` reads it back, checked.

>>> import numpy as np
>>> from tonecls.bundle import fit_calibration
>>> rng = np.random.default_rng(0)
>>> logits = rng.normal(0, 2, (500, 5))
>>> y = logits.argmax(axis=1)
>>> bundle = fit_calibration(logits, y, conformal_alpha=0.1)
>>> bundle.method, bundle.conformal_.alpha, sorted(bundle.info_)
('temperature', 0.1, ['fit', 'held_out', 'seed'])
"""

from __future__ import annotations

import json
import warnings
from pathlib import Path

import numpy as np

from ._checks import DEFAULT_BINS, check_labels, check_logits, non_finite
from ._files import read_model_json
from .calibration import Calibrator, calibrator_from_dict, make_calibrator, softmax
from .conformal import ConformalPredictor, interval_width
from .exceptions import CalibrationError, NotFittedError
from .metrics import calibration_metrics

CALIBRATION_NAME = "calibration.json"


class CalibrationBundle:
    """A fitted calibrator with its conformal predictor (``conformal_``, or None) and the record
    of its fit (``info_``, or None).

    It calibrates like its calibrator: ``transform``, ``method`` and fitted attributes such as
    ``temperature_`` are the calibrator's. Refitting (:meth:`fit`) drops the conformal predictor and
    the record, since both describe the old fit's probabilities.
    """

    def __init__(self, calibrator: Calibrator, conformal: ConformalPredictor | None = None, info: dict | None = None):
        self.calibrator = calibrator
        self.conformal_ = conformal
        self.info_ = info

    def __getattr__(self, name):
        if name == "calibrator":  # not set yet (e.g. during copy): no recursion
            raise AttributeError(name)
        return getattr(self.calibrator, name)

    def __repr__(self) -> str:
        return f"CalibrationBundle({self.calibrator!r}, conformal={self.conformal_!r})"

    def fit(self, logits, y) -> "CalibrationBundle":
        """Refit the calibrator on ``logits``, ``y``; drops the conformal predictor and ``info_``."""
        self.calibrator.fit(logits, y)
        self.conformal_ = self.info_ = None
        return self

    def transform(self, logits) -> np.ndarray:
        return self.calibrator.transform(logits)

    def set_conformal(self, conformal: ConformalPredictor | None) -> "CalibrationBundle":
        """Attach a conformal predictor fitted on this calibrator's probabilities; returns ``self``."""
        if not self.calibrator.is_fitted:
            raise NotFittedError(f"This {type(self.calibrator).__name__} is not fitted yet: call fit(logits, y) first.")
        if conformal is not None and not conformal.is_fitted:
            raise NotFittedError("The conformal predictor is not fitted: fit it on held-out probabilities first.")
        self.conformal_ = conformal
        return self

    def to_dict(self) -> dict:
        """The calibrator's dict, plus ``conformal`` and ``info`` when present."""
        out = self.calibrator.to_dict()
        if self.conformal_ is not None:
            out["conformal"] = self.conformal_.to_dict()
        if self.info_:
            out["info"] = self.info_
        return out

    @classmethod
    def from_dict(cls, d: dict) -> "CalibrationBundle":
        """Rebuild what :meth:`to_dict` (or :meth:`Calibrator.to_dict`) wrote, every number checked;
        a :class:`~tonecls.exceptions.CalibrationError` says what is wrong."""
        cal = calibrator_from_dict(d)
        conformal = None
        if d.get("conformal") is not None:
            conf = d["conformal"]
            bad = non_finite({k: v for k, v in conf.items() if k != "coverage_on_fit"}) if isinstance(conf, dict) else None
            try:
                if bad:
                    raise ValueError(f"{bad}: every number must be finite")
                conformal = ConformalPredictor.from_dict(conf)
                if conformal.n_classes_ != cal.n_classes_:
                    raise ValueError(f"it has {conformal.n_classes_} levels, the calibrator {cal.n_classes_}")
            except (KeyError, TypeError, ValueError, AttributeError) as err:
                what = f"missing {err}" if isinstance(err, KeyError) else str(err)
                raise CalibrationError(f"conformal intervals: {what}.") from None
        return cls(cal, conformal, d.get("info") or None)


def conformal_of(calibrator) -> ConformalPredictor | None:
    """The conformal predictor stored with ``calibrator`` (a bundle), or None (a plain calibrator, or None)."""
    return calibrator.conformal_ if isinstance(calibrator, CalibrationBundle) else None


# ---------------------------------------------------------------------------- calibration.json
def save_calibration(calibrator, folder: Path) -> None:
    """Write ``folder/calibration.json`` for ``calibrator`` (a calibrator or a bundle); None removes it."""
    path = Path(folder) / CALIBRATION_NAME
    if calibrator is not None:
        path.write_text(json.dumps(calibrator.to_dict(), indent=2) + "\n")
    elif path.exists():
        path.unlink()


def load_calibration(folder: Path, n_labels: int) -> CalibrationBundle | None:
    """The bundle stored in ``folder/calibration.json`` (None if there is none), checked on load
    (finite numbers, a positive temperature, shapes that fit ``n_labels`` levels): a bad one is a
    :class:`~tonecls.exceptions.CalibrationError` naming the file."""
    path = Path(folder) / CALIBRATION_NAME
    if not path.is_file():
        return None
    fix = (f"Fit it again (`tonecls calibrate {path.parent} --data DEV`) or delete {path.name} to use "
           "uncalibrated probabilities.")
    try:
        bundle = CalibrationBundle.from_dict(read_model_json(path, "the calibrator"))
    except CalibrationError as err:
        raise CalibrationError(f"{path}: {err} {fix}") from None
    except ValueError as err:  # ModelError from read_model_json
        raise CalibrationError(f"{err} {fix}") from None
    if bundle.n_classes_ != n_labels:
        raise CalibrationError(f"{path}: the calibrator has {bundle.n_classes_} levels, the model {n_labels}. {fix}")
    return bundle


# ---------------------------------------------------------------------------- fitting
AUTO_METHODS = ("temperature", "vector", "platt", "beta", "isotonic")


def _group_index(groups, n: int) -> np.ndarray:
    """Each row's group as 0..g-1 (every row its own group when ``groups`` is None)."""
    if groups is None:
        return np.arange(n)
    groups = np.asarray(groups)
    if groups.ndim != 1 or len(groups) != n:
        raise ValueError(f"groups must hold one entry per row: got shape {groups.shape} for {n} rows.")
    return np.unique(groups, return_inverse=True)[1].reshape(-1)


def cross_validated_nll(logits, y, methods=AUTO_METHODS, *, groups=None, folds: int = 5, seed: int = 0) -> dict:
    """Out-of-fold negative log-likelihood of each calibration method in ``methods``: each fold's
    probabilities come from a calibrator fitted on the other folds. ``groups`` (e.g. document ids) keeps
    the rows of a group in one fold, so statements of one document do not judge each other. A level
    missing from a fold's fitting rows is not special-cased: a method that then gives it no probability
    pays for it (each probability is floored at 1e-12). A method whose fit raises on a fold gets None.

    >>> import numpy as np
    >>> rng = np.random.default_rng(0)
    >>> y = rng.integers(0, 5, 600)
    >>> logits = 3 * np.eye(5)[y] + rng.normal(0, 2, (600, 5))   # right but overconfident once scaled
    >>> nll = cross_validated_nll(4 * logits, y, ("none", "temperature"))
    >>> nll["temperature"] < nll["none"]
    True
    """
    logits = check_logits(logits)
    y = check_labels(y, logits.shape[0], logits.shape[1])
    index = _group_index(groups, len(y))
    n_groups = int(index.max()) + 1 if len(index) else 0
    if folds < 2 or n_groups < folds:
        what = "groups" if groups is not None else "rows"
        raise ValueError(f"cross-validation needs at least 2 folds and a {what[:-1]} per fold: got {folds} folds "
                         f"for {n_groups} {what}.")
    fold = np.random.default_rng(seed).permutation(n_groups)[index] % folds
    out = {}
    for method in methods:
        probs = np.empty(logits.shape)
        try:
            for k in range(folds):
                cal = make_calibrator(method).fit(logits[fold != k], y[fold != k])
                probs[fold == k] = cal.transform(logits[fold == k])
        except (ValueError, FloatingPointError, np.linalg.LinAlgError):
            out[method] = None
            continue
        nll = float(-np.mean(np.log(np.clip(probs[np.arange(len(y)), y], 1e-12, None))))
        out[method] = round(nll, 6) if np.isfinite(nll) else None
    return out


def fit_calibration(logits, y, *, method: str = "temperature", conformal_alpha: float | None = None,
                    conformal_method: str = "ordinal", conformal_fraction: float = 0.3, seed: int = 0,
                    n_bins: int = DEFAULT_BINS, groups=None, folds: int = 5, **params) -> CalibrationBundle:
    """Fit a calibrator (and optionally a conformal predictor) on held-out dev logits.

    Without ``conformal_alpha`` the calibrator is fitted on all rows. With it, a random
    ``conformal_fraction`` of the rows (``seed``; whole groups when ``groups`` is given, e.g. document
    ids) is kept out of the calibrator's fit and used to fit a
    :class:`~tonecls.conformal.ConformalPredictor` on the calibrated probabilities, so the coverage
    guarantee holds. ``method="auto"`` takes the method of :data:`AUTO_METHODS` with the lowest
    :func:`cross_validated_nll` on the calibrator's rows (by ``groups``, in ``folds`` folds); ``info_``
    keeps every method's number under ``"selection"``. The bundle's ``info_`` holds the sizes, seed,
    and NLL / ECE / Brier before and after on each part; ``to_dict`` saves it all.
    """
    logits = check_logits(logits)
    y = check_labels(y, logits.shape[0], logits.shape[1])
    n = len(y)
    index = _group_index(groups, n)
    if method == "auto" and params:
        raise TypeError(f"method='auto' chooses among methods with their defaults; got parameters {sorted(params)}.")
    fit_idx, conf_idx = np.arange(n), np.arange(0)
    if conformal_alpha is not None:
        if not 0 < conformal_fraction < 1:
            raise ValueError(f"conformal_fraction must be in (0, 1), got {conformal_fraction!r}.")
        order = np.random.default_rng(seed).permutation(int(index.max()) + 1 if n else 0)
        # whole groups in a random order until they hold the fraction (with one row per group: a row split)
        target = round(conformal_fraction * n)
        n_first = int(np.searchsorted(np.cumsum(np.bincount(index)[order]), target)) + 1
        held = np.isin(index, order[:n_first])
        n_conf = int(held.sum())
        if target < 1 or n - n_conf < 2:
            raise ValueError(f"{n} rows are too few to split {conformal_fraction:.0%} off for conformal prediction.")
        conf_idx, fit_idx = np.flatnonzero(held), np.flatnonzero(~held)
    selection = None
    if method == "auto":
        nll = cross_validated_nll(logits[fit_idx], y[fit_idx], groups=None if groups is None else index[fit_idx],
                                  folds=folds, seed=seed)
        scored = {m: v for m, v in nll.items() if v is not None}
        if not scored:
            raise CalibrationError(f"no calibration method could be fitted on every fold ({folds} folds).")
        method = min(scored, key=scored.get)
        selection = {"rule": f"lowest out-of-fold NLL, {folds} folds" + (" by group" if groups is not None else ""),
                     "out_of_fold_nll": nll, "chosen": method}
    cal = make_calibrator(method, **params).fit(logits[fit_idx], y[fit_idx])

    def summary(idx):
        before, after = softmax(logits[idx]), cal.transform(logits[idx])
        pick = ("nll", "ece", "brier")
        return {"n": int(len(idx)),
                "before": {k: v for k, v in calibration_metrics(y[idx], before, n_bins=n_bins).items() if k in pick},
                "after": {k: v for k, v in calibration_metrics(y[idx], after, n_bins=n_bins).items() if k in pick}}

    info = {"seed": seed, "fit": summary(fit_idx)} | ({"selection": selection} if selection else {})
    conformal = None
    if conformal_alpha is not None:
        probs = cal.transform(logits[conf_idx])
        conformal = ConformalPredictor(alpha=conformal_alpha, method=conformal_method).fit(probs, y[conf_idx])
        info["held_out"] = summary(conf_idx)
        info["held_out"]["conformal_mean_width"] = interval_width(*conformal.predict(probs))
        if conformal.quantile_ is None:
            warnings.warn(f"{n_conf} held-out rows are too few for {1 - conformal_alpha:.0%} sets: every interval "
                          f"will span all levels (need at least {int(np.ceil(1 / conformal_alpha)) - 1}).",
                          stacklevel=2)
    return CalibrationBundle(cal, conformal, info)
