"""Reliability diagrams: PNG output, bin counts, overlay, and the optional-extra error."""

from __future__ import annotations

import sys

import matplotlib
import numpy as np
import pytest

from tonecls.calibration import softmax
from tonecls.metrics import calibration_curve, expected_calibration_error
from tonecls.plotting import ReliabilityDisplay

matplotlib.use("Agg")


@pytest.fixture
def data():
    rng = np.random.default_rng(0)
    z = rng.normal(0, 2, (600, 5))
    y = (rng.random(600)[:, None] > np.cumsum(softmax(z), 1)).sum(1)
    return y, softmax(3 * z)


def test_from_predictions_draws_and_saves_png(tmp_path, data):
    import matplotlib.pyplot as plt

    y, probs = data
    disp = ReliabilityDisplay.from_predictions(y, probs, n_bins=10, name="over-confident")
    curve = calibration_curve(y, probs, n_bins=10)
    heights = [bar.get_height() for bar in disp.hist_ax_.patches]
    assert heights == curve.count.tolist()  # histogram panel shows the bin counts
    seen = curve.count > 0
    np.testing.assert_allclose(disp.line_.get_xdata(), curve.confidence[seen])
    np.testing.assert_allclose(disp.line_.get_ydata(), curve.accuracy[seen])
    assert disp.ece == pytest.approx(expected_calibration_error(y, probs, n_bins=10))
    assert "ECE" in disp.line_.get_label()
    out = tmp_path / "rel.png"
    disp.figure_.savefig(out)
    assert out.read_bytes()[:4] == b"\x89PNG"
    plt.close(disp.figure_)


def test_one_vs_rest_curve_is_labelled_as_such(data):
    import matplotlib.pyplot as plt

    y, probs = data
    top = ReliabilityDisplay.from_predictions(y, probs, n_bins=10)
    assert top.ax_.get_title() == "Reliability (top label)"
    assert top.hist_ax_.get_xlabel() == "confidence (max probability)"
    disp = ReliabilityDisplay.from_predictions(y, probs, n_bins=10, level=2)
    curve = calibration_curve(y, probs, n_bins=10, level=2)
    np.testing.assert_allclose(disp.line_.get_xdata(), curve.confidence[curve.count > 0])
    assert disp.ax_.get_title() == "Reliability (level 2 vs rest)"
    assert disp.hist_ax_.get_xlabel() == "predicted probability of level 2"
    assert disp.ax_.get_ylabel() == "frequency of level 2 in bin"
    plt.close(top.figure_)
    plt.close(disp.figure_)


def test_overlay_on_existing_axes(data):
    import matplotlib.pyplot as plt

    y, probs = data
    first = ReliabilityDisplay.from_predictions(y, probs, name="raw")
    second = ReliabilityDisplay.from_predictions(y, softmax(np.log(probs) / 3), name="T=3",
                                                 ax=first.ax_, hist_ax=first.hist_ax_)
    assert second.figure_ is first.figure_ and len(first.ax_.lines) == 3  # diagonal + two models
    plt.close(first.figure_)


def test_from_classifier(tiny_classifier, examples):
    import matplotlib.pyplot as plt

    texts, levels = examples
    disp = ReliabilityDisplay.from_classifier(tiny_classifier, texts, levels, n_bins=5)
    assert disp.name == "tiny" and int(disp.curve.count.sum()) == len(texts)
    plt.close(disp.figure_)


def test_missing_matplotlib_says_how_to_install(monkeypatch, data, tmp_path):
    from tonecls.evaluation import evaluate_predictions, write_report

    y, probs = data
    monkeypatch.setitem(sys.modules, "matplotlib", None)
    with pytest.raises(ImportError, match=r"pip install 'tonecls\[plot\]'"):
        ReliabilityDisplay.from_predictions(y, probs)
    report = evaluate_predictions(y, np.log(probs))
    with pytest.warns(UserWarning, match="reliability.png not written"):
        paths = write_report(report, tmp_path)
    assert "png" not in paths and paths["json"].is_file() and paths["markdown"].is_file()
