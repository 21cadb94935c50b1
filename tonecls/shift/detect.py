"""``ShiftDetector``: fit per-actor baselines on the history, then test new statements against them.

>>> from tonecls.shift import ShiftDetector, japan_scenario
>>> report = ShiftDetector().monitor(japan_scenario())      # each actor's newest period vs the history
>>> report.summary[["actor", "status"]].values.tolist()
[['JPN', 'escalation']]
"""

from __future__ import annotations

import warnings
from pathlib import Path

import numpy as np
import pandas as pd
from scipy import stats

from ..exceptions import NotFittedError, ShiftError
from . import baseline as bl
from .data import (CORRECTIONS, METHODS, PERIODS, SKIPPED_COLUMNS, _PERIOD_RANK, _PRECISION_RANK, _check_choice,
                   angular, date_text, from_angular, parse_dates, period_label, period_start, prepare,
                   statement_arrays)
from .report import BAND_COLUMNS, SUMMARY_COLUMNS, ShiftReport
from .scan import EVENT_COLUMNS, event, scan
from .stats import holm, location_interval, period_test, predictive_z, semi_deviations

_PARAMS = ("window", "min_history", "alpha", "period", "method", "min_levels", "min_period_levels", "min_periods",
           "min_spread", "min_segment", "n_permutations", "correction", "random_state", "cluster_dates", "since",
           "use_probabilities", "actor_column", "date_column", "score_column", "text_column", "id_column")
_FIT_PARAMS = ("window", "period", "min_spread", "use_probabilities")


