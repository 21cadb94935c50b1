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
    maxima = activation_maxima(clf.network, _windows(clf, texts[:8]))
    assert set(maxima) == {f"{i}.{m}" for i in (0, 1) for m in ("qkv", "attention_out", "ffn_in", "ffn_out")}
    net = smoothed(clf.network, maxima, alpha=0.8)
    enc = clf.encode(texts)
    ids = torch.tensor(enc.windows[0])[None]
    with torch.no_grad():
        torch.testing.assert_close(net(ids, torch.ones_like(ids)), clf.network(ids, torch.ones_like(ids)),
                                   atol=1e-4, rtol=1e-4)

    def spread(m):  # the largest channel over the median channel
        return float(m.max() / m.median())

    after = activation_maxima(net, _windows(clf, texts[:8]))
    assert spread(after["0.qkv"]) < spread(maxima["0.qkv"]) / 2
    assert all(spread(after[k]) <= spread(maxima[k]) + 1e-6 for k in maxima)
    # the original is untouched
    assert activation_maxima(clf.network, _windows(clf, texts[:8]))["0.qkv"].equal(maxima["0.qkv"])


def test_smoothing_checks_its_arguments(tiny_classifier, texts):
    with pytest.raises(ValueError, match="at least one calibration window"):
        activation_maxima(tiny_classifier.network, [])
    maxima = activation_maxima(tiny_classifier.network, _windows(tiny_classifier, texts[:2]))
    with pytest.raises(ValueError, match=r"alpha must be in \[0, 1\]"):
        smoothed(tiny_classifier.network, maxima, alpha=1.5)


def test_maxima_round_trip_and_an_altered_file_is_refused(tmp_path, tiny_classifier, texts):
    maxima = activation_maxima(tiny_classifier.network, _windows(tiny_classifier, texts[:4]))
    sha = save_maxima(maxima, tmp_path / "m.safetensors")
    back = load_maxima(tmp_path / "m.safetensors", sha)
    assert set(back) == set(maxima) and all(back[k].equal(maxima[k]) for k in maxima)
    save_maxima({k: v * 2 for k, v in maxima.items()}, tmp_path / "m.safetensors")
    with pytest.raises(ChecksumError, match="m.safetensors"):
        load_maxima(tmp_path / "m.safetensors", sha)


def test_onnx_int8_of_the_smoothed_network_stays_close_to_fp32(outlier_model_dir, texts, tmp_path):
    """The smoothed graph is quantised like the plain one and carries only int8's error (a wrong
    axis or a lost scale would move the logits by their own size). That it reads better than the
    plain graph is a property of real encoders, measured in benchmarks/int8_recipes.py."""
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
    with pytest.raises(ValueError, match="onnx-int8 backend only"):
        backends.apply_backend(ToneClassifier.from_pretrained(outlier_model_dir), "int8", smoothing=smoothing)


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
