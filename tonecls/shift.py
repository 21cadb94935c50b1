"""Per-actor tone baselines and tone-shift detection.

Input: scored statements (a ``tonecls score`` output file, a pandas DataFrame or a
``datasets.Dataset``) with a score in [0, 1], an actor and a date (``YYYY-MM-DD``,
``YYYY-MM`` or ``YYYY``). Two kinds of events are reported per actor:

``statement``
    one statement far from the actor's own baseline. The history of a statement is the
    actor's last ``window`` statements with an *earlier* date. On the angular scale
    ``y = arcsin(sqrt(score))`` the baseline is the history's median and each side of it has
    its own spread, the semi-deviation ``sqrt(mean(e^2))`` of the excesses ``e`` above (or
    below) the median: a two-piece model, so that an actor whose scores pile up near 0 with a
    long upper tail gets a wide band above and a narrow one below. The statistic
    ``z = (y - median) / (spread_side * sqrt(1 + pi / (2 n)))`` is referred to a Student t
    whose df are the side's count of excesses, reduced when a few large excesses carry the
    spread (a sparse tail: Satterthwaite, from their kurtosis) and counted in dates rather
    than statements when the history holds many statements of few dates (speeches).
    p-values are Holm-adjusted over all statements tested for the actor (``test_from``: only
    those from a date on); an event needs adjusted p <= alpha / 2 *and* a distance of at
    least ``min_levels`` levels.

``change_point``
    a sustained change of the actor's mean tone between periods (``period="Y"|"Q"|"M"``).
    The actor's period means are compared with a weighted CUSUM statistic (weights
    ``1 / (tau^2 + sigma^2 / n_period)``: a random-effects model where ``sigma^2`` is the
    pooled within-period variance and ``tau^2`` the DerSimonian-Laird between-period
    variance, so year-to-year wobble of a talkative actor is not mistaken for a shift).
    Its p-value comes from permuting the actor's periods (exact when periods are
    exchangeable, whatever the score distribution), and binary segmentation repeats the
    test inside each part while p <= alpha / 2 (``method="cusum"``). ``method="pelt"``
    runs PELT (``ruptures``) with the same weighted least-squares cost and a penalty
    set to the (1 - alpha / 2) permutation quantile of the largest one-split gain.

Rows without a usable actor or date (missing, or a date that is not ``YYYY[-MM[-DD]]`` or not a
calendar date) are skipped, never fatal: ``report.skipped`` lists them (row, column, value,
reason), :meth:`ShiftDetector.detect` warns with their count and first rows, and
``ShiftReport.save`` writes them to ``skipped.csv``.

Together, a stationary actor series raises any event with probability <= ``alpha``
(alpha / 2 for each kind). Actors with fewer than ``min_history`` past statements get no
statement events; their baseline is shrunk toward the pooled baseline of all actors and
their band uses the wider of the two spreads.

>>> from tonecls.shift import ShiftDetector, japan_scenario
>>> report = ShiftDetector(test_from="2025").detect(japan_scenario())   # is the newest remark a shift?
>>> ev = report.events.iloc[0]
>>> ev.kind, ev.direction, round(float(ev.size_levels), 1)
('statement', 'escalation', 2.9)
"""

from __future__ import annotations

import json
import math
import re
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import pandas as pd
from scipy import stats

from .exceptions import ShiftError  # noqa: F401 (re-exported)

METHODS = ("cusum", "pelt")
PERIODS = ("Y", "Q", "M")
CORRECTIONS = ("holm", "bonferroni")
EVENT_COLUMNS = ["actor", "kind", "direction", "date", "date_text", "period", "size_levels", "score", "baseline",
                 "z", "p_value", "n_history", "row_ids", "ids", "texts"]
_PRECISION_RANK = {"D": 0, "M": 1, "Y": 2}
_PERIOD_RANK = {"M": 1, "Q": 1, "Y": 2}


def _check_choice(name: str, value, choices) -> None:
    if value not in choices:
        raise ValueError(f"{name}={value!r} is not valid; choose one of {list(choices)}.")


# ------------------------------------------------------------------------- input
def read_scored(path, encoding: str = "utf-8") -> pd.DataFrame:
    """Read a scored table (CSV, JSONL(.gz), a JSON array, Parquet or a ``datasets`` folder) into
    pandas, through the same reader as every other command (:func:`tonecls.labeling.read.read_table`;
    ``encoding`` for CSV/JSON, a UTF-8 byte-order mark dropped).

    Dates are kept as written (no automatic date parsing), so ``2019`` and ``2019-05``
    keep their precision.
    """
    from .labeling.read import read_table

    return read_table(path, required=(), encoding=encoding, check_levels=False).to_pandas()


_DATE_RE = re.compile(r"^\s*(\d{4})(?:-(\d{1,2})(?:-(\d{1,2}))?)?\s*$")


def _parse_dates(values) -> tuple[np.ndarray, np.ndarray, list[tuple[int, str]]]:
    """``(dates, precision, problems)``: NaT and ``""`` where a value is missing or invalid, and
    ``(row, reason)`` for each such row."""
    values = list(values) if not isinstance(values, (pd.Series, np.ndarray)) else values
    series = pd.Series(values)
    out = np.full(len(series), np.datetime64("NaT"), dtype="datetime64[D]")
    precision = np.full(len(series), "", dtype="<U1")
    problems: list[tuple[int, str]] = []
    if pd.api.types.is_datetime64_any_dtype(series):
        missing = series.isna().to_numpy()
        out[~missing] = series[~missing].to_numpy().astype("datetime64[D]")
        precision[~missing] = "D"
        return out, precision, [(int(i), "missing date") for i in np.flatnonzero(missing)]
    for i, v in enumerate(series.tolist()):
        if isinstance(v, (pd.Timestamp, np.datetime64)) or (hasattr(v, "year") and hasattr(v, "month")):
            ts = pd.Timestamp(v)
            if pd.isna(ts):
                problems.append((i, "missing date"))
            else:
                out[i], precision[i] = np.datetime64(ts.date(), "D"), "D"
            continue
        if v is None or (isinstance(v, (float, np.floating)) and math.isnan(v)) or (isinstance(v, str) and not v.strip()):
            problems.append((i, "missing date"))
            continue
        if isinstance(v, (int, np.integer)) and not isinstance(v, bool):
            v = str(int(v))
        elif isinstance(v, (float, np.floating)) and float(v).is_integer():
            v = str(int(v))
        m = _DATE_RE.match(v) if isinstance(v, str) else None
        if m is None:
            problems.append((i, f"date {v!r} is not YYYY-MM-DD, YYYY-MM or YYYY"))
            continue
        y, mo, d = m.group(1), m.group(2), m.group(3)
        try:
            if d is not None:
                out[i] = np.datetime64(f"{y}-{int(mo):02d}-{int(d):02d}", "D")
                precision[i] = "D"
            elif mo is not None:
                if not 1 <= int(mo) <= 12:
                    raise ValueError
                out[i] = np.datetime64(f"{y}-{int(mo):02d}-01", "D")
                precision[i] = "M"
            else:
                out[i] = np.datetime64(f"{y}-01-01", "D")
                precision[i] = "Y"
        except ValueError:
            problems.append((i, f"date {v!r} is not a valid calendar date"))
    return out, precision, problems


