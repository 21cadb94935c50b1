"""The multilingual scorer's recipe (training/train_multilingual.py): choosing, calibrating a network, writing."""

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


def test_networks_are_chosen_on_agreement_with_their_own_reading_of_the_original():
    results = [{"configuration": "seed 42", recipe.DEV_QWK: 0.77, recipe.DEV_SAME_SELF: 0.80},
               {"configuration": "seed 1", recipe.DEV_QWK: 0.76, recipe.DEV_SAME_SELF: 0.83}]
    assert recipe.choose(results, same=recipe.DEV_SAME_SELF) == "seed 1"


def test_a_network_gets_a_temperature_per_language_that_keeps_its_levels():
    import numpy as np

    rng = np.random.default_rng(0)
    levels = rng.integers(0, 5, 200)
    logits = {lang: 3 * np.eye(5)[levels] + rng.normal(size=(200, 5)) * k for k, lang in enumerate(recipe.LANGS, 1)}
    calibrators, choice = recipe.calibrate_to_levels(logits, levels)
    assert set(calibrators) == set(recipe.LANGS) | {"default"}
    temperatures = [choice[lang]["temperature"] for lang in recipe.LANGS]
    assert temperatures == sorted(temperatures) and len(set(temperatures)) == 4  # noisier logits: softer
    for lang in recipe.LANGS:
        assert (calibrators[lang].transform(logits[lang]).argmax(1) == logits[lang].argmax(1)).all()


def test_the_scorer_folder_is_replaced_whole_and_nothing_else_is(tmp_path):
    import json

    import pytest

    class Scorer:
        def __init__(self, files):
            self.files = files

        def save(self, folder, info):
            folder.mkdir()
            (folder / "config.json").write_text(json.dumps({"calibration": {}, **info}))
            for name in self.files:
                (folder / name).write_text(name)

    out = tmp_path / "multilingual"
    recipe.write_scorer(Scorer(["head.safetensors"]), out, {"n": 1})
    recipe.write_scorer(Scorer(["network"]), out, {"n": 2})
    assert sorted(p.name for p in out.iterdir()) == ["config.json", "network"]
    assert sorted(p.name for p in tmp_path.iterdir()) == ["multilingual"]

    class Failing(Scorer):
        def save(self, folder, info):
            raise OSError("disk full")

    with pytest.raises(OSError):
        recipe.write_scorer(Failing([]), out, {})
    assert json.loads((out / "config.json").read_text())["n"] == 2  # a failed save leaves the scorer as it was
    model = tmp_path / "model"
    model.mkdir()
    (model / "model.safetensors").write_text("weights")
    with pytest.raises(SystemExit, match="something other than a multilingual scorer"):
        recipe.write_scorer(Scorer([]), model, {})
    assert (model / "model.safetensors").read_text() == "weights"
