"""Calibrators and calibration metrics, each checked against an independent reference."""

from __future__ import annotations

import json
import warnings

import numpy as np
import pytest
from sklearn.calibration import calibration_curve as sk_calibration_curve
from sklearn.isotonic import IsotonicRegression
from sklearn.linear_model import LogisticRegression
from sklearn.metrics import brier_score_loss, log_loss

from tonecls.bundle import AUTO_METHODS, cross_validated_nll, fit_calibration
from tonecls.calibration import (CALIBRATORS, BetaCalibration, CalibrationError, Calibrator, HistogramBinning, IsotonicCalibration,
                                 NotFittedError, PlattScaling, TemperatureScaling, calibrator_from_dict,
                                 make_calibrator, softmax, temperature_nll)
from tonecls.metrics import (adaptive_calibration_error, brier_score, calibration_curve, calibration_metrics,
                             ece_consistency, expected_calibration_error, expected_level_calibration_error,
                             maximum_calibration_error, negative_log_likelihood, ranked_probability_score)

K = 5


def simulate(n, scale=1.0, seed=0, k=K, shift=0.0):
    """True logits z, labels y ~ softmax(z), and the model's logits ``scale * z + shift``:
    scale 1 is perfectly calibrated, > 1 over-confident, < 1 under-confident."""
    rng = np.random.default_rng(seed)
    centres = rng.integers(0, k, n)
    z = 2.5 * np.eye(k)[centres] + rng.normal(0, 1.0, (n, k))
    p = softmax(z)
    y = (rng.random(n)[:, None] > np.cumsum(p, axis=1)).sum(axis=1)
    return scale * z + shift, y, p


@pytest.fixture(scope="module")
def calibrated():
    return simulate(20000, 1.0, seed=1)


@pytest.fixture(scope="module")
def overconfident():
    return simulate(3000, 3.0, seed=2)


# ============================================================================ metrics vs references
def test_brier_matches_sklearn_one_vs_rest_and_binary(calibrated):
    _, y, p = calibrated
    ovr = sum(brier_score_loss((y == k).astype(int), p[:, k]) for k in range(K))
    assert brier_score(y, p) == pytest.approx(ovr, rel=1e-12)
    yb = (y > 2).astype(int)
    pb = np.stack([p[:, :3].sum(1), p[:, 3:].sum(1)], axis=1)
    assert brier_score(yb, pb) == pytest.approx(2 * brier_score_loss(yb, pb[:, 1]), rel=1e-12)


def test_nll_matches_sklearn_log_loss(calibrated):
    _, y, p = calibrated
    assert negative_log_likelihood(y, p) == pytest.approx(log_loss(y, p, labels=range(K)), rel=1e-12)
    q = np.eye(K)[(y + 1) % K]  # confidently wrong: clipped like sklearn, finite
    assert negative_log_likelihood(y, q) == pytest.approx(log_loss(y, q, labels=range(K)), rel=1e-9)


def test_rps_binary_equals_brier_and_matches_loop(calibrated):
    _, y, p = calibrated
    yb = (y > 1).astype(int)
    pb = np.stack([p[:, :2].sum(1), p[:, 2:].sum(1)], axis=1)
    assert ranked_probability_score(yb, pb) == pytest.approx(brier_score_loss(yb, pb[:, 1]), rel=1e-12)
    ref = np.mean([sum((p[i, :j + 1].sum() - (y[i] <= j)) ** 2 for j in range(K - 1)) / (K - 1) for i in range(500)])
    assert ranked_probability_score(y[:500], p[:500]) == pytest.approx(ref, rel=1e-12)
    # ordinal: mass one level away costs less than mass four levels away; Brier cannot tell
    near, far = np.array([[0, 1.0, 0, 0, 0]]), np.array([[0, 0, 0, 0, 1.0]])
    assert ranked_probability_score([0], near) < ranked_probability_score([0], far)
    assert brier_score([0], near) == brier_score([0], far)


@pytest.mark.parametrize("level", [0, 2, 4])
def test_one_vs_rest_curve_matches_sklearn(calibrated, level):
    _, y, p = calibrated
    ours = calibration_curve(y, p, n_bins=10, level=level)
    prob_true, prob_pred = sk_calibration_curve((y == level).astype(int), p[:, level], n_bins=10)
    seen = ours.count > 0
    np.testing.assert_allclose(ours.accuracy[seen], prob_true, rtol=1e-12)
    np.testing.assert_allclose(ours.confidence[seen], prob_pred, rtol=1e-12)
    assert ours.count.sum() == len(y)


