"""The multilingual head's recipe (training/train_multilingual.py): how it chooses a configuration."""

import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "training"))
import train_multilingual as recipe  # noqa: E402


def row(name, qwk, same):
    return {"configuration": name, recipe.DEV_QWK: qwk, recipe.DEV_SAME: same}


def test_the_best_agreement_within_the_qwk_tolerance_wins():
    results = [row("best QWK", 0.77, 0.60), row("near it, agrees more", 0.76, 0.66), row("far below", 0.70, 0.80)]
    assert recipe.choose(results) == "near it, agrees more"


def test_a_configuration_below_the_tolerance_never_wins_on_agreement():
    results = [row("best QWK", 0.77, 0.60), row("just outside", 0.77 - recipe.QWK_TOLERANCE - 0.001, 0.99)]
    assert recipe.choose(results) == "best QWK"


def test_one_configuration_is_chosen():
    assert recipe.choose([row("only", 0.5, 0.5)]) == "only"


def test_a_tie_goes_to_the_configuration_listed_first():
    assert recipe.choose([row("simpler", 0.76, 0.70), row("larger", 0.76, 0.70)]) == "simpler"
