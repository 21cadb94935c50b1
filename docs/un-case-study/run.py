"""UN General Debate 1990-2022: tone per country, shifts found, and what the detector missed.

One command, from the repository root (about 2 minutes on 2 shared CPU cores with 1 thread and the
int8 backend that ``auto`` picks when the model has an agreement record; about 4 with ONNX fp32):

    OMP_NUM_THREADS=1 .venv/bin/python docs/un-case-study/run.py [--model models/tonecls-base]

The second sample quoted in the README: ``--seed 1 --no-plots --shuffles 0 --out docs/un-case-study/seed-1``.

The model is ``--model``, else the ``TONECLS_MODEL`` environment variable, else
``models/tonecls-base``. Steps:

1. read ``/work/shared/data/statements/un-general-debate-1990-2022.jsonl.gz`` (``--data``), keep
   the countries in :data:`COUNTRIES`;
2. split every speech into statements with :func:`tonecls.labeling.segment.split_statements` and
   keep a seeded random sample of ``--per-speech`` statements per speech (default 40; 0 = all);
3. score them with :func:`tonecls.bulk.score_archive` (backend ``auto``: the fastest backend
   recorded as agreeing with fp32 for these weights, else ONNX fp32), into
   ``artifacts/un-case-study/scored-<weights sha256>-<per speech>-<seed>.parquet`` (resumable;
   reused when the weights, calibration, backend and sample are unchanged);
4. run :class:`tonecls.shift.ShiftDetector` per country (yearly periods; a statement's baseline is
   the country's last ``--window`` statements, default 400, i.e. about ten earlier speeches;
   other settings default);
5. a real-data null check: the same detector on ``--shuffles`` copies of each country's series
   with the speeches' years permuted (time order destroyed, everything else kept);
6. write ``docs/un-case-study/``: ``results.md`` (every table the README quotes), ``events.csv``,
   ``yearly.csv``, ``known-shifts.csv``, ``overview.png`` and ``timeline-<ISO3>.png`` for
   :data:`PLOTTED`.
"""

from __future__ import annotations

import argparse
import hashlib
import json
import math
import os
import sys
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent
ROOT = HERE.parents[1]
DATA = Path("/work/shared/data/statements/un-general-debate-1990-2022.jsonl.gz")

# Countries: known changes of tone, a constantly confrontational one, and calm controls.
COUNTRIES = {
    "RUS": "Russia (USSR in 1990)", "USA": "United States", "VEN": "Venezuela", "IRN": "Iran",
    "UKR": "Ukraine", "PHL": "Philippines", "BRA": "Brazil", "TUR": "Turkey", "PRK": "North Korea",
    "JPN": "Japan", "DEU": "Germany", "NOR": "Norway",
}
PLOTTED = ["RUS", "USA", "VEN", "IRN", "UKR", "BRA", "JPN"]  # + overview.png = 8 plots
# Shifts known from the record (year of the General Debate where the change shows first, and
# its direction). A change point in that direction dated within one year counts as found.
KNOWN = [
    ("RUS", 2007, "escalation", "Putin's Munich speech (Feb 2007), hardening toward the West"),
    ("RUS", 2014, "escalation", "Crimea annexed, war in Donbas"),
    ("RUS", 2022, "escalation", "full-scale invasion of Ukraine"),
    ("USA", 2002, "escalation", "Iraq ultimatum (2002-03), 'axis of evil'"),
    ("USA", 2017, "escalation", "Trump: 'Rocket Man', 'totally destroy North Korea'"),
    ("USA", 2021, "de-escalation", "Biden: 'relentless diplomacy'"),
    ("VEN", 1999, "escalation", "Chavez takes office (Feb 1999)"),
    ("VEN", 2006, "escalation", "Chavez: 'the devil came here yesterday'"),
    ("IRN", 2005, "escalation", "Ahmadinejad (2005-2013)"),
    ("IRN", 2013, "de-escalation", "Rouhani (2013-2021), nuclear talks"),
    ("UKR", 2014, "escalation", "Crimea annexed, war in Donbas"),
    ("UKR", 2022, "escalation", "full-scale Russian invasion"),
    ("PHL", 2016, "escalation", "Duterte (2016-2022)"),
    ("BRA", 2019, "escalation", "Bolsonaro (2019-2022)"),
    ("TUR", 2016, "escalation", "after the coup attempt; Erdogan's confrontational turn (diffuse)"),
]
# Remarks that made the news: each is scored and checked as a new statement against the country's
# earlier years (the monitoring question: "is this remark a shift?"), sampled or not.
PROBES = [
    ("VEN", 2006, r"\bDevil\b", "Chavez: 'the devil'"),
    ("USA", 2017, r"totally destroy", "Trump: 'totally destroy North Korea'"),
    ("IRN", 2005, r"nuclear apartheid|language of force", "Ahmadinejad on the nuclear dispute"),
    ("BRA", 2019, r"Sao Paulo Forum|cruelty of socialism", "Bolsonaro on socialism"),
    ("RUS", 2022, r"putschists|infamous rules", "Lavrov on the West and Ukraine"),
]
CONTROLS = {"JPN": "calm control", "DEU": "calm control", "NOR": "calm control",
            "PRK": "constantly confrontational"}


