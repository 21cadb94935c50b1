import json
from pathlib import Path

import numpy as np
import pytest

from tonecls.calibration import softmax
from tonecls.classifier import InvalidInputError, ToneClassifier, ToneScore
from tonecls.encoder import ChecksumError
from tonecls.scale import LEVELS

FIXTURE = Path(__file__).parent / "fixtures" / "tiny-model"


def test_str_gives_one_result_list_gives_list_in_order(tiny_classifier, examples):
    texts, _ = examples
    one = tiny_classifier.score(texts[4])
    many = tiny_classifier.score(texts)
    assert isinstance(one, ToneScore)
    assert isinstance(many, list) and len(many) == len(texts)
    assert many[4].probabilities == pytest.approx(one.probabilities, abs=1e-6)


def test_probabilities_sum_to_one_and_derive_score_level_label(tiny_classifier, examples):
    for r in tiny_classifier.score(examples[0]):
        p = np.array(r.probabilities)
        assert len(p) == len(LEVELS) and p.sum() == pytest.approx(1.0) and np.all(p >= 0)
        assert r.score == pytest.approx(float(p @ np.arange(5)) / 4)
        assert r.level == int(p.argmax()) and r.label == LEVELS[r.level]


def test_batching_and_order_do_not_change_scores(tiny_classifier, examples):
    texts, _ = examples
    a = tiny_classifier.predict_proba(texts, batch_size=64)
    b = tiny_classifier.predict_proba(texts, batch_size=2)
    c = tiny_classifier.predict_proba(texts[::-1], batch_size=3)[::-1]
    assert np.allclose(a, b, atol=1e-5) and np.allclose(a, c, atol=1e-5)


def test_saving_the_same_weights_twice_writes_the_same_bytes(tiny_classifier, tmp_path):
    import subprocess
    import sys

    tiny_classifier.save_pretrained(tmp_path / "a")
    # another process too: safetensors orders several metadata keys differently from one process to the next
    code = ("import sys; from tonecls import ToneClassifier; "
            "ToneClassifier.from_pretrained(sys.argv[1]).save_pretrained(sys.argv[2])")
    subprocess.run([sys.executable, "-c", code, str(tmp_path / "a"), str(tmp_path / "b")], check=True)
    assert (tmp_path / "a" / "model.safetensors").read_bytes() == (tmp_path / "b" / "model.safetensors").read_bytes()


def test_save_load_gives_identical_scores(tiny_classifier, tmp_path, examples):
    tiny_classifier.save_pretrained(tmp_path / "m")
    loaded = ToneClassifier.from_pretrained(tmp_path / "m")
    assert np.array_equal(tiny_classifier.predict_logits(examples[0]), loaded.predict_logits(examples[0]))
    config = json.loads((tmp_path / "m" / "config.json").read_text())
    assert config["labels"] == list(LEVELS) and config["id2label"]["4"] == "confrontational"
    assert "tonecls_version" in config
    assert not list((tmp_path / "m").glob("*.bin")) and not list((tmp_path / "m").glob("*.pkl"))


def test_committed_fixture_keeps_loading():
    clf = ToneClassifier.from_pretrained(FIXTURE)
    assert clf.labels == LEVELS
    r = clf.score("We will take all necessary measures.")
    assert sum(r.probabilities) == pytest.approx(1.0)


def test_tampered_weights_are_refused(tmp_path, tiny_classifier):
    folder = tiny_classifier.save_pretrained(tmp_path / "m")
    ToneClassifier.from_pretrained(folder)  # a file that passed once is checked again after a change
    with open(folder / "model.safetensors", "r+b") as f:
        f.seek(-4, 2)
        f.write(b"\x00\x01\x02\x03")
    with pytest.raises(ChecksumError, match="sha256"):
        ToneClassifier.from_pretrained(folder)


def test_missing_folder_is_a_clear_error(tmp_path):
    with pytest.raises(FileNotFoundError, match="config.json"):
        ToneClassifier.from_pretrained(tmp_path)


@pytest.mark.parametrize("bad, where", [("", "index 0"), ("   \n", "index 0"), (None, "index 0"), (3.5, "index 0")])
def test_bad_single_input(tiny_classifier, bad, where):
    with pytest.raises(InvalidInputError, match=where):
        tiny_classifier.score([bad])


