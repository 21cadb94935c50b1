"""Evaluation reports of tone predictions: ordinal and calibration metrics, before and after calibration.

The metrics are pure functions in :mod:`tonecls.metrics`; :func:`evaluate_predictions` gathers
them into one JSON-ready dict; :func:`write_report` writes it as ``report.json``, ``report.md`` and
``reliability.png``.

>>> import numpy as np
>>> from tonecls.evaluation import evaluate_predictions
>>> rng = np.random.default_rng(0); y = rng.integers(0, 5, 200)
>>> report = evaluate_predictions(y, 3 * np.eye(5)[y] + rng.normal(0, 1, (200, 5)))
>>> sorted(report["uncalibrated"])[:4]
['accuracy', 'brier', 'ece', 'ece_classwise']
"""

from __future__ import annotations

import json
import warnings
from pathlib import Path

import numpy as np

from ._checks import DEFAULT_BINS, check_labels, check_logits
from .bundle import conformal_of
from .calibration import softmax
from .conformal import interval_coverage, interval_width
from .metrics import (calibration_curve, calibration_metrics, confusion_matrix, ece_consistency, ordinal_metrics,
                      per_level_report)
from .scale import LEVELS, level_from_label

REPORT_JSON, REPORT_MD, RELIABILITY_PNG = "report.json", "report.md", "reliability.png"


# ============================================================================ evaluation
def evaluate_predictions(y, logits, calibrator=None, *, n_bins: int = DEFAULT_BINS,
                         labels=LEVELS) -> dict:
    """All ordinal and calibration metrics of ``logits`` against true levels ``y``.

    Returns ``{"n", "n_bins", "labels", "class_counts", "uncalibrated": {...}, "calibrated":
    {...} or None, "per_level", "confusion_matrix", "reliability", "conformal"}``; ``calibrated``
    uses ``calibrator.transform`` (fitted on other data), ``per_level`` / ``confusion_matrix`` /
    ``conformal`` use the calibrated probabilities when there is a calibrator. ``conformal`` is
    the coverage and mean width of the calibrator's conformal intervals, if it carries one.
    """
    logits = check_logits(logits)
    y = check_labels(y, logits.shape[0], logits.shape[1])
    labels = list(labels)
    if len(labels) != logits.shape[1]:
        raise ValueError(f"{len(labels)} labels for {logits.shape[1]} logits per row.")
    raw = softmax(logits)
    variants = {"uncalibrated": raw}
    if calibrator is not None:
        variants["calibrated"] = calibrator.transform(logits)
    report = {"n": int(len(y)), "n_bins": n_bins, "labels": labels,
              "class_counts": np.bincount(y, minlength=len(labels)).tolist(),
              "calibration_method": None if calibrator is None else calibrator.method,
              "calibrated": None, "reliability": {}, "conformal": None}
    for name, p in variants.items():
        report[name] = {**ordinal_metrics(y, p), **calibration_metrics(y, p, n_bins=n_bins)}
        report["reliability"][name] = calibration_curve(y, p, n_bins=n_bins).to_dict()
    final = variants.get("calibrated", raw)
    report["ece_if_calibrated"] = ece_consistency(final, n_bins=n_bins)
    pred = final.argmax(axis=1)
    report["per_level"] = per_level_report(y, pred, labels)
    report["confusion_matrix"] = confusion_matrix(y, pred, len(labels)).tolist()
    conformal = conformal_of(calibrator)
    if conformal is not None:
        low, high = conformal.predict(final)
        report["conformal"] = {"method": conformal.method, "alpha": conformal.alpha,
                               "target_coverage": 1 - conformal.alpha,
                               "coverage": interval_coverage(y, low, high), "mean_width": interval_width(low, high)}
    return report


_HEADLINE = ("accuracy", "macro_f1", "qwk", "spearman", "mae", "mae_expected")
_CALIBRATION = ("nll", "brier", "rps", "ece", "ece_equal_mass", "ece_classwise", "ece_classwise_equal_mass", "mce",
                "level_ece")
_DESCRIBE = {
    "accuracy": "exact level", "macro_f1": "mean F1 over levels", "qwk": "quadratic weighted kappa",
    "spearman": "Spearman ρ, expected level vs level", "mae": "mean absolute level error",
    "mae_expected": "mean absolute error of the expected level", "nll": "negative log-likelihood", "brier": "multiclass Brier",
    "rps": "ranked probability score", "ece": "ECE, top-label, equal-width bins",
    "ece_equal_mass": "ECE, top-label, equal-mass bins (adaptive)", "ece_classwise": "ECE, class-wise, equal-width",
    "ece_classwise_equal_mass": "ECE, class-wise, equal-mass", "mce": "maximum calibration error (top-label)",
    "level_ece": "expected-level calibration error (levels)",
}


def _fmt(v) -> str:
    return "n/a" if v is None or not np.isfinite(v) else f"{v:.4f}"


