"""The offline scan (``ShiftDetector.scan``): every statement tested against its trailing history,
and change points between periods over the whole series (the behaviour before monitoring became the
default; see docs/shift.md)."""

from __future__ import annotations

import numpy as np
import pandas as pd
from scipy import stats

from .data import date_text, from_angular, angular, period_label, parse_dates
from .stats import (binary_segmentation, holm, location_interval, pelt_segmentation, predictive_z,
                    random_effects_weights, trailing_baseline)

EVENT_COLUMNS = ["actor", "kind", "direction", "date", "date_text", "period", "size_levels", "score", "baseline",
                 "z", "p_value", "n_history", "row_ids", "ids", "texts", "p_assertive", "weight", "location_low",
                 "location_high"]
"""Columns of ``report.events`` (both modes); ``kind`` is ``statement``, ``period`` (monitoring) or
``change_point`` (scan)."""


def event(det, actor, kind, size, cols, i, **fields) -> dict:
    base = {"actor": actor, "kind": kind, "direction": "escalation" if size > 0 else "de-escalation",
            "date": cols["date"][i], "date_text": date_text(cols["date"][i], cols["precision"][i]),
            "period": period_label(cols["period_start"][i], det.period), "size_levels": float(size),
            "p_assertive": np.nan, "weight": np.nan, "location_low": None, "location_high": None}
    base.update(fields)
    return base


def statement_events(det, actor, cols, out, sl, pooled, since=None) -> list[dict]:
    """Every statement of one actor against its trailing history (Holm over the tested ones)."""
    score = cols["score"][sl]
    y = angular(score)
    dates = cols["date"][sl]
    new_group = np.r_[True, dates[1:] != dates[:-1]]
    group_start = np.maximum.accumulate(np.where(new_group, np.arange(len(y)), 0))
    med, lo, hi, df_lo, df_hi, n_hist, n_dates = trailing_baseline(y, group_start, det.window)
    k = det.min_history
    short = n_hist < k
    nh = n_hist.astype(float)
    p_med, p_lo, p_hi = pooled
    med_used = np.where(short, (nh * np.nan_to_num(med) + (k - nh) * p_med) / k, med)
    lo_used = np.where(short, np.fmax(np.nan_to_num(lo, nan=0.0), p_lo), np.maximum(np.nan_to_num(lo, nan=0.0),
                                                                                        det.min_spread))
    hi_used = np.where(short, np.fmax(np.nan_to_num(hi, nan=0.0), p_hi), np.maximum(np.nan_to_num(hi, nan=0.0),
                                                                                        det.min_spread))
    n_eff = np.where(short, k, np.minimum(n_hist, n_dates) if det.cluster_dates else n_hist)
    ratio = n_eff / np.maximum(n_hist, 1)
    dof_lo = np.where(short, k / 2, np.maximum(df_lo * ratio, 1.0))
    dof_hi = np.where(short, k / 2, np.maximum(df_hi * ratio, 1.0))
    z, dof = predictive_z(y, med_used, lo_used, hi_used, n_eff, dof_lo, dof_hi)
    p_raw = np.where(short, np.nan, np.minimum(1.0, 2 * stats.t.sf(np.abs(z), dof)))
    tested = ~short
    if since is not None:
        tested &= dates >= parse_dates([since])[0][0]
    p_test = np.where(tested, p_raw, np.nan)
    p_adj = holm(p_test) if det.correction == "holm" else np.minimum(1.0, p_test * np.sum(tested))
    infl = np.sqrt(1 + np.pi / (2 * n_eff))
    baseline = from_angular(med_used)
    size = (score - baseline) * 4
    hit = tested & (p_adj <= det.alpha / 2) & (np.abs(size) >= det.min_levels)
    out["baseline"][sl] = baseline
    out["band_low"][sl] = from_angular(med_used - stats.t.ppf(0.975, dof_lo) * lo_used * infl)
    out["band_high"][sl] = from_angular(med_used + stats.t.ppf(0.975, dof_hi) * hi_used * infl)
    out["n_history"][sl], out["z"][sl], out["p_raw"][sl], out["p_value"][sl] = n_hist, z, p_raw, p_adj
    out["size_levels"][sl], out["event"][sl] = size, hit
    events = []
    for j in np.flatnonzero(hit):
        i = sl.start + j
        events.append(event(
            det, actor, "statement", size[j], cols, i, score=float(score[j]), baseline=float(baseline[j]),
            z=float(z[j]), p_value=float(p_adj[j]), n_history=int(n_hist[j]), row_ids=[int(cols["row"][i])],
            ids=[cols["id"][i]] if "id" in cols else [], texts=[cols["text"][i]] if "text" in cols else [],
            p_assertive=float(cols["p_assertive"][i])))
    return events