class ShiftDetector:
    """Per-actor tone baselines and tone shifts (docs/shift.md).

    ``fit(history)`` learns each actor's baseline (``baselines_``, ``pooled_``); ``detect(new)`` tests
    statements newer than the history against it (never refits); ``update(new)`` does the same and
    then folds ``new`` into the baselines; ``monitor(data)`` splits ``data`` per actor at ``since``
    (default: the start of the actor's newest period), fits on what is before and detects on the
    rest; ``scan(data)`` is the offline analysis of a whole series (every statement, change points).
    ``save_baseline``/``load_baseline``: the fitted baselines as JSON (format version 1).

    Two tests on an actor's new statements, each at ``alpha / 2`` (so a stationary actor raises an
    event with probability at most ``alpha``): *statement* (each new statement against the two-piece
    baseline of the last ``window`` statements; Holm over the actor's new statements) and *period* (the
    newest period's weighted mean against the reference periods' means, random effects; Holm over the
    new periods). A statement's weight is ``sigma_t^2 / (sigma_t^2 + u)``, ``u`` the model's own variance
    of its level: statements the model is unsure of count less in a period mean and get a wider band
    (``use_probabilities``; needs the ``p_<level>`` columns of ``tonecls score``).

    Parameters: ``window`` past statements in a statement baseline (None: all); ``min_history`` fewest
    past statements for a statement test; ``alpha`` per-actor false-alarm rate; ``period`` ``Y``/``Q``/``M``;
    ``min_levels`` smallest statement event (levels); ``min_period_levels`` smallest period event;
    ``min_periods`` fewest reference periods for a period test; ``since`` a date (new statements are
    those from it on), None (each actor's newest period) or ``"all"`` (``scan``); ``method``,
    ``min_segment``, ``n_permutations``, ``correction``, ``cluster_dates``, ``random_state``: as in ``scan``.
    """

    def __init__(self, window: int | None = 100, min_history: int = 8, alpha: float = 0.05, period: str = "Y",
                 method: str = "cusum", min_levels: float = 1.0, min_period_levels: float = 0.5, min_periods: int = 3,
                 min_spread: float = 0.03, min_segment: int = 1, n_permutations: int = 999, correction: str = "holm",
                 random_state: int | None = 0, cluster_dates: bool = True, since=None, use_probabilities: bool = True,
                 actor_column: str = "actor", date_column: str = "date", score_column: str = "score",
                 text_column: str | None = "text", id_column: str | None = None, test_from=None):
        _check_choice("period", period, PERIODS)
        _check_choice("method", method, METHODS)
        _check_choice("correction", correction, CORRECTIONS)
        if not 0 < alpha < 1:
            raise ValueError(f"alpha={alpha!r} must be in (0, 1).")
        if window is not None and int(window) < 2:
            raise ValueError(f"window={window!r} must be at least 2, or None for all earlier statements.")
        if int(min_history) < 3:
            raise ValueError(f"min_history={min_history!r} must be at least 3.")
        if int(min_periods) < 2:
            raise ValueError(f"min_periods={min_periods!r} must be at least 2.")
        if int(min_segment) < 1 or int(n_permutations) < 19:
            raise ValueError("min_segment must be >= 1 and n_permutations >= 19.")
        if test_from is not None:
            warnings.warn("test_from is deprecated: use since= (the same meaning).", DeprecationWarning, stacklevel=2)
            since = test_from if since is None else since
        if since is not None and since != "all":
            parse_dates([since])  # a clear error now rather than later
        self.window, self.min_history, self.alpha, self.period, self.method = window, min_history, alpha, period, method
        self.min_levels, self.min_period_levels, self.min_periods = min_levels, min_period_levels, min_periods
        self.min_spread, self.min_segment, self.n_permutations = min_spread, min_segment, n_permutations
        self.correction, self.random_state, self.cluster_dates = correction, random_state, bool(cluster_dates)
        self.since, self.use_probabilities = since, bool(use_probabilities)
        self.actor_column, self.date_column, self.score_column = actor_column, date_column, score_column
        self.text_column, self.id_column = text_column, id_column

    def get_params(self) -> dict:
        return {k: getattr(self, k) for k in _PARAMS}

    # ------------------------------------------------------------------ input
    def _prepare(self, data) -> pd.DataFrame:
        df = prepare(data, self.actor_column, self.date_column, self.score_column, self.text_column, self.id_column)
        skipped = df.attrs.get("skipped", pd.DataFrame(columns=SKIPPED_COLUMNS))
        if len(skipped):
            shown = "; ".join(f"row {r.row}: {r.reason}" for r in skipped.head(3).itertuples())
            warnings.warn(f"{len(skipped)} row(s) skipped ({shown}{'; ...' if len(skipped) > 3 else ''}); "
                          "see report.skipped.", UserWarning, stacklevel=3)
        coarse = np.array([_PRECISION_RANK[p] for p in df["precision"]], dtype=int) > _PERIOD_RANK[self.period]
        if coarse.any():
            r = np.flatnonzero(coarse)[0]
            raise ShiftError(f"{int(coarse.sum())} date(s) are coarser than period={self.period!r} (e.g. row "
                             f"{df['row'].iloc[r]}: {date_text(df['date'].iloc[r], df['precision'].iloc[r])!r}); use "
                             "period='Y' or give full dates.")
        if not self.use_probabilities:
            df["u"] = 0.0
        df = df.sort_values(["actor", "date", "row"], kind="stable").reset_index(drop=True)
        df.attrs["skipped"] = skipped
        return df

    @staticmethod
    def _empty_error(what: str, df: pd.DataFrame) -> ShiftError:
        skipped = df.attrs.get("skipped")
        extra = "." if skipped is None or not len(skipped) else (
            f": all {len(skipped)} rows were skipped (e.g. row {skipped.row.iloc[0]}: {skipped.reason.iloc[0]}); "
            "check the actor and date columns.")
        return ShiftError(f"no statements to {what}{extra}")

    # -------------------------------------------------------------------- fit
    def fit(self, history) -> "ShiftDetector":
        """Learn each actor's baseline from ``history`` (the statements before the ones to test)."""
        df = self._prepare(history)
        if df.empty:
            raise self._empty_error("fit", df)
        self._fit_frame(df)
        return self

    def _fit_frame(self, df: pd.DataFrame) -> None:
        y = angular(df["score"].to_numpy())
        med = float(np.median(y))
        lo, hi, _, _ = semi_deviations(y[None, :], np.array([med]))
        self.pooled_ = {"median": med, "spread_low": max(float(np.nan_to_num(lo[0])), self.min_spread),
                        "spread_high": max(float(np.nan_to_num(hi[0])), self.min_spread)}
        starts = period_start(df["date"].to_numpy().astype("datetime64[D]"), self.period)
        self.baselines_ = {}
        for actor, g in df.groupby("actor", sort=True):
            idx = g.index.to_numpy()
            s, u = g["score"].to_numpy(), g["u"].to_numpy()
            self.baselines_[str(actor)] = bl.build(
                g["date"].to_numpy().astype("datetime64[D]"), y[idx], u, s, starts[idx], g["p_assertive"].to_numpy(),
                self.window, bl.tone_variance(s, u, starts[idx]))
        self.n_history_ = int(len(df))

    def _check_fitted(self) -> None:
        if not hasattr(self, "baselines_"):
            raise NotFittedError("This ShiftDetector is not fitted: call fit(history) first (or load_baseline(path), "
                                 "or monitor(data) to split one table into history and new statements).")

    # ----------------------------------------------------------------- detect
    def detect(self, data) -> ShiftReport:
        """Test the statements in ``data`` against the fitted baselines (each must be later than its
        actor's history); never refits."""
        self._check_fitted()
        df = self._prepare(data)
        if df.empty:
            raise self._empty_error("test", df)
        known = sorted(set(df["actor"]) & set(self.baselines_))
        if not known:
            raise ShiftError(f"none of the actors in the new statements ({sorted(df['actor'].unique())[:10]}) has a "
                             f"fitted baseline (fitted: {sorted(self.baselines_)[:10]}); fit on their history first.")
        unknown = sorted(set(df["actor"]) - set(self.baselines_))
        if unknown:
            warnings.warn(f"{len(unknown)} actor(s) have no history and are not tested ({unknown[:5]}); "
                          "see report.summary.", UserWarning, stacklevel=2)
        return self._detect_frame(df)

    def update(self, new_rows) -> ShiftReport:
        """:meth:`detect` on ``new_rows``, then fold them into the baselines (the next call tests
        against history + ``new_rows``). For a daily job: ``load_baseline`` → ``update`` → ``save_baseline``."""
        report = self.detect(new_rows)
        df = self._prepare(new_rows)
        starts = period_start(df["date"].to_numpy().astype("datetime64[D]"), self.period)
        for actor, g in df.groupby("actor", sort=True):
            idx = g.index.to_numpy()
            if actor in self.baselines_:
                bl.absorb(self.baselines_[actor], g["date"].to_numpy().astype("datetime64[D]"),
                          angular(g["score"].to_numpy()), g["u"].to_numpy(), g["score"].to_numpy(), starts[idx],
                          self.window)
            else:
                self.baselines_[str(actor)] = bl.build(
                    g["date"].to_numpy().astype("datetime64[D]"), angular(g["score"].to_numpy()), g["u"].to_numpy(),
                    g["score"].to_numpy(), starts[idx], g["p_assertive"].to_numpy(), self.window,
                    bl.tone_variance(g["score"].to_numpy(), g["u"].to_numpy(), starts[idx]))
        return report

    def monitor(self, data) -> ShiftReport:
        """Split ``data`` per actor at ``since`` (default: the start of the actor's newest period), fit
        on the statements before, and test the rest; ``report.statements`` holds both (column ``new``)."""
        df = self._prepare(data)
        if df.empty:
            raise self._empty_error("monitor", df)
        dates = df["date"].to_numpy().astype("datetime64[D]")
        if self.since is not None and self.since != "all":
            cut = np.full(len(df), parse_dates([self.since])[0][0])
        else:
            ps = period_start(dates, self.period)
            cut = pd.Series(ps).groupby(df["actor"].to_numpy()).transform("max").to_numpy().astype("datetime64[D]")
        new = dates >= cut
        skipped, df.attrs = df.attrs.get("skipped"), {}
        hist = df[~new].reset_index(drop=True)
        if hist.empty:
            raise ShiftError(f"no statement is before {'since=' + repr(self.since) if self.since else 'the newest period'}"
                             ": there is no history to compare with; give an earlier since date or more history.")
        self._fit_frame(hist)
        if not new.any():
            raise ShiftError(f"no statement on or after since={self.since!r}; nothing to test.")
        report = self._detect_frame(df[new].reset_index(drop=True))
        past = hist.assign(new=False)
        report.statements = pd.concat([past.assign(date=pd.to_datetime(past["date"])),
                                       report.statements.assign(new=True)], ignore_index=True)
        report.statements = report.statements.sort_values(["actor", "date", "row"], kind="stable").reset_index(drop=True)
        if skipped is not None:
            report.skipped = skipped
        return report

    def scan(self, data) -> ShiftReport:
        """Offline analysis of a whole series: every statement against its trailing history (Holm over
        the actor's statements) and change points between periods (``method``). Does not fit."""
        df = self._prepare(data)
        if df.empty:
            raise self._empty_error("analyse", df)
        y = angular(df["score"].to_numpy())
        med = float(np.median(y))
        lo, hi, _, _ = semi_deviations(y[None, :], np.array([med]))
        pooled = (med, max(float(np.nan_to_num(lo[0])), self.min_spread),
                  max(float(np.nan_to_num(hi[0])), self.min_spread))
        events, baselines, statements = scan(self, df, pooled)
        return ShiftReport(_events_frame(events), pd.concat(baselines, ignore_index=True), statements,
                           {**self.get_params(), "mode": "scan", "pooled_median_score": float(from_angular(med))},
                           df.attrs["skipped"])

    # ------------------------------------------------------------- baselines
    def save_baseline(self, path) -> Path:
        """Write the fitted baselines as JSON (format version 1; no pickle)."""
        self._check_fitted()
        path = Path(path)
        path.write_text(bl.to_json(self.get_params(), self.pooled_, self.baselines_) + "\n", encoding="utf-8")
        return path

    @classmethod
    def load_baseline(cls, path, **columns) -> "ShiftDetector":
        """A fitted detector from :meth:`save_baseline`'s JSON. Its settings come from the file; the
        column names (``actor_column`` ... ``id_column``) may be given anew for the new data."""
        doc = bl.read(path)
        bad = sorted(set(columns) - {"actor_column", "date_column", "score_column", "text_column", "id_column"})
        if bad:
            raise ValueError(f"load_baseline takes only column names, not {bad}: the other settings are the baseline's.")
        params = {**{k: v for k, v in doc["params"].items() if k in _PARAMS}, **columns}
        det = cls(**params)
        det.pooled_, det.baselines_ = doc["pooled"], doc["actors"]
        det.n_history_ = int(sum(b["n"] for b in doc["actors"].values()))
        return det

    # ------------------------------------------------------------ the tests
    def _detect_frame(self, df: pd.DataFrame) -> ShiftReport:
        cols, out = statement_arrays(df, self.period, ("baseline", "band_low", "band_high", "z", "p_raw", "p_value",
                                                       "size_levels", "weight"))
        n = len(df)
        events, summary, periods, bands = [], [], [], []
        actors, first = np.unique(cols["actor"], return_index=True)
        bounds = np.r_[first, n]
        for actor, a, b in zip(actors, bounds[:-1], bounds[1:]):
            sl = slice(a, b)
            base = self.baselines_.get(actor)
            row = {"actor": actor, "n_new": b - a, "tested_from": date_text(cols["date"][a], cols["precision"][a]),
                   "period": period_label(cols["period_start"][b - 1], self.period)}
            if base is None:
                summary.append({**row, "status": "no history", "n_history": 0})
                continue
            end = np.datetime64(base["end"], "D")
            early = np.flatnonzero(cols["date"][sl] <= end)
            if early.size:
                i = a + early[0]
                raise ShiftError(f"row {cols['row'][i]} ({actor}, {date_text(cols['date'][i], cols['precision'][i])}) is "
                                 f"not after the history of {actor}, which ends {base['end']}: detect() tests statements "
                                 "newer than the fitted history; refit on a history that ends before them.")
            w = bl.weights(cols["u"][sl], base["sigma_t2"])
            out["weight"][sl] = w
            ev_s, p_s = self._statement_test(actor, base, cols, out, sl)
            ev_p, p_p, info, per = self._period_test(actor, base, cols, sl, w)
            recent = base["recent"]["dates"]
            bands.append({"actor": actor, "history_from": recent[0] if recent else base["end"],
                          "history_to": base["end"], "n_history": int(base["n"]), "n_window": len(recent),
                          **{k: float(out[k][a]) for k in ("baseline", "band_low", "band_high")},
                          "tested_from": cols["date"][a], "tested_to": cols["date"][b - 1]})
            events += ev_s + ev_p
            periods.append(per)
            dirs = sorted({e["direction"] for e in ev_s + ev_p})
            quiet = np.isnan(p_s) and np.isnan(p_p)
            pa = cols["p_assertive"][sl]
            summary.append({**row, **info, "n_history": int(base["n"]),
                            "status": " and ".join(dirs) if dirs else ("too little history" if quiet else "no change"),
                            "p_statement": p_s, "p_period": p_p,
                            "p_assertive_new": float(np.nanmean(pa)) if np.isfinite(pa).any() else np.nan,
                            "p_assertive_history": np.nan if base.get("p_assertive") is None else base["p_assertive"]})
        statements = df.assign(**out)
        statements["date"] = pd.to_datetime(statements["date"])
        summ = pd.DataFrame(summary).reindex(columns=SUMMARY_COLUMNS)
        base_table = pd.concat(periods, ignore_index=True) if periods else pd.DataFrame()
        return ShiftReport(_events_frame(events), base_table, statements,
                           {**self.get_params(), "mode": "monitor",
                            "pooled_median_score": float(from_angular(self.pooled_["median"]))},
                           df.attrs.get("skipped", pd.DataFrame(columns=SKIPPED_COLUMNS)), summ,
                           _bands_frame(bands))

    def _statement_test(self, actor, base, cols, out, sl):
        r = base["recent"]
        h = np.asarray(r["y"], float)
        score = cols["score"][sl]
        y = angular(score)
        n_hist = h.size
        out["n_history"][sl] = base["n"]
        if n_hist:
            med = float(np.median(h))
            lo, hi, df_lo, df_hi = (float(np.nan_to_num(v[0])) for v in semi_deviations(h[None, :], np.array([med])))
        if n_hist < self.min_history:
            p = self.pooled_
            med = p["median"] if not n_hist else (n_hist * med + (self.min_history - n_hist) * p["median"]) / self.min_history
            lo, hi, df_lo, df_hi, n_eff = p["spread_low"], p["spread_high"], self.min_history / 2, self.min_history / 2, \
                self.min_history
        else:
            lo, hi = max(lo, self.min_spread), max(hi, self.min_spread)
            n_eff = min(n_hist, len(set(r["dates"]))) if self.cluster_dates else n_hist
            df_lo, df_hi = max(df_lo * n_eff / n_hist, 1.0), max(df_hi * n_eff / n_hist, 1.0)
        z0, dof = predictive_z(y, np.full(y.size, med), lo, hi, n_eff, df_lo, df_hi)
        infl = np.sqrt(1 + np.pi / (2 * n_eff))
        side = np.where(y >= med, hi, lo) * infl
        # a statement the model is less sure of than the history's typical one gets a wider band
        excess = np.clip(cols["u"][sl] - base["u_ref"], 0, None)
        s_c = np.clip(score, 0.02, 0.98)
        z = (y - med) / np.sqrt(side ** 2 + excess / (4 * s_c * (1 - s_c)))
        p_raw = np.minimum(1.0, 2 * stats.t.sf(np.abs(z), dof))
        if n_hist < self.min_history:
            p_raw[:] = np.nan
        p_adj = holm(p_raw) if self.correction == "holm" else np.minimum(1.0, p_raw * p_raw.size)
        baseline = float(from_angular(med))
        size = (score - baseline) * 4
        hit = (p_adj <= self.alpha / 2) & (np.abs(size) >= self.min_levels)
        out["baseline"][sl] = baseline
        out["band_low"][sl] = from_angular(med - stats.t.ppf(0.975, df_lo) * lo * infl)
        out["band_high"][sl] = from_angular(med + stats.t.ppf(0.975, df_hi) * hi * infl)
        out["z"][sl], out["p_raw"][sl], out["p_value"][sl], out["size_levels"][sl], out["event"][sl] = \
            z, p_raw, p_adj, size, hit
        events = []
        for j in np.flatnonzero(hit):
            i = sl.start + j
            events.append(event(self, actor, "statement", size[j], cols, i, score=float(score[j]), baseline=baseline,
                                z=float(z[j]), p_value=float(p_adj[j]), n_history=int(base["n"]),
                                row_ids=[int(cols["row"][i])], ids=[cols["id"][i]] if "id" in cols else [],
                                texts=[cols["text"][i]] if "text" in cols else [],
                                p_assertive=float(cols["p_assertive"][i]), weight=float(out["weight"][i]),
                                location_low=period_label(cols["period_start"][i], self.period),
                                location_high=period_label(cols["period_start"][i], self.period)))
        return events, float(np.nanmin(p_adj)) if np.isfinite(p_adj).any() else np.nan

    def _period_test(self, actor, base, cols, sl, w):
        ref_all = bl.sums_frame(base)
        new = bl.period_sums(cols["period_start"][sl], cols["score"][sl], w)
        first_new = new.index.min()
        # statements of the history in a new period (a daily job inside the year) belong to it
        new = pd.concat([new, ref_all[ref_all.index >= first_new]]).groupby(level=0).sum().sort_index()
        ref = bl.period_stats(ref_all[ref_all.index < first_new])
        cur = bl.period_stats(new)
        tests = []
        for start, r in cur.iterrows():
            if len(ref) < self.min_periods:
                tests.append((start, r, np.nan, np.nan, np.nan, np.nan, np.nan, np.nan))
                continue
            z, p, mu, sd, tau2, sigma2 = period_test(ref["n_eff"], ref["mean"], ref["var"], ref["n_eff"], r["n_eff"],
                                                     r["mean"])
            tests.append((start, r, z, p, mu, sd, tau2, sigma2))
        p_adj = holm(np.array([t[3] for t in tests], float))
        events, info = [], {"n_periods": int(len(ref))}
        for (start, r, z, p, mu, sd, tau2, sigma2), pa in zip(tests, p_adj):
            size = 4 * (r["mean"] - mu)
            info.update({"baseline_mean": mu, "new_mean": r["mean"], "size_levels": size})
            if not (pa <= self.alpha / 2 and abs(size) >= self.min_period_levels):
                continue
            if np.isfinite(sigma2):
                wts = 1.0 / (tau2 + sigma2 / np.r_[ref["n_eff"].to_numpy(), r["n_eff"]])
            else:
                wts = np.full(len(ref) + 1, 1.0 / np.var(ref["mean"], ddof=1))
            starts_all = np.r_[ref.index.to_numpy(), np.datetime64(start, "D")]
            lo, _, hi = location_interval(np.r_[ref["mean"].to_numpy(), r["mean"]], wts)
            mask = cols["period_start"][sl] == np.datetime64(start, "D")
            idx = sl.start + np.flatnonzero(mask)
            idx = idx[np.argsort(-np.sign(size) * cols["score"][idx], kind="stable")]
            pa_new = cols["p_assertive"][idx]
            info.update({"location_low": period_label(starts_all[lo], self.period),
                         "location_high": period_label(starts_all[min(hi, len(starts_all) - 1)], self.period)})
            events.append(event(self, actor, "period", size, cols, idx[0] if idx.size else sl.start,
                                score=float(r["mean"]), baseline=float(mu), z=float(z), p_value=float(pa),
                                n_history=int(base["n"]), row_ids=[int(v) for v in cols["row"][idx]],
                                ids=list(cols["id"][idx]) if "id" in cols else [],
                                texts=list(cols["text"][idx[:3]]) if "text" in cols else [],
                                p_assertive=float(np.nansum(w[idx - sl.start] * pa_new) / w[idx - sl.start].sum())
                                if np.isfinite(pa_new).any() else np.nan,
                                weight=float(r["n_eff"]), location_low=info["location_low"],
                                location_high=info["location_high"]))
        if events:
            events[0]["date"] = np.datetime64(events[0]["date"], "D")
        table = pd.concat([ref.assign(new=False), cur.assign(new=True)])
        table = table.assign(actor=actor, period=[period_label(s, self.period) for s in table.index],
                             period_start=pd.to_datetime(table.index)).reset_index(drop=True)
        p_min = float(np.nanmin(p_adj)) if np.isfinite(p_adj).any() else np.nan
        return events, p_min, info, table[["actor", "period", "period_start", "count", "n_eff", "mean", "var", "new"]]


def _bands_frame(bands: list) -> pd.DataFrame:
    out = pd.DataFrame(bands, columns=BAND_COLUMNS)
    for c in ("history_from", "history_to", "tested_from", "tested_to"):
        out[c] = pd.to_datetime(out[c])
    return out


def _events_frame(events: list) -> pd.DataFrame:
    ev = pd.DataFrame(events, columns=EVENT_COLUMNS).astype(
        {"size_levels": float, "score": float, "baseline": float, "z": float, "p_value": float, "n_history": int,
         "p_assertive": float, "weight": float})
    ev["date"] = pd.to_datetime(ev["date"])
    if not ev.empty:
        ev = ev.sort_values(["actor", "date", "kind"], kind="stable").reset_index(drop=True)
    return ev
