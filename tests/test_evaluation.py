"""Ordinal metrics against scikit-learn / scipy, evaluation reports, labelled-data loading and
the `calibrate` / `evaluate` commands."""

from __future__ import annotations

import json

import matplotlib
import numpy as np
import pytest
from scipy.stats import spearmanr
from sklearn import metrics as skm

from tonecls.bundle import fit_calibration
from tonecls.calibration import TemperatureScaling, softmax
from tonecls.evaluation import evaluate_predictions, load_labelled, report_markdown, write_report
from tonecls.metrics import (accuracy, bootstrap_qwk, confusion_matrix, macro_f1, mean_absolute_error, ordinal_metrics,
                             per_level_report, quadratic_weighted_kappa, spearman)
from tonecls.labeling.read import DataError

matplotlib.use("Agg")
K = 5


@pytest.fixture(scope="module")
def predictions():
    rng = np.random.default_rng(0)
    y = rng.integers(0, K, 400)
    y[y == 4] = 3  # level 4 never true: exercises zero-support levels
    pred = np.clip(y + rng.choice([-1, 0, 0, 0, 1, 2], len(y)), 0, K - 1)
    return y, pred


def test_ordinal_metrics_match_sklearn(predictions):
    y, pred = predictions
    labels = list(range(K))
    assert quadratic_weighted_kappa(y, pred) == pytest.approx(
        skm.cohen_kappa_score(y, pred, weights="quadratic", labels=labels), rel=1e-12)
    assert accuracy(y, pred) == skm.accuracy_score(y, pred)
    assert mean_absolute_error(y, pred) == skm.mean_absolute_error(y, pred)
    assert macro_f1(y, pred) == pytest.approx(skm.f1_score(y, pred, labels=labels, average="macro", zero_division=0))
    np.testing.assert_array_equal(confusion_matrix(y, pred), skm.confusion_matrix(y, pred, labels=labels))
    p, r, f, s = skm.precision_recall_fscore_support(y, pred, labels=labels, zero_division=0)
    rows = per_level_report(y, pred)
    np.testing.assert_allclose([x["precision"] for x in rows], p)
    np.testing.assert_allclose([x["recall"] for x in rows], r)
    np.testing.assert_allclose([x["f1"] for x in rows], f)
    assert [x["support"] for x in rows] == s.tolist() and rows[2]["label"] == "firm"


def test_spearman_matches_scipy_with_ties(predictions):
    y, pred = predictions
    score = pred + np.random.default_rng(1).normal(0, 0.5, len(y))
    assert spearman(y, score) == pytest.approx(spearmanr(y, score).statistic, rel=1e-12)
    assert spearman(y, pred) == pytest.approx(spearmanr(y, pred).statistic, rel=1e-12)
    assert np.isnan(spearman(np.zeros(5), np.arange(5)))


def test_qwk_edge_cases():
    assert quadratic_weighted_kappa([0, 1, 2, 3, 4], [0, 1, 2, 3, 4]) == 1.0
    assert quadratic_weighted_kappa([0, 4, 0, 4], [4, 0, 4, 0]) < 0
    with pytest.raises(ValueError, match="rows"):
        quadratic_weighted_kappa([0, 1], [0])
    with pytest.raises(ValueError, match=r"\[0, 4\]"):
        accuracy([0, 5], [0, 1])


def test_bootstrap_qwk_resamples_statements_or_whole_groups(predictions):
    y, pred = predictions
    worse = np.where(np.arange(len(y)) % 3 == 0, 0, pred)
    single = bootstrap_qwk(y, pred, draws=300, seed=1)
    assert single.shape == (300,) and abs(single.mean() - quadratic_weighted_kappa(y, pred)) < 0.01
    np.testing.assert_array_equal(single, bootstrap_qwk(y, pred, draws=300, seed=1))  # the seed fixes the draws
    assert (bootstrap_qwk(y, pred, pred, draws=50) == 0).all()  # paired: a model against itself never differs
    diff = bootstrap_qwk(y, pred, worse, draws=300)
    assert (diff > 0).mean() > 0.99
    # Eight copies of each of 50 statements, grouped: resampling the groups is the statement bootstrap of
    # the 50 (same draws, same order), while resampling the 400 rows is much narrower.
    small = y[:50], pred[:50]
    copies = np.repeat(small[0], 8), np.repeat(small[1], 8)
    grouped = bootstrap_qwk(*copies, groups=np.repeat(np.arange(50), 8), draws=500)
    np.testing.assert_allclose(grouped, bootstrap_qwk(*small, draws=500))
    assert grouped.std() > 2 * bootstrap_qwk(*copies, draws=500).std()
    with pytest.raises(ValueError, match="each of the 400"):
        bootstrap_qwk(y, pred[:-1])
    with pytest.raises(ValueError, match="one group per statement"):
        bootstrap_qwk(y, pred, groups=np.arange(10))
    with pytest.raises(ValueError, match="two groups"):
        bootstrap_qwk(y, pred, groups=np.zeros(len(y)))
    with pytest.raises(ValueError, match="draws"):
        bootstrap_qwk(y, pred, draws=0)


