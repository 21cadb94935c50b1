"""tonecls.smoothing: the smoothed network is the same function, int8 reads it better, and the
onnx-int8 backend builds, records and restarts it (tiny random models)."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
import torch

from tonecls import backends, start
from tonecls.classifier import ToneClassifier
from tonecls.exceptions import ChecksumError
from tonecls.smoothing import activation_maxima, load_maxima, save_maxima, smoothed
from tiny_models import EXAMPLES

ROOT = Path(__file__).resolve().parent.parent
pytest.importorskip("onnxruntime")


@pytest.fixture(autouse=True)
def _cache(tmp_path, monkeypatch):
    monkeypatch.setenv("TONECLS_CACHE", str(tmp_path / "cache"))


@pytest.fixture
def texts():
    rng = np.random.default_rng(0)
    words = " ".join(t for level in EXAMPLES.values() for t in level).split()
    return [" ".join(rng.choice(words, size=rng.integers(4, 30))) for _ in range(60)]


def _windows(clf, texts):
    return [torch.tensor(w) for w in clf.encode(texts).windows]


@pytest.fixture
def outlier_model_dir(tmp_path, tiny_classifier):
    """The tiny model with two hidden channels 30x larger after the embeddings' LayerNorm: the
    outliers BERT encoders have, which make one int8 scale per window too coarse for the rest."""
    with torch.no_grad():
        norm = tiny_classifier.network.encoder.embeddings.LayerNorm
        norm.weight[:2] *= 30
        norm.bias[:2] *= 30
    return tiny_classifier.save_pretrained(tmp_path / "outliers")


def test_the_smoothed_network_computes_the_same_function_with_flatter_inputs(outlier_model_dir, texts):
    clf = ToneClassifier.from_pretrained(outlier_model_dir)
    before = {k: v.clone() for k, v in clf.network.state_dict().items()}
    maxima = activation_maxima(clf.network, _windows(clf, texts[:8]))
    assert set(maxima) == {f"{i}.{m}" for i in (0, 1) for m in ("qkv", "attention_out", "ffn_in", "ffn_out")}
    net = smoothed(clf.network, maxima, alpha=0.8)
    # a padded batch: the value projection's fold relies on attention staying linear over masked keys
    enc = clf.encode(texts[:6])
    width = max(len(w) for w in enc.windows)
    ids = torch.tensor([w + [0] * (width - len(w)) for w in enc.windows])
    mask = torch.tensor([[1] * len(w) + [0] * (width - len(w)) for w in enc.windows])
    assert (mask == 0).any()
    with torch.no_grad():
        torch.testing.assert_close(net(ids, mask), clf.network(ids, mask), atol=1e-4, rtol=1e-4)

    def spread(m):  # the largest channel over the median channel
        return float(m.max() / m.median())

    after = activation_maxima(net, _windows(clf, texts[:8]))
    assert spread(after["0.qkv"]) < spread(maxima["0.qkv"]) / 2
    assert all(spread(after[k]) <= spread(maxima[k]) + 1e-6 for k in maxima)
    # the original network is untouched: no tensor is shared with the copy
    assert all(torch.equal(before[k], v) for k, v in clf.network.state_dict().items())


def test_smoothing_checks_its_arguments(tiny_classifier, texts):
    with pytest.raises(ValueError, match="at least one calibration window"):
        activation_maxima(tiny_classifier.network, [])
    maxima = activation_maxima(tiny_classifier.network, _windows(tiny_classifier, texts[:2]))
    with pytest.raises(ValueError, match=r"alpha must be in \[0, 1\]"):
        smoothed(tiny_classifier.network, maxima, alpha=1.5)
    with pytest.raises(ValueError, match="do not fit this network"):
        smoothed(tiny_classifier.network, {k: v[:-1] for k, v in maxima.items()})


def test_maxima_round_trip_and_an_altered_or_missing_file_is_refused(tmp_path, tiny_classifier, texts):
    maxima = activation_maxima(tiny_classifier.network, _windows(tiny_classifier, texts[:4]))
    sha = save_maxima(maxima, tmp_path / "m.safetensors")
    back = load_maxima(tmp_path / "m.safetensors", sha)
    assert set(back) == set(maxima) and all(back[k].equal(maxima[k]) for k in maxima)
    assert save_maxima(maxima, tmp_path / "again.safetensors") == sha  # the same maxima, the same bytes
    save_maxima({k: v * 2 for k, v in maxima.items()}, tmp_path / "m.safetensors")
    with pytest.raises(ChecksumError, match="m.safetensors.*named by fast.json.*agreement.py --smooth"):
        load_maxima(tmp_path / "m.safetensors", sha, "fast.json")
    with pytest.raises(ChecksumError, match="missing"):
        load_maxima(tmp_path / "gone.safetensors", sha)


def test_onnx_int8_of_the_smoothed_network_is_its_own_graph_close_to_fp32(outlier_model_dir, texts, tmp_path):
    """The smoothed graph is quantised like the plain one and carries only int8's error (a wrong
    axis or a lost scale would move the logits by their own size). That it reads better than the
    plain graph is a property of real encoders, measured in benchmarks/int8_recipes.py."""
    import onnx

    clf = ToneClassifier.from_pretrained(outlier_model_dir)
    maxima = activation_maxima(clf.network, _windows(clf, texts[:8]))
    file = tmp_path / "m.safetensors"
    smoothing = {"alpha": 0.8, "file": str(file), "sha256": save_maxima(maxima, file)}
    fast = ToneClassifier.from_pretrained(outlier_model_dir)
    backends.apply_backend(fast, "onnx-int8", threads=1, smoothing=smoothing)
    assert fast.backend == "onnx-int8-smooth0.8" and fast.backend_options["smoothing"] == smoothing
    ref, got = clf.predict_logits(texts), fast.predict_logits(texts)
    assert np.abs(got - ref).max() < 0.05 * np.abs(ref).max()
    assert np.mean(got.argmax(1) == ref.argmax(1)) >= 0.9
    # its own cached graph, keyed by alpha and the maxima, with the per-channel multiplies in it
    plain = backends.quantize_onnx(clf)
    smooth = backends.quantize_onnx(clf, smoothing=smoothing)
    other = {**smoothing, "alpha": 0.5}
    assert len({plain, smooth, backends.quantize_onnx(clf, smoothing=other)}) == 3

    def muls(path):
        return sum(n.op_type == "Mul" for n in onnx.load(str(path)).graph.node)

    assert muls(smooth) >= muls(plain) + 2 * 4  # two layers, four smoothed inputs each
    assert not list(Path(backends.cache_dir(), "onnx").glob(".build-*"))  # build folders removed
    with pytest.raises(ValueError, match="onnx-int8 backend only"):
        backends.apply_backend(ToneClassifier.from_pretrained(outlier_model_dir), "int8", smoothing=smoothing)
    # a bulk worker or Ray actor rebuilds the runner from its options: the same smoothed graph
    again = ToneClassifier.from_pretrained(outlier_model_dir)
    options = fast.backend_options
    backends.apply_backend(again, options["backend"], threads=1, **backends.runner_options(options))
    assert again.backend == fast.backend
    np.testing.assert_array_equal(again.predict_logits(texts), got)


def test_the_agreement_record_carries_smoothing_to_auto_and_to_a_torch_free_start(tmp_path, outlier_model_dir, texts):
    data = tmp_path / "dev.jsonl"
    data.write_text("".join(json.dumps({"text": t, "level": i % 5, "split": "dev"}) + "\n" for i, t in enumerate(texts)))
    calibration = tmp_path / "train.jsonl"
    calibration.write_text("".join(json.dumps({"text": t}) + "\n" for t in texts[:8]))
    out = subprocess.run([sys.executable, str(ROOT / "benchmarks" / "agreement.py"), str(outlier_model_dir),
                          "--data", str(data), "--threads", "1", "--guards", "0,1e9", "--backends", "onnx,onnx-int8",
                          "--smooth", "0.8", "--calibration", f"{calibration}:8", "--save", "--to-model-folder"],
                         capture_output=True, text=True, cwd=ROOT, env={**__import__("os").environ, "OMP_NUM_THREADS": "1"})
    assert out.returncode == 0, out.stderr
    rec = json.loads((outlier_model_dir / "fast.json").read_text())["recommended"]
    assert rec["smoothing"]["file"] == "int8-smoothing.safetensors" and rec["smoothing"]["alpha"] == 0.8
    clf = ToneClassifier.from_pretrained(outlier_model_dir, backend="auto")
    assert clf.backend.startswith("onnx-int8-smooth0.8")
    # the torch-free start builds nothing: it runs the same smoothed graph
    spec = start.ort_worker_spec(clf)
    assert spec["fast"] == str(backends.quantize_onnx(clf, smoothing=clf.backend_options["smoothing"]))
    # an altered maxima file is refused with the file named, before any graph is built from it
    (outlier_model_dir / "int8-smoothing.safetensors").write_bytes(b"not the maxima")
    for graph in Path(backends.cache_dir(), "onnx").glob("*int8*"):
        graph.unlink()
    with pytest.raises(ChecksumError, match="int8-smoothing.safetensors"):
        ToneClassifier.from_pretrained(outlier_model_dir, backend="auto")
    # a record whose smoothing entry points outside its folder is not trusted: exact ONNX, with a notice
    record = json.loads((outlier_model_dir / "fast.json").read_text())
    record["recommended"]["smoothing"]["file"] = "../elsewhere.safetensors"
    (outlier_model_dir / "fast.json").write_text(json.dumps(record))
    clf = ToneClassifier.from_pretrained(outlier_model_dir, backend="auto")
    assert clf.backend == "onnx" and "smoothing entry" in clf.backend_options["reason"]