def parse_args(argv=None):
    p = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    p.add_argument("--model", default=os.environ.get("TONECLS_MODEL", "models/tonecls-base"),
                   help="model folder (default: $TONECLS_MODEL or models/tonecls-base)")
    p.add_argument("--data", default=str(DATA))
    p.add_argument("--per-speech", type=int, default=40, help="statements sampled per speech, seeded (0 = all)")
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--threads", type=int, default=1, help="scoring threads (default 1: the machine is shared)")
    p.add_argument("--backend", default="auto", help="scoring backend (default auto; see tonecls/backends.py)")
    p.add_argument("--window", type=int, default=400,
                   help="statements in a statement's baseline (default 400: about ten speeches of 40; 0 = all)")
    p.add_argument("--shuffles", type=int, default=100, help="year-shuffled copies per country for the null check")
    p.add_argument("--no-plots", action="store_true", help="skip the PNGs (e.g. for a robustness rerun)")
    p.add_argument("--work", default=str(ROOT / "artifacts" / "un-case-study"), help="scratch folder (git-ignored)")
    p.add_argument("--out", default=str(HERE), help="where the results and plots go")
    return p.parse_args(argv)


# ------------------------------------------------------------------------------------- data
def speech_seed(doc_id: str, seed: int) -> int:
    return int.from_bytes(hashlib.sha256(f"{seed}:{doc_id}".encode()).digest()[:8], "little")


def build_statements(data: Path, per_speech: int, seed: int):
    import numpy as np
    import pandas as pd

    from tonecls.labeling.segment import split_statements

    docs = pd.read_json(data, lines=True, dtype=False)
    docs = docs[docs["actor"].isin(COUNTRIES)].sort_values(["actor", "date"]).reset_index(drop=True)
    rows, n_all = [], []
    for doc in docs.itertuples(index=False):
        pieces = split_statements(doc.text)
        n_all.append(len(pieces))
        keep = np.arange(len(pieces))
        if per_speech and len(pieces) > per_speech:
            rng = np.random.default_rng(speech_seed(doc.id, seed))
            keep = np.sort(rng.choice(len(pieces), per_speech, replace=False))
        for k in keep:
            rows.append((f"{doc.id}-{k:03d}", doc.id, doc.actor, doc.date, int(doc.date[:4]), int(k), pieces[k]))
    st = pd.DataFrame(rows, columns=["stmt_id", "doc_id", "actor", "date", "year", "position", "text"])
    docs = docs.assign(n_statements=n_all)
    return docs, st


def score(statements_path: Path, out_path: Path, model: str, threads: int, backend: str):
    from tonecls.archive import DataError
    from tonecls.bulk import score_archive

    kw = dict(model=model, backend=backend, threads=threads, chunk_size=2048, progress=sys.stderr.isatty())
    try:
        return score_archive(statements_path, out_path, **kw)
    except DataError as err:
        if "exists" not in str(err) and "unfinished run" not in str(err):
            raise
        print(f"re-scoring: {err}", file=sys.stderr)  # another model or sample: start over
        return score_archive(statements_path, out_path, overwrite=True, resume=False, **kw)


# --------------------------------------------------------------------------------- analysis
PREVIOUS_TEST = "a63d2c2"  # tonecls/shift.py before the two-piece statement test (median/MAD, one spread)