def test_ordinal_metrics_refuse_logits_and_mismatched_rows():
    logits, y = _simulated_logits(50)
    m = ordinal_metrics(y, softmax(logits))
    assert m["qwk"] == quadratic_weighted_kappa(y, logits.argmax(1)) and 0 <= m["mae_expected"] <= K - 1
    with pytest.raises(ValueError, match="look like logits"):
        ordinal_metrics(y, logits)  # an "expected level" of logits would be meaningless
    with pytest.raises(ValueError, match="rows"):
        ordinal_metrics(y[:-1], softmax(logits))


def _simulated_logits(n=1500, scale=3.0, seed=2):
    rng = np.random.default_rng(seed)
    centre = rng.integers(0, K, n)
    z = -0.8 * (np.arange(K)[None, :] - centre[:, None]) ** 2 + rng.normal(0, 0.7, (n, K))
    y = (rng.random(n)[:, None] > np.cumsum(softmax(z), axis=1)).sum(axis=1)
    return scale * z, y


def test_evaluate_predictions_before_and_after(tmp_path):
    logits, y = _simulated_logits()
    cal = fit_calibration(logits[:800], y[:800], conformal_alpha=0.1)
    report = evaluate_predictions(y[800:], logits[800:], cal)
    before, after = report["uncalibrated"], report["calibrated"]
    for key in ("qwk", "spearman", "macro_f1", "accuracy", "mae", "nll", "brier", "rps", "ece", "ece_equal_mass",
                "ece_classwise", "mce", "level_ece"):
        assert np.isfinite(before[key]) and np.isfinite(after[key])
    assert after["ece"] < before["ece"] and after["nll"] < before["nll"]
    assert after["qwk"] == before["qwk"]  # temperature scaling keeps every predicted level
    assert report["n"] == 700 and sum(report["class_counts"]) == 700
    assert np.sum(report["confusion_matrix"]) == 700
    assert report["conformal"]["coverage"] >= 0.85 and report["conformal"]["target_coverage"] == 0.9
    assert sum(report["reliability"]["calibrated"]["count"]) == 700
    plain = evaluate_predictions(y, logits)
    assert plain["calibrated"] is None and plain["conformal"] is None


def test_write_report_writes_json_markdown_png(tmp_path):
    logits, y = _simulated_logits()
    report = evaluate_predictions(y, logits, TemperatureScaling().fit(logits, y))
    paths = write_report(report, tmp_path / "report")
    assert {p.name for p in paths.values()} == {"report.json", "report.md", "reliability.png"}
    again = json.loads(paths["json"].read_text())
    assert again["calibrated"]["ece"] == pytest.approx(report["calibrated"]["ece"])
    md = paths["markdown"].read_text()
    assert "| qwk (quadratic weighted kappa) |" in md and "## Confusion matrix" in md and "reliability.png" in md
    assert paths["png"].read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"


def test_report_json_is_strict_when_a_metric_is_undefined(tmp_path):
    logits = np.random.default_rng(3).normal(size=(6, K))
    report = evaluate_predictions(np.zeros(6, dtype=int), logits)  # one true level: Spearman undefined
    paths = write_report(report, tmp_path, plot=False)
    assert json.loads(paths["json"].read_text())["uncalibrated"]["spearman"] is None
    assert "n/a" in report_markdown(report)


def test_load_labelled_names_ids_and_columns(tmp_path):
    f = tmp_path / "dev.csv"
    f.write_text("body,tone\nWe thank our partners.,cautious\nWe will retaliate.,4\nTalks resume.,Measured\n")
    texts, levels = load_labelled(f, text_column="body", level_column="tone")
    assert texts[1] == "We will retaliate." and levels.tolist() == [0, 4, 1]
    j = tmp_path / "dev.jsonl"
    j.write_text('{"text": "a", "level": 2}\n{"text": "b", "level": 3.0}\n')
    assert load_labelled(j)[1].tolist() == [2, 3]


