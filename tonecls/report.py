"""One self-contained HTML report of a scored archive, for an analyst to open in a browser.

    tonecls report scored.parquet -o report.html

The file needs nothing else: styles are inline and every image is a PNG inside the page
(``data:`` URI); there is no script, font or stylesheet to fetch, so it opens offline and can be
mailed. It holds, for each actor, the tone timeline with its baseline band and events
(:meth:`tonecls.shift.ShiftReport.plot_timeline`; when monitoring, the band of the history and the
tested period shaded), each event's statements with their top phrases
marked (:mod:`tonecls.explanation`: red raises the level, green lowers it), and the level
distribution per period; and, once, the model card's summary and reliability diagrams (read from
the model folder: ``metrics.json`` and ``evaluation/**/reliability.png``).

Cost: shift detection, one timeline per actor (matplotlib, ``pip install 'tonecls[plot]'``) and
explaining the statements of the events (a few forward passes each), not the whole archive.

>>> from tonecls.report import write_report
>>> from tonecls.shift import japan_scenario
>>> write_report(japan_scenario(), "japan.html", detector_options={"since": "2025"})  # doctest: +SKIP
PosixPath('japan.html')
"""

from __future__ import annotations

import base64
import html
import io
import json
import warnings
from pathlib import Path

import numpy as np
import pandas as pd

from . import __version__
from .exceptions import DataError, OptionError
from .scale import LEVELS, level_from_score

_COLORS = ("#2b83ba", "#80bfab", "#e0c36a", "#f08c4f", "#d7191c")  # cautious → confrontational
_CSS = """
body{font:15px/1.5 system-ui,-apple-system,"Segoe UI",Roboto,sans-serif;color:#222;max-width:1100px;margin:0 auto;
padding:1.5em 2em;background:#fff}
h1{font-size:1.7em;margin-bottom:.2em}h2{border-bottom:2px solid #ddd;padding-bottom:.2em;margin-top:2em}
h3{margin-bottom:.3em}.meta{color:#555}nav a{margin-right:1em}
img{max-width:100%;height:auto;border:1px solid #eee}.diagrams img{max-width:48%;vertical-align:top}
table{border-collapse:collapse;margin:.5em 0 1em}td,th{border:1px solid #ddd;padding:.25em .6em;text-align:right}
th{background:#f5f5f5}td.l,th.l{text-align:left}
.event{border-left:4px solid #999;padding:.3em .8em;margin:.8em 0;background:#fafafa}
.event.escalation{border-color:#d7191c}.event.de-escalation{border-color:#1a9641}
.stmt{margin:.4em 0 .6em 1em}.stmt .label{font-size:.85em;color:#555}
mark{padding:0 .15em;border-radius:3px}mark.up{background:#fdd0c8}mark.down{background:#cdeccf}
mark sup{font-size:.7em;color:#444;margin-left:.15em}
.bar{display:flex;height:14px;width:260px;border:1px solid #ccc}.bar span{display:block;height:100%}
.legend span{display:inline-block;width:12px;height:12px;margin:0 .3em 0 1em;vertical-align:middle}
.note{font-size:.9em;color:#555}
"""


def _png(fig) -> str:
    buf = io.BytesIO()
    fig.savefig(buf, format="png", dpi=90)
    return "data:image/png;base64," + base64.b64encode(buf.getvalue()).decode("ascii")


def _file_png(path: Path) -> str:
    return "data:image/png;base64," + base64.b64encode(path.read_bytes()).decode("ascii")