def _reference_ece(y, p, n_bins, top_label=True, level=None):
    conf = p.max(1) if top_label else p[:, level]
    hit = (p.argmax(1) == y) if top_label else (y == level)
    edges = np.linspace(0, 1, n_bins + 1)
    total, worst = 0.0, 0.0
    for b in range(n_bins):
        m = (conf > edges[b]) & (conf <= edges[b + 1]) if b else (conf >= 0) & (conf <= edges[1])
        if m.any():
            gap = abs(hit[m].mean() - conf[m].mean())
            total += m.sum() / len(y) * gap
            worst = max(worst, gap)
    return total, worst


def test_ece_mce_and_classwise_match_loop_reference(overconfident):
    logits, y, _ = overconfident
    p = softmax(logits)
    ece, mce = _reference_ece(y, p, 15)
    assert expected_calibration_error(y, p) == pytest.approx(ece, rel=1e-12)
    assert maximum_calibration_error(y, p) == pytest.approx(mce, rel=1e-12)
    classwise = np.mean([_reference_ece(y, p, 15, top_label=False, level=k)[0] for k in range(K)])
    assert expected_calibration_error(y, p, kind="classwise") == pytest.approx(classwise, rel=1e-12)
    assert mce >= ece


def test_equal_mass_bins_hold_equal_counts(calibrated):
    _, y, p = calibrated
    curve = calibration_curve(y, p, n_bins=15, binning="quantile")
    assert curve.count.max() - curve.count.min() <= 1 and curve.count.sum() == len(y)
    assert adaptive_calibration_error(y, p) == expected_calibration_error(y, p, binning="quantile")


def test_ece_small_when_calibrated_large_when_not(calibrated, overconfident):
    _, y, p = calibrated
    for binning in ("uniform", "quantile"):
        for kind in ("top_label", "classwise"):
            assert expected_calibration_error(y, p, binning=binning, kind=kind) < 0.02
    assert expected_level_calibration_error(y, p) < 0.05
    logits, y2, _ = overconfident
    assert expected_calibration_error(y2, softmax(logits)) > 0.1
    assert adaptive_calibration_error(y2, softmax(logits)) > 0.1


@pytest.mark.parametrize("n", [200, 1000])
def test_ece_consistency_band_covers_calibrated_sets_and_shrinks_with_n(calibrated, overconfident, n):
    _, y, p = calibrated
    band = ece_consistency(p[:n], n_draws=300)
    # The calibrated simulation is one draw from p: its ECE falls inside the band, an overconfident one does not.
    assert 0 < band["mean"] < band["q95"] and expected_calibration_error(y[:n], p[:n]) <= band["q95"]
    logits, y2, _ = overconfident
    assert expected_calibration_error(y2[:n], softmax(logits[:n])) > ece_consistency(softmax(logits[:n]), n_draws=300)["q95"]
    if n == 1000:
        assert band["mean"] < ece_consistency(p[:200], n_draws=300)["mean"]


def test_expected_level_error_measures_level_bias(calibrated):
    _, y, p = calibrated
    assert expected_level_calibration_error(y, np.eye(K)[y]) == 0.0
    shifted = np.eye(K)[np.minimum(y + 1, K - 1)]
    assert expected_level_calibration_error(y, shifted) == pytest.approx(np.mean(np.minimum(y + 1, K - 1) - y), abs=1e-12)


def test_metrics_refuse_logits_and_bad_labels(overconfident):
    logits, y, _ = overconfident
    with pytest.raises(ValueError, match="look like logits"):
        expected_calibration_error(y, logits)
    with pytest.raises(ValueError, match=r"\[0, 4\]"):
        brier_score(np.full(len(y), 5), softmax(logits))
    with pytest.raises(ValueError, match="binning"):
        expected_calibration_error(y, softmax(logits), binning="equal")
    with pytest.raises(ValueError, match="top_label"):
        expected_calibration_error(y, softmax(logits), kind="marginal")