def previous_shift_module():
    """The previous tonecls.shift (git ``PREVIOUS_TEST``), to show what its statement test did on
    these scores; None when git or the commit is not available."""
    import importlib.util
    import subprocess
    import tempfile

    try:
        code = subprocess.run(["git", "-C", str(ROOT), "show", f"{PREVIOUS_TEST}:tonecls/shift.py"], check=True,
                              capture_output=True, text=True).stdout
    except (OSError, subprocess.CalledProcessError):
        return None
    path = Path(tempfile.mkdtemp()) / "shift_previous.py"
    path.write_text(code)
    spec = importlib.util.spec_from_file_location("shift_previous", path)
    mod = importlib.util.module_from_spec(spec)
    sys.modules["shift_previous"] = mod
    spec.loader.exec_module(mod)
    return mod


def speech_checks(statements, alpha: float = 0.05, min_levels: float = 1.0):
    """Each speech checked on its own against the country's earlier statements: Holm over the
    speech's statements. The baseline of a statement uses earlier dates only, so this equals
    ``ShiftDetector(test_from=<year>)`` run on the data up to that year (checked in ``main``)."""
    from tonecls.shift import holm

    st = statements[statements["p_raw"].notna()].copy()
    st["year"] = st["date"].dt.year
    st["p_speech"] = st.groupby(["actor", "year"])["p_raw"].transform(lambda p: holm(p.to_numpy()))
    st["flag"] = (st["p_speech"] <= alpha / 2) & (st["size_levels"].abs() >= min_levels)
    return st


def shuffle_null(scored, detector_kw: dict, shuffles: int, seed: int, previous=None):
    """Rates of events in copies of each country's series whose speech years are permuted."""
    import numpy as np
    import pandas as pd

    from tonecls.shift import ShiftDetector

    rng = np.random.default_rng(seed)
    parts = []
    for actor, g in scored.groupby("actor"):
        years = np.sort(g["year"].unique())
        for b in range(shuffles):
            perm = dict(zip(years, rng.permutation(years)))
            parts.append(pd.DataFrame({"actor": f"{actor}#{b:03d}", "date": g["year"].map(perm).astype(str),
                                       "score": g["score"].to_numpy()}))
    null = pd.concat(parts, ignore_index=True)
    report = ShiftDetector(**detector_kw, text_column=None).scan(null)
    ev = report.events
    ev["country"] = ev["actor"].str[:3]
    checks = speech_checks(report.statements)
    per_speech = checks.groupby(["actor", "year"])["flag"].any().reset_index()
    per_speech["country"] = per_speech["actor"].str[:3]
    old = None
    if previous is not None:
        old = previous.ShiftDetector(**detector_kw, text_column=None).detect(null).events  # it had no scan
        old["country"] = old["actor"].str[:3]
    out = []
    for actor in sorted(scored["actor"].unique()):
        e = ev[ev["country"] == actor]
        row = {"country": actor, "series": shuffles,
               "statement_events": e.loc[e.kind == "statement", "actor"].nunique() / shuffles,
               "change_points": e.loc[e.kind == "change_point", "actor"].nunique() / shuffles,
               "any": e["actor"].nunique() / shuffles,
               "speeches checked": int((per_speech.country == actor).sum()),
               "speeches flagged": float(per_speech.loc[per_speech.country == actor, "flag"].mean())}
        if old is not None:
            o = old[old["country"] == actor]
            row["previous test: statement_events"] = o.loc[o.kind == "statement", "actor"].nunique() / shuffles
        out.append(row)
    return pd.DataFrame(out)


def probe_remarks(docs, scored, clf, detector_kw: dict):
    """Score the PROBES remarks and test each group as new statements (``test_from``) against the
    country's statements of earlier years."""
    import re

    import pandas as pd

    from tonecls.labeling.segment import split_statements
    from tonecls.shift import ShiftDetector

    rows = []
    for actor, year, pattern, what in PROBES:
        doc = docs[(docs.actor == actor) & (docs.date.str[:4] == str(year))]
        texts = [t for t in split_statements(doc.text.iloc[0]) if re.search(pattern, t)] if len(doc) else []
        if not texts:
            continue
        new = pd.DataFrame({"actor": actor, "date": f"{year}-09", "text": texts,
                            "score": [r.score for r in clf.score(texts)]})
        past = scored.loc[(scored.actor == actor) & (scored.year < year), ["actor", "date", "text", "score"]]
        st = ShiftDetector(**detector_kw, text_column="text", since=str(year)).scan(
            pd.concat([past, new], ignore_index=True)).statements
        st = st[st.date.dt.year == year]
        for r in st.itertuples():
            rows.append({"actor": actor, "year": year, "remark": r.text[:130], "level": round(4 * r.score, 2),
                         "baseline level": round(4 * r.baseline, 2), "band top (level)": round(4 * r.band_high, 2),
                         "size": round(r.size_levels, 2), "p single": f"{r.p_raw:.2g}",
                         "p (Holm over the group)": f"{r.p_value:.2g}", "event": bool(r.event)})
    return pd.DataFrame(rows)