def test_load_labelled_errors_name_the_row(tmp_path):
    f = tmp_path / "bad.csv"
    f.write_text("text,level\nfine,firm\nalso fine,2\nbad,furious\n")
    with pytest.raises(DataError, match=r"row 3\b.*furious.*cautious"):  # 1-based rows, as in read_table
        load_labelled(f)
    g = tmp_path / "empty_text.jsonl"
    g.write_text('{"text": "ok", "level": 1}\n{"text": "  ", "level": 1}\n')
    with pytest.raises(DataError, match=r"row 2\b"):
        load_labelled(g)


def test_load_labelled_leaves_out_unlabelled_rows_with_a_warning(tmp_path):
    f = tmp_path / "partly.csv"
    f.write_text("text,level\nWe thank you.,0\nNo label here.,\nWe will retaliate.,confrontational\n")
    with pytest.warns(UserWarning, match="1 row"):
        texts, levels = load_labelled(f)
    assert texts == ["We thank you.", "We will retaliate."] and levels.tolist() == [0, 4]
    with pytest.raises(DataError, match="tone"):
        load_labelled(f, level_column="tone")


# ============================================================================ CLI
@pytest.fixture
def labelled_csv(tmp_path, examples):
    import csv

    texts, levels = examples
    path = tmp_path / "dev.csv"
    with path.open("w", newline="") as fh:
        w = csv.writer(fh)
        w.writerow(["statement", "tone"])
        for i in range(2):  # 30 rows
            for t, lv in zip(texts, levels):
                w.writerow([t if i == 0 else t + " Indeed.", lv])
    return path


def test_cli_calibrate_then_evaluate(tmp_path, tiny_model_dir, labelled_csv, capsys, examples):
    from tonecls.classifier import ToneClassifier
    from tonecls.cli import main

    rc = main(["calibrate", str(tiny_model_dir), "--data", str(labelled_csv), "--text-column", "statement",
               "--level-column", "tone", "--conformal-alpha", "0.2", "--conformal-fraction", "0.5"])
    out = capsys.readouterr().out
    assert rc == 0 and "NLL" in out and "->" in out and "calibration.json" in out
    stored = json.loads((tiny_model_dir / "calibration.json").read_text())
    assert stored["method"] == "temperature" and stored["conformal"]["n_calibration"] == 15
    clf = ToneClassifier.from_pretrained(tiny_model_dir)
    result = clf.score(examples[0][0])
    assert result.interval is not None and result.interval[0] <= result.level <= result.interval[1]

    report_dir = tmp_path / "report"
    rc = main(["evaluate", str(tiny_model_dir), "--data", str(labelled_csv), "--text-column", "statement",
               "--level-column", "tone", "-o", str(report_dir)])
    assert rc == 0 and "QWK" in capsys.readouterr().out
    report = json.loads((report_dir / "report.json").read_text())
    assert report["n"] == 30 and report["calibration_method"] == "temperature" and report["conformal"]
    assert (report_dir / "reliability.png").stat().st_size > 0 and (report_dir / "report.md").is_file()


def test_cli_calibrate_auto_names_the_method_it_chose(tiny_model_dir, labelled_csv, capsys):
    from tonecls.bundle import AUTO_METHODS
    from tonecls.cli import main

    assert main(["calibrate", str(tiny_model_dir), "--data", str(labelled_csv), "--text-column", "statement",
                 "--level-column", "tone", "--method", "auto"]) == 0
    out = capsys.readouterr().out
    stored = json.loads((tiny_model_dir / "calibration.json").read_text())
    nll = stored["info"]["selection"]["out_of_fold_nll"]
    assert set(nll) == set(AUTO_METHODS) and stored["method"] == min((v, m) for m, v in nll.items() if v is not None)[1]
    assert "out-of-fold NLL" in out and f"{stored['method']} calibration written" in out


def test_cli_errors_are_reported(tiny_model_dir, tmp_path, capsys):
    from tonecls.cli import main

    bad = tmp_path / "bad.csv"
    bad.write_text("text,level\nok,5\n")
    assert main(["calibrate", str(tiny_model_dir), "--data", str(bad)]) == 2
    assert "row 1" in capsys.readouterr().err
    with pytest.raises(SystemExit):
        main(["calibrate", str(tiny_model_dir), "--data", str(bad), "--method", "dirichlet"])