# ============================================================================ temperature scaling
def test_temperature_is_the_grid_minimum_of_nll(overconfident):
    logits, y, _ = overconfident
    t = TemperatureScaling().fit(logits, y).temperature_
    grid = np.geomspace(0.5, 10, 3001)
    nll = [temperature_nll(logits, y, g) for g in grid]
    best = grid[int(np.argmin(nll))]
    step = grid[1] / grid[0] - 1
    assert abs(t / best - 1) <= step
    assert temperature_nll(logits, y, t) <= min(nll) + 1e-9


@pytest.mark.parametrize("scale, expect", [(3.0, "soften"), (0.4, "sharpen"), (1.0, "keep")])
def test_temperature_direction(scale, expect):
    logits, y, _ = simulate(4000, scale, seed=3)
    t = TemperatureScaling().fit(logits, y).temperature_
    if expect == "soften":
        assert t == pytest.approx(scale, rel=0.1) and t > 1
    elif expect == "sharpen":
        assert t == pytest.approx(scale, rel=0.1) and t < 1
    else:
        assert t == pytest.approx(1.0, abs=0.08)


def test_temperature_keeps_argmax(overconfident):
    logits, y, _ = overconfident
    probs = TemperatureScaling().fit(logits, y).transform(logits)
    np.testing.assert_array_equal(probs.argmax(1), logits.argmax(1))


# ============================================================================ every method
@pytest.mark.parametrize("method", ["temperature", "vector", "none"])
def test_nll_on_fitting_split_never_worse_than_identity(method):
    for seed, scale in [(4, 3.0), (5, 0.5), (6, 1.0)]:
        logits, y, _ = simulate(800, scale, seed=seed, shift=np.array([0.5, 0, 0, 0, -0.5]))
        before = negative_log_likelihood(y, softmax(logits))
        after = negative_log_likelihood(y, make_calibrator(method).fit_transform(logits, y))
        assert after <= before + 1e-12


def test_isotonic_matches_sklearn_and_lowers_one_vs_rest_brier(overconfident):
    logits, y, _ = overconfident
    cal = IsotonicCalibration().fit(logits, y)
    p = softmax(logits)
    ovr = cal.predict_one_vs_rest(logits)
    for k in range(K):
        ref = IsotonicRegression(y_min=0, y_max=1, out_of_bounds="clip").fit(p[:, k], y == k)
        np.testing.assert_allclose(ovr[:, k], ref.predict(p[:, k]), atol=1e-12)
        # isotonic regression minimises squared error over monotone maps, and identity is one of them
        assert brier_score_loss(y == k, ovr[:, k]) <= brier_score_loss(y == k, p[:, k]) + 1e-12
    np.testing.assert_allclose(cal.transform(logits).sum(1), 1.0)


def test_histogram_binning_matches_bin_frequencies_on_fitting_data(overconfident):
    logits, y, _ = overconfident
    for binning in ("quantile", "uniform"):
        cal = HistogramBinning(n_bins=10, binning=binning).fit(logits, y)
        p, q = softmax(logits), cal.predict_one_vs_rest(logits)
        for k in range(K):
            edges = cal.bin_edges_[k]
            ids = np.searchsorted(edges[1:-1], p[:, k], side="left")
            for b in np.unique(ids):
                m = ids == b
                assert q[m, k].mean() == pytest.approx((y[m] == k).mean(), abs=1e-12)
        assert expected_calibration_error(y, cal.transform(logits), kind="classwise") < \
            expected_calibration_error(y, p, kind="classwise")


def _binary_nll(t, q):
    q = np.clip(q, 1e-15, 1 - 1e-15)
    return -np.mean(t * np.log(q) + (1 - t) * np.log(1 - q))


@pytest.mark.parametrize("cls, nfeat", [(PlattScaling, 1), (BetaCalibration, 2)])
def test_platt_and_beta_match_sklearn_logistic_regression(overconfident, cls, nfeat):
    logits, y, _ = overconfident
    cal = cls().fit(logits, y)
    p = softmax(logits)
    ovr = cal.predict_one_vs_rest(logits)
    feats = cal._features(logits)
    for k in range(K):
        t = (y == k).astype(float)
        ref = LogisticRegression(C=np.inf, tol=1e-10, max_iter=1000).fit(feats[k], t)
        ref_q = ref.predict_proba(feats[k])[:, 1]
        # same fitted binary NLL as the reference solver (the optimum is unique)
        assert _binary_nll(t, ovr[:, k]) == pytest.approx(_binary_nll(t, ref_q), abs=1e-6)
        np.testing.assert_allclose(ovr[:, k], ref_q, atol=2e-3)
        # starts from the identity map, so it never fits worse than the raw probabilities
        assert _binary_nll(t, ovr[:, k]) <= _binary_nll(t, p[:, k]) + 1e-12
    assert ovr.shape == (len(y), K) and feats[0].shape[1] == nfeat