def marked_html(explanation, k: int = 3) -> str:
    """The statement as HTML with its top ``k`` phrases in ``<mark>`` (class ``up``/``down``,
    the contribution in levels as a superscript and tooltip).

    >>> from tonecls.explanation import Explanation, Phrase
    >>> e = Explanation("We <will> retaliate.", None, [Phrase("retaliate", 10, 19, 1.5)], (0, 20), 3.0)
    >>> marked_html(e)
    'We &lt;will&gt; <mark class="up" title="+1.50 levels">retaliate<sup>+1.5</sup></mark>.'
    """
    out, at = [], 0
    text = explanation.statement
    for p in sorted(explanation.top(k), key=lambda p: p.start):
        out.append(html.escape(text[at:p.start]))
        cls = "up" if p.contribution > 0 else "down"
        out.append(f'<mark class="{cls}" title="{p.contribution:+.2f} levels">{html.escape(p.text)}'
                   f"<sup>{p.contribution:+.1f}</sup></mark>")
        at = p.end
    return "".join(out) + html.escape(text[at:])


def _bar(counts: np.ndarray) -> str:
    total = counts.sum()
    spans = "".join(f'<span style="width:{100 * c / total:.1f}%;background:{_COLORS[k]}" title="{LEVELS[k]}: {c}">'
                    "</span>" for k, c in enumerate(counts) if c) if total else ""
    return f'<div class="bar">{spans}</div>'


def _levels(data: pd.DataFrame, statements: pd.DataFrame, level_column: str) -> np.ndarray:
    """Each statement's level: the archive's ``level`` column when it has one, else the level nearest its score."""
    if level_column in data.columns and "row" in statements.columns:
        raw = data[level_column].to_numpy()[statements["row"].to_numpy()]
        try:
            values = pd.to_numeric(pd.Series(raw), errors="raise").to_numpy()
            if np.all(np.isin(values, range(len(LEVELS)))):
                return values.astype(int)
        except (ValueError, TypeError):
            pass
    return np.array([level_from_score(float(s)) for s in statements["score"]], dtype=int)


def _distribution(st: pd.DataFrame, period: str) -> str:
    freq = {"Y": "Y", "Q": "Q", "M": "M"}[period]
    periods = pd.to_datetime(st["date"]).dt.to_period(freq).astype(str)
    rows = ["<table><tr><th class=l>period</th><th>n</th>" + "".join(f"<th>{k} {name}</th>" for k, name in
                                                                   enumerate(LEVELS)) + "<th class=l>share</th></tr>"]
    for label, levels in st.groupby(periods.to_numpy())["_level"]:
        counts = np.bincount(levels.to_numpy(), minlength=len(LEVELS))
        rows.append(f"<tr><td class=l>{html.escape(str(label))}</td><td>{counts.sum()}</td>"
                    + "".join(f"<td>{c}</td>" for c in counts) + f"<td class=l>{_bar(counts)}</td></tr>")
    return "\n".join(rows) + "</table>"


def _model_section(clf) -> str:
    folder = Path(clf.path) if getattr(clf, "path", None) else None
    parts = [f"<h2 id=model>Model: {html.escape(clf.name)}</h2>"]
    metrics = {}
    if folder is not None and (folder / "metrics.json").is_file():
        try:
            metrics = json.loads((folder / "metrics.json").read_text(encoding="utf-8"))
        except (OSError, json.JSONDecodeError):
            metrics = {}
    card = metrics.get("card", {}) if isinstance(metrics.get("card"), dict) else {}
    if card.get("intro"):
        parts.append(f"<p>{html.escape(card['intro'])}</p>")
    final = metrics.get("final", {}) if isinstance(metrics.get("final"), dict) else {}
    sets = {k: v for k, v in final.items() if isinstance(v, dict)}
    if sets:
        keys = list(dict.fromkeys(m for v in sets.values() for m in v))
        parts.append("<table><tr><th class=l>test set</th>" + "".join(f"<th>{html.escape(m)}</th>" for m in keys)
                     + "</tr>" + "".join(
                         f"<tr><td class=l>{html.escape(name)}</td>" + "".join(
                             f"<td>{v[m]:.3f}</td>" if isinstance(v.get(m), (int, float)) else "<td>–</td>"
                             for m in keys) + "</tr>" for name, v in sets.items()) + "</table>")
    if card.get("limitations"):
        parts.append(f'<p class=note><b>Limitations.</b> {html.escape(card["limitations"])}</p>')
    diagrams = sorted(folder.glob("evaluation/**/reliability.png")) if folder is not None else []
    if diagrams:
        names = ", ".join(html.escape(p.parent.relative_to(folder).as_posix()) for p in diagrams)
        parts.append(f"<h3>Reliability diagrams ({names})</h3><div class=diagrams>" + "".join(
            f'<img alt="reliability diagram, {html.escape(p.parent.relative_to(folder).as_posix())}" '
            f'src="{_file_png(p)}"> ' for p in diagrams) + "</div>")
    if not diagrams:
        parts.append("<p class=note>No reliability diagram in the model folder (<code>tonecls evaluate MODEL --data "
                     "TEST -o MODEL/evaluation/NAME</code> writes one).</p>")
    if not card and not sets:
        parts.append("<p class=note>The model folder has no <code>metrics.json</code> card summary.</p>")
    return "\n".join(parts)


