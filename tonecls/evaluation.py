"""Evaluation of tone predictions: ordinal metrics, calibration metrics, and reports.

Metric functions are pure: they take true levels and predicted levels (or scores) and return
numbers. :func:`evaluate_predictions` gathers every metric, before and after calibration, into
one JSON-ready dict; :func:`write_report` writes it as ``report.json``, ``report.md`` and
``reliability.png``.

>>> import numpy as np
>>> from tonecls.evaluation import quadratic_weighted_kappa, evaluate_predictions
>>> quadratic_weighted_kappa([0, 1, 2, 3, 4], [0, 1, 2, 4, 4])
0.9565217391304348
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

from .calibration import (DEFAULT_BINS, Calibrator, calibration_curve, calibration_metrics, check_labels,
                          check_logits, check_probabilities, ece_consistency, softmax)
from .scale import LEVELS, NUM_LEVELS, level_from_label

REPORT_JSON, REPORT_MD, RELIABILITY_PNG = "report.json", "report.md", "reliability.png"


def _levels(y, n_levels: int = NUM_LEVELS) -> np.ndarray:
    arr = np.asarray(y)
    if arr.ndim != 1:
        raise ValueError(f"Expected a 1-D array of levels, got shape {arr.shape}.")
    return check_labels(arr, len(arr), n_levels)


def _pair(y_true, y_pred, n_levels):
    t = _levels(y_true, n_levels)
    p = _levels(y_pred, n_levels)
    if len(t) != len(p):
        raise ValueError(f"y_true has {len(t)} rows but y_pred has {len(p)}.")
    if len(t) == 0:
        raise ValueError("No rows to evaluate.")
    return t, p


# ============================================================================ ordinal metrics
def confusion_matrix(y_true, y_pred, n_levels: int = NUM_LEVELS) -> np.ndarray:
    """``(n_levels, n_levels)`` counts; row = true level, column = predicted level."""
    t, p = _pair(y_true, y_pred, n_levels)
    return np.bincount(t * n_levels + p, minlength=n_levels * n_levels).reshape(n_levels, n_levels)


def accuracy(y_true, y_pred, n_levels: int = NUM_LEVELS) -> float:
    """Fraction of exactly right levels."""
    t, p = _pair(y_true, y_pred, n_levels)
    return float((t == p).mean())


def mean_absolute_error(y_true, y_pred, n_levels: int = NUM_LEVELS) -> float:
    """Mean distance in levels between true and predicted level."""
    t, p = _pair(y_true, y_pred, n_levels)
    return float(np.abs(t - p).mean())


def quadratic_weighted_kappa(y_true, y_pred, n_levels: int = NUM_LEVELS) -> float:
    """Cohen's kappa with quadratic weights ``(i - j)^2 / (K - 1)^2``: 1 = perfect agreement,
    0 = chance; disagreements cost the square of their distance in levels."""
    cm = confusion_matrix(y_true, y_pred, n_levels).astype(np.float64)
    idx = np.arange(n_levels)
    w = (idx[:, None] - idx[None, :]) ** 2 / (n_levels - 1) ** 2
    expected = np.outer(cm.sum(axis=1), cm.sum(axis=0)) / cm.sum()
    denom = (w * expected).sum()
    return 1.0 if denom == 0 else float(1.0 - (w * cm).sum() / denom)


def spearman(y_true, scores) -> float:
    """Spearman rank correlation of a continuous score with the true level (average ranks for
    ties); NaN when either side is constant."""
    from scipy.stats import rankdata

    t = np.asarray(y_true, dtype=np.float64)
    s = np.asarray(scores, dtype=np.float64)
    if t.shape != s.shape or t.ndim != 1:
        raise ValueError(f"Expected two 1-D arrays of the same length, got {t.shape} and {s.shape}.")
    rt, rs = rankdata(t), rankdata(s)
    rt, rs = rt - rt.mean(), rs - rs.mean()
    denom = np.sqrt((rt ** 2).sum() * (rs ** 2).sum())
    return float("nan") if denom == 0 else float((rt * rs).sum() / denom)


def _precision_recall_f1(cm: np.ndarray):
    cm = cm.astype(np.float64)
    tp = np.diag(cm)
    predicted, support = cm.sum(axis=0), cm.sum(axis=1)
    with np.errstate(invalid="ignore", divide="ignore"):
        precision = np.where(predicted > 0, tp / predicted, 0.0)
        recall = np.where(support > 0, tp / support, 0.0)
        f1 = np.where(precision + recall > 0, 2 * precision * recall / (precision + recall), 0.0)
    return precision, recall, f1, support


def per_level_report(y_true, y_pred, labels=LEVELS) -> list[dict]:
    """Precision, recall, F1 and support of every level (0 where undefined)."""
    precision, recall, f1, support = _precision_recall_f1(confusion_matrix(y_true, y_pred, len(labels)))
    return [{"level": k, "label": labels[k], "precision": float(precision[k]), "recall": float(recall[k]),
             "f1": float(f1[k]), "support": int(support[k])} for k in range(len(labels))]


def macro_f1(y_true, y_pred, n_levels: int = NUM_LEVELS) -> float:
    """Unweighted mean of the per-level F1 over all levels (a level never seen nor predicted counts 0)."""
    return float(_precision_recall_f1(confusion_matrix(y_true, y_pred, n_levels))[2].mean())


def ordinal_metrics(y_true, probs) -> dict:
    """Ordinal metrics of probabilities: the predicted level is the most probable one, the
    continuous score the expected level (used for Spearman ρ and ``mae_expected``). Logits are
    refused: pass ``softmax(logits)`` or ``calibrator.transform(logits)``."""
    p = check_probabilities(probs)
    k = p.shape[1]
    t = _levels(y_true, k)
    pred = p.argmax(axis=1)
    expected = p @ np.arange(k, dtype=np.float64)
    return {
        "accuracy": accuracy(t, pred, k),
        "macro_f1": macro_f1(t, pred, k),
        "qwk": quadratic_weighted_kappa(t, pred, k),
        "spearman": spearman(t, expected),
        "mae": mean_absolute_error(t, pred, k),
        "mae_expected": float(np.abs(expected - t).mean()),
    }


# ============================================================================ evaluation
def evaluate_predictions(y, logits, calibrator: Calibrator | None = None, *, n_bins: int = DEFAULT_BINS,
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
    conformal = getattr(calibrator, "conformal_", None)
    if conformal is not None:
        from .conformal import interval_coverage, interval_width

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
