"""Per-actor baselines learnt by ``ShiftDetector.fit``: what a new statement is tested against, as
plain numbers that round-trip through JSON (no pickle).

An actor's baseline holds its last ``window`` statements (date, angular score ``y``, the model's
level variance ``u``) for the statement test, and per period the weighted sums that give the period's
mean, effective size and variance for the period test. Statement weights are
``w = sigma_t^2 / (sigma_t^2 + u)`` (1 for a statement the model is sure of): ``sigma_t^2`` is the actor's
within-period variance of scores less the mean model variance (the spread of the tone itself), fixed
at fit time.
"""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pandas as pd

from ..exceptions import ShiftError

FORMAT = "tonecls-shift-baseline"
FORMAT_VERSION = 1
MIN_TONE_VAR = 1e-3
"""Floor of ``sigma_t^2`` (score units; an sd of 0.03)."""


def tone_variance(score: np.ndarray, u: np.ndarray, period: np.ndarray) -> float | None:
    """``sigma_t^2``: pooled within-period variance of the scores minus the mean model variance ``u``;
    None when the scores carry no probabilities (all ``u`` 0: equal weights)."""
    if not np.any(u > 0):
        return None
    df = pd.DataFrame({"s": score, "p": period})
    g = df.groupby("p")["s"]
    n = g.size().to_numpy()
    if (n > 1).any():
        var = float(np.nansum(g.var(ddof=1).to_numpy() * (n - 1)) / np.sum(n[n > 1] - 1))
    else:
        var = float(np.var(score, ddof=1)) if len(score) > 1 else 0.0
    return max(var - float(np.mean(u)), MIN_TONE_VAR)


def weights(u: np.ndarray, sigma_t2: float | None) -> np.ndarray:
    """Statement weights in (0, 1]: ``sigma_t^2 / (sigma_t^2 + u)``, or 1 without probabilities."""
    u = np.asarray(u, dtype=np.float64)
    return np.ones_like(u) if sigma_t2 is None else sigma_t2 / (sigma_t2 + u)


def period_sums(starts: np.ndarray, score: np.ndarray, w: np.ndarray) -> pd.DataFrame:
    """Per period: ``count, sw, sw2, sws, sws2`` (sums of 1, w, w^2, w s, w s^2), indexed by period start."""
    df = pd.DataFrame({"start": starts, "count": 1, "sw": w, "sw2": w * w, "sws": w * score,
                       "sws2": w * score * score})
    return df.groupby("start").sum().sort_index()


def period_stats(sums: pd.DataFrame) -> pd.DataFrame:
    """Mean, effective size (Kish) and variance of each period from its sums."""
    mean = sums["sws"] / sums["sw"]
    n_eff = sums["sw"] ** 2 / sums["sw2"]
    var = (sums["sws2"] / sums["sw"] - mean ** 2).clip(lower=0) * n_eff / (n_eff - 1).where(n_eff > 1.0001)
    return pd.DataFrame({"count": sums["count"], "n_eff": n_eff, "mean": mean, "var": var}, index=sums.index)


def build(dates, y, u, score, starts, p_assertive, window, sigma_t2) -> dict:
    """One actor's baseline from its history (sorted by date)."""
    keep = slice(None) if window is None else slice(max(0, len(y) - int(window)), None)
    sums = period_sums(starts, score, weights(u, sigma_t2))
    pa = p_assertive[np.isfinite(p_assertive)]
    return {"end": str(dates[-1]), "n": int(len(y)), "sigma_t2": sigma_t2,
            "u_ref": float(np.median(u)), "p_assertive": float(pa.mean()) if pa.size else None,
            "recent": {"dates": [str(d) for d in dates[keep]], "y": [float(v) for v in y[keep]],
                       "u": [float(v) for v in u[keep]]},
            "periods": {"start": [str(s)[:10] for s in sums.index], **{c: [float(v) for v in sums[c]]
                                                                     for c in ("count", "sw", "sw2", "sws", "sws2")}}}


def absorb(base: dict, dates, y, u, score, starts, window) -> None:
    """Fold new statements (sorted, later than ``base['end']``) into a baseline, in place."""
    r = base["recent"]
    r["dates"] += [str(d) for d in dates]
    r["y"] += [float(v) for v in y]
    r["u"] += [float(v) for v in u]
    if window is not None:
        for k in ("dates", "y", "u"):
            r[k] = r[k][-int(window):]
    old = sums_frame(base)
    new = period_sums(np.asarray(starts).astype("datetime64[D]"), score, weights(u, base["sigma_t2"]))
    both = pd.concat([old, new]).groupby(level=0).sum().sort_index()
    base["periods"] = {"start": [str(s)[:10] for s in both.index],
                       **{c: [float(v) for v in both[c]] for c in ("count", "sw", "sw2", "sws", "sws2")}}
    base["end"], base["n"] = str(dates[-1]), base["n"] + len(y)


def sums_frame(base: dict) -> pd.DataFrame:
    p = base["periods"]
    idx = np.array(p["start"], dtype="datetime64[D]")
    return pd.DataFrame({c: p[c] for c in ("count", "sw", "sw2", "sws", "sws2")}, index=idx)


def to_json(params: dict, pooled: dict, actors: dict) -> str:
    return json.dumps({"format": FORMAT, "format_version": FORMAT_VERSION, "params": params, "pooled": pooled,
                       "actors": actors}, ensure_ascii=False)


def from_json(text: str, source="baseline") -> dict:
    """Parse and check a saved baseline (format and version, the parts every actor needs)."""
    try:
        doc = json.loads(text)
    except json.JSONDecodeError as err:
        raise ShiftError(f"{source} is not a JSON baseline ({err}); write one with ShiftDetector.save_baseline "
                         "or `tonecls shifts ... --save-baseline`.") from None
    if not isinstance(doc, dict) or doc.get("format") != FORMAT:
        raise ShiftError(f"{source} is not a tonecls shift baseline (format {doc.get('format') if isinstance(doc, dict) else None!r}).")
    if doc.get("format_version") != FORMAT_VERSION:
        raise ShiftError(f"{source} has baseline format version {doc.get('format_version')!r}; this tonecls reads "
                         f"version {FORMAT_VERSION}: refit the baseline from the history.")
    for actor, b in doc.get("actors", {}).items():
        if not {"end", "n", "recent", "periods", "sigma_t2", "u_ref"} <= set(b):
            raise ShiftError(f"{source}: the baseline of actor {actor!r} is incomplete; refit it.")
    return doc


def read(path) -> dict:
    path = Path(path)
    if not path.is_file():
        raise ShiftError(f"baseline file {str(path)!r} not found; write one with --save-baseline (or "
                         "ShiftDetector.save_baseline) first.")
    return from_json(path.read_text(encoding="utf-8"), source=str(path))