def change_points(det, actor, cols, out, sl, rng):
    """Change points between the actor's period means (binary segmentation or PELT)."""
    score, ps = cols["score"][sl], cols["period_start"][sl]
    starts, first, n = np.unique(ps, return_index=True, return_counts=True)
    mean = np.add.reduceat(score, first) / n
    dev2 = (score - np.repeat(mean, n)) ** 2
    var = np.where(n > 1, np.add.reduceat(dev2, first) / np.maximum(n - 1, 1), np.nan)
    median = np.array([np.median(score[f:f + c]) for f, c in zip(first, n)])
    w = random_effects_weights(n.astype(float), mean, var)
    segment = binary_segmentation if det.method == "cusum" else pelt_segmentation
    cps = segment(mean, w, det.alpha / 2, det.n_permutations, det.min_segment, rng)
    edges = [0, *[c[0] for c in cps], len(mean)]
    seg_mean = np.empty(len(mean))
    for a, b in zip(edges[:-1], edges[1:]):
        seg_mean[a:b] = np.sum(w[a:b] * mean[a:b]) / np.sum(w[a:b])
    out["segment_mean"][sl] = np.repeat(seg_mean, n)
    events = []
    for i, (k, z, p) in enumerate(cps, start=1):
        size = 4 * (seg_mean[k] - seg_mean[k - 1])
        a, b = edges[i - 1], edges[i + 1]
        lo, _, hi = location_interval(mean[a:b], w[a:b])
        idx = sl.start + first[k] + np.arange(n[k])
        idx = idx[np.argsort(-np.sign(size) * cols["score"][idx], kind="stable")]  # strongest first
        events.append(event(
            det, actor, "change_point", size, cols, sl.start + first[k], score=float(seg_mean[k]),
            baseline=float(seg_mean[k - 1]), z=float(z), p_value=float(p), n_history=int(n[edges[i - 1]:k].sum()),
            row_ids=[int(r) for r in cols["row"][idx]], ids=list(cols["id"][idx]) if "id" in cols else [],
            texts=list(cols["text"][idx[:3]]) if "text" in cols else [],
            p_assertive=float(np.nanmean(cols["p_assertive"][idx])) if np.isfinite(cols["p_assertive"][idx]).any()
            else np.nan,
            location_low=period_label(starts[a + lo], det.period),
            location_high=period_label(starts[min(a + hi, len(starts) - 1)], det.period)))
    at = sl.start + first
    base = pd.DataFrame({
        "actor": actor, "period": [period_label(s, det.period) for s in starts],
        "period_start": pd.to_datetime(starts), "n": n, "mean": mean, "median": median,
        "baseline": out["baseline"][at], "band_low": out["band_low"][at], "band_high": out["band_high"][at],
        "n_history": out["n_history"][at], "reliable": out["n_history"][at] >= det.min_history,
        "weight": w, "segment_mean": seg_mean})
    return events, base


def scan(det, df: pd.DataFrame, pooled) -> tuple[list, list, pd.DataFrame]:
    """Run the offline scan on prepared statements; returns ``(events, baselines, statements)``."""
    rng = np.random.default_rng(det.random_state)
    df = df.sort_values(["actor", "date", "row"], kind="stable").reset_index(drop=True)
    from .data import statement_arrays

    cols, out = statement_arrays(df, det.period, ("baseline", "band_low", "band_high", "z", "p_raw", "p_value",
                                                  "size_levels", "segment_mean"))
    n = len(df)
    actors, first = np.unique(cols["actor"], return_index=True)
    bounds = np.r_[first, n]
    events, baselines = [], []
    for actor, a, b in zip(actors, bounds[:-1], bounds[1:]):
        sl = slice(a, b)
        events += statement_events(det, actor, cols, out, sl, pooled, det.since if det.since != "all" else None)
        cp_events, base = change_points(det, actor, cols, out, sl, rng)
        events += cp_events
        baselines.append(base)
    statements = df.assign(**out)
    statements["date"] = pd.to_datetime(statements["date"])
    return events, baselines, statements
