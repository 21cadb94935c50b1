import numpy as np
import pytest

from tonecls.labeling.aggregate import LabelModel, MajorityVote, StrongestVote, vote_counts


def simulate(n=6000, accuracies=(0.9, 0.85, 0.8, 0.7, 0.6, 0.4, 0.35, 0.3), coverage=0.35, seed=0):
    """Each function votes on a random `coverage` share; right with its accuracy, else a near level."""
    rng = np.random.default_rng(seed)
    y = rng.choice(5, size=n, p=[0.2, 0.35, 0.2, 0.15, 0.1])
    L = np.full((n, len(accuracies)), -1, dtype=np.int8)
    for j, a in enumerate(accuracies):
        on = rng.random(n) < coverage
        right = rng.random(n) < a
        wrong = np.clip(y + rng.choice([-2, -1, 1, 2], size=n), 0, 4)
        wrong = np.where(wrong == y, (y + 1) % 5, wrong)
        L[on, j] = np.where(right[on], y[on], wrong[on])
    return L, y


def test_label_model_recovers_accuracies_and_beats_majority():
    accuracies = (0.9, 0.85, 0.8, 0.7, 0.6, 0.4, 0.35, 0.3)
    L, y = simulate(accuracies=accuracies)
    lm = LabelModel(seed=0).fit(L)
    est = lm.accuracies()
    assert np.abs(est - np.array(accuracies)).max() < 0.1
    assert np.corrcoef(est, accuracies)[0, 1] > 0.95
    covered = (L >= 0).any(axis=1)
    acc_lm = (lm.predict(L) == y)[covered].mean()
    acc_mv = (MajorityVote().predict(L) == y)[covered].mean()
    assert acc_lm >= acc_mv
    assert acc_lm > 0.7


def test_label_model_single_level_functions_accuracy():
    rng = np.random.default_rng(1)
    n = 20000
    y = rng.choice(5, size=n)
    acc = [0.9, 0.5, 0.9, 0.5, 0.9, 0.5, 0.8, 0.8, 0.8, 0.8]
    level = [0, 0, 1, 1, 2, 2, 3, 3, 4, 4]
    L = np.full((n, len(acc)), -1, dtype=np.int8)
    for j, (a, k) in enumerate(zip(acc, level)):
        true_k = y == k
        # fires on 40% of its level's rows; false fires sized so that P(y = k | fires) = a
        fire = (true_k & (rng.random(n) < 0.4)) | (~true_k & (rng.random(n) < 0.4 * 0.2 * (1 - a) / a / 0.8))
        L[fire, j] = k
    lm = LabelModel(seed=0).fit(L)
    est = lm.accuracies()
    assert np.abs(est - np.array(acc)).max() < 0.15
    assert est[0] > est[1] and est[2] > est[3] and est[4] > est[5]


def test_deterministic_and_serialisable(tmp_path):
    L, _ = simulate(n=1000)
    a = LabelModel(seed=3).fit(L).predict_proba(L)
    b = LabelModel(seed=3).fit(L).predict_proba(L)
    np.testing.assert_array_equal(a, b)
    lm = LabelModel(seed=3).fit(L)
    lm.save(tmp_path / "lm.json")
    np.testing.assert_allclose(LabelModel.load(tmp_path / "lm.json").predict_proba(L), lm.predict_proba(L))


def test_abstain_without_votes_or_below_threshold():
    L = np.array([[-1, -1], [2, -1], [0, 4]])
    assert MajorityVote().predict(L)[0] == -1
    level, conf = MajorityVote(threshold=0.6).predict_with_confidence(L)
    assert level.tolist() == [-1, 2, -1] and conf[1] > 0.6
    assert StrongestVote().predict(L).tolist() == [-1, 2, 4]
    assert MajorityVote(tie_break="lowest").predict(L).tolist() == [-1, 2, 0]
    lm = LabelModel().fit(np.array([[2, -1], [0, 4], [4, 4], [-1, -1]]))
    assert lm.predict(L)[0] == -1


def test_input_validation():
    with pytest.raises(ValueError, match="2-D"):
        MajorityVote().predict(np.array([1, 2]))
    with pytest.raises(ValueError, match="-1 \\(abstain\\) or 0-4"):
        MajorityVote().predict(np.array([[7]]))
    with pytest.raises(RuntimeError, match="not fitted"):
        LabelModel().predict(np.array([[1]]))
    assert vote_counts(np.array([[1, 1, -1]])).tolist() == [[0, 2, 0, 0, 0]]
