"""Split-conformal level sets: finite-sample quantile, coverage over many splits, ordinal
intervals, serialisation, and the interval carried by a saved ToneClassifier."""

from __future__ import annotations

import json
import math

import numpy as np
import pytest

from tonecls.bundle import CalibrationBundle, fit_calibration
from tonecls.calibration import NotFittedError, TemperatureScaling, softmax
from tonecls.conformal import ConformalPredictor, interval_coverage, interval_width

K = 5


def simulate(n, seed, scale=1.0):
    """Probabilities of a model (``softmax(scale * z)``) and levels drawn from ``softmax(z)``."""
    rng = np.random.default_rng(seed)
    centre = rng.integers(0, K, n)
    # ordinal-looking true distributions: mass concentrated around a centre level
    z = -0.8 * (np.arange(K)[None, :] - centre[:, None]) ** 2 + rng.normal(0, 0.7, (n, K))
    p = softmax(z)
    y = (rng.random(n)[:, None] > np.cumsum(p, axis=1)).sum(axis=1)
    return softmax(scale * z), y


def _reference_ordinal_score(p, y):
    """Independent, per-row version of the ordinal score: grow from the mode towards the larger
    neighbour (ties to the lower level); the score is the mass before the true level joins."""
    low = high = int(np.argmax(p))
    mass = p[low]
    if y == low:
        return 0.0
    while True:
        left = p[low - 1] if low > 0 else -1.0
        right = p[high + 1] if high < len(p) - 1 else -1.0
        before = mass
        if left >= right:
            low -= 1
            mass += p[low]
            if low == y:
                return before
        else:
            high += 1
            mass += p[high]
            if high == y:
                return before


def test_ordinal_scores_match_a_per_row_reference():
    p, y = simulate(500, seed=0)
    cp = ConformalPredictor()
    ours = cp.scores(p, y)
    ref = np.array([_reference_ordinal_score(p[i], y[i]) for i in range(len(y))])
    np.testing.assert_allclose(ours, ref, atol=1e-12)
    lac = ConformalPredictor(method="lac").scores(p, y)
    np.testing.assert_allclose(lac, 1 - p[np.arange(len(y)), y])


@pytest.mark.parametrize("method", ["ordinal", "lac"])
@pytest.mark.parametrize("alpha", [0.05, 0.1, 0.2])
def test_quantile_is_the_finite_sample_one(method, alpha):
    p, y = simulate(137, seed=1)
    cp = ConformalPredictor(alpha=alpha, method=method).fit(p, y)
    s = np.sort(cp.scores(p, y))
    rank = math.ceil((len(y) + 1) * (1 - alpha))
    assert cp.quantile_ == s[rank - 1]
    assert cp.quantile_ == np.quantile(s, rank / len(y), method="inverted_cdf")
    assert cp.coverage_ >= 1 - alpha


def test_too_few_rows_give_every_level():
    p, y = simulate(8, seed=2)
    cp = ConformalPredictor(alpha=0.1).fit(p, y)  # ceil(9 * 0.9) = 9 > 8
    assert cp.quantile_ is None
    low, high = cp.predict(p)
    assert np.all(low == 0) and np.all(high == K - 1)
    assert json.loads(json.dumps(cp.to_dict()))["quantile"] is None


@pytest.mark.parametrize("method", ["ordinal", "lac"])
@pytest.mark.parametrize("alpha, scale", [(0.1, 1.0), (0.2, 1.0), (0.1, 3.0), (0.05, 0.5)])
def test_coverage_over_many_random_splits(method, alpha, scale):
    """Marginal coverage >= 1 - alpha holds on average over calibration/test splits, for a
    calibrated and for a miscalibrated (scale != 1) model alike."""
    p, y = simulate(4000, seed=3, scale=scale)
    rng = np.random.default_rng(4)
    n_cal, n_test, splits = 150, 250, 300
    coverage, width = [], []
    for _ in range(splits):
        idx = rng.permutation(len(y))[:n_cal + n_test]
        cal, test = idx[:n_cal], idx[n_cal:]
        cp = ConformalPredictor(alpha=alpha, method=method).fit(p[cal], y[cal])
        if method == "lac":
            coverage.append(cp.predict_set(p[test])[np.arange(n_test), y[test]].mean())
        else:
            coverage.append(interval_coverage(y[test], *cp.predict(p[test])))
        width.append(interval_width(*cp.predict(p[test])))
    coverage = np.array(coverage)
    se = coverage.std(ddof=1) / np.sqrt(splits)
    assert coverage.mean() >= 1 - alpha - 3 * se
    # per-split coverage: spread as expected from finite samples, not conservative to uselessness
    assert np.quantile(coverage, 0.05) >= 1 - alpha - 0.1
    assert coverage.mean() <= 1 - alpha + 0.06
    assert coverage.std() < 0.05
    assert np.mean(width) < K  # informative: narrower than "every level"