def before_after(yearly, actor: str, year: int, k: int = 3):
    """Mean level in the ``k`` years from ``year`` minus the ``k`` years before, and Welch's p on the
    yearly means (does the *model* see a change, whatever the detector says?)."""
    from scipy import stats

    y = yearly[yearly.actor == actor].set_index("year")["mean"] * 4
    after = y[(y.index >= year) & (y.index < year + k)]
    before = y[(y.index < year) & (y.index >= year - k)]
    if len(after) < 1 or len(before) < 2:
        return float("nan"), float("nan")
    if len(after) == 1:  # the last year of the data: one year against the years before it
        return float(after.mean() - before.mean()), float(stats.ttest_1samp(before, after.iloc[0]).pvalue)
    return float(after.mean() - before.mean()), float(stats.ttest_ind(after, before, equal_var=False).pvalue)


def match_known(events, yearly):
    """Each known shift: found as a change point (right direction, within one year)?"""
    import pandas as pd

    rows = []
    cp = events[events.kind == "change_point"]
    st = events[events.kind == "statement"]
    for actor, year, direction, what in KNOWN:
        c = cp[(cp.actor == actor) & (cp.direction == direction) & ((cp.year - year).abs() <= 1)]
        s = st[(st.actor == actor) & (st.direction == direction) & ((st.year - year).abs() <= 1)]
        if len(c):
            e = c.iloc[(c.year - year).abs().argmin()]
            found = f"change point {e.year} ({e.size_levels:+.2f} levels, p = {e.p_value:.3f})"
        elif len(s):
            found = f"statement event(s) only: {len(s)} in {sorted(set(s.year))}"
        else:
            found = "missed"
        delta, p = before_after(yearly, actor, year)
        n_years = int(yearly[yearly.actor == actor].year.nunique())
        d = int(yearly[(yearly.actor == actor) & (yearly.year >= year)].year.nunique())
        reachable = 2 / math.comb(n_years, d) <= 0.025  # smallest permutation p of a change with d years after
        rows.append({"country": actor, "year": year, "direction": direction, "what": what,
                     "3y after - 3y before (levels)": round(delta, 2), "p (yearly means)": round(p, 3),
                     "change point possible": "yes" if reachable else f"no (min p {2 / math.comb(n_years, d):.2f})",
                     "result": "found" if len(c) else ("partly" if len(s) else "missed"), "detail": found})
    return pd.DataFrame(rows)


def unexplained(events):
    """Change points that match no known shift (±1 year, same direction)."""
    known = {(a, d): [y for aa, y, dd, _ in KNOWN if aa == a and dd == d] for a, _, d, _ in KNOWN}
    cp = events[events.kind == "change_point"]
    keep = [not any(abs(r.year - y) <= 1 for y in known.get((r.actor, r.direction), [])) for r in cp.itertuples()]
    return cp[keep]


