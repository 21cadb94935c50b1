"""Input of the shift detector: reading scored tables, dates of three precisions, periods.

>>> d, p = parse_dates(["2019", "2019-05", "2019-05-17"])
>>> [str(x) for x in d], p.tolist()
(['2019-01-01', '2019-05-01', '2019-05-17'], ['Y', 'M', 'D'])
"""

from __future__ import annotations

import math
import re
from pathlib import Path

import numpy as np
import pandas as pd

from ..exceptions import ShiftError
from ..scale import LEVELS

PROB_COLUMNS = tuple(f"p_{name}" for name in LEVELS)
"""Calibrated probabilities written by ``tonecls score`` (used when all five are present)."""
ASSERTIVE = 3
"""The level ``assertive``: events report each statement's probability of being at least this."""

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
    from ..labeling.read import read_table

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
    """Check and normalise scored statements to columns ``row, actor, date, precision, score, u,
    p_assertive, interval_low, interval_high[, text, id]``.

    ``row`` is the 0-based position in the input. ``text_column`` is optional (used when
    present); the other named columns must exist. When the five calibrated probabilities
    (:data:`PROB_COLUMNS`) are present, ``u`` is the model's own variance of the statement's level
    in score units (``sum_k p_k (k/4 - E[k]/4)^2``) and ``p_assertive`` its probability of being at least
    ``assertive``; without them ``u`` is 0 and ``p_assertive`` NaN. ``interval_low``/``interval_high`` are
    the conformal interval when the scored file has it (``tonecls score --interval``), else NaN. Rows with a missing actor, or a missing or
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
    out["u"], out["p_assertive"] = _uncertainty(data, keep)
    for col in ("interval_low", "interval_high"):
        out[col] = pd.to_numeric(data[col], errors="coerce").to_numpy(np.float64) if col in data.columns \
            else np.full(n, np.nan)
    if text_column is not None and text_column in data.columns:
        out["text"] = data[text_column].astype(object).to_numpy()
    if id_column is not None:
        out["id"] = data[id_column].to_numpy()
    out = out[keep].reset_index(drop=True) if not keep.all() else out
    out.attrs["skipped"] = pd.DataFrame(sorted(skipped), columns=SKIPPED_COLUMNS)
    return out


def _uncertainty(data: pd.DataFrame, keep: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """``(u, p_assertive)`` from the probability columns (zeros and NaN when they are absent)."""
    n = len(data)
    if not all(c in data.columns for c in PROB_COLUMNS):
        return np.zeros(n), np.full(n, np.nan)
    p = np.column_stack([pd.to_numeric(data[c], errors="coerce").to_numpy(np.float64) for c in PROB_COLUMNS])
    bad = np.flatnonzero(keep & (~np.isfinite(p).all(axis=1) | (p < 0).any(axis=1) | (np.abs(p.sum(axis=1) - 1) > 1e-3)))
    if bad.size:
        raise ShiftError(f"{bad.size} row(s) have probabilities {list(PROB_COLUMNS)} that are missing, negative or do "
                         f"not sum to 1 (first: row {bad[0]}); rescore the file or drop those columns.")
    k = np.arange(len(PROB_COLUMNS)) / (len(PROB_COLUMNS) - 1)
    mean = p @ k
    u = np.clip(p @ (k ** 2) - mean ** 2, 0.0, None)
    return u, p[:, ASSERTIVE:].sum(axis=1)


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


def statement_arrays(df: pd.DataFrame, period: str, result_columns) -> tuple[dict, dict]:
    """``(cols, out)``: the prepared statements as arrays (with ``period_start``), and per-statement
    result arrays (``result_columns`` as NaN, ``n_history`` 0, ``event`` False) for a test to fill."""
    cols = {c: df[c].to_numpy() for c in df.columns}
    cols["date"] = cols["date"].astype("datetime64[D]")
    cols["period_start"] = period_start(cols["date"], period)
    n = len(df)
    out = {k: np.full(n, np.nan) for k in result_columns}
    out["n_history"] = np.zeros(n, dtype=np.int64)
    out["event"] = np.zeros(n, dtype=bool)
    return cols, out


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