def test_ordinal_intervals_are_contiguous_and_contain_the_mode():
    p, y = simulate(2000, seed=5)
    cp = ConformalPredictor(alpha=0.1).fit(p[:1000], y[:1000])
    mask = cp.predict_set(p[1000:])
    low, high = cp.predict(p[1000:])
    levels = np.arange(K)[None, :]
    np.testing.assert_array_equal(mask, (levels >= low[:, None]) & (levels <= high[:, None]))
    mode = p[1000:].argmax(1)
    assert np.all((low <= mode) & (mode <= high)) and np.all(low <= high)


def test_smaller_alpha_gives_nested_wider_intervals():
    p, y = simulate(3000, seed=6)
    widths, prev = [], None
    for alpha in (0.3, 0.2, 0.1, 0.05):
        low, high = ConformalPredictor(alpha=alpha).fit(p[:1500], y[:1500]).predict(p[1500:])
        if prev is not None:
            assert np.all(low <= prev[0]) and np.all(high >= prev[1])
        prev = (low, high)
        widths.append(interval_width(low, high))
    assert widths == sorted(widths) and widths[-1] > widths[0]


def test_lac_sets_never_empty_and_predict_is_their_hull():
    p, y = simulate(1000, seed=7)
    cp = ConformalPredictor(alpha=0.4, method="lac").fit(p[:500], y[:500])
    mask = cp.predict_set(p[500:])
    assert mask.any(axis=1).all()
    low, high = cp.predict(p[500:])
    for i in range(len(mask)):
        members = np.flatnonzero(mask[i])
        assert (low[i], high[i]) == (members.min(), members.max())


def test_round_trip_unfitted_and_bad_input():
    p, y = simulate(300, seed=8)
    cp = ConformalPredictor(alpha=0.1).fit(p, y)
    again = ConformalPredictor.from_dict(json.loads(json.dumps(cp.to_dict())))
    for a, b in zip(cp.predict(p), again.predict(p)):
        np.testing.assert_array_equal(a, b)
    with pytest.raises(NotFittedError):
        ConformalPredictor().predict(p)
    with pytest.raises(ValueError, match="look like logits"):
        ConformalPredictor().fit(np.log(p) + 1.0, y)
    with pytest.raises(ValueError, match="ordinal"):
        ConformalPredictor(method="aps").fit(p, y)
    with pytest.raises(ValueError, match="alpha"):
        ConformalPredictor(alpha=1.5).fit(p, y)
    with pytest.raises(ValueError, match="5 probabilities"):
        cp.predict(p[:, :4] / p[:, :4].sum(1, keepdims=True))


# ============================================================================ in a saved model
def test_saved_classifier_with_calibrator_reloads_identically_and_carries_interval(tmp_path, tiny_classifier, examples):
    from tonecls.classifier import ToneClassifier

    texts, levels = examples
    logits = tiny_classifier.predict_logits(texts)
    cal = TemperatureScaling().fit(logits, levels)
    cp = ConformalPredictor(alpha=0.2).fit(cal.transform(logits), levels)
    tiny_classifier.calibrator = CalibrationBundle(cal).set_conformal(cp)
    before = tiny_classifier.score(texts)
    folder = tiny_classifier.save_pretrained(tmp_path / "calibrated")
    stored = json.loads((folder / "calibration.json").read_text())
    assert stored["method"] == "temperature" and stored["conformal"]["alpha"] == 0.2
    loaded = ToneClassifier.from_pretrained(folder)
    np.testing.assert_array_equal(loaded.predict_proba(texts), tiny_classifier.predict_proba(texts))
    after = loaded.score(texts)
    assert [r.interval for r in after] == [r.interval for r in before]
    low, high = cp.predict(cal.transform(logits))
    assert [r.interval for r in after] == list(zip(low.tolist(), high.tolist()))
    assert all(lo <= r.level <= hi for r, (lo, hi) in zip(after, [r.interval for r in after]))
    assert after[0].to_dict()["interval"] == list(after[0].interval)
    assert loaded.score(texts[0]).interval == after[0].interval


def test_classifier_without_conformal_keeps_interval_none(tmp_path, tiny_classifier, examples):
    from tonecls.classifier import ToneClassifier

    texts, levels = examples
    assert tiny_classifier.score(texts[0]).interval is None
    tiny_classifier.calibrator = fit_calibration(tiny_classifier.predict_logits(texts), levels)
    folder = tiny_classifier.save_pretrained(tmp_path / "plain")
    loaded = ToneClassifier.from_pretrained(folder)
    assert loaded.score(texts[0]).interval is None
    np.testing.assert_array_equal(loaded.predict_proba(texts), tiny_classifier.predict_proba(texts))