def report_markdown(report: dict, title: str = "tonecls evaluation") -> str:
    """The report as Markdown tables."""
    cols = ["uncalibrated"] + (["calibrated"] if report.get("calibrated") else [])
    lines = [f"# {title}", "", f"{report['n']} statements; class counts: "
             + ", ".join(f"{lab} {c}" for lab, c in zip(report["labels"], report["class_counts"])) + ".",
             f"Calibration: {report.get('calibration_method') or 'none'}; {report['n_bins']} bins.", ""]
    for heading, keys in (("Ordinal metrics", _HEADLINE), ("Calibration metrics", _CALIBRATION)):
        lines += [f"## {heading}", "", "| metric | " + " | ".join(cols) + " |", "|---|" + "---:|" * len(cols)]
        for key in keys:
            lines.append(f"| {key} ({_DESCRIBE[key]}) | " + " | ".join(_fmt(report[c][key]) for c in cols) + " |")
        lines.append("")
    band = report.get("ece_if_calibrated")
    if band:
        lines += [f"Sampling noise: perfectly calibrated probabilities like the "
                  f"{cols[-1]} ones would show a top-label ECE of {band['mean']:.4f} on average on {report['n']} "
                  f"statements, and up to {band['q95']:.4f} in 95 % of draws (`ece_consistency`).", ""]
    lines += ["## Per level" + (" (calibrated)" if "calibrated" in cols else ""), "",
              "| level | precision | recall | F1 | support |", "|---|---:|---:|---:|---:|"]
    lines += [f"| {r['level']} {r['label']} | {r['precision']:.3f} | {r['recall']:.3f} | {r['f1']:.3f} | {r['support']} |"
              for r in report["per_level"]]
    lines += ["", "## Confusion matrix (rows: true level, columns: predicted)", "",
              "| true \\ pred | " + " | ".join(str(k) for k in range(len(report["labels"]))) + " |",
              "|---|" + "---:|" * len(report["labels"])]
    lines += [f"| {k} {lab} | " + " | ".join(str(v) for v in row) + " |"
              for k, (lab, row) in enumerate(zip(report["labels"], report["confusion_matrix"]))]
    if report.get("conformal"):
        c = report["conformal"]
        lines += ["", "## Conformal intervals", "",
                  f"Method {c['method']}, target coverage {c['target_coverage']:.2f}: observed coverage "
                  f"{c['coverage']:.3f} (± {np.sqrt(c['target_coverage'] * (1 - c['target_coverage']) / report['n']):.3f} "
                  f"sampling error on {report['n']} statements), mean width {c['mean_width']:.2f} levels."]
    return "\n".join(lines) + "\n"


def write_report(report: dict, out_dir, *, plot: bool = True, title: str = "tonecls evaluation") -> dict[str, Path]:
    """Write ``report.json``, ``report.md`` and (with ``plot``) ``reliability.png`` into ``out_dir``.

    The plot needs matplotlib (``pip install 'tonecls[plot]'``); without it the JSON and Markdown
    are still written and a warning says the PNG was skipped. Returns the written paths by name.
    """
    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    paths = {"json": out / REPORT_JSON, "markdown": out / REPORT_MD}
    paths["json"].write_text(json.dumps(_finite(report), indent=2, allow_nan=False, default=_json_default) + "\n")
    md = report_markdown(report, title)
    if plot:
        try:
            from .plotting import plot_report_reliability

            paths["png"] = plot_report_reliability(report, out / RELIABILITY_PNG)
            md += f"\n![reliability diagram]({RELIABILITY_PNG})\n"
        except ImportError as err:
            warnings.warn(f"reliability.png not written: {err}", stacklevel=2)
    paths["markdown"].write_text(md)
    return paths


def _finite(o):
    """NaN / inf (e.g. Spearman ρ of a constant column) become null: report.json stays strict JSON."""
    if isinstance(o, dict):
        return {k: _finite(v) for k, v in o.items()}
    if isinstance(o, (list, tuple)):
        return [_finite(v) for v in o]
    if isinstance(o, (float, np.floating)) and not np.isfinite(o):
        return None
    return o


def _json_default(o):
    if isinstance(o, np.generic):
        return o.item()
    raise TypeError(f"{type(o).__name__} is not JSON serialisable")


# ============================================================================ labelled data
def load_labelled(path, text_column: str = "text", level_column: str = "level", split: str | None = None,
                  encoding: str = "utf-8"):
    """Read a labelled file (CSV / JSONL / Parquet / datasets folder) into ``(texts, levels)``.

    Levels may be names (``"firm"``) or ids 0–4. A row with an empty level is unlabelled: it is
    left out, with a warning giving the count. A bad level or an empty text raises
    :class:`tonecls.labeling.read.DataError` naming the row (1-based, in file order).
    """
    from .labeling.read import DataError, read_table
    from .validation import text_problem

    ds = read_table(path, columns={"text": text_column, "level": level_column}, required=("text", "level"),
                    split=split, encoding=encoding)
    texts, levels, unlabelled = [], [], 0
    for i, (text, level) in enumerate(zip(ds["text"], ds["level"]), 1):
        if level is None or (isinstance(level, float) and level != level) or \
                (isinstance(level, (int, np.integer)) and not isinstance(level, bool) and level == -1):
            unlabelled += 1  # read_table marks empty levels as -1 (older versions: None)
            continue
        problem = text_problem(text)
        if problem:
            raise DataError(f"{path}, row {i}: the text {problem[1]}; every labelled row needs a statement "
                            "(fix or drop that row).")
        try:
            levels.append(level_from_label(level))
        except ValueError as err:
            raise DataError(f"{path}, row {i}: {err}") from None
        texts.append(text)
    if unlabelled:
        warnings.warn(f"{path}: {unlabelled} row(s) without a level left out.", stacklevel=2)
    if not texts:
        raise DataError(f"{path}: no labelled rows.")
    return texts, np.asarray(levels, dtype=np.int64)
