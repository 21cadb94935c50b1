"""The ``tonecls`` command.

    tonecls score "We will take all necessary measures."      # one statement
    tonecls score archive.parquet -o scored.parquet           # a whole archive
    tonecls label statements.jsonl.gz -o corpus/              # weak labels → DatasetDict
    tonecls train --data corpus/ --out my-model/
    tonecls calibrate my-model/ --data dev.jsonl
    tonecls evaluate my-model/ --data test.jsonl
    tonecls shifts scored.parquet --actor-column actor --date-column date -o shifts/
    tonecls explain "If they proceed, we will impose countermeasures."   # which phrases carried it
    tonecls report scored.parquet -o report.html                          # one HTML file for analysts

Each subcommand has an ``_add_<name>`` function that declares its arguments and a
``_run_<name>`` function that does the work through the library.
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path


def _add_encoding(p) -> None:
    p.add_argument("--encoding", default="utf-8",
                   help="text encoding of CSV/JSON input (default utf-8, a byte-order mark is dropped; e.g. latin-1, "
                        "cp1252). Bytes not valid in it are reported, never replaced")


# ---------------------------------------------------------------------------- score
def _add_score(sub) -> None:
    from .backends import BACKENDS, DEFAULT_BACKEND

    p = sub.add_parser("score", help="score a statement, or an archive file/folder with -o")
    p.add_argument("input", help="a statement in quotes, or a CSV / JSONL(.gz) / Parquet file or datasets folder")
    p.add_argument("-o", "--output", help="output file for archive scoring")
    p.add_argument("--model", help="model folder (default: models/tonecls-base or $TONECLS_MODEL)")
    p.add_argument("--json", action="store_true", help="print JSON instead of a table")
    p.add_argument("--batch-size", type=int, default=64)
    p.add_argument("--explain", type=int, nargs="?", const=3, default=0, metavar="K",
                   help="also give the K phrases (default 3) that move each score most (docs/explain.md); with -o a "
                        "top_phrases column, one process only, about 10x the scoring time")
    p.add_argument("--backend", default=DEFAULT_BACKEND, choices=list(BACKENDS),
                   help="how the network runs, for one statement and for archives alike (default auto: the fastest "
                        "backend recorded as agreeing with fp32 on >= 99%% of levels for this model, runtime and "
                        "processor, else exact ONNX fp32; torch: the fp32 reference)")
    p.add_argument("--guard", type=float, default=None,
                   help="int8 backends: re-run in fp32 windows whose two top levels are within this log-probability")
    g = p.add_argument_group("archive scoring (with -o; see docs/bulk.md)")
    g.add_argument("--engine", default="local", choices=["local", "ray"], help="local processes, or Ray Data")
    g.add_argument("--workers", type=int, default=1, help="processes (spawn) or Ray actors (default 1)")
    g.add_argument("--threads", type=int, default=None, help="threads per process (default: cores / workers)")
    g.add_argument("--text-column", default="text", help="column holding the text (default: text)")
    _add_encoding(g)
    g.add_argument("--split", default=None, help="split of a DatasetDict folder")
    g.add_argument("--segment", action="store_true", help="split documents into statements first")
    g.add_argument("--interval", action="store_true", help="add the conformal interval_low/interval_high")
    g.add_argument("--chunk-size", type=int, default=4096, help="records per part file and sorting window")
    g.add_argument("--restart", action="store_true", help="discard an unfinished earlier run instead of resuming it")
    g.add_argument("--overwrite", action="store_true", help="replace an existing output")
    g.add_argument("--keep-parts", action="store_true", help="keep OUTPUT.parts/ after assembling")
    g.add_argument("--no-progress", action="store_true", help="no progress bar")


def _run_score(args) -> int:
    from .backends import DEFAULT_BACKEND
    from .classifier import load_default

    if args.output is None:
        if args.model is None and args.backend == DEFAULT_BACKEND and args.guard is None:
            clf = load_default()
        else:
            from .bulk.model import load_model

            clf = load_model(args.model, args.backend, guard=args.guard)
        if args.explain:
            e = clf.explain(args.input, batch_size=args.batch_size)
            result, extra = e.score, {"phrases": e.to_dict(args.explain)["phrases"]}
        else:
            result, extra = clf.score(args.input, batch_size=args.batch_size), {}
        if args.json:
            print(json.dumps(result.to_dict() | extra | {"backend": clf.backend}, indent=2, ensure_ascii=False))
        else:
            read_by = f"; language {result.language}, read by {result.model}" if result.language not in (None, "en") else ""
            print(f"{result.label} (level {result.level}, score {result.score:.3f}{read_by})")
            for label, p in zip(clf.labels, result.probabilities):
                print(f"  {label:<16} {p:6.3f}  {'#' * round(p * 40)}")
            if args.explain:
                _print_phrases(e, args.explain)
        return 0
    from .bulk import run_cli

    return run_cli(args)


# ---------------------------------------------------------------------------- explain
def _add_explain(sub) -> None:
    from .explanation import METHODS

    p = sub.add_parser("explain", help="why a statement got its score: the phrases that raise or lower it, marked")
    p.add_argument("statement", help="a statement in quotes")
    p.add_argument("--model", help="model folder (default: models/tonecls-base or $TONECLS_MODEL)")
    p.add_argument("--top", type=int, default=3, help="phrases to mark (default 3)")
    p.add_argument("--json", action="store_true", help="print JSON: score, window and every phrase, largest first")
    p.add_argument("--color", default="auto", choices=["auto", "always", "never"],
                   help="colour the marks (red raises, green lowers); auto: only on a terminal, and not with NO_COLOR")
    p.add_argument("--method", default="occlusion", choices=list(METHODS), help="see docs/explain.md")
    p.add_argument("--batch-size", type=int, default=64)


def _print_phrases(e, top: int, color: bool = False) -> None:
    print("  " + e.marked(top, color=color))
    for p in e.top(top):
        print(f"  {p.contribution:+6.2f} levels  {p.text!r} (characters {p.start}-{p.end})")
    if e.window != (0, len(e.statement)):
        print(f"  (a long statement: phrases of the window that decided it, characters {e.window[0]}-{e.window[1]})")


def _run_explain(args) -> int:
    import os

    from .bulk.model import load_model
    from .classifier import load_default
    from .explanation import check_top_k

    top = check_top_k(args.top)
    clf = load_model(args.model) if args.model else load_default()  # the backend of `tonecls score`
    e = clf.explain(args.statement, batch_size=args.batch_size, method=args.method)
    if args.json:
        print(json.dumps(e.to_dict(), indent=2, ensure_ascii=False))
        return 0
    color = args.color == "always" or (args.color == "auto" and sys.stdout.isatty() and not os.environ.get("NO_COLOR"))
    print(f"{e.score.label} (level {e.score.level}, score {e.score.score:.3f}; expected level {4 * e.score.score:.2f})")
    _print_phrases(e, top, color)
    return 0


# ---------------------------------------------------------------------------- train
def _add_train(sub) -> None:
    p = sub.add_parser("train", help="fine-tune a tone model on levelled statements")
    p.add_argument("--data", required=True, help="DatasetDict folder from `tonecls label`, or a CSV/JSONL/Parquet file")
    p.add_argument("--out", required=True, help="model folder to write")
    p.add_argument("--eval-data", help="labelled data for early stopping (default: the validation split / 10%% of the file)")
    p.add_argument("--text-column", default="text")
    p.add_argument("--level-column", default="level")
    _add_encoding(p)
    p.add_argument("--config", help="TrainingArguments as JSON (a file); flags below override it")
    p.add_argument("--objective", choices=("ordinal", "cross_entropy"))
    p.add_argument("--epochs", type=float)
    p.add_argument("--max-steps", type=int)
    p.add_argument("--max-train-samples", type=int)
    p.add_argument("--batch-size", type=int)
    p.add_argument("--max-length", type=int)
    p.add_argument("--learning-rate", type=float)
    p.add_argument("--seed", type=int)


def _run_train(args) -> int:
    from dataclasses import fields

    from .training import TrainingArguments, train

    config = json.loads(Path(args.config).read_text()) if args.config else {}
    for f in fields(TrainingArguments):
        value = getattr(args, f.name, None)
        if value is not None:
            config[f.name] = value
    train(args.data, TrainingArguments(**config), eval_data=args.eval_data, out=args.out,
          text_column=args.text_column, level_column=args.level_column, encoding=args.encoding)
    print(f"model written to {args.out}")
    return 0


# ---------------------------------------------------------------------------- calibrate
def _add_labelled_args(p) -> None:
    p.add_argument("--data", required=True, help="labelled CSV / JSONL(.gz) / Parquet file or datasets folder")
    p.add_argument("--split", help="split to use when --data is a DatasetDict folder")
    p.add_argument("--text-column", default="text")
    p.add_argument("--level-column", default="level", help="level names or ids 0-4")
    _add_encoding(p)
    p.add_argument("--batch-size", type=int, default=64)


def _add_calibrate(sub) -> None:
    from .calibration import CALIBRATORS
    from .conformal import METHODS

    p = sub.add_parser("calibrate", help="fit a calibrator on held-out dev data; writes MODEL/calibration.json")
    p.add_argument("model", help="model folder")
    _add_labelled_args(p)
    p.add_argument("--method", default="temperature", choices=[*CALIBRATORS, "auto"],
                   help="auto: the method with the lowest 5-fold out-of-fold NLL on the dev rows")
    p.add_argument("--conformal-alpha", type=float,
                   help="also fit conformal level intervals with coverage >= 1 - alpha (e.g. 0.1)")
    p.add_argument("--conformal-method", default="ordinal", choices=list(METHODS))
    p.add_argument("--conformal-fraction", type=float, default=0.3,
                   help="share of the dev rows held out of the calibrator's fit for the conformal step")
    p.add_argument("--seed", type=int, default=0)


def _run_calibrate(args) -> int:
    from .bundle import CALIBRATION_NAME, fit_calibration, save_calibration
    from .classifier import ToneClassifier
    from .evaluation import load_labelled

    clf = ToneClassifier.from_pretrained(args.model)
    texts, levels = load_labelled(args.data, args.text_column, args.level_column, split=args.split,
                                  encoding=args.encoding)
    logits = clf.predict_logits(texts, batch_size=args.batch_size)
    cal = fit_calibration(logits, levels, method=args.method, conformal_alpha=args.conformal_alpha,
                          conformal_method=args.conformal_method, conformal_fraction=args.conformal_fraction,
                          seed=args.seed)
    cal.info_["data"] = str(args.data)
    save_calibration(cal, Path(args.model))
    path = Path(args.model) / CALIBRATION_NAME
    for part, title in (("fit", "fitting rows"), ("held_out", "held-out rows")):
        if part in cal.info_:
            s = cal.info_[part]
            print(f"{title} ({s['n']}): " + ", ".join(f"{k.upper()} {s['before'][k]:.4f} -> {s['after'][k]:.4f}"
                                                      for k in ("nll", "ece", "brier")))
    if "selection" in cal.info_:
        print("out-of-fold NLL: " + ", ".join(f"{m} {v:.4f}" for m, v in cal.info_["selection"]["out_of_fold_nll"].items()))
    if cal.conformal_ is not None:
        cp = cal.conformal_
        print(f"conformal {cp.method} intervals at {1 - cp.alpha:.0%}: mean width "
              f"{cal.info_['held_out']['conformal_mean_width']:.2f} levels on {cp.n_calibration_} held-out rows")
    print(f"{cal.method} calibration written to {path}")
    return 0


# ---------------------------------------------------------------------------- evaluate
def _add_evaluate(sub) -> None:
    p = sub.add_parser("evaluate", help="evaluate a model on labelled test data; writes a report folder")
    p.add_argument("model", help="model folder")
    _add_labelled_args(p)
    p.add_argument("-o", "--output", required=True, help="report folder (report.json, report.md, reliability.png)")
    p.add_argument("--bins", type=int, default=15, help="bins for the calibration metrics")
    p.add_argument("--no-plot", action="store_true", help="skip reliability.png")


def _run_evaluate(args) -> int:
    from .classifier import ToneClassifier
    from .evaluation import evaluate_predictions, load_labelled, write_report

    clf = ToneClassifier.from_pretrained(args.model)
    texts, levels = load_labelled(args.data, args.text_column, args.level_column, split=args.split,
                                  encoding=args.encoding)
    logits = clf.predict_logits(texts, batch_size=args.batch_size)
    report = evaluate_predictions(levels, logits, clf.calibrator, n_bins=args.bins, labels=clf.labels)
    report["model"], report["data"] = str(args.model), str(args.data)
    paths = write_report(report, args.output, plot=not args.no_plot, title=f"{clf.name} on {Path(args.data).name}")
    final = report["calibrated"] or report["uncalibrated"]
    print(f"{report['n']} statements: QWK {final['qwk']:.3f}, macro-F1 {final['macro_f1']:.3f}, "
          f"MAE {final['mae']:.3f}, ECE {report['uncalibrated']['ece']:.4f}"
          + (f" -> {final['ece']:.4f} calibrated" if report["calibrated"] else " (uncalibrated)"))
    print("report written to " + ", ".join(str(p) for p in paths.values()))
    return 0


# ---------------------------------------------------------------------------- shifts
def _add_shifts(sub) -> None:
    p = sub.add_parser("shifts", help="per-actor tone baselines and tone shifts in scored statements (docs/shift.md)")
    p.add_argument("scored", help="scored statements: CSV / JSONL(.gz) / Parquet file or datasets folder")
    p.add_argument("-o", "--output", required=True, help="output folder (events table + JSON, baselines, timelines/)")
    p.add_argument("--actor-column", default="actor")
    p.add_argument("--date-column", default="date", help="dates as YYYY-MM-DD, YYYY-MM or YYYY")
    p.add_argument("--score-column", default="score")
    p.add_argument("--text-column", default="text", help="optional; carried into the events")
    p.add_argument("--id-column", default=None, help="optional id carried into the events (e.g. doc_id)")
    _add_encoding(p)
    p.add_argument("--period", default="Y", help="change-point periods: Y, Q or M (default Y)")
    p.add_argument("--method", default="cusum", help="change points: cusum or pelt (default cusum)")
    p.add_argument("--alpha", type=float, default=0.05, help="per-actor false-alarm rate (default 0.05)")
    p.add_argument("--window", type=int, default=100, help="past statements in the baseline; 0 = all (default 100)")
    p.add_argument("--min-history", type=int, default=8, help="past statements before a statement can be an event")
    p.add_argument("--min-levels", type=float, default=1.0, help="smallest statement shift, in levels (default 1)")
    p.add_argument("--since", default=None,
                   help="test the statements from this date (YYYY[-MM[-DD]]) against those before it; default: each "
                        "actor's newest period; 'all' = offline scan of every statement plus change points")
    p.add_argument("--test-from", default=None, help="deprecated: use --since (same meaning)")
    p.add_argument("--baseline", default=None,
                   help="a saved baseline (JSON): test every input row against it instead of splitting the input")
    p.add_argument("--save-baseline", default=None,
                   help="write the baseline (fitted history; with --baseline, updated with the input) as JSON")
    p.add_argument("--no-probabilities", dest="use_probabilities", action="store_false",
                   help="ignore the p_<level> columns (every statement weighs the same)")
    p.add_argument("--no-cluster-dates", dest="cluster_dates", action="store_false",
                   help="test every statement of a same-day cluster on its own instead of as one")
    p.add_argument("--format", default="csv", choices=["csv", "parquet"], help="table format (default csv)")
    p.add_argument("--plots", default="all", choices=["all", "events", "none"],
                   help="timeline PNG per actor: all actors, only those with events, or none")


def _run_shifts(args) -> int:
    import warnings

    from .shift import ShiftDetector, read_scored

    since = args.since
    if args.test_from is not None:
        print("tonecls shifts: --test-from is deprecated; use --since (same meaning)", file=sys.stderr)
        since = since or args.test_from
    kw = dict(window=args.window or None, min_history=args.min_history, alpha=args.alpha, period=args.period,
              method=args.method, min_levels=args.min_levels, since=since, cluster_dates=args.cluster_dates,
              use_probabilities=args.use_probabilities, actor_column=args.actor_column, date_column=args.date_column,
              score_column=args.score_column, text_column=args.text_column, id_column=args.id_column)
    data = read_scored(args.scored, encoding=args.encoding)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", UserWarning)  # skipped rows and unknown actors are printed below
        if args.baseline:
            detector = ShiftDetector.load_baseline(args.baseline, **{k: kw[k] for k in (
                "actor_column", "date_column", "score_column", "text_column", "id_column")})
            report = detector.update(data) if args.save_baseline else detector.detect(data)
        else:
            detector = ShiftDetector(**kw)
            report = detector.scan(data) if since == "all" else detector.monitor(data)
    paths = report.save(args.output, table_format=args.format, plots=args.plots)
    if args.save_baseline and since != "all":
        paths["baseline"] = detector.save_baseline(args.save_baseline)
    if len(report.skipped):
        rows = ", ".join(str(r) for r in report.skipped["row"].head(10)) + (", ..." if len(report.skipped) > 10 else "")
        print(f"skipped {len(report.skipped)} row(s) without a usable actor or date (rows {rows}): "
              f"listed in {paths['skipped']}", file=sys.stderr)
    ev = report.events
    counts = ev.groupby(["kind", "direction"]).size().to_dict() if len(ev) else {}
    print(f"{len(report.statements)} statements, {report.statements['actor'].nunique()} actors: "
          f"{len(ev)} events " + (str({f'{k} {d}': int(c) for (k, d), c in counts.items()}) if counts else ""))
    for r in report.summary.itertuples():
        detail = "" if r.status in ("no history", "too little history") else (
            f" (period {r.period}: {r.new_mean * 4:.2f} vs {r.baseline_mean * 4:.2f} levels, p {r.p_period:.3g}; "
            f"best statement p {r.p_statement:.3g})" if r.status != "no change" or r.p_period == r.p_period else "")
        print(f"  {r.actor}: {r.status}, {r.n_new} new statement(s) from {r.tested_from}{detail}")
    print("written to " + ", ".join(str(p) for p in paths.values()))
    return 0


# ---------------------------------------------------------------------------- report
def _add_report(sub) -> None:
    p = sub.add_parser("report", help="one self-contained HTML report of a scored archive: timelines, events with "
                                      "their phrases, levels per period, the model card (docs/explain.md)")
    p.add_argument("scored", help="scored statements: CSV / JSONL(.gz) / Parquet file or datasets folder")
    p.add_argument("-o", "--output", required=True, help="the HTML file to write (report.html)")
    p.add_argument("--model", help="model that explains the events' statements (default: the default model)")
    p.add_argument("--top", type=int, default=3, help="phrases marked per statement (default 3)")
    p.add_argument("--title", default=None)
    for role in ("actor", "date", "score", "text", "level"):
        p.add_argument(f"--{role}-column", default=role)
    _add_encoding(p)
    p.add_argument("--period", default="Y", help="Y, Q or M: change-point periods and the level table (default Y)")
    p.add_argument("--alpha", type=float, default=0.05)
    p.add_argument("--window", type=int, default=100)
    p.add_argument("--min-history", type=int, default=8)
    p.add_argument("--test-from", default=None, help="only statements from this date on are tested (monitoring)")


def _run_report(args) -> int:
    from .report import write_report
    from .shift import ShiftDetector, read_scored

    detector = ShiftDetector(window=args.window or None, min_history=args.min_history, alpha=args.alpha,
                             period=args.period, test_from=args.test_from, actor_column=args.actor_column,
                             date_column=args.date_column, score_column=args.score_column,
                             text_column=args.text_column)
    path = write_report(read_scored(args.scored, encoding=args.encoding), args.output, model=args.model,
                        detector=detector, top=args.top, title=args.title, source=args.scored,
                        level_column=args.level_column)
    print(f"report written to {path} ({path.stat().st_size / 1024:.0f} KB)")
    return 0


# ---------------------------------------------------------------------------- label
def _add_label(sub) -> None:
    p = sub.add_parser("label", help="weak-label documents: statements, levels, splits → a DatasetDict folder")
    p.add_argument("input", nargs="+", help="CSV / JSONL(.gz) / Parquet file(s) or datasets folder of documents")
    p.add_argument("-o", "--output", required=True, help="output folder (DatasetDict + README.md card)")
    for name in ("text", "id", "actor", "date"):
        p.add_argument(f"--{name}-column", default=name, help=f"column holding the {name} (default: {name})")
    _add_encoding(p)
    p.add_argument("--aggregator", default=None, choices=["label_model", "majority", "strongest"],
                   help="how votes become a level (default: the one that won on gold dev)")
    p.add_argument("--no-marker", default=None, choices=["abstain", "cue", "measured"],
                   help="statements no function votes on: abstain, measured if an actor/procedure cue, or measured")
    p.add_argument("--threshold", type=float, default=0.0, help="abstain below this confidence")
    p.add_argument("--validation-size", type=float, default=0.1)
    p.add_argument("--test-size", type=float, default=0.1)
    p.add_argument("--cap-per-level", type=int, help="subsample train to at most this many rows per level")
    p.add_argument("--exclude-docs", help="file of document ids to leave out (one per line, or JSONL with doc_id)")
    p.add_argument("--num-proc", type=int, default=1)
    p.add_argument("--seed", type=int, default=0)


def _run_label(args) -> int:
    from .labeling.pipeline import DEFAULTS, label_file, read_id_list

    columns = {k: getattr(args, f"{k}_column") for k in ("text", "id", "actor", "date")}
    label_file(args.input if len(args.input) > 1 else args.input[0], args.output,
               columns={k: v for k, v in columns.items() if v != k}, encoding=args.encoding,
               aggregator=args.aggregator or DEFAULTS["aggregator"], no_marker=args.no_marker or DEFAULTS["no_marker"],
               threshold=args.threshold, validation_size=args.validation_size, test_size=args.test_size,
               cap_per_level=args.cap_per_level, seed=args.seed, num_proc=args.num_proc,
               exclude_docs=read_id_list(args.exclude_docs) if args.exclude_docs else None)
    return 0


# ---------------------------------------------------------------------------- entry point
COMMANDS = {
    "score": (_add_score, _run_score),
    "explain": (_add_explain, _run_explain),
    "train": (_add_train, _run_train),
    "calibrate": (_add_calibrate, _run_calibrate),
    "evaluate": (_add_evaluate, _run_evaluate),
    "shifts": (_add_shifts, _run_shifts),
    "label": (_add_label, _run_label),
    "report": (_add_report, _run_report),
}


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="tonecls", description="Tone of official statements, cautious → confrontational.")
    from . import __version__

    parser.add_argument("--version", action="version", version=f"tonecls {__version__}")
    sub = parser.add_subparsers(dest="command", required=True)
    for add, _ in COMMANDS.values():
        add(sub)
    return parser


def main(argv: list[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    from .exceptions import ToneclsError

    try:
        return COMMANDS[args.command][1](args)
    except (ToneclsError, ValueError, OSError, KeyError, ImportError) as err:
        # Every error tonecls raises on purpose names what, where and what to do: one line, no traceback.
        message = " ".join(str(err).split()) if not isinstance(err, KeyError) else f"missing key {err}"
        print(f"tonecls {args.command}: error: {message or type(err).__name__}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        hint = " (run the same command again to resume)" if getattr(args, "output", None) and args.command == "score" \
            else ""
        print(f"tonecls {args.command}: interrupted{hint}", file=sys.stderr)
        return 130


if __name__ == "__main__":
    sys.exit(main())
