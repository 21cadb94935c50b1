"""The result of a shift analysis: events, per-actor summary, baselines, statements; JSON, tables, plots."""

from __future__ import annotations

import json
import math
import re
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import pandas as pd

from ..exceptions import ShiftError
from .data import SKIPPED_COLUMNS, _check_choice, _plain, period_label, period_start

SUMMARY_COLUMNS = ["actor", "status", "tested_from", "period", "n_new", "n_history", "n_periods", "new_mean",
                   "baseline_mean", "size_levels", "p_statement", "p_period", "p_assertive_new", "p_assertive_history",
                   "location_low", "location_high"]
"""Columns of ``report.summary`` (monitoring): one row per actor; ``status`` is ``escalation``,
``de-escalation``, ``no change`` (tested, quiet), ``too little history`` or ``no history``."""

BAND_COLUMNS = ["actor", "history_from", "history_to", "n_history", "n_window", "baseline", "band_low", "band_high",
                "tested_from", "tested_to"]
"""Columns of ``report.bands`` (``detect``/``monitor``): one row per tested actor, the statement test's
baseline and 95% single-statement band (scores) that its new statements (``tested_from`` to
``tested_to``) were tested against, and the history it was computed from: the last ``n_window`` of
the actor's ``n_history`` earlier statements, dated ``history_from`` to ``history_to``."""

# ----------------------------------------------------------------------- report
@dataclass
class ShiftReport:
    """Result of :meth:`ShiftDetector.detect`.

    ``events``: one row per event (columns :data:`EVENT_COLUMNS`); ``baselines``: one row per
    actor and period; ``statements``: every input statement with its baseline, band, z,
    single-test p-value ``p_raw`` and adjusted ``p_value`` (NaN where not tested); ``params``: the
    detector's settings; ``skipped``: input rows left out for a missing actor or a missing or
    invalid date (row, column, value, reason); ``summary`` (``detect``/``monitor``): one row per
    actor (:data:`SUMMARY_COLUMNS`); ``bands`` (``detect``/``monitor``): the history band each tested
    actor's statements were tested against (:data:`BAND_COLUMNS`; in ``monitor`` the history rows of
    ``statements`` are not tested and carry no band of their own).
    """

    events: pd.DataFrame
    baselines: pd.DataFrame
    statements: pd.DataFrame
    params: dict = field(default_factory=dict)
    skipped: pd.DataFrame = field(default_factory=lambda: pd.DataFrame(columns=SKIPPED_COLUMNS))
    summary: pd.DataFrame = field(default_factory=lambda: pd.DataFrame(columns=SUMMARY_COLUMNS))
    bands: pd.DataFrame = field(default_factory=lambda: pd.DataFrame(columns=BAND_COLUMNS))

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
        summary = [{k: (None if not isinstance(v, str) and pd.isna(v) else v.item() if isinstance(v, np.generic)
                        else v) for k, v in r.items()} for r in self.summary.to_dict("records")]
        doc = {"params": self.params, "n_statements": int(len(self.statements)), "summary": summary,
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
        from ..scale import LEVELS, MAX_LEVEL

        st = self.statements[self.statements["actor"] == actor]
        if st.empty:
            raise ShiftError(f"actor {actor!r} not found; actors are {sorted(self.statements['actor'].unique())[:20]}.")
        ev = self.events[self.events["actor"] == actor]
        fig = Figure(figsize=(10, 4), layout="constrained")
        ax = fig.subplots()
        d = pd.to_datetime(st["date"])
        period = self.params.get("period", "Y")
        ref = self.bands[self.bands["actor"] == actor] if len(self.bands) else self.bands
        tested = ""
        if "new" in st and len(ref):
            # monitor: the history rows are not tested; draw the band they gave the tested statements
            # across that history and the tested period, and shade the tested period
            r = ref.iloc[0]
            t0, t1 = _period_bounds(r["tested_from"], period)[0], _period_bounds(r["tested_to"], period)[1]
            first, last = (period_label(np.datetime64(t, "D"), period) for t in (t0, t1 - pd.Timedelta(days=1)))
            tested = first if first == last else f"{first} to {last}"
            ax.axvspan(t0, t1, color="gold", alpha=0.25, lw=0, zorder=0, label=f"tested: {tested}")
            h0 = pd.Timestamp(r["history_from"])
            ax.fill_between([h0, t1], r["band_low"], r["band_high"], color="tab:blue", alpha=0.15,
                            label=f"95% band (single statement; {r['n_window']} past statements)")
            ax.plot([h0, t1], [r["baseline"]] * 2, color="tab:blue", lw=1.2, label="baseline (history median)")
        else:
            ax.fill_between(d, st["band_low"], st["band_high"], step="post", color="tab:blue", alpha=0.15,
                            label="95% band (single statement)")
            ax.step(d, st["baseline"], where="post", color="tab:blue", lw=1.2, label="baseline")
        ax.scatter(d, st["score"], s=12, color="0.35", zorder=3, label="statements")
        if "segment_mean" in st:
            ax.step(d, st["segment_mean"], where="post", color="tab:orange", lw=1.5, ls="--", label="segment mean")
        elif len(self.baselines) and "new" in self.baselines:
            b = self.baselines[self.baselines["actor"] == actor]
            if len(b):  # the last period's mean runs to the period's end
                ends = [*b["period_start"], _period_bounds(b["period_start"].iloc[-1], period)[1]]
                ax.step(ends, [*b["mean"], b["mean"].iloc[-1]], where="post", color="tab:orange", lw=1.5, ls="--",
                        label="period mean")
        for kind, marker in (("statement", "o"), ("change_point", None), ("period", None)):
            for _, e in ev[ev["kind"] == kind].iterrows():
                color = "tab:red" if e["direction"] == "escalation" else "tab:green"
                if marker:
                    ax.scatter([pd.Timestamp(e["date"])], [e["score"]], s=90, facecolors="none", edgecolors=color,
                               linewidths=2, zorder=4)
                else:
                    ax.axvline(pd.Timestamp(e["date"]), color=color, ls=":", lw=1.5)
                ax.annotate(f"{e['size_levels']:+.1f}" + ("" if marker else f" ({kind.replace('_', ' ')})"),
                            (pd.Timestamp(e["date"]), e["score"]), xytext=(6, 6) if marker else (-4, -14),
                            textcoords="offset points", ha="left" if marker else "right", color=color, fontsize=8)
        ax.set_ylim(-0.02, 1.02)
        ax.set_yticks([k / MAX_LEVEL for k in range(MAX_LEVEL + 1)], [f"{k} {LEVELS[k]}" for k in range(MAX_LEVEL + 1)])
        n = f"{len(st)} statements" + (f", {int(st['new'].sum())} tested ({tested})" if tested else "")
        ax.set_title(f"Tone timeline: {actor} ({n}; events: {len(ev)})")
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
        if len(self.summary):
            paths["summary"] = out / "summary.csv"
            self.summary.to_csv(paths["summary"], index=False)
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


def _period_bounds(date, period: str) -> tuple[pd.Timestamp, pd.Timestamp]:
    """The first day of the period ``date`` falls in, and the first day of the next."""
    start = period_start(np.array([date], dtype="datetime64[D]"), period)[0]
    nxt = period_start(np.array([start + {"Y": 366, "Q": 92, "M": 31}[period]]), period)[0]
    return pd.Timestamp(start), pd.Timestamp(nxt)
