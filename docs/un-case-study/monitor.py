"""The UN case study replayed as a monitor: every year of every country tested against the years before.

    OMP_NUM_THREADS=1 PYTHONPATH=. python docs/un-case-study/monitor.py      # writes monitor-results.md

Same countries, speeches, segmentation, 40-statement sample and model as ``run.py`` (its scored file
in ``artifacts/un-case-study/`` is reused when present). For each year Y from 1993 (three earlier
years at least) to 2022, ``ShiftDetector(since=str(Y), window=400)`` monitors the speeches of Y against
all earlier ones, with default settings otherwise (alpha 0.05, yearly periods, probability weights).
A known shift (``run.KNOWN``) is *found* when an event in its direction fires in its year or the year
after; every other event is an over-call. Null check: each country's speeches re-assigned to permuted
years (``--shuffles`` copies), replayed the same way; the share of tested years with an event is the
per-test false-alarm rate (nominal at most alpha = 0.05).
"""

from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))

import run  # noqa: E402  (the case study's data, sample and scoring)


def replay(scored, years, window):
    import pandas as pd

    from tonecls.shift import ShiftDetector

    events, summaries = [], []
    for y in years:
        upto = scored[scored["year"] <= y]
        rep = ShiftDetector(since=str(y), window=window, text_column="text").monitor(upto)
        s = rep.summary.assign(year=y)
        summaries.append(s[s["period"] == str(y)])
        events.append(rep.events.assign(year=y))
    return pd.concat(events, ignore_index=True), pd.concat(summaries, ignore_index=True)


def main(argv=None) -> int:
    p = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    p.add_argument("--model", default="models/tonecls-base")
    p.add_argument("--per-speech", type=int, default=40)
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--window", type=int, default=400)
    p.add_argument("--shuffles", type=int, default=20)
    p.add_argument("--out", default=str(HERE / "monitor-results.md"))
    args = p.parse_args(argv)
    import json

    import numpy as np
    import pandas as pd

    t0 = time.monotonic()
    work = run.ROOT / "artifacts" / "un-case-study"
    work.mkdir(parents=True, exist_ok=True)
    config = json.loads((Path(args.model) / "config.json").read_text())
    tag = str(config.get("weights", {}).get("sha256", ""))[:12] or Path(args.model).name
    docs, statements = run.build_statements(run.DATA, args.per_speech, args.seed)
    st_path = work / f"statements-{args.per_speech}-{args.seed}.parquet"
    statements.to_parquet(st_path, index=False)
    scored_path = work / f"scored-{tag}-{args.per_speech}-{args.seed}.parquet"
    run.score(st_path, scored_path, args.model, 1, "auto")
    scored = pd.read_parquet(scored_path)
    scored["year"] = scored["year"].astype(int)
    t_score = time.monotonic() - t0
    years = list(range(1993, 2023))
    ev, summ = replay(scored, years, args.window)
    rows = []
    for actor, year, direction, what in run.KNOWN:
        hit = ev[(ev.actor == actor) & (ev.direction == direction) & ev.year.between(year, year + 1)]
        tested = summ[(summ.actor == actor) & (summ.year == year)]  # what the monitor saw in the shift's year
        rows.append({"country": actor, "year": year, "direction": direction, "what": what,
                     "result": "found" if len(hit) else "missed",
                     "detail": "; ".join(f"{r.year} {r.kind} {r.size_levels:+.2f} levels, p {r.p_value:.3g}"
                                         for r in hit.itertuples()) or "; ".join(
                         f"no event: period {r.size_levels:+.2f} levels, p {r.p_period:.2g}" for r in tested.itertuples())
                         or "-"})
    known = pd.DataFrame(rows)
    matched = set()
    for r in known.itertuples():
        for y in (r.year, r.year + 1):
            matched.add((r.country, y, r.direction))
    # a boolean array, not a list: an empty list would select no columns instead of no rows
    over = ev[np.array([(a, y, d) not in matched for a, y, d in zip(ev.actor, ev.year, ev.direction)], dtype=bool)]
    over_tab = over.groupby(["actor", "year", "direction"]).agg(
        kinds=("kind", lambda k: "+".join(sorted(set(k)))), size_levels=("size_levels", "max"),
        p=("p_value", "min")).reset_index()
    # null: permuted years
    rng = np.random.default_rng(args.seed)
    parts = []
    for actor, g in scored.groupby("actor"):
        ys = np.sort(g["year"].unique())
        for b in range(args.shuffles):
            perm = dict(zip(ys, rng.permutation(ys)))
            parts.append(g.assign(actor=f"{actor}#{b:02d}", year=g["year"].map(perm),
                                  date=g["year"].map(perm).astype(str) + "-09"))
    null = pd.concat(parts, ignore_index=True)
    nev, nsum = replay(null, years, args.window)
    tested = nsum[nsum.status.isin(["no change", "escalation", "de-escalation", "escalation and de-escalation"])]
    fa = nev.groupby(["actor", "year"]).size().shape[0] / max(len(tested), 1)
    real_tested = summ[summ.status.isin(["no change", "escalation", "de-escalation", "escalation and de-escalation"])]
    lines = ["# UN General Debate replayed as a monitor", "",
             "Generated by `docs/un-case-study/monitor.py`; do not edit by hand.", "",
             f"- model: `{args.model}` (weights `{tag}`); {len(scored):,} statements of {scored.actor.nunique()} "
             f"countries ({args.per_speech} a speech, seed {args.seed})",
             f"- each year 1993-2022 of each country monitored against the earlier years: "
             f"`ShiftDetector(since=str(year), window={args.window})`, other settings default",
             f"- tested country-years: {len(real_tested)}; with an event: "
             f"{ev.groupby(['actor', 'year']).size().shape[0]}",
             f"- known shifts found: {(known.result == 'found').sum()} of {len(known)}; over-calls "
             f"(events not at a known shift or the year after): {len(over_tab)}",
             f"- null check ({args.shuffles} year-permuted copies per country): events in {fa:.3f} of "
             f"{len(tested):,} tested country-years (nominal at most 0.05)",
             f"- run time {time.monotonic() - t0:.0f} s (scoring and segmenting {t_score:.0f} s)", "",
             "## Known shifts", "", run.md_table(known), "", "## Over-calls", "",
             run.md_table(over_tab) if len(over_tab) else "none", "",
             "## Events by kind", "", run.md_table(ev.groupby(["kind", "direction"]).size().rename("events")
                                                   .reset_index()) if len(ev) else "none", ""]
    Path(args.out).write_text("\n".join(lines) + "\n", encoding="utf-8")
    print("\n".join(lines[:12]))
    return 0


if __name__ == "__main__":
    sys.exit(main())