def test_bad_item_in_list_names_its_index(tiny_classifier):
    with pytest.raises(InvalidInputError, match="index 2 is NoneType"):
        tiny_classifier.score(["fine", "also fine", None])
    with pytest.raises(InvalidInputError, match="index 1 is empty"):
        tiny_classifier.score(["fine", " "])


def test_non_iterable_input(tiny_classifier):
    with pytest.raises(InvalidInputError, match="str or a list"):
        tiny_classifier.score(42)
    with pytest.raises(InvalidInputError, match="str or a list"):
        tiny_classifier.predict_proba(42)


def test_predict_proba_str_gives_one_row_list_gives_rows(tiny_classifier):
    one = tiny_classifier.predict_proba("hello")
    assert one.shape == (5,) and abs(one.sum() - 1) < 1e-9
    np.testing.assert_allclose(tiny_classifier.predict_proba(["hello", "We will retaliate."])[0], one, rtol=0, atol=1e-6)
    np.testing.assert_array_equal(one, tiny_classifier.score("hello").probabilities)


def test_labels_must_be_the_scale_in_order(tiny_classifier):
    with pytest.raises(ValueError, match="in order"):
        ToneClassifier(tiny_classifier.network, tiny_classifier.tokenizer, labels=LEVELS[::-1])


def test_delta_folder_without_head_is_refused(tmp_path, tiny_classifier):
    from safetensors.torch import load_file, save_file

    from tonecls.encoder import sha256_file

    folder = tiny_classifier.save_pretrained(tmp_path / "m")
    state = {k: v for k, v in load_file(folder / "model.safetensors").items() if not k.startswith("head.")}
    save_file(state, folder / "model.safetensors")
    config = json.loads((folder / "config.json").read_text())
    config["weights"]["sha256"] = sha256_file(folder / "model.safetensors")
    (folder / "config.json").write_text(json.dumps(config))
    with pytest.raises(RuntimeError, match="head"):
        ToneClassifier.from_pretrained(folder)


def test_long_statement_is_windowed_not_truncated(tiny_classifier):
    clf = tiny_classifier  # 32-token window, stride 8
    calm = "We hope dialogue will continue in a spirit of friendship. " * 12
    enc = clf.encode([calm])
    n_tokens = len(clf.tokenizer.encode(calm, add_special_tokens=False).ids)
    assert len(enc.windows) > 1 and all(len(w) <= clf.max_length for w in enc.windows)
    # Every token is covered by some window.
    covered = sum(len(w) - 2 for w in enc.windows) - clf.stride * (len(enc.windows) - 1)
    assert covered >= n_tokens
    result = clf.score(calm)
    assert result.windows == len(enc.windows)
    # "max" takes the window with the highest expected level; "mean" averages the windows.
    window_probs = clf.calibrated_probabilities(clf.window_logits(enc))
    window_scores = window_probs @ np.arange(5) / 4
    assert result.score == pytest.approx(window_scores.max(), abs=1e-6)
    clf.aggregate = "mean"
    assert clf.score(calm).probabilities == pytest.approx(tuple(window_probs.mean(axis=0)), abs=1e-6)


def test_mean_aggregate_calibrates_once(tiny_classifier):
    from tonecls.calibration import TemperatureScaling

    clf = tiny_classifier
    clf.aggregate = "mean"
    rng = np.random.default_rng(0)
    clf.calibrator = TemperatureScaling().fit(rng.normal(size=(200, 5)) * 3, rng.integers(0, 5, 200))
    text = "We hope dialogue will continue in a spirit of friendship. " * 12
    enc = clf.encode([text])
    raw = clf.window_logits(enc)
    expected = clf.calibrator.transform(np.log(softmax(raw.astype(np.float64)).mean(axis=0, keepdims=True)))
    assert clf.score(text).probabilities == pytest.approx(tuple(expected[0]), abs=1e-6)


def test_invalid_options_list_choices(tiny_classifier):
    with pytest.raises(ValueError, match="max"):
        ToneClassifier(tiny_classifier.network, tiny_classifier.tokenizer, aggregate="median")


def test_thread_safe_concurrent_scoring(tiny_classifier, examples):
    from concurrent.futures import ThreadPoolExecutor

    texts = examples[0]
    expected = tiny_classifier.predict_proba(texts)
    with ThreadPoolExecutor(4) as pool:
        results = list(pool.map(lambda _: np.array([r.probabilities for r in tiny_classifier.score(texts)]), range(8)))
    for r in results:
        assert np.allclose(r, expected, atol=1e-6)