def test_beta_fits_at_least_as_well_as_platt(overconfident):
    logits, y, _ = overconfident
    platt = PlattScaling().fit(logits, y).predict_one_vs_rest(logits)
    beta = BetaCalibration().fit(logits, y).predict_one_vs_rest(logits)
    for k in range(K):
        t = (y == k).astype(float)
        assert _binary_nll(t, beta[:, k]) <= _binary_nll(t, platt[:, k]) + 1e-7


@pytest.mark.parametrize("method", [m for m in CALIBRATORS if m != "none"])
def test_each_method_fixes_an_overconfident_model_on_held_out_data(method):
    logits, y, _ = simulate(6000, 3.0, seed=7)
    fit, test = slice(0, 4000), slice(4000, None)
    cal = make_calibrator(method).fit(logits[fit], y[fit])
    before, after = softmax(logits[test]), cal.transform(logits[test])
    np.testing.assert_allclose(after.sum(1), 1.0)
    assert expected_calibration_error(y[test], after) < 0.5 * expected_calibration_error(y[test], before)
    assert brier_score(y[test], after) < brier_score(y[test], before)
    if method in ("temperature", "vector", "platt", "beta"):
        assert negative_log_likelihood(y[test], after) < negative_log_likelihood(y[test], before)


def test_vector_scaling_learns_a_per_level_bias():
    logits, y, _ = simulate(5000, 1.0, seed=8)
    biased = logits + np.array([2.0, 0, 0, 0, 0])  # the model over-predicts level 0
    cal = make_calibrator("vector").fit(biased, y)
    b = cal.bias_ - cal.bias_.mean()
    assert b[0] < -1.5 and np.all(np.abs(cal.weights_ - 1) < 0.15)


# ============================================================================ interface
@pytest.mark.parametrize("method", list(CALIBRATORS))
def test_round_trip_through_json_gives_identical_transforms(method, overconfident):
    logits, y, _ = overconfident
    cal = make_calibrator(method).fit(logits[:2000], y[:2000])
    text = json.dumps(cal.to_dict())
    again = calibrator_from_dict(json.loads(text))
    assert type(again) is type(cal) and again.get_params() == cal.get_params()
    np.testing.assert_array_equal(again.transform(logits[2000:]), cal.transform(logits[2000:]))
    assert again.to_dict() == json.loads(text)


@pytest.mark.parametrize("method", list(CALIBRATORS))
def test_unfitted_raises(method):
    cal = make_calibrator(method)
    for call in (lambda: cal.transform(np.zeros((2, K)) + [1, 0, 0, 0, 0]), cal.to_dict):
        with pytest.raises(NotFittedError, match="not fitted"):
            call()


@pytest.mark.parametrize("method", list(CALIBRATORS))
def test_probabilities_passed_as_logits_are_refused(method, overconfident):
    logits, y, _ = overconfident
    probs = softmax(logits)
    with pytest.raises(ValueError, match="take logits"):
        make_calibrator(method).fit(probs, y)
    cal = make_calibrator(method).fit(logits, y)
    with pytest.raises(ValueError, match="predict_logits"):
        cal.transform(probs)
    cal.transform(np.log(probs))  # log-probabilities are valid logits


def test_bad_input_is_refused(overconfident):
    logits, y, _ = overconfident
    cal = TemperatureScaling()
    bad = logits.copy()
    bad[3, 1] = np.nan
    with pytest.raises(ValueError, match="NaN"):
        cal.fit(bad, y)
    with pytest.raises(ValueError, match="shape"):
        cal.fit(logits[:, 0], y)
    with pytest.raises(ValueError, match="labels"):
        cal.fit(logits, y[:-1])
    with pytest.raises(ValueError, match="row"):
        cal.fit(logits, np.where(np.arange(len(y)) == 7, 9, y))
    with pytest.raises(ValueError, match="level_from_label"):
        cal.fit(logits, np.array(["firm"] * len(y)))
    cal.fit(logits, y)
    with pytest.raises(ValueError, match="5 logits per row"):
        cal.transform(logits[:, :4])