# ------------------------------------------------------------------------------------ plots
def plot_country(report, events, yearly, actor: str, path: Path):
    import numpy as np
    import pandas as pd
    from matplotlib.figure import Figure

    from tonecls.scale import LEVELS

    st = report.statements[report.statements.actor == actor]
    yr = yearly[yearly.actor == actor]
    ev = events[events.actor == actor]
    fig = Figure(figsize=(8, 3.1), layout="constrained")
    ax = fig.subplots()
    x = st["date"].dt.year.to_numpy() + np.random.default_rng(0).uniform(-0.3, 0.3, len(st))
    ax.scatter(x, st["score"], s=3, color="0.55", alpha=0.25, lw=0, rasterized=True, label="statements")
    ax.errorbar(yr["year"], yr["mean"], yerr=1.96 * yr["se"], fmt="o", ms=3.5, color="tab:blue", lw=1,
                label="yearly mean ± 95% CI")
    ax.step(yr["year"], yr["segment_mean"], where="mid", color="tab:orange", lw=1.8, label="segment mean")
    for e in ev[ev.kind == "change_point"].itertuples():
        color = "tab:red" if e.direction == "escalation" else "tab:green"
        ax.axvline(e.year - 0.5, color=color, ls=":", lw=1.4)
        ax.annotate(f"{e.size_levels:+.2f}", (e.year - 0.45, 0.93), color=color, fontsize=8)
    s = ev[ev.kind == "statement"]
    if len(s):
        ax.scatter(s["year"], s["score"], s=30, facecolors="none", edgecolors=np.where(
            s.direction == "escalation", "tab:red", "tab:green"), lw=1.2, zorder=4, label="statement events")
    for a, y, d, _ in KNOWN:
        if a == actor:
            ax.annotate("▼" if d == "escalation" else "▲", (y, 0.99), ha="center", va="top", fontsize=8,
                        color="0.3")
    ax.set_ylim(-0.02, 1.0)
    ax.set_xlim(1989.3, 2022.7)
    ax.set_yticks([k / 4 for k in range(5)], [f"{k} {LEVELS[k]}" for k in range(5)], fontsize=7)
    ax.tick_params(axis="x", labelsize=8)
    ax.set_title(f"{actor}: {COUNTRIES[actor]} ({len(st):,} statements; ▼/▲ known escalation / de-escalation; "
                 f"dotted: change points)", fontsize=8.5)
    ax.legend(loc="lower left", fontsize=6.5, ncol=4, framealpha=0.8)
    ax.grid(alpha=0.25)
    fig.savefig(path, dpi=90)


def plot_overview(yearly, events, path: Path):
    from matplotlib.figure import Figure

    actors = list(COUNTRIES)
    fig = Figure(figsize=(10, 6.2), layout="constrained")
    axes = fig.subplots(3, 4, sharex=True, sharey=True).ravel()
    for ax, actor in zip(axes, actors):
        yr = yearly[yearly.actor == actor]
        ax.plot(yr["year"], yr["mean"] * 4, "o", ms=2.5, color="tab:blue")
        ax.step(yr["year"], yr["segment_mean"] * 4, where="mid", color="tab:orange", lw=1.5)
        for e in events[(events.actor == actor) & (events.kind == "change_point")].itertuples():
            ax.axvline(e.year - 0.5, color="tab:red" if e.direction == "escalation" else "tab:green", ls=":", lw=1.2)
        for a, y, d, _ in KNOWN:
            if a == actor:
                ax.annotate("▼" if d == "escalation" else "▲", (y, 2.0), ha="center", fontsize=7, color="0.3")
        ax.set_title(f"{actor} ({CONTROLS.get(actor, 'known shifts')})", fontsize=8)
        ax.grid(alpha=0.25)
        ax.tick_params(labelsize=7)
    axes[0].set_ylim(0, 2.1)
    for ax in axes[::4]:
        ax.set_ylabel("mean level", fontsize=7)
    fig.suptitle("Yearly mean tone (levels 0-4) and segments between change points; ▼/▲ known shifts", fontsize=9)
    fig.savefig(path, dpi=80)


# ------------------------------------------------------------------------------------- main
def flag_rate(null) -> float:
    """Share of all checked speeches of the shuffled copies that were flagged."""
    return float((null["speeches flagged"] * null["speeches checked"]).sum() / null["speeches checked"].sum())


def md_table(df, floatfmt=".3f") -> str:
    cols = list(df.columns)
    lines = ["| " + " | ".join(cols) + " |", "|" + "|".join("---" for _ in cols) + "|"]
    for row in df.itertuples(index=False):
        cells = []
        for v in row:
            if isinstance(v, float):
                cells.append(format(v, floatfmt))
            else:
                cells.append(str(v).replace("|", "\\|").replace("\n", " "))
        lines.append("| " + " | ".join(cells) + " |")
    return "\n".join(lines)