def test_model_with_settings_compact_lacks_loads_with_transformers(tmp_path, tiny_classifier, examples):
    tiny_classifier.save_pretrained(tmp_path / "m")
    config = json.loads((tmp_path / "m" / "config.json").read_text())
    config["encoder"]["hidden_act"] = "silu"
    (tmp_path / "m" / "config.json").write_text(json.dumps(config))
    loaded = ToneClassifier.from_pretrained(tmp_path / "m")
    assert loaded.network.implementation == "transformers"
    assert np.isclose(loaded.predict_proba(examples[0]).sum(axis=1), 1).all()


def test_a_missing_default_model_says_how_to_get_one(monkeypatch, tmp_path):
    from tonecls import classifier
    from tonecls.exceptions import ModelNotFoundError

    monkeypatch.setattr(classifier, "_default", None)
    monkeypatch.setenv("TONECLS_MODEL", str(tmp_path / "nowhere"))
    with pytest.raises(ModelNotFoundError, match="nowhere.*set TONECLS_MODEL"):
        classifier.score("We welcome the agreement.")
    assert classifier._default is None


def test_the_wheel_installs_every_file_of_the_default_model():
    """pyproject's data-files put the default model where default_model_path finds it outside the source tree."""
    import tomllib
    from pathlib import Path

    from tonecls.classifier import DEFAULT_MODEL_DIR

    root = DEFAULT_MODEL_DIR.parents[1]
    data_files = tomllib.loads((root / "pyproject.toml").read_text())["tool"]["setuptools"]["data-files"]
    installed = {}
    for target, patterns in data_files.items():
        for pattern in patterns:
            for f in root.glob(pattern):
                installed[f.relative_to(DEFAULT_MODEL_DIR)] = Path(target).relative_to("share/tonecls/models/tonecls-base")
    files = {f.relative_to(DEFAULT_MODEL_DIR) for f in DEFAULT_MODEL_DIR.rglob("*") if f.is_file()}
    assert files == set(installed), sorted(map(str, files ^ set(installed)))
    assert all(rel.parent == target for rel, target in installed.items())


def test_default_model_path_prefers_the_environment_then_the_source_tree(monkeypatch, tmp_path):
    from tonecls.classifier import DEFAULT_MODEL_DIR, default_model_path

    monkeypatch.setenv("TONECLS_MODEL", str(tmp_path))
    assert default_model_path() == tmp_path
    monkeypatch.delenv("TONECLS_MODEL")
    assert default_model_path() == DEFAULT_MODEL_DIR


def test_xlmr_token_names_frame_every_window_and_survive_save_load(tmp_path):
    """A vocabulary with RoBERTa / XLM-R's special tokens in e5's order (<s> 0, <pad> 1, </s> 2, <unk> 3)
    frames, pads and saves as BERT's does."""
    from tiny_models import XLMR_SPECIALS, build_tiny_classifier

    clf = build_tiny_classifier(specials=XLMR_SPECIALS)
    assert clf.special_ids == (0, 2, 1, 3)  # start, end, padding, unknown
    enc = clf.encode(["We welcome the agreement.", "\u2063"])  # the second has no token: one <unk>
    assert all(w[0] == 0 and w[-1] == 2 for w in enc.windows)
    assert enc.windows[1] == [0, 3, 2]
    texts = ["We welcome the agreement.", "If they proceed we will impose countermeasures."]
    before = np.array([r.probabilities for r in clf.score(texts)])
    alone = np.array([r.probabilities for r in clf.score(texts[1:])])  # no padding in its batch
    np.testing.assert_allclose(before[1:], alone, atol=1e-6)
    clf.save_pretrained(tmp_path / "m")
    after = np.array([r.probabilities for r in ToneClassifier.from_pretrained(tmp_path / "m").score(texts)])
    np.testing.assert_allclose(after, before, atol=1e-6)


def test_tokenizer_without_a_start_token_is_refused_by_name(tiny_model_dir):
    from tiny_models import build_tiny_tokenizer

    from tonecls.exceptions import ModelError

    broken = build_tiny_tokenizer(specials=("[PAD]", "[UNK]", "[BOS]", "[SEP]", "[MASK]"))
    with pytest.raises(ModelError, match=r"no start token \(looked for \[CLS\] or <s>\)"):
        ToneClassifier(ToneClassifier.from_pretrained(tiny_model_dir).network, broken)