def render_report(data, *, model=None, detector=None, detector_options: dict | None = None, top: int = 3,
                  title: str | None = None, source: str = "", level_column: str = "level") -> str:
    """The report as one HTML string (see :func:`write_report`)."""
    from .classifier import ToneClassifier, load_default
    from .explanation import check_top_k
    from .shift import ShiftDetector, read_scored

    top = check_top_k(top)
    if isinstance(data, (str, Path)):
        source = source or str(data)
        data = read_scored(data)
    if not isinstance(data, pd.DataFrame):
        to_pandas = getattr(data, "to_pandas", None)
        if to_pandas is None:
            raise DataError(f"Expected scored statements (a file, a DataFrame or a datasets.Dataset), got "
                            f"{type(data).__name__}.")
        data = to_pandas()
    if detector is not None and detector_options:
        raise OptionError("give either detector or detector_options, not both.")
    detector = detector or ShiftDetector(**(detector_options or {}))
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", UserWarning)  # skipped rows are listed in the report
        # A fitted detector tests ``data`` against its baselines; otherwise each actor's newest statements
        # (or those from ``since``) are tested against the history before them (``ShiftDetector.monitor``).
        shifts = detector.detect(data) if hasattr(detector, "baselines_") else detector.monitor(data)
    clf = model if isinstance(model, ToneClassifier) else \
        (ToneClassifier.from_pretrained(model) if model is not None else load_default())
    st = shifts.statements.copy()
    st["_level"] = _levels(data, st, level_column)
    events = shifts.events

    texts = sorted({t for ts in events["texts"] for t in ts if isinstance(t, str) and t.strip()}) if len(events) else []
    # Explanations read English (the fine-tuned model); a statement in another language is shown without phrases.
    languages = clf.languages(texts) if texts else None
    texts = [t for i, t in enumerate(texts) if languages is None or languages[i] == "en"]
    explained = dict(zip(texts, clf.explain(texts))) if texts else {}

    actors = sorted(st["actor"].unique())
    dates = pd.to_datetime(st["date"])
    title = title or "Tone report" + (f": {Path(source).name}" if source else "")
    head = [f"<!DOCTYPE html><html lang=en><head><meta charset=utf-8><title>{html.escape(title)}</title>",
            '<meta name=viewport content="width=device-width, initial-scale=1">', f"<style>{_CSS}</style></head><body>",
            f"<h1>{html.escape(title)}</h1>",
            f"<p class=meta>{len(st)} statements by {len(actors)} actor(s), {dates.min():%Y-%m} to {dates.max():%Y-%m}; "
            f"{len(events)} event(s); shift detection {html.escape(_params(shifts.params))}; phrases by "
            f"{html.escape(clf.name)}; tonecls {__version__}.</p>",
            "<p class=note>Timelines: each dot is a statement's score (0 cautious … 1 confrontational); the band is "
            "the range expected from the actor's own past statements (when monitoring: the history before the "
            "tested period, which is shaded); circles are statements outside it, dotted lines sustained changes "
            "between periods (docs/shift.md). Marked phrases: "
            '<mark class=up>raises the level<sup>+1.0</sup></mark> <mark class=down>lowers it<sup>-1.0</sup></mark>, '
            "in levels of the expected level (phrase occlusion, docs/explain.md).</p>",
            "<p class=legend>Levels:" + "".join(f'<span style="background:{c}"></span>{k} {n}'
                                                for k, (c, n) in enumerate(zip(_COLORS, LEVELS))) + "</p>",
            "<nav>" + "".join(f'<a href="#actor-{i}">{html.escape(a)}</a>' for i, a in enumerate(actors))
            + '<a href="#model">model</a></nav>']
    body = []
    for i, actor in enumerate(actors):
        sa = st[st["actor"] == actor]
        ea = events[events["actor"] == actor] if len(events) else events
        body.append(f'<h2 id="actor-{i}">{html.escape(actor)}</h2><p class=meta>{len(sa)} statements, '
                    f"{len(ea)} event(s)</p>")
        body.append(f'<img alt="tone timeline of {html.escape(actor)}" src="{_png(shifts.plot_timeline(actor))}">')
        if len(ea):
            body.append("<h3>Events</h3>")
        for _, ev in ea.iterrows():
            what = "one statement" if ev["kind"] == "statement" else \
                f"a change between periods ({ev['period']}; its strongest statements below)"
            p = ev["p_value"]
            body.append(f'<div class="event {html.escape(ev["direction"])}"><b>{html.escape(str(ev["date_text"]))}: '
                        f'{html.escape(ev["direction"])}</b>, {what}, {ev["size_levels"]:+.1f} levels '
                        f"(score {ev['score']:.2f} against {ev['baseline']:.2f}"
                        + (f", p = {p:.3g}" if np.isfinite(p) else "") + ")")
            for t in ev["texts"]:
                if not isinstance(t, str) or not t.strip():
                    continue
                e = explained.get(t)
                if e is None:  # a statement in another language: scored, not explained
                    r = clf.score(t)
                    body.append(f'<div class=stmt>“{html.escape(t)}” <span class=label>(model: {r.label}, score '
                                f"{r.score:.2f}; {html.escape(str(r.language))}, no phrases)</span></div>")
                    continue
                body.append(f'<div class=stmt>“{marked_html(e, top)}” <span class=label>(model: {e.score.label}, '
                            f"score {e.score.score:.2f})</span></div>")
            if not len(ev["texts"]):
                body.append("<div class=stmt class=note>(no text column: statements not shown)</div>")
            body.append("</div>")
        body.append(f"<h3>Levels per period</h3>{_distribution(sa, detector.period)}")
    if len(shifts.skipped):
        body.append(f"<p class=note>{len(shifts.skipped)} row(s) skipped for a missing actor or date (first: row "
                    f"{int(shifts.skipped['row'].iloc[0])}, {html.escape(str(shifts.skipped['reason'].iloc[0]))}).</p>")
    body.append(_model_section(clf))
    return "\n".join(head + body + ["</body></html>"])


def _params(params: dict) -> str:
    keys = ("alpha", "window", "period", "method", "min_levels", "since")
    return ", ".join(f"{k}={params[k]}" for k in keys if params.get(k) is not None)


def write_report(data, output, **options) -> Path:
    """Write the HTML report of scored statements ``data`` (a file, DataFrame or Dataset) to ``output``.

    Options: ``model`` (a ToneClassifier or folder; default the default model) explains the
    events' statements; ``detector`` or ``detector_options`` (:class:`~tonecls.shift.ShiftDetector`
    settings, columns included); ``top`` phrases marked per statement; ``title``; ``level_column``.
    """
    output = Path(output)
    if output.suffix.lower() not in (".html", ".htm"):
        raise OptionError(f"{output}: the report is one HTML file; name it *.html.")
    if output.is_dir():
        raise DataError(f"{output} is a folder; give a file name such as {output / 'report.html'}.")
    text = render_report(data, **options)
    output.parent.mkdir(parents=True, exist_ok=True)
    tmp = output.with_name(output.name + ".tmp")
    tmp.write_text(text, encoding="utf-8")
    tmp.replace(output)
    return output