def parse_dates(values) -> tuple[np.ndarray, np.ndarray]:
    """Parse dates given as ``YYYY-MM-DD``, ``YYYY-MM``, ``YYYY`` (strings or ints) or datetimes.

    Returns ``(dates, precision)``: ``datetime64[D]`` (a year or month date falls on its
    first day) and ``'D'``/``'M'``/``'Y'`` per row. Raises :class:`ShiftError` naming the first
    unparsable row (:meth:`ShiftDetector.detect` skips such rows instead, and reports them).

    >>> d, p = parse_dates(["2019", "2019-05", "2019-05-17"])
    >>> [str(x) for x in d], p.tolist()
    (['2019-01-01', '2019-05-01', '2019-05-17'], ['Y', 'M', 'D'])
    """
    out, precision, problems = _parse_dates(values)
    if problems:
        row, reason = problems[0]
        raise ShiftError(f"row {row}: {reason}.")
    return out, precision


SKIPPED_COLUMNS = ["row", "column", "value", "reason"]


def prepare(data, actor_column="actor", date_column="date", score_column="score",
            text_column="text", id_column=None) -> pd.DataFrame:
    """Check and normalise scored statements to columns ``row, actor, date, precision, score[, text, id]``.

    ``row`` is the 0-based position in the input. ``text_column`` is optional (used when
    present); the other named columns must exist. Rows with a missing actor, or a missing or
    invalid date, are left out and listed in ``result.attrs["skipped"]`` (columns
    :data:`SKIPPED_COLUMNS`).
    """
    if isinstance(data, (str, Path)):
        data = read_scored(data)
    elif not isinstance(data, pd.DataFrame):
        to_pandas = getattr(data, "to_pandas", None)
        if to_pandas is None:
            raise ShiftError(f"Expected a DataFrame, a datasets.Dataset or a file path, got {type(data).__name__}.")
        data = to_pandas()
    available = list(map(str, data.columns))
    for role, col in (("actor", actor_column), ("date", date_column), ("score", score_column), ("id", id_column)):
        if col is not None and col not in data.columns:
            raise ShiftError(f"{role} column {col!r} not found; available columns are {available}.")
    n = len(data)
    out = pd.DataFrame({"row": np.arange(n)})
    actor = data[actor_column]
    out["actor"] = actor.astype(str).to_numpy()
    raw_dates = data[date_column].to_numpy() if n else []
    out["date"], out["precision"], date_problems = _parse_dates(data[date_column] if n else [])
    skipped = [(int(i), actor_column, None, "missing actor") for i in np.flatnonzero(actor.isna().to_numpy())]
    skipped += [(i, date_column, _plain(raw_dates[i]), reason) for i, reason in date_problems]
    keep = np.ones(n, dtype=bool)
    keep[[r for r, *_ in skipped]] = False
    score = pd.to_numeric(data[score_column], errors="coerce").to_numpy(dtype=np.float64)
    bad = np.flatnonzero(keep & (~np.isfinite(score) | (score < 0) | (score > 1)))
    if bad.size:
        raw = data[score_column].to_numpy(dtype=object)
        shown = ", ".join(f"row {i}: {getattr(raw[i], 'item', lambda: raw[i])()!r}" for i in bad[:5])
        raise ShiftError(f"{bad.size} score(s) in column {score_column!r} are missing or outside [0, 1] ({shown}).")
    out["score"] = score
    if text_column is not None and text_column in data.columns:
        out["text"] = data[text_column].astype(object).to_numpy()
    if id_column is not None:
        out["id"] = data[id_column].to_numpy()
    out = out[keep].reset_index(drop=True) if not keep.all() else out
    out.attrs["skipped"] = pd.DataFrame(sorted(skipped), columns=SKIPPED_COLUMNS)
    return out


def _plain(value):
    """A value for the skipped table: plain Python, NaN and NaT as None."""
    if value is None or (not isinstance(value, str) and pd.isna(value)):
        return None
    return value.item() if isinstance(value, np.generic) else str(value) if not isinstance(value, (str, int, float)) \
        else value


def angular(score):
    """The variance-stabilising angular transform ``arcsin(sqrt(score))``, in [0, pi/2]."""
    return np.arcsin(np.sqrt(np.clip(score, 0.0, 1.0)))


def from_angular(y):
    """Inverse of :func:`angular` (clipped to [0, pi/2])."""
    return np.sin(np.clip(y, 0.0, np.pi / 2)) ** 2


def period_start(dates: np.ndarray, period: str) -> np.ndarray:
    """First day of the year / quarter / month that each ``datetime64[D]`` date falls in."""
    _check_choice("period", period, PERIODS)
    if period == "Y":
        return dates.astype("datetime64[Y]").astype("datetime64[D]")
    months = dates.astype("datetime64[M]")
    if period == "Q":
        m = months.astype(np.int64)
        months = (m - m % 3).astype("datetime64[M]")
    return months.astype("datetime64[D]")


def date_text(date, precision: str) -> str:
    """A date as written at its precision: ``YYYY``, ``YYYY-MM`` or ``YYYY-MM-DD``."""
    return str(np.datetime64(date, "D"))[: {"Y": 4, "M": 7, "D": 10}[str(precision)]]


def period_label(start: np.datetime64, period: str) -> str:
    s = str(start)
    if period == "Y":
        return s[:4]
    if period == "Q":
        return f"{s[:4]}-Q{(int(s[5:7]) - 1) // 3 + 1}"
    return s[:7]


# ------------------------------------------------------------------ statement test
def semi_deviations(h: np.ndarray, median: np.ndarray, valid: np.ndarray | None = None) -> tuple[np.ndarray, ...]:
    """Lower and upper semi-deviations of each row of ``h`` about its ``median``, with their df.

    ``spread_high = sqrt(sum(e^2) / m)`` over the ``m`` excesses ``e = h - median > 0`` (the same
    below the median; values equal to the median count on neither side). Its degrees of
    freedom ``df_high = m * min(1, 2 / (k - 1))`` with ``k = m * sum(e^4) / sum(e^2)^2``: for normal
    data (half-normal excesses, ``k ~ 3``) ``m spread^2 / sigma^2`` is about chi-square with ``m`` df;
    when a few large excesses make up most of the spread (a sparse upper tail, ``k > 3``) the
    estimate is less certain and the df shrink to match its variance (Satterthwaite). A side
    without values gets NaN and 0 df. Returns ``(spread_low, spread_high, df_low, df_high)``.

    >>> lo, hi, df_lo, df_hi = semi_deviations(np.array([[0., 1, 2, 5]]), np.array([1.5]))
    >>> lo.round(3).tolist(), hi.round(3).tolist(), df_lo.round(2).tolist(), df_hi.round(2).tolist()
    ([1.118], [2.5], [2.0], [2.0])
    """
    h = np.atleast_2d(np.asarray(h, dtype=np.float64))
    if valid is None:
        valid = np.isfinite(h)
    d = np.where(valid, h - np.asarray(median, dtype=np.float64).reshape(-1, 1), 0.0)
    out = []
    for side in (valid & (d < 0), valid & (d > 0)):
        m = side.sum(axis=1)
        e2 = np.where(side, d * d, 0.0)
        s2 = e2.sum(axis=1)
        with np.errstate(invalid="ignore", divide="ignore"):
            spread = np.sqrt(s2 / m)
            share = np.where(side, e2 / np.where(s2 > 0, s2, 1.0)[:, None], 0.0)  # each e^2 / sum(e^2)
            kurt = np.where(s2 > 0, m * (share * share).sum(axis=1), 1.0)  # all excesses ~0: df = m
            df = np.where(m > 0, m * np.minimum(1.0, 2.0 / np.maximum(kurt - 1.0, 1e-12)), 0.0)
        out.append((spread, np.where(m > 0, np.maximum(df, 1.0), 0.0)))
    return out[0][0], out[1][0], out[0][1], out[1][1]


