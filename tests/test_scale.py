import numpy as np
import pytest

from tonecls.scale import LEVELS, id2label, label2id, level_from_label, level_from_score, score_from_probabilities


def test_levels_are_ordered_cautious_to_confrontational():
    assert LEVELS == ("cautious", "measured", "firm", "assertive", "confrontational")
    assert id2label() == dict(enumerate(LEVELS))
    assert label2id() == {name: i for i, name in enumerate(LEVELS)}


@pytest.mark.parametrize("value, expected", [("firm", 2), (" Assertive ", 3), (4, 4), ("0", 0), (np.int64(1), 1), (3.0, 3)])
def test_level_from_label_accepts_names_and_ids(value, expected):
    assert level_from_label(value) == expected


@pytest.mark.parametrize("value", ["hostile", 5, -1, 2.5, None, True, "", "²", "٣"])
def test_level_from_label_lists_valid_choices(value):
    with pytest.raises(ValueError, match="cautious"):
        level_from_label(value)


def test_score_is_expected_level_over_four_and_monotone():
    one_hot = np.eye(5)
    assert np.allclose(score_from_probabilities(one_hot), [0, 0.25, 0.5, 0.75, 1.0])
    rng = np.random.default_rng(0)
    p = rng.dirichlet(np.ones(5), size=200)
    s = score_from_probabilities(p)
    assert np.all((s >= 0) & (s <= 1))
    # Moving mass one level up always raises the score.
    moved = p[:, :-1] * 0.5
    q = p.copy()
    q[:, :-1] -= moved
    q[:, 1:] += moved
    assert np.allclose(q.sum(1), 1)
    assert np.all(score_from_probabilities(q) > s)


def test_level_from_score_round_trip():
    for k in range(5):
        assert level_from_score(k / 4) == k
    with pytest.raises(ValueError):
        level_from_score(1.2)


def test_score_from_probabilities_checks_width():
    with pytest.raises(ValueError, match="5 probabilities"):
        score_from_probabilities([0.5, 0.5])