def main(argv=None) -> int:
    args = parse_args(argv)
    os.environ.setdefault("OMP_NUM_THREADS", str(args.threads))
    import numpy as np
    import pandas as pd

    from tonecls.shift import ShiftDetector

    t0 = time.monotonic()
    times = {}
    work, out = Path(args.work), Path(args.out)
    work.mkdir(parents=True, exist_ok=True)
    out.mkdir(parents=True, exist_ok=True)
    model = str(Path(args.model))
    if not (Path(model) / "config.json").is_file():
        raise SystemExit(f"no model folder at {model}; pass --model or set TONECLS_MODEL")
    config = json.loads((Path(model) / "config.json").read_text())
    model_name = config.get("name", Path(model).name)
    weights_tag = str(config.get("weights", {}).get("sha256", ""))[:12] or Path(model).name

    docs, statements = build_statements(Path(args.data), args.per_speech, args.seed)
    st_path = work / f"statements-{args.per_speech}-{args.seed}.parquet"
    statements.to_parquet(st_path, index=False)
    times["segment"] = time.monotonic() - t0
    print(f"{len(docs)} speeches, {int(docs.n_statements.sum()):,} statements, {len(statements):,} sampled "
          f"({times['segment']:.0f} s)", file=sys.stderr)

    t = time.monotonic()
    scored_path = work / f"scored-{weights_tag}-{args.per_speech}-{args.seed}.parquet"  # reused for the same weights
    summary = score(st_path, scored_path, model, args.threads, args.backend)
    times["score"] = time.monotonic() - t
    print(summary, file=sys.stderr)
    meta = json.loads(Path(str(scored_path) + ".meta.json").read_text()) if Path(
        str(scored_path) + ".meta.json").is_file() else {}
    scored = pd.read_parquet(scored_path)
    scored["year"] = scored["year"].astype(int)

    t = time.monotonic()
    detector_kw = dict(period="Y", window=args.window or None, actor_column="actor", date_column="date",
                       score_column="score")
    det = ShiftDetector(**detector_kw, text_column="text", id_column="stmt_id")
    report = det.scan(scored)
    ev = report.events.copy()
    ev["year"] = ev["date"].dt.year
    checks = speech_checks(report.statements)
    flagged = checks[checks.flag]
    # the per-speech check is ShiftDetector(test_from=year) on the data up to that year: verify once
    a, y = ("VEN", 2006) if not len(flagged) else (flagged.actor.iloc[0], int(flagged.year.iloc[0]))
    upto = scored[(scored.actor == a) & (scored.year <= y)]
    direct = ShiftDetector(**detector_kw, text_column="text", id_column="stmt_id", since=str(y)).scan(upto)
    mine = checks[(checks.actor == a) & (checks.year == y)]
    assert np.allclose(np.sort(direct.statements["p_value"].dropna()), np.sort(mine["p_speech"])), "speech check"
    times["detect"] = time.monotonic() - t

    t = time.monotonic()
    from tonecls.bulk import load_model

    clf = load_model(model, args.backend, threads=args.threads)
    probes = probe_remarks(docs, scored, clf, detector_kw)
    # sensitivity: statements of a speech treated as independent (cluster_dates=False)
    loose = ShiftDetector(**detector_kw, text_column="text", id_column="stmt_id", cluster_dates=False).scan(scored)
    loose_checks = speech_checks(loose.statements)
    loose_null = shuffle_null(scored, {**detector_kw, "cluster_dates": False}, args.shuffles, args.seed) \
        if args.shuffles else None
    previous = previous_shift_module()
    null = shuffle_null(scored, detector_kw, args.shuffles, args.seed, previous) if args.shuffles else None
    prev_events = previous.ShiftDetector(**detector_kw, text_column="text").detect(scored).events \
        if previous is not None else None
    times["null"] = time.monotonic() - t

    # yearly table
    g = scored.groupby(["actor", "year"])["score"]
    yearly = g.agg(["size", "mean", "std"]).reset_index().rename(columns={"size": "n"})
    yearly["se"] = yearly["std"] / np.sqrt(yearly["n"])
    base = report.baselines.assign(year=report.baselines.period.astype(int))[["actor", "year", "segment_mean"]]
    yearly = yearly.merge(base, on=["actor", "year"])
    yearly.round(4).to_csv(out / "yearly.csv", index=False)

    # events table (no long lists) and known shifts
    flat = ev[["actor", "kind", "direction", "year", "size_levels", "score", "baseline", "p_value", "n_history"]]
    flat.assign(text=[t[0] if len(t) else "" for t in ev.texts], stmt_id=[i[0] if len(i) else "" for i in ev.ids]
                ).round(4).to_csv(out / "events.csv", index=False)
    known = match_known(ev, yearly)
    known.to_csv(out / "known-shifts.csv", index=False)
    extra = unexplained(ev)

    t = time.monotonic()
    if not args.no_plots:
        for actor in PLOTTED:
            plot_country(report, ev, yearly, actor, out / f"timeline-{actor}.png")
        plot_overview(yearly, ev, out / "overview.png")
    times["plots"] = time.monotonic() - t
    times["total"] = time.monotonic() - t0

    # ----- results.md
    lv = scored.groupby("actor")["level"].value_counts(normalize=True).unstack(fill_value=0.0)
    per = scored.groupby("actor").agg(speeches=("doc_id", "nunique"), statements=("score", "size"),
                                      mean_level=("score", lambda s: 4 * s.mean()),
                                      median_score=("score", "median"))
    per = per.join((lv * 100).round(1).rename(columns=lambda k: f"% level {k}")).reset_index()
    cps = ev[ev.kind == "change_point"][["actor", "year", "direction", "size_levels", "score", "baseline",
                                        "p_value"]].rename(columns={"score": "mean after", "baseline": "mean before"})
    cps["size_levels"] = cps["size_levels"].round(2)
    sev = ev[ev.kind == "statement"]
    sev_count = sev.groupby(["actor", "direction"]).size().unstack(fill_value=0).reset_index() if len(sev) else \
        pd.DataFrame(columns=["actor"])
    top = sev.sort_values("p_value").groupby("actor").head(2)
    top_rows = pd.DataFrame({"actor": top.actor, "year": top.year, "size": top.size_levels.round(2),
                             "score": top.score.round(3), "p": top.p_value.map(lambda p: f"{p:.2g}"),
                             "statement": [x[0][:220] for x in top.texts]})
    top_known = []
    for actor, year, direction, what in KNOWN:
        g = scored[(scored.actor == actor) & (scored.year == year)]
        g = g.sort_values("score", ascending=direction == "de-escalation")
        top_known.append(f"- **{actor} {year}** ({what}; mean level {4 * g.score.mean():.2f}, "
                         f"{100 * (g.level >= 3).mean():.0f} % assertive or confrontational): "
                         + " / ".join(f"“{t[:150]}” ({4 * sc:.1f})" for t, sc in zip(g.text[:2], g.score[:2])))
    cp_texts = []
    for e in ev[ev.kind == "change_point"].itertuples():
        cp_texts.append(f"- **{e.actor} {e.year}** ({e.direction}, {e.size_levels:+.2f} levels): "
                        + " / ".join(f"“{x[:160]}”" for x in e.texts[:2]))
    shown_params = ", ".join(f"{k}={v!r}" for k, v in report.params.items()
                             if k in ("period", "window", "min_history", "alpha", "method", "min_levels"))
    rate_text = "already scored" if summary.already_complete else \
        f"{len(scored) / max(times['score'], 1e-9):.0f} statements/s"
    lines = [
        "# UN General Debate case study: results",
        "",
        "Generated by `docs/un-case-study/run.py`; do not edit by hand.",
        "",
        f"- model: `{model}` (name `{model_name}`, weights sha256 `{weights_tag}`,"
        f" backend `{summary.backend}`)",
        f"- data: {len(docs)} speeches of {len(COUNTRIES)} countries, {int(docs.n_statements.sum()):,} statements "
        f"after segmentation; {len(scored):,} scored ({args.per_speech or 'all'} per speech, seed {args.seed})",
        f"- detector: `ShiftDetector({shown_params})`, other settings default",
        f"- run time: segment {times['segment']:.0f} s, score {times['score']:.0f} s "
        f"({rate_text}), "
        f"detect {times['detect']:.1f} s, null check {times['null']:.0f} s, plots {times['plots']:.0f} s; "
        f"total {times['total']:.0f} s",
        "",
        "## Tone per country",
        "",
        md_table(per, ".2f"),
        "",
        "## Change points (sustained shifts of the yearly mean)",
        "",
        md_table(cps.assign(p_value=cps.p_value.map(lambda p: f"{p:.3f}"))) if len(cps) else "none",
        "",
        "Strongest statements of the first year after each change point:",
        "",
        *cp_texts,
        "",
        "## Known shifts: found or missed",
        "",
        md_table(known.drop(columns=["result"]).assign(result=known.result)),
        "",
        f"Found {int((known.result == 'found').sum())} of {len(known)} as change points; "
        f"{int((known.result == 'partly').sum())} only as statement events; "
        f"{int((known.result == 'missed').sum())} missed.",
        "",
        "Highest-scored statements (lowest for de-escalations) of each known shift's year, with their level "
        "(4 × score):",
        "",
        *top_known,
        "",
        "Change points that match no known shift:",
        "",
        md_table(extra[["actor", "year", "direction", "size_levels", "p_value"]].round(3)) if len(extra) else "none",
        "",
        "## Statement events (single statements far from the country's baseline)",
        "",
        md_table(sev_count) if len(sev) else "none",
        "",
        md_table(top_rows) if len(sev) else "",
        "",
    ]
    speech_rows = []
    for (actor, year), g in flagged.groupby(["actor", "year"]):
        g = g.sort_values("p_speech")
        speech_rows.append({"actor": actor, "year": year, "flagged": len(g),
                            "direction": "escalation" if g.size_levels.iloc[0] > 0 else "de-escalation",
                            "size": round(float(g.size_levels.iloc[0]), 2),
                            "level": round(4 * float(g.score.iloc[0]), 1),
                            "p": f"{g.p_speech.iloc[0]:.2g}", "strongest statement": str(g.text.iloc[0])[:200]})
    n_checked = checks.groupby(["actor", "year"]).ngroups
    lines += ["## Each speech checked on its own (monitoring: `test_from` = its year)",
              "",
              f"{n_checked} speeches checked (a speech is checked once the country has ≥ 8 earlier statements); "
              f"{len(speech_rows)} have a statement event (Holm over the speech's statements, α/2 = 0.025, "
              "≥ 1 level):",
              "",
              md_table(pd.DataFrame(speech_rows)) if speech_rows else "none",
              ""]
    lines += ["## Remarks that made the news, checked as new statements",
              "",
              "Each remark is scored and tested against the country's statements of earlier years "
              "(`ShiftDetector(test_from=<year>)`, Holm over the remarks of that speech); 'band top' is the upper "
              "end of the 95 % band for a single statement:",
              "",
              md_table(probes) if len(probes) else "none",
              ""]
    lf = loose_checks[loose_checks.flag].sort_values("p_speech")
    loose_rows = pd.DataFrame({"actor": lf.actor, "year": lf.year, "size": lf.size_levels.round(2),
                               "level": (4 * lf.score).round(1), "p": lf.p_speech.map(lambda p: f"{p:.2g}"),
                               "statement": lf.text.str[:200]})
    lines += ["Sensitivity: with `cluster_dates=False` (the 40 statements of a speech counted as 40 independent "
              f"pieces of information about the country's spread), the offline scan finds "
              f"{int((loose.events.kind == 'statement').sum())} statement events and the per-speech check flags "
              f"{lf.groupby(['actor', 'year']).ngroups} speeches"
              + (f" (on the shuffled copies: statement events in {loose_null.statement_events.mean():.3f} of the "
                 f"series, {flag_rate(loose_null):.3f}"
                 " of the speeches flagged)" if loose_null is not None else "") + ":",
              "",
              md_table(loose_rows) if len(loose_rows) else "none",
              ""]
    if prev_events is not None:
        pst = prev_events[prev_events.kind == "statement"]
        lines += [f"The previous statement test (one MAD-based spread; commit {PREVIOUS_TEST}), same settings, on the "
                  f"same scores: {len(pst)} statement events in {pst.actor.nunique()} of {scored.actor.nunique()} "
                  "countries (offline scan).", ""]
    if null is not None:
        lines += ["## Null check on real scores: years shuffled",
                  "",
                  f"Each country's speeches re-assigned to randomly permuted years ({args.shuffles} copies per "
                  "country); share of copies with at least one event (nominal: statement ≤ 0.025, change point "
                  "≤ 0.025, any ≤ 0.05); share of the copies' speeches flagged when each is checked on its own "
                  "(nominal ≤ 0.025).",
                  "",
                  md_table(null),
                  "",
                  f"All countries: statement events {null.statement_events.mean():.3f}, change points "
                  f"{null.change_points.mean():.3f}, any {null['any'].mean():.3f}; speeches checked on their own "
                  f"and flagged {flag_rate(null):.3f} "
                  "(nominal ≤ 0.025 per speech)"
                  + (f"; the previous statement test: statement events in "
                     f"{null['previous test: statement_events'].mean():.3f} of the series" if previous is not None
                     else "") + ".",
                  ""]
    (out / "results.md").write_text("\n".join(lines) + "\n", encoding="utf-8")
    print("\n".join(lines))
    print(f"written to {out}", file=sys.stderr)
    return 0


if __name__ == "__main__":
    sys.exit(main())