def trailing_baseline(y: np.ndarray, group_start: np.ndarray, window: int | None) -> tuple[np.ndarray, ...]:
    """Median, lower and upper semi-deviations (with their df) and size of each row's history.

    ``y`` is one actor's values in date order; ``group_start[i]`` is the index of the first
    row with the same date as row ``i``: the history of row ``i`` is the (at most)
    ``window`` rows before ``group_start[i]``. Returns ``(median, spread_low, spread_high,
    df_low, df_high, n, n_dates)`` (see :func:`semi_deviations`; ``n_dates`` counts the distinct
    dates in the history); rows without history get NaN.

    >>> med, lo, hi, df_lo, df_hi, n, n_dates = trailing_baseline(np.array([1., 2, 3, 10]), np.array([0, 1, 2, 2]),
    ...                                                            window=3)
    >>> med.tolist(), hi.tolist(), df_hi.tolist(), n.tolist(), n_dates.tolist()
    ([nan, 1.0, 1.5, 1.5], [nan, nan, 0.5, 0.5], [0.0, 0.0, 1.0, 1.0], [0, 1, 2, 2], [0, 1, 2, 2])
    """
    starts, inverse = np.unique(group_start, return_inverse=True)
    w = int(starts.max()) if window is None else int(window)
    n_hist = np.minimum(starts, w)
    # distinct dates in each history: groups from the one holding row (start - n) up to start - 1
    gid = np.cumsum(np.r_[True, np.asarray(group_start)[1:] != np.asarray(group_start)[:-1]]) - 1
    n_dates = np.where(n_hist > 0, gid[starts] - gid[np.maximum(starts - n_hist, 0)], 0)
    med = np.full(starts.size, np.nan)
    lo, hi = np.full(starts.size, np.nan), np.full(starts.size, np.nan)
    df_lo, df_hi = np.zeros(starts.size), np.zeros(starts.size)
    if w > 0:
        offs = np.arange(-w, 0)
        block = max(1, 2_000_000 // w)
        for b in range(0, starts.size, block):
            s, n = starts[b:b + block], n_hist[b:b + block]
            ok = n > 0
            s, n = s[ok], n[ok]
            if not s.size:
                continue
            idx = s[:, None] + offs[None, :]
            h = np.sort(np.where(idx >= 0, y[np.clip(idx, 0, None)], np.inf), axis=1)  # valid values first
            rows = np.arange(s.size)
            m = 0.5 * (h[rows, (n - 1) // 2] + h[rows, n // 2])
            sel = np.flatnonzero(ok) + b
            med[sel] = m
            lo[sel], hi[sel], df_lo[sel], df_hi[sel] = semi_deviations(h, m, np.isfinite(h))
    return med[inverse], lo[inverse], hi[inverse], df_lo[inverse], df_hi[inverse], n_hist[inverse], n_dates[inverse]


def predictive_z(y, median, spread_low, spread_high, n, df_low, df_high):
    """Predictive statistic of a new value against a two-piece baseline, and its degrees of freedom.

    The side of the median that ``y`` falls on picks the semi-deviation and its count:
    ``z = (y - median) / (spread_side * sqrt(1 + pi / (2 n)))`` (the factor allows for the
    sampling error of the median of ``n`` values), referred to a Student t with the side's df
    (:func:`semi_deviations`): for normal data the tail of ``z`` matches or is below that t's
    (checked by simulation down to p = 1e-3 for n = 8..60 in ``tests/test_shift.py``).
    """
    y, median = np.asarray(y, dtype=np.float64), np.asarray(median, dtype=np.float64)
    high = y >= median
    spread = np.where(high, spread_high, spread_low)
    dof = np.maximum(np.where(high, df_high, df_low), 1.0).astype(np.float64)
    n = np.asarray(n, dtype=np.float64)
    z = (y - median) / (spread * np.sqrt(1.0 + np.pi / (2.0 * n)))
    return z, dof


def holm(p: np.ndarray) -> np.ndarray:
    """Holm step-down adjusted p-values (family-wise error control), NaNs left as NaN."""
    p = np.asarray(p, dtype=np.float64)
    out = np.full(p.shape, np.nan)
    ok = np.flatnonzero(~np.isnan(p))
    m = ok.size
    if m:
        order = ok[np.argsort(p[ok], kind="stable")]
        adj = np.minimum(1.0, np.maximum.accumulate(p[order] * (m - np.arange(m))))
        out[order] = adj
    return out


# --------------------------------------------------------------- change points
def random_effects_weights(n: np.ndarray, mean: np.ndarray, var: np.ndarray) -> np.ndarray:
    """Weights ``1 / (tau^2 + sigma^2 / n_p)`` for period means (DerSimonian-Laird tau^2).

    ``sigma^2`` is the pooled within-period variance; with no period of two statements all
    weights are equal.
    """
    n = np.asarray(n, dtype=np.float64)
    dof = np.clip(n - 1, 0, None)
    if dof.sum() == 0 or len(n) < 2:
        return np.ones_like(n)
    sigma2 = float(np.nansum(dof * np.nan_to_num(var)) / dof.sum())
    sigma2 = max(sigma2, 1e-6)
    w0 = n / sigma2
    xbar = np.sum(w0 * mean) / w0.sum()
    q = float(np.sum(w0 * (mean - xbar) ** 2))
    denom = w0.sum() - np.sum(w0 ** 2) / w0.sum()
    tau2 = max(0.0, (q - (len(n) - 1)) / denom) if denom > 0 else 0.0
    return 1.0 / (tau2 + sigma2 / n)


def cusum_statistics(x: np.ndarray, w: np.ndarray, min_segment: int = 1) -> np.ndarray:
    """Weighted CUSUM statistics ``Z_k`` for a mean change after position ``k`` (last axis).

    ``Z_k = (mean_w(x[:k]) - mean_w(x[k:])) * sqrt(W_k (W - W_k) / W)`` for
    ``k = min_segment .. L - min_segment``; ``Z_k^2`` is the drop in weighted squared error
    from one split at ``k``. Works on 1-D series or 2-D stacks (one series per row).
    """
    cw = np.cumsum(w, axis=-1)
    cs = np.cumsum(w * x, axis=-1)
    total_w, total_s = cw[..., -1:], cs[..., -1:]
    k = slice(min_segment - 1, x.shape[-1] - min_segment)
    wl, sl = cw[..., k], cs[..., k]
    wr, sr = total_w - wl, total_s - sl
    return (sl / wl - sr / wr) * np.sqrt(wl * wr / total_w)


def cusum_test(x, w, n_permutations=999, min_segment=1, rng=None) -> tuple[int, float, float]:
    """Most likely single change in a weighted series and its permutation p-value.

    Returns ``(k, z, p)``: the new mean starts at index ``k``; ``p`` is
    ``(1 + #{permutations with max |Z| >= observed}) / (n_permutations + 1)``.
    """
    x, w = np.asarray(x, float), np.asarray(w, float)
    L = x.size
    if L < 2 * min_segment:
        return -1, 0.0, 1.0
    z = cusum_statistics(x, w, min_segment)
    j = int(np.argmax(np.abs(z)))
    obs = abs(z[j])
    rng = np.random.default_rng(rng)
    perm = rng.permuted(np.tile(np.arange(L), (n_permutations, 1)), axis=1)
    null = np.abs(cusum_statistics(x[perm], w[perm], min_segment)).max(axis=1)
    p = (1 + int(np.sum(null >= obs * (1 - 1e-12)))) / (n_permutations + 1)
    return j + min_segment, float(z[j]), float(p)


def binary_segmentation(x, w, alpha, n_permutations=999, min_segment=1, rng=None) -> list[tuple[int, float, float]]:
    """Change points ``(k, z, p)`` found by recursively splitting while the permutation p <= alpha."""
    rng = np.random.default_rng(rng)
    found, stack = [], [(0, len(x))]
    while stack:
        a, b = stack.pop()
        k, z, p = cusum_test(x[a:b], w[a:b], n_permutations, min_segment, rng)
        if k > 0 and p <= alpha:
            found.append((a + k, z, p))
            stack += [(a, a + k), (a + k, b)]
    return sorted(found)


class _WeightedL2:
    """Weighted least-squares segment cost for ``ruptures`` (built lazily)."""

    @staticmethod
    def make(w):
        from ruptures.base import BaseCost

        class WeightedL2(BaseCost):
            model = "weighted_l2"
            min_size = 1

            def fit(self, signal):
                x = np.asarray(signal, float).reshape(-1)
                self.signal = x.reshape(-1, 1)
                self.cw = np.concatenate([[0.0], np.cumsum(w)])
                self.cs = np.concatenate([[0.0], np.cumsum(w * x)])
                self.css = np.concatenate([[0.0], np.cumsum(w * x * x)])
                return self

            def error(self, start, end):
                sw = self.cw[end] - self.cw[start]
                ss = self.cs[end] - self.cs[start]
                return float(self.css[end] - self.css[start] - ss * ss / sw)

        return WeightedL2()


def pelt_segmentation(x, w, alpha, n_permutations=999, min_segment=1, rng=None) -> list[tuple[int, float, float]]:
    """PELT (``ruptures``) with a permutation-calibrated penalty; each change gets a local p-value.

    The penalty is the (1 - alpha) quantile of ``max_k Z_k^2`` over permutations of the
    series, so a stationary series gets no change point with probability about 1 - alpha.
    """
    try:
        import ruptures
    except ImportError as err:  # pragma: no cover - depends on the environment
        raise ImportError("method='pelt' needs ruptures: pip install 'tonecls[shift]'") from err
    x, w = np.asarray(x, float), np.asarray(w, float)
    L = x.size
    if L < 2 * min_segment:
        return []
    rng = np.random.default_rng(rng)
    perm = rng.permuted(np.tile(np.arange(L), (n_permutations, 1)), axis=1)
    null = (cusum_statistics(x[perm], w[perm], min_segment) ** 2).max(axis=1)
    pen = float(np.quantile(np.concatenate([null, [np.inf]]), 1 - alpha, method="higher"))
    if not np.isfinite(pen):
        return []
    algo = ruptures.Pelt(custom_cost=_WeightedL2.make(w), min_size=min_segment, jump=1).fit(x)
    bkps = [b for b in algo.predict(pen=pen) if b < L]
    out, edges = [], [0, *bkps, L]
    for i, k in enumerate(bkps, start=1):
        a, b = edges[i - 1], edges[i + 1]
        zs = cusum_statistics(x[a:b], w[a:b], 1)
        z = float(zs[k - a - 1])
        out.append((k, z, cusum_test(x[a:b], w[a:b], n_permutations, min_segment, rng)[2]))
    return out


# ----------------------------------------------------------------------- report
@dataclass
class ShiftReport:
    """Result of :meth:`ShiftDetector.detect`.

    ``events``: one row per event (columns :data:`EVENT_COLUMNS`); ``baselines``: one row per
    actor and period; ``statements``: every input statement with its baseline, band, z,
    single-test p-value ``p_raw`` and adjusted ``p_value`` (NaN where not tested); ``params``: the
    detector's settings; ``skipped``: input rows left out for a missing actor or a missing or
    invalid date (row, column, value, reason).
    """

    events: pd.DataFrame
    baselines: pd.DataFrame
    statements: pd.DataFrame
    params: dict = field(default_factory=dict)
    skipped: pd.DataFrame = field(default_factory=lambda: pd.DataFrame(columns=SKIPPED_COLUMNS))

    def to_json(self, path=None, indent: int | None = 2) -> str:
        """Events (and settings) as JSON; written to ``path`` too when given."""
        events = []
        for rec in self.events.to_dict("records"):
            rec["date"] = rec.pop("date_text")
            for key, val in list(rec.items()):
                if isinstance(val, np.ndarray):
                    val = val.tolist()
                if isinstance(val, list):
                    rec[key] = [v.item() if isinstance(v, np.generic) else v for v in val]
                elif isinstance(val, np.generic):
                    rec[key] = val.item()
                if isinstance(rec[key], float) and not math.isfinite(rec[key]):
                    rec[key] = None
            events.append(rec)
        doc = {"params": self.params, "n_statements": int(len(self.statements)),
               "n_actors": int(self.statements["actor"].nunique()) if len(self.statements) else 0, "events": events,
               "skipped": [{k: _plain(v) for k, v in r.items()} for r in self.skipped.to_dict("records")]}
        text = json.dumps(doc, indent=indent, ensure_ascii=False, default=str)
        if path is not None:
            Path(path).write_text(text + "\n", encoding="utf-8")
        return text

    def plot_timeline(self, actor: str, path=None):
        """Plot one actor's scores, baseline band, fitted segment means and events.

        Returns a ``matplotlib.figure.Figure`` (shown inline in Jupyter); saves it when ``path``
        is given. The figure is built without pyplot, so the user's backend and open figures are
        left alone and nothing accumulates in pyplot's registry. Needs ``tonecls[plot]``.
        """
        try:
            from matplotlib.figure import Figure
        except ImportError as err:  # pragma: no cover
            raise ImportError("plot_timeline needs matplotlib: pip install 'tonecls[plot]'") from err
        from .scale import LEVELS, MAX_LEVEL

        st = self.statements[self.statements["actor"] == actor]
        if st.empty:
            raise ShiftError(f"actor {actor!r} not found; actors are {sorted(self.statements['actor'].unique())[:20]}.")
        ev = self.events[self.events["actor"] == actor]
        fig = Figure(figsize=(10, 4), layout="constrained")
        ax = fig.subplots()
        d = pd.to_datetime(st["date"])
        ax.fill_between(d, st["band_low"], st["band_high"], step="post", color="tab:blue", alpha=0.15,
                        label="95% band (single statement)")
        ax.step(d, st["baseline"], where="post", color="tab:blue", lw=1.2, label="baseline (trailing median)")
        ax.scatter(d, st["score"], s=12, color="0.35", zorder=3, label="statements")
        ax.step(d, st["segment_mean"], where="post", color="tab:orange", lw=1.5, ls="--", label="segment mean")
        for kind, marker in (("statement", "o"), ("change_point", None)):
            for _, e in ev[ev["kind"] == kind].iterrows():
                color = "tab:red" if e["direction"] == "escalation" else "tab:green"
                if marker:
                    ax.scatter([pd.Timestamp(e["date"])], [e["score"]], s=90, facecolors="none", edgecolors=color,
                               linewidths=2, zorder=4)
                else:
                    ax.axvline(pd.Timestamp(e["date"]), color=color, ls=":", lw=1.5)
                ax.annotate(f"{e['size_levels']:+.1f}", (pd.Timestamp(e["date"]), e["score"]), xytext=(4, 6),
                            textcoords="offset points", color=color, fontsize=8)
        ax.set_ylim(-0.02, 1.02)
        ax.set_yticks([k / MAX_LEVEL for k in range(MAX_LEVEL + 1)], [f"{k} {LEVELS[k]}" for k in range(MAX_LEVEL + 1)])
        ax.set_title(f"Tone timeline: {actor} ({len(st)} statements; events: {len(ev)})")
        ax.legend(loc="upper left", fontsize=7, ncol=3)
        ax.grid(alpha=0.3)
        if path is not None:
            fig.savefig(path, dpi=110)
        return fig

    def save(self, out_dir, table_format: str = "csv", plots: str = "all") -> dict[str, Path]:
        """Write ``events.{csv|parquet}``, ``baselines.*``, ``events.json`` and ``timelines/<actor>.png``.

        ``plots``: ``"all"`` actors, only actors with ``"events"``, or ``"none"``.
        """
        _check_choice("table_format", table_format, ("csv", "parquet"))
        _check_choice("plots", plots, ("all", "events", "none"))
        out = Path(out_dir)
        out.mkdir(parents=True, exist_ok=True)
        paths = {"events": out / f"events.{table_format}", "baselines": out / f"baselines.{table_format}",
                 "json": out / "events.json"}
        events = self.events.copy()
        if table_format == "csv":
            for col in ("row_ids", "ids", "texts"):
                events[col] = [json.dumps([v.item() if isinstance(v, np.generic) else v for v in x], default=str,
                                          ensure_ascii=False) for x in events[col]]
            events.to_csv(paths["events"], index=False)
            self.baselines.to_csv(paths["baselines"], index=False)
        else:
            events["ids"] = [[str(v) for v in x] for x in events["ids"]]
            events.to_parquet(paths["events"], index=False)
            self.baselines.to_parquet(paths["baselines"], index=False)
        self.to_json(paths["json"])
        if len(self.skipped):
            paths["skipped"] = out / "skipped.csv"
            self.skipped.to_csv(paths["skipped"], index=False)
        if plots != "none":
            actors = sorted(self.statements["actor"].unique()) if plots == "all" else sorted(self.events["actor"].unique())
            (out / "timelines").mkdir(exist_ok=True)
            used = set()
            for actor in actors:
                name = re.sub(r"[^\w.-]+", "_", actor) or "actor"
                while name in used:
                    name += "_"
                used.add(name)
                self.plot_timeline(actor, out / "timelines" / f"{name}.png")
            paths["timelines"] = out / "timelines"
        return paths


# --------------------------------------------------------------------- detector
class ShiftDetector:
    """Per-actor tone baselines, single-statement shifts and change points.

    Parameters
    ----------
    window: past statements in the trailing baseline (``None``: all earlier statements).
    min_history: fewest past statements before a statement can be an event.
    alpha: per-actor false-alarm rate of the whole series (alpha / 2 per event kind).
    period: ``"Y"``, ``"Q"`` or ``"M"``: the periods the change-point series is built from.
    method: ``"cusum"`` (permutation-tested binary segmentation) or ``"pelt"`` (ruptures).
    min_levels: smallest distance from the baseline, in levels, for a statement event.
    min_spread: floor of the baseline spread on the angular scale (guards tied histories).
    min_segment: fewest periods on each side of a change point.
    n_permutations: permutations per change-point test.
    correction: ``"holm"`` or ``"bonferroni"`` for the statement tests of one actor.
    cluster_dates: count the information in a history in dates rather than statements when it
        holds several statements per date (speeches); ``False`` treats every statement as
        independent (more events; right when statements of one date vary independently).
    test_from: a date (``YYYY[-MM[-DD]]``): only statements from this date on are tested for
        statement events (and counted in the multiple-testing correction); earlier ones are
        baseline only. For monitoring new statements against an archive. Default: all.
    random_state: seed for the permutations.

    >>> import pandas as pd
    >>> df = pd.DataFrame({"actor": ["A"] * 12, "date": [str(2000 + i) for i in range(12)],
    ...                    "score": [0.1, 0.12, 0.08, 0.1, 0.11, 0.09, 0.1, 0.13, 0.1, 0.12, 0.09, 0.9]})
    >>> ShiftDetector().detect(df).events[["actor", "kind", "direction"]].values.tolist()
    [['A', 'statement', 'escalation']]
    """

    def __init__(self, window: int | None = 100, min_history: int = 8, alpha: float = 0.05, period: str = "Y",
                 method: str = "cusum", min_levels: float = 1.0, min_spread: float = 0.03, min_segment: int = 1,
                 n_permutations: int = 999, correction: str = "holm", random_state: int | None = 0,
                 cluster_dates: bool = True, test_from=None,
                 actor_column: str = "actor", date_column: str = "date", score_column: str = "score",
                 text_column: str | None = "text", id_column: str | None = None):
        _check_choice("period", period, PERIODS)
        _check_choice("method", method, METHODS)
        _check_choice("correction", correction, CORRECTIONS)
        if not 0 < alpha < 1:
            raise ValueError(f"alpha={alpha!r} must be in (0, 1).")
        if window is not None and int(window) < 2:
            raise ValueError(f"window={window!r} must be at least 2, or None for all earlier statements.")
        if int(min_history) < 3:
            raise ValueError(f"min_history={min_history!r} must be at least 3.")
        if int(min_segment) < 1 or int(n_permutations) < 19:
            raise ValueError("min_segment must be >= 1 and n_permutations >= 19.")
        self.window, self.min_history, self.alpha, self.period, self.method = window, min_history, alpha, period, method
        self.min_levels, self.min_spread, self.min_segment = min_levels, min_spread, min_segment
        self.n_permutations, self.correction, self.random_state = n_permutations, correction, random_state
        if test_from is not None:
            parse_dates([test_from])  # a clear error now rather than at detect()
        self.test_from, self.cluster_dates = test_from, bool(cluster_dates)
        self.actor_column, self.date_column, self.score_column = actor_column, date_column, score_column
        self.text_column, self.id_column = text_column, id_column

    def get_params(self) -> dict:
        return {k: getattr(self, k) for k in (
            "window", "min_history", "alpha", "period", "method", "min_levels", "min_spread", "min_segment",
            "n_permutations", "correction", "random_state", "cluster_dates", "test_from", "actor_column",
            "date_column", "score_column",
            "text_column", "id_column")}

    def _prepare(self, data) -> pd.DataFrame:
        df = prepare(data, self.actor_column, self.date_column, self.score_column, self.text_column, self.id_column)
        self.skipped_ = df.attrs.get("skipped", pd.DataFrame(columns=SKIPPED_COLUMNS))
        if len(self.skipped_):
            import warnings

            shown = "; ".join(f"row {r.row}: {r.reason}" for r in self.skipped_.head(3).itertuples())
            warnings.warn(f"{len(self.skipped_)} row(s) skipped ({shown}{'; ...' if len(self.skipped_) > 3 else ''}); "
                          "see report.skipped.", UserWarning, stacklevel=3)
        coarse = np.array([_PRECISION_RANK[p] for p in df["precision"]], dtype=int) > _PERIOD_RANK[self.period]
        if coarse.any():
            rows = np.flatnonzero(coarse)
            r = rows[0]
            raise ShiftError(f"{rows.size} date(s) are coarser than period={self.period!r} (e.g. row {r}: "
                             f"{date_text(df['date'].iloc[r], df['precision'].iloc[r])!r}); use period='Y' or give "
                             f"full dates.")
        return df

    def fit(self, data) -> "ShiftDetector":
        """Check ``data`` and learn the pooled baseline (all actors) used to shrink short histories."""
        df = self._prepare(data)
        if df.empty:
            raise ShiftError("no statements to fit" + self._all_skipped())
        y = angular(df["score"].to_numpy())
        med = float(np.median(y))
        lo, hi, _, _ = semi_deviations(y[None, :], np.array([med]))
        self.pooled_median_ = med
        self.pooled_spread_low_ = max(float(np.nan_to_num(lo[0])), self.min_spread)
        self.pooled_spread_high_ = max(float(np.nan_to_num(hi[0])), self.min_spread)
        self.data_ = df
        return self

    def detect(self, data=None) -> ShiftReport:
        """Baselines and events for ``data`` (or the fitted data); fits first when not fitted."""
        if data is not None:
            # fit() reads and checks the data once; a fitted detector keeps its pooled baseline.
            df = self._prepare(data) if hasattr(self, "pooled_median_") else self.fit(data).data_
        elif hasattr(self, "data_"):
            df = self.data_
        else:
            raise ShiftError("call fit(data) first, or pass data to detect().")
        if df.empty:
            raise ShiftError("no statements to analyse" + self._all_skipped())
        rng = np.random.default_rng(self.random_state)
        df = df.sort_values(["actor", "date", "row"], kind="stable").reset_index(drop=True)
        cols = {c: df[c].to_numpy() for c in df.columns}
        cols["date"] = cols["date"].astype("datetime64[D]")
        cols["period_start"] = period_start(cols["date"], self.period)
        n = len(df)
        out = {k: np.full(n, np.nan) for k in ("baseline", "band_low", "band_high", "z", "p_raw", "p_value",
                                               "size_levels", "segment_mean")}
        out["n_history"] = np.zeros(n, dtype=np.int64)
        out["event"] = np.zeros(n, dtype=bool)
        actors, first = np.unique(cols["actor"], return_index=True)
        bounds = np.r_[first, n]
        events, baselines = [], []
        for actor, a, b in zip(actors, bounds[:-1], bounds[1:]):
            sl = slice(a, b)
            events += self._statement_events(actor, cols, out, sl)
            cp_events, base = self._change_points(actor, cols, out, sl, rng)
            events += cp_events
            baselines.append(base)
        statements = df.assign(**out)
        statements["date"] = pd.to_datetime(statements["date"])
        ev_df = pd.DataFrame(events, columns=EVENT_COLUMNS).astype(
            {"size_levels": float, "score": float, "baseline": float, "z": float, "p_value": float, "n_history": int})
        ev_df["date"] = pd.to_datetime(ev_df["date"])
        if not ev_df.empty:
            ev_df = ev_df.sort_values(["actor", "date", "kind"], kind="stable").reset_index(drop=True)
        params = {**self.get_params(), "pooled_median_score": float(from_angular(self.pooled_median_))}
        skipped = getattr(self, "skipped_", None)
        return ShiftReport(ev_df, pd.concat(baselines, ignore_index=True), statements, params,
                           skipped if skipped is not None else pd.DataFrame(columns=SKIPPED_COLUMNS))

    def _all_skipped(self) -> str:
        skipped = getattr(self, "skipped_", None)
        if skipped is None or not len(skipped):
            return "."
        return (f": all {len(skipped)} rows were skipped (e.g. row {skipped.row.iloc[0]}: {skipped.reason.iloc[0]}); "
                "check the actor and date columns.")

    def _event(self, actor, kind, size, cols, i, **fields):
        return {"actor": actor, "kind": kind, "direction": "escalation" if size > 0 else "de-escalation",
                "date": cols["date"][i], "date_text": date_text(cols["date"][i], cols["precision"][i]),
                "period": period_label(cols["period_start"][i], self.period),
                "size_levels": float(size), **fields}

    # -- single statements
    def _statement_events(self, actor, cols, out, sl) -> list[dict]:
        score = cols["score"][sl]
        y = angular(score)
        dates = cols["date"][sl]
        new_group = np.r_[True, dates[1:] != dates[:-1]]
        group_start = np.maximum.accumulate(np.where(new_group, np.arange(len(y)), 0))
        med, lo, hi, df_lo, df_hi, n_hist, n_dates = trailing_baseline(y, group_start, self.window)
        k = self.min_history
        short = n_hist < k
        # Short histories: shrink toward the pooled baseline, take the wider spreads, no events.
        nh = n_hist.astype(float)
        med_used = np.where(short, (nh * np.nan_to_num(med) + (k - nh) * self.pooled_median_) / k, med)
        lo_used = np.where(short, np.fmax(np.nan_to_num(lo, nan=0.0), self.pooled_spread_low_),
                           np.maximum(np.nan_to_num(lo, nan=0.0), self.min_spread))
        hi_used = np.where(short, np.fmax(np.nan_to_num(hi, nan=0.0), self.pooled_spread_high_),
                           np.maximum(np.nan_to_num(hi, nan=0.0), self.min_spread))
        # Statements of one date (a speech, a briefing) share its circumstances: the history's
        # information is counted in dates, not statements (a design effect with full correlation
        # within a date): n_eff = min(n, dates), each side's df scaled by n_eff / n.
        n_eff = np.where(short, k, np.minimum(n_hist, n_dates) if self.cluster_dates else n_hist)
        ratio = n_eff / np.maximum(n_hist, 1)
        dof_lo = np.where(short, k / 2, np.maximum(df_lo * ratio, 1.0))
        dof_hi = np.where(short, k / 2, np.maximum(df_hi * ratio, 1.0))
        z, dof = predictive_z(y, med_used, lo_used, hi_used, n_eff, dof_lo, dof_hi)
        p_raw = np.where(short, np.nan, np.minimum(1.0, 2 * stats.t.sf(np.abs(z), dof)))
        tested = ~short
        if self.test_from is not None:
            tested &= dates >= parse_dates([self.test_from])[0][0]
        p_test = np.where(tested, p_raw, np.nan)
        p_adj = holm(p_test) if self.correction == "holm" else np.minimum(1.0, p_test * np.sum(tested))
        infl = np.sqrt(1 + np.pi / (2 * n_eff))
        baseline = from_angular(med_used)
        size = (score - baseline) * 4
        hit = tested & (p_adj <= self.alpha / 2) & (np.abs(size) >= self.min_levels)
        out["baseline"][sl] = baseline
        out["band_low"][sl] = from_angular(med_used - stats.t.ppf(0.975, dof_lo) * lo_used * infl)
        out["band_high"][sl] = from_angular(med_used + stats.t.ppf(0.975, dof_hi) * hi_used * infl)
        out["n_history"][sl], out["z"][sl], out["p_raw"][sl], out["p_value"][sl] = n_hist, z, p_raw, p_adj
        out["size_levels"][sl], out["event"][sl] = size, hit
        events = []
        for j in np.flatnonzero(hit):
            i = sl.start + j
            events.append(self._event(
                actor, "statement", size[j], cols, i, score=float(score[j]), baseline=float(baseline[j]),
                z=float(z[j]), p_value=float(p_adj[j]), n_history=int(n_hist[j]), row_ids=[int(cols["row"][i])],
                ids=[cols["id"][i]] if "id" in cols else [], texts=[cols["text"][i]] if "text" in cols else []))
        return events

    # -- change points between periods
    def _change_points(self, actor, cols, out, sl, rng):
        score, ps = cols["score"][sl], cols["period_start"][sl]
        starts, first, n = np.unique(ps, return_index=True, return_counts=True)
        sums = np.add.reduceat(score, first)
        mean = sums / n
        dev2 = (score - np.repeat(mean, n)) ** 2
        var = np.where(n > 1, np.add.reduceat(dev2, first) / np.maximum(n - 1, 1), np.nan)
        median = np.array([np.median(score[f:f + c]) for f, c in zip(first, n)])
        w = random_effects_weights(n.astype(float), mean, var)
        alpha_cp = self.alpha / 2
        segment = binary_segmentation if self.method == "cusum" else pelt_segmentation
        cps = segment(mean, w, alpha_cp, self.n_permutations, self.min_segment, rng)
        edges = [0, *[c[0] for c in cps], len(mean)]
        seg_mean = np.empty(len(mean))
        for a, b in zip(edges[:-1], edges[1:]):
            seg_mean[a:b] = np.sum(w[a:b] * mean[a:b]) / np.sum(w[a:b])
        out["segment_mean"][sl] = np.repeat(seg_mean, n)
        events = []
        for i, (k, z, p) in enumerate(cps, start=1):
            size = 4 * (seg_mean[k] - seg_mean[k - 1])
            idx = sl.start + first[k] + np.arange(n[k])
            idx = idx[np.argsort(-np.sign(size) * cols["score"][idx], kind="stable")]  # strongest first
            events.append(self._event(
                actor, "change_point", size, cols, sl.start + first[k], score=float(seg_mean[k]),
                baseline=float(seg_mean[k - 1]), z=float(z), p_value=float(p), n_history=int(n[edges[i - 1]:k].sum()),
                row_ids=[int(r) for r in cols["row"][idx]], ids=list(cols["id"][idx]) if "id" in cols else [],
                texts=list(cols["text"][idx[:3]]) if "text" in cols else []))
        at = sl.start + first
        base = pd.DataFrame({
            "actor": actor, "period": [period_label(s, self.period) for s in starts],
            "period_start": pd.to_datetime(starts), "n": n, "mean": mean, "median": median,
            "baseline": out["baseline"][at], "band_low": out["band_low"][at], "band_high": out["band_high"][at],
            "n_history": out["n_history"][at], "reliable": out["n_history"][at] >= self.min_history,
            "weight": w, "segment_mean": seg_mean})
        return events, base


# ------------------------------------------------------------------ scenario
JAPAN_CARD_STATEMENT = "Our $1.13 trillion of U.S. Treasury holdings exists as a card in our negotiations."


def japan_scenario() -> pd.DataFrame:
    """The motivating example: years of cautious Japanese statements, then the "card" remark.

    Scores are set by hand (no model). The earlier texts are illustrative statements in
    the register of Japan's finance ministry, not verbatim quotations; the last one is the
    remark reported in May 2025.

    >>> df = japan_scenario()
    >>> float(df.iloc[-1]["score"]), df["actor"].unique().tolist()
    (0.8, ['JPN'])
    """
    rows = [
        ("2011-08", 0.10, "Japan will continue to monitor currency markets closely and act appropriately."),
        ("2013", 0.04, "We value our close economic partnership with the United States."),
        ("2014-02-10", 0.06, "Japan hopes that the trade talks will proceed in a constructive spirit."),
        ("2015-05", 0.03, "We welcome the progress made by both sides in the negotiations."),
        ("2016", 0.18, "The ministry will watch market developments with a sense of urgency."),
        ("2017-02-11", 0.05, "We will continue our dialogue with our American partners on economic issues."),
        ("2018-09", 0.22, "Japan and the United States discussed trade and investment."),
        ("2019", 0.07, "We hope to reach an agreement that benefits both countries."),
        ("2020-01", 0.02, "We thank our partners for their cooperation in stabilising markets."),
        ("2021-06-15", 0.24, "Japan holds U.S. Treasuries as part of its foreign reserves."),
        ("2022-10", 0.42, "We are deeply concerned about excessive volatility in currency markets."),
        ("2023", 0.15, "We will respond appropriately to excessive moves, in close communication with U.S. authorities."),
        ("2024-04", 0.05, "Japan welcomes the continued close communication with the United States on currency matters."),
        ("2025-05", 0.80, JAPAN_CARD_STATEMENT),
    ]
    return pd.DataFrame({"actor": "JPN", "date": [r[0] for r in rows], "score": [r[1] for r in rows],
                         "text": [r[2] for r in rows], "doc_id": [f"jpn-{i:02d}" for i in range(len(rows))]})


# ----------------------------------------------------------------- simulation
def beta_sd_max(mean) -> np.ndarray:
    """Largest sd of a unimodal Beta (both shape parameters >= 1) with this mean."""
    mean = np.asarray(mean, dtype=np.float64)
    m = np.minimum(mean, 1 - mean)
    return np.sqrt(mean * (1 - mean) * m / (1 + m))


LEVEL_CENTRES = np.array([0.04, 0.25, 0.5, 0.75, 0.96])
"""Score of a typical statement of each level in the level-mixture noise model (0 and 1 pulled in)."""


def simulate_scores(n_series: int, n_periods: int = 15, per_period: int = 8, shift: float = 0.0,
                    shift_period: int | None = None, mean=(0.1, 0.9), sd=(0.10, 0.15), tau: float = 0.0,
                    start_year: int = 2000, rng=None, shape: tuple[float, float] | None = None,
                    level_mix=None, level_sd=(0.05, 0.10)) -> pd.DataFrame:
    """Simulated scored statements under the stated noise models (one actor per series).

    Default (unimodal): each actor has a mean tone ``mu ~ U(mean)`` and spread ``s ~ U(sd)``;
    each yearly period adds ``N(0, tau^2)`` to the mean (speech-to-speech wobble); from period
    ``shift_period`` on the mean moves by ``shift`` (score units: 0.25 = one level). A
    statement's score is Beta-distributed with that mean and sd ``min(s, beta_sd_max(mean))``,
    i.e. bounded in [0, 1] and unimodal.

    ``shape=(a, b)``: skewed actors, every score ``Beta(a, b)`` (e.g. ``(0.3, 2.7)``: mean 0.1,
    sd 0.15, piled near 0); ``mean``, ``sd``, ``tau`` and ``shift`` are not used.

    ``level_mix=(p0, p1, ...)``: actors that mix levels, like real model scores: each statement
    has level ``L`` with probability ``p_L`` and a score Beta-distributed around
    :data:`LEVEL_CENTRES` ``[L]`` (+ wobble + shift) with sd ``U(level_sd)`` per actor (capped
    to stay unimodal).

    Columns: actor, date (YYYY-MM-DD), score, period (0-based), shifted.

    >>> simulate_scores(2, n_periods=3, per_period=2, rng=0).shape
    (12, 5)
    >>> float(simulate_scores(50, rng=0, shape=(0.3, 2.7))["score"].median()) < 0.05
    True
    """
    rng = np.random.default_rng(rng)
    size = (n_series, n_periods, per_period)
    period = np.arange(n_periods)
    shifted = np.zeros((n_series, n_periods), bool) if shift_period is None else np.broadcast_to(
        period >= shift_period, (n_series, n_periods))
    if shape is not None:
        if shift:
            raise ValueError("shape=(a, b) simulates stationary actors only; use level_mix or the default for shifts.")
        score = rng.beta(shape[0], shape[1], size)
    else:
        if level_mix is not None:
            mix = np.asarray(level_mix, dtype=np.float64)
            if mix.ndim != 1 or not 1 <= mix.size <= len(LEVEL_CENTRES) or (mix < 0).any() or mix.sum() <= 0:
                raise ValueError(f"level_mix={level_mix!r}: give 1-5 non-negative probabilities of levels 0, 1, ...")
            levels = rng.choice(mix.size, size=size, p=mix / mix.sum())
            base = LEVEL_CENTRES[levels]
            s = rng.uniform(*level_sd, n_series)
        else:
            lo, hi = mean
            if shift_period is not None and shift:
                lo, hi = (lo, hi - shift) if shift > 0 else (lo - shift, hi)
            base = rng.uniform(lo, hi, n_series)[:, None, None]
            s = rng.uniform(*sd, n_series)
        m = base + (shift * shifted)[:, :, None]
        if tau:
            m = m + rng.normal(0, tau, (n_series, n_periods))[:, :, None]
        m = np.clip(np.broadcast_to(m, size), 0.03, 0.97)
        v = np.minimum(s[:, None, None], beta_sd_max(m)) ** 2
        k = m * (1 - m) / v - 1
        score = rng.beta(m * k, (1 - m) * k)
    days = np.sort(rng.integers(0, 365, size), axis=2)
    years = (np.arange(n_periods) + start_year - 1970).astype("datetime64[Y]").astype("datetime64[D]")
    dates = (years[None, :, None] + days.astype("timedelta64[D]")).astype(str)
    return pd.DataFrame({
        "actor": np.repeat([f"S{i:04d}" for i in range(n_series)], n_periods * per_period),
        "date": dates.ravel(), "score": score.ravel(),
        "period": np.tile(np.repeat(period, per_period), n_series),
        "shifted": np.repeat(np.asarray(shifted), per_period, axis=1).ravel()})


NULL_MODELS = {
    "unimodal Beta (default noise model)": {"tau": 0.02},
    "skewed: Beta(0.3, 2.7), piled near 0": {"shape": (0.3, 2.7)},
    "skewed: Beta(0.5, 4.5)": {"shape": (0.5, 4.5)},
    "levels 60/30/8/2 %": {"level_mix": (0.6, 0.3, 0.08, 0.02), "tau": 0.02},
    "levels 85/10/4/1 %": {"level_mix": (0.85, 0.10, 0.04, 0.01), "tau": 0.02},
    "levels 20/50/25/5 %": {"level_mix": (0.2, 0.5, 0.25, 0.05), "tau": 0.02},
    "levels 5/15/30/35/15 % (confrontational actor)": {"level_mix": (0.05, 0.15, 0.30, 0.35, 0.15), "tau": 0.02},
    "isolated outbursts: levels 97/0/0/3 %": {"level_mix": (0.97, 0.0, 0.0, 0.03)},
}
"""Stationary noise models on which the statement test's false-alarm rate is measured."""


def null_model_study(n_series: int = 2000, alpha: float = 0.05, n_periods: int = 15, per_period: int = 8,
                     models: dict | None = None, rng: int = 17,
                     detector: "ShiftDetector | None" = None) -> pd.DataFrame:
    """Per-series false-alarm rates of each event kind on stationary series of each null model.

    One row per model in ``models`` (default :data:`NULL_MODELS`): the share of ``n_series``
    stationary actors (``n_periods`` years of ``per_period`` statements) with at least one
    statement event, change point, or either. The numbers in docs/shift.md come from this.

    >>> null_model_study(20, models={"skewed": {"shape": (0.3, 2.7)}}).columns.tolist()
    ['model', 'series', 'statement', 'change_point', 'any']
    """
    det = detector or ShiftDetector(alpha=alpha)
    rows = []
    for i, (name, kw) in enumerate((models or NULL_MODELS).items()):
        ev = det.detect(simulate_scores(n_series, n_periods, per_period, rng=rng + i, **kw)).events
        rows.append({"model": name, "series": n_series,
                     "statement": ev.loc[ev.kind == "statement", "actor"].nunique() / n_series,
                     "change_point": ev.loc[ev.kind == "change_point", "actor"].nunique() / n_series,
                     "any": ev["actor"].nunique() / n_series})
    return pd.DataFrame(rows)


def statement_power_study(n_series: int = 1000, n_history: int = 31, sd: float = 0.1, levels=(1, 2, 3),
                          mean=(0.1, 0.4), rng: int = 23, detector: "ShiftDetector | None" = None) -> dict:
    """Share of single statements ``d`` levels above an actor's usual tone found as escalations.

    Each actor has ``n_history`` statements (one a year) from the unimodal Beta model with
    mean ``U(mean)`` and sd ``sd``; then one statement scored ``mean + d / 4``. A hit is a statement
    event on that last statement (Holm over all the actor's tested statements).

    >>> sorted(statement_power_study(20, levels=(3,)))
    [3]
    """
    det = detector or ShiftDetector()
    g = np.random.default_rng(rng)
    out = {}
    for d in levels:
        mu = g.uniform(*mean, n_series)
        m = np.repeat(mu[:, None], n_history, axis=1)
        v = np.minimum(sd, beta_sd_max(m)) ** 2
        k = m * (1 - m) / v - 1
        score = np.c_[g.beta(m * k, (1 - m) * k), np.clip(mu + d / 4, 0, 1)]
        df = pd.DataFrame({"actor": np.repeat([f"S{i:04d}" for i in range(n_series)], n_history + 1),
                           "date": np.tile([str(2000 + t) for t in range(n_history + 1)], n_series),
                           "score": score.ravel()})
        ev = det.detect(df).events
        hit = ev[(ev.kind == "statement") & (ev.direction == "escalation") & (ev.period == str(2000 + n_history))]
        out[d] = hit["actor"].nunique() / n_series
    return out


def simulation_study(n_series: int = 3000, alpha: float = 0.05, method: str = "cusum", tau: float = 0.02,
                     n_before: int = 10, per_period: int = 8, rng: int = 11) -> dict:
    """Measure the per-series false-alarm rates and the one-level shift power by simulation.

    Stationary: ``n_series`` actors of ``n_before + 5`` years. Shifted: half +0.25, half -0.25
    after ``n_before`` years, observed for ``delay`` = 1..4 more years; a hit is a change point
    in the right direction dated within one period of the shift. Same noise model as
    :func:`simulate_scores`; the numbers in docs/shift.md come from this function.

    >>> r = simulation_study(40, rng=1)
    >>> sorted(r)
    ['false_alarm_any', 'false_alarm_change_point', 'false_alarm_statement', 'power_by_delay']
    """
    det = ShiftDetector(alpha=alpha, method=method)
    quiet = det.detect(simulate_scores(n_series, n_before + 5, per_period, tau=tau, rng=rng)).events
    out = {"false_alarm_any": quiet["actor"].nunique() / n_series,
           "false_alarm_statement": quiet.loc[quiet.kind == "statement", "actor"].nunique() / n_series,
           "false_alarm_change_point": quiet.loc[quiet.kind == "change_point", "actor"].nunique() / n_series,
           "power_by_delay": {}}
    half = n_series // 2
    for delay in (1, 2, 3, 4):
        parts = [simulate_scores(half, n_before + delay, per_period, shift=s, shift_period=n_before, tau=tau,
                                 rng=rng + 10 * delay + i).assign(actor=lambda d, p=p: p + d["actor"])
                 for i, (s, p) in enumerate(((0.25, "U"), (-0.25, "D")))]
        ev = det.detect(pd.concat(parts, ignore_index=True)).events
        cp = ev[ev.kind == "change_point"]
        year = cp["period"].str[:4].astype(int) - 2000
        ok = (cp["direction"] == np.where(cp["actor"].str.startswith("U"), "escalation", "de-escalation")) & \
            (year - n_before).abs().le(1)
        out["power_by_delay"][delay] = cp.loc[ok, "actor"].nunique() / (2 * half)
    return out