def test_registry_errors_list_choices():
    with pytest.raises(ValueError, match="temperature"):
        make_calibrator("dirichlet")
    with pytest.raises(ValueError, match="format"):
        calibrator_from_dict({"method": "temperature"})
    with pytest.raises(ValueError, match="binning"):
        HistogramBinning(binning="equal").fit(np.eye(K) * 3, np.arange(K))
    assert isinstance(make_calibrator("histogram", n_bins=5), Calibrator)
    assert repr(make_calibrator("histogram", n_bins=5)) == "HistogramBinning(n_bins=5, binning='quantile')"


def test_fit_calibration_splits_and_records(overconfident):
    logits, y, _ = overconfident
    cal = fit_calibration(logits, y, conformal_alpha=0.1, conformal_fraction=0.3, seed=1)
    info = cal.info_
    assert info["fit"]["n"] + info["held_out"]["n"] == len(y)
    assert info["held_out"]["n"] == cal.conformal_.n_calibration_ == 900
    assert info["held_out"]["after"]["nll"] < info["held_out"]["before"]["nll"]
    d = json.loads(json.dumps(cal.to_dict()))
    assert d["conformal"]["alpha"] == 0.1 and d["info"]["seed"] == 1
    plain = fit_calibration(logits, y)
    assert getattr(plain, "conformal_", None) is None and plain.info_["fit"]["n"] == len(y)
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        fit_calibration(logits[:20], y[:20], conformal_alpha=0.05, conformal_fraction=0.3)
    assert any("too few" in str(w.message) for w in caught)


def test_cross_validated_nll_prefers_a_fix_only_when_one_is_needed(calibrated, overconfident):
    logits, y, _ = overconfident
    nll = cross_validated_nll(logits, y, ("none", "temperature"))
    assert nll["temperature"] < nll["none"] - 0.1  # over-confident: temperature helps on held-out folds
    logits, y, _ = calibrated
    nll = cross_validated_nll(logits[:3000], y[:3000], ("none", "temperature", "isotonic"))
    assert abs(nll["temperature"] - nll["none"]) < 0.01 < nll["isotonic"] - nll["none"]  # nothing to fix; isotonic overfits


def test_cross_validated_nll_keeps_groups_together(overconfident, monkeypatch):
    import tonecls.bundle as bundle

    logits, y, _ = overconfident
    groups = np.arange(len(y)) // 10
    seen = []

    class Spy(TemperatureScaling):
        def fit(self, lg, yy):
            seen.append({tuple(r) for r in np.round(lg, 9)})
            return super().fit(lg, yy)

    monkeypatch.setattr(bundle, "make_calibrator", lambda name, **kw: Spy() if name == "spy" else make_calibrator(name))
    bundle.cross_validated_nll(logits, y, ("spy",), groups=groups, folds=5)
    assert len(seen) == 5
    for fitted in seen:  # every group's rows are all in a fold's fit or none are
        inside = np.array([tuple(r) in fitted for r in np.round(logits, 9)])
        assert all(inside[groups == g].all() or not inside[groups == g].any() for g in np.unique(groups))
    with pytest.raises(ValueError, match="one entry per row"):
        cross_validated_nll(logits, y, groups=groups[:-1])
    with pytest.raises(ValueError, match="3 groups"):
        cross_validated_nll(logits, y, groups=np.arange(len(y)) % 3)
    for folds in (0, 1):
        with pytest.raises(ValueError, match="at least 2 folds"):
            cross_validated_nll(logits, y, folds=folds)


def test_a_level_missing_from_a_fold_costs_the_methods_that_drop_it(overconfident):
    logits, y, _ = overconfident
    without = np.where(y == 4, 3, y)
    with_four = without.copy()
    with_four[:4] = 4               # level 4 only in group 0: the fold that holds it out never saw it
    groups = np.r_[np.zeros(4, int), np.arange(1, len(y) - 3)]
    a = cross_validated_nll(logits, with_four, ("temperature", "isotonic"), groups=groups)
    b = cross_validated_nll(logits, without, ("temperature", "isotonic"), groups=groups)
    cost = {m: (a[m] - b[m]) * len(y) for m in a}  # nats the four rows add to the sum
    assert np.isfinite(list(a.values())).all()
    assert cost["isotonic"] > 4 * 20 > cost["temperature"]  # isotonic gives the unseen level ~0 (floored at 1e-12)


