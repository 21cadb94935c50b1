"""Results: :class:`ToneScore`, and the one path from calibrated probabilities to results
(:func:`result_arrays`, used by :meth:`~tonecls.classifier.ToneClassifier.score` through
:func:`tone_scores` and by the bulk columns)."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Sequence

import numpy as np

from .scale import LEVELS, score_from_probabilities


@dataclass(frozen=True)
class ToneScore:
    """The tone of one statement.

    ``probabilities[k]`` is the (calibrated) probability of level ``k``; ``score`` is the
    expected level divided by 4; ``level`` the most probable level; ``interval`` an optional
    conformal range of levels ``(low, high)``; ``windows`` how many encoder windows were read;
    ``language`` the detected language (None when the model reads English only and detects none) and
    ``model`` the name of the model that read the statement.
    """

    score: float
    level: int
    label: str
    probabilities: tuple[float, ...]
    interval: tuple[int, int] | None = None
    windows: int = 1
    language: str | None = None
    model: str | None = None

    def to_dict(self) -> dict:
        out = {"score": self.score, "level": self.level, "label": self.label,
               "probabilities": dict(zip(LEVELS, self.probabilities)), "windows": self.windows}
        if self.interval is not None:
            out["interval"] = list(self.interval)
        out.update({k: v for k, v in (("language", self.language), ("model", self.model)) if v is not None})
        return out


def result_arrays(probs: np.ndarray, labels: Sequence[str] = LEVELS, windows: Sequence[int] | None = None,
                  conformal=None) -> dict[str, np.ndarray]:
    """Column-wise results of calibrated probabilities (the one path from probabilities to results, used
    by :func:`tone_scores` and the bulk columns): ``score``, ``level``, ``label``, ``probabilities``,
    ``windows``, and ``interval_low``/``interval_high`` when a ``conformal`` predictor is given.

    >>> r = result_arrays(np.array([[0.1, 0.2, 0.4, 0.2, 0.1]]))
    >>> r["level"].tolist(), r["label"].tolist(), r["score"].round(3).tolist()
    ([2], ['firm'], [0.5])
    """
    probs = np.asarray(probs, dtype=np.float64).reshape(-1, len(labels))
    levels = probs.argmax(axis=1).astype(np.int64)
    out = {"score": np.asarray(score_from_probabilities(probs), dtype=np.float64).reshape(-1), "level": levels,
           "label": np.asarray(labels, dtype=object)[levels], "probabilities": probs,
           "windows": np.ones(len(probs), np.int64) if windows is None else np.asarray(windows, np.int64)}
    if conformal is not None:
        low, high = conformal.predict(probs) if len(probs) else (np.zeros(0), np.zeros(0))
        out["interval_low"], out["interval_high"] = np.asarray(low, np.int64), np.asarray(high, np.int64)
    return out


def tone_scores(probs: np.ndarray, labels: Sequence[str], windows: Sequence[int] | None = None, conformal=None,
                languages: Sequence[str] | None = None, model: str | None = None) -> list[ToneScore]:
    """One :class:`ToneScore` per row of calibrated probabilities (from :func:`result_arrays`)."""
    r = result_arrays(probs, labels, windows, conformal)
    n = len(r["level"])
    intervals = zip(r["interval_low"].tolist(), r["interval_high"].tolist()) if conformal is not None else [None] * n
    languages = [None] * n if languages is None else languages
    return [ToneScore(score=s, level=k, label=label, probabilities=tuple(p), interval=iv, windows=w, language=lang,
                      model=model)
            for s, k, label, p, iv, w, lang in zip(r["score"].tolist(), r["level"].tolist(), r["label"].tolist(),
                                                   r["probabilities"].tolist(), intervals, r["windows"].tolist(),
                                                   languages, strict=True)]