def test_a_method_that_cannot_be_fitted_scores_none_and_stays_valid_json(overconfident, monkeypatch):
    import tonecls.bundle as bundle

    def broken(name, **kw):
        if name != "temperature":
            raise ValueError("cannot fit")
        return make_calibrator(name, **kw)

    monkeypatch.setattr(bundle, "make_calibrator", broken)
    logits, y, _ = overconfident
    cal = bundle.fit_calibration(logits[:500], y[:500], method="auto")
    nll = cal.info_["selection"]["out_of_fold_nll"]
    assert cal.method == "temperature" and nll["isotonic"] is None and np.isfinite(nll["temperature"])
    json.dumps(cal.to_dict(), allow_nan=False)  # no inf or NaN in the stored file
    monkeypatch.setattr(bundle, "make_calibrator", lambda name, **kw: broken("vector"))
    with pytest.raises(CalibrationError, match="no calibration method"):
        bundle.fit_calibration(logits[:500], y[:500], method="auto")


def test_auto_calibration_takes_the_lowest_out_of_fold_nll_and_records_it(overconfident):
    logits, y, _ = overconfident
    groups = np.arange(len(y)) // 4
    cal = fit_calibration(logits, y, method="auto", conformal_alpha=0.1, seed=2, groups=groups)
    sel = cal.info_["selection"]
    assert set(sel["out_of_fold_nll"]) == set(AUTO_METHODS) and "by group" in sel["rule"]
    assert cal.method == sel["chosen"] == min(sel["out_of_fold_nll"], key=sel["out_of_fold_nll"].get)
    again = type(cal).from_dict(json.loads(json.dumps(cal.to_dict(), allow_nan=False)))
    assert again.info_["selection"] == sel
    np.testing.assert_allclose(again.transform(logits[:50]), cal.transform(logits[:50]))
    with pytest.raises(TypeError, match="auto"):
        fit_calibration(logits, y, method="auto", l2=0.1)


def test_groups_split_whole_groups_between_the_calibrator_and_the_conformal_rows(overconfident):
    logits, y, _ = overconfident
    groups = np.arange(len(y)) // 7
    cal = fit_calibration(logits, y, conformal_alpha=0.1, conformal_fraction=0.3, groups=groups, seed=4)
    held, fit = cal.info_["held_out"]["n"], cal.info_["fit"]["n"]
    assert held + fit == len(y) and abs(held - 0.3 * len(y)) < 7
    # the same split, seen from the outside: the conformal rows are exactly the held-out groups
    order = np.random.default_rng(4).permutation(groups.max() + 1)
    n_first = np.searchsorted(np.cumsum(np.bincount(groups)[order]), round(0.3 * len(y))) + 1
    assert held == np.isin(groups, order[:n_first]).sum() and held % 7 == 0
    with pytest.raises(ValueError, match="one entry per row"):
        fit_calibration(logits, y, groups=groups[:10])


def test_refit_drops_the_old_conformal_predictor_and_info(overconfident):
    logits, y, _ = overconfident
    cal = fit_calibration(logits, y, conformal_alpha=0.1)
    assert cal.conformal_ is not None and cal.info_
    cal.fit(logits / 3, y)  # new probabilities: the old conformal quantile no longer applies
    assert getattr(cal, "conformal_", None) is None and getattr(cal, "info_", None) is None
    d = cal.to_dict()
    assert "conformal" not in d and "info" not in d
    assert calibrator_from_dict(d).temperature_ == pytest.approx(cal.temperature_)


def test_calibration_metrics_names(calibrated):
    _, y, p = calibrated
    m = calibration_metrics(y[:1000], p[:1000])
    assert set(m) == {"nll", "brier", "rps", "ece", "ece_equal_mass", "ece_classwise", "ece_classwise_equal_mass",
                      "mce", "level_ece"}
    assert all(np.isfinite(v) for v in m.values())
