"""Fast backends: agreement with torch fp32 on the tiny model, the guard, auto selection, caching."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

from tonecls import backends as fast
from tonecls import graphs
from tonecls import start
from tonecls.classifier import ToneClassifier

from tiny_models import EXAMPLES

pytest.importorskip("onnxruntime", reason="the onnx backends need onnxruntime (pip install 'tonecls[fast]')")

TEXTS = [t for k in sorted(EXAMPLES) for t in EXAMPLES[k]]
LONG = " ".join(TEXTS)  # several windows in the tiny model
ROOT = Path(__file__).resolve().parent.parent


@pytest.fixture(autouse=True)
def _cache(tmp_path, monkeypatch):
    monkeypatch.setenv("TONECLS_CACHE", str(tmp_path / "cache"))


@pytest.fixture
def texts():
    rng = np.random.default_rng(0)
    words = " ".join(TEXTS).split()
    extra = [" ".join(rng.choice(words, size=rng.integers(4, 40))) for _ in range(150)]
    return TEXTS + [LONG] + extra


def test_onnx_matches_torch(tiny_model_dir, texts):
    ref = ToneClassifier.from_pretrained(tiny_model_dir)
    clf = ToneClassifier.from_pretrained(tiny_model_dir, backend="onnx")
    assert clf.backend == "onnx" and ref.backend == "torch"
    np.testing.assert_allclose(clf.predict_logits(texts), ref.predict_logits(texts), atol=1e-5)
    a, b = clf.score(LONG), ref.score(LONG)
    assert a.windows == b.windows > 1 and a.level == b.level
    assert list(Path(fast.cache_dir(), "onnx").glob("*-fp32.onnx"))


@pytest.mark.parametrize("backend", ["int8", "onnx-int8"])
def test_int8_agrees_and_the_guard_closes_the_gap(tiny_model_dir, texts, backend):
    ref = ToneClassifier.from_pretrained(tiny_model_dir)
    ref_logits = ref.predict_logits(texts)
    levels = ref_logits.argmax(1)
    plain = ToneClassifier.from_pretrained(tiny_model_dir, backend=backend)
    logits = plain.predict_logits(texts)
    assert not np.array_equal(logits, ref_logits)  # it is quantised
    # Bounds relative to the logits' scale, not absolute numbers: int8 error depends on the CPU's
    # instruction set (u8s8 products saturate without VNNI) and on the library version. On this
    # random 32-wide model onnx-int8 moves logits by up to ~0.9 of their spread (AVX2), torch int8 far less.
    err = np.abs(logits - ref_logits)
    scale = ref_logits.std()
    assert err.max() < 1.5 * scale and err.mean() < 0.25 * scale, (err.max(), err.mean(), scale)
    assert np.mean(logits.argmax(1) == levels) >= 0.7  # a random tiny head: many near-ties
    # every flip is a near-tie: a level changes only where fp32's margin is within twice the error
    top2 = np.sort(ref_logits, axis=1)[:, -2:]
    flipped = logits.argmax(1) != levels
    assert np.all(top2[flipped, 1] - top2[flipped, 0] < 2 * err.max())
    # a guard of twice the largest error re-runs every possible flip: all levels agree
    closing = fast.apply_backend(ToneClassifier.from_pretrained(tiny_model_dir), backend, guard=2 * float(err.max()))
    assert np.array_equal(closing.predict_logits(texts).argmax(1), levels)
    # a guard wider than any margin re-runs every window: exactly the fp32 levels
    everything = fast.apply_backend(ToneClassifier.from_pretrained(tiny_model_dir), backend, guard=1e9)
    assert everything.backend == f"{backend}+guard1e+09"
    np.testing.assert_allclose(everything.predict_logits(texts), ref_logits, atol=1e-5)
    assert everything.guard_stats["rerun"] == everything.guard_stats["windows"]
    # a moderate guard re-runs only the near-ties and agrees at least as well as plain int8
    some = fast.apply_backend(ToneClassifier.from_pretrained(tiny_model_dir), backend, guard=0.05)
    got = some.predict_logits(texts).argmax(1)
    assert 0 < some.guard_stats["rerun"] < some.guard_stats["windows"]
    assert np.mean(got == levels) >= np.mean(logits.argmax(1) == levels)


def test_head_stays_fp32_and_exclude_keeps_layers(tiny_classifier):
    import torch

    q = fast.torch_int8_network(tiny_classifier.network)
    assert isinstance(q.head, torch.nn.Linear)
    dense = q.encoder.encoder.layer[1].output.dense
    assert not isinstance(dense, torch.nn.Linear)
    kept = fast.torch_int8_network(tiny_classifier.network, exclude=("head", "encoder.encoder.layer.1"))
    assert isinstance(kept.encoder.encoder.layer[1].output.dense, torch.nn.Linear)
    assert not isinstance(kept.encoder.encoder.layer[0].output.dense, torch.nn.Linear)
    assert graphs._module_to_node_prefix("encoder.encoder.layer.5.output.dense") == "/encoder/encoder/layer.5/output/dense/"


def test_auto_uses_a_record_only_for_the_same_weights(tiny_model_dir, tiny_classifier):
    clf = ToneClassifier.from_pretrained(tiny_model_dir, backend="auto")
    assert clf.backend == "onnx" and "no agreement record" in clf.backend_options["reason"]
    record = {"recommended": {"backend": "onnx-int8", "guard": 0.5, "agreement": 0.996}, "data": "gold test"}
    fast.save_agreement_record(ToneClassifier.from_pretrained(tiny_model_dir), record)
    clf = ToneClassifier.from_pretrained(tiny_model_dir, backend="auto")
    assert clf.backend == "onnx-int8+guard0.5" and "99.60%" in clf.backend_options["reason"]
    # below target: not used
    fast.save_agreement_record(clf, {"recommended": {"backend": "onnx-int8", "guard": 0.0, "agreement": 0.97}})
    assert ToneClassifier.from_pretrained(tiny_model_dir, backend="auto").backend == "onnx"
    # a record in the model folder wins, and is tied to the weights
    fast.save_agreement_record(clf, record, to_model_folder=True)
    assert json.loads((tiny_model_dir / "fast.json").read_text())["weights_key"] == fast.weights_key(clf)
    assert ToneClassifier.from_pretrained(tiny_model_dir, backend="auto").backend.startswith("onnx-int8")
    import torch

    with torch.no_grad():
        tiny_classifier.network.head.bias += 0.5
    other = tiny_classifier.save_pretrained(tiny_model_dir.parent / "other")
    (other / "fast.json").write_text((tiny_model_dir / "fast.json").read_text())  # copied, wrong weights
    assert ToneClassifier.from_pretrained(other, backend="auto").backend == "onnx"


def test_export_is_cached_and_keyed_by_weights(tiny_model_dir, tiny_classifier):
    a = ToneClassifier.from_pretrained(tiny_model_dir)
    path = fast.export_onnx(a)
    mtime = path.stat().st_mtime_ns
    assert fast.export_onnx(ToneClassifier.from_pretrained(tiny_model_dir)) == path
    assert path.stat().st_mtime_ns == mtime
    import torch

    with torch.no_grad():
        tiny_classifier.network.head.weight.mul_(2)
    assert fast.export_onnx(tiny_classifier) != path


def test_int8_weights_are_7_bit_where_the_processor_has_no_int8_dot_product(tiny_model_dir, monkeypatch):
    # without VNNI, ONNX Runtime's u8 x s8 products saturate int16 sums: 7-bit weights avoid it
    clf = ToneClassifier.from_pretrained(tiny_model_dir)
    graph = {}
    for kind in ("x86_64-avx2", "x86_64-avx512", "x86_64-avx512-vnni", "x86_64-amx"):
        monkeypatch.setattr(graphs, "cpu_kind", lambda kind=kind: kind)
        graph[kind] = fast.quantize_onnx(clf)
    assert graph["x86_64-avx2"] == graph["x86_64-avx512"] == fast.quantize_onnx(clf, reduce_range=True)
    assert graph["x86_64-avx512-vnni"] == graph["x86_64-amx"] == fast.quantize_onnx(clf, reduce_range=False)
    assert graph["x86_64-avx2"] != graph["x86_64-amx"]


def test_backend_names_are_checked(tiny_model_dir):
    with pytest.raises(ValueError, match="Unknown backend 'gpu'"):
        ToneClassifier.from_pretrained(tiny_model_dir, backend="gpu")
    clf = ToneClassifier.from_pretrained(tiny_model_dir, backend="onnx")
    fast.apply_backend(clf, "torch")
    assert clf.backend == "torch" and "_forward" not in clf.__dict__


def test_agreement_command_writes_the_record(tmp_path, tiny_model_dir, texts, monkeypatch):
    data = tmp_path / "gold.jsonl"
    data.write_text("".join(json.dumps({"text": t, "level": i % 5, "split": "test" if i % 4 else "dev"}) + "\n"
                            for i, t in enumerate(texts)))
    out = subprocess.run([sys.executable, str(ROOT / "benchmarks" / "agreement.py"), str(tiny_model_dir),
                          "--data", str(data), "--split", "test", "--threads", "1", "--guards", "0,1e9",
                          "--save", "--to-model-folder"], capture_output=True, text=True, cwd=ROOT,
                         env={**__import__("os").environ, "OMP_NUM_THREADS": "1"})
    assert out.returncode == 0, out.stderr
    assert "recommended:" in out.stdout
    record = json.loads((tiny_model_dir / "fast.json").read_text())
    assert record["recommended"]["agreement"] >= 0.995 and record["recommended"]["checked_agreement"] >= 0.995
    assert "n=" in record["data"] and record["results"]["onnx"]["by_guard"][0]["agreement"] == 1.0


def test_worker_spec_scores_the_same_without_torch(tmp_path, tiny_model_dir, texts):
    clf = ToneClassifier.from_pretrained(tiny_model_dir, backend="onnx-int8")
    fast.apply_backend(clf, "onnx-int8", guard=0.5, threads=1)
    spec = start.ort_worker_spec(clf)
    assert start.ort_worker_spec(ToneClassifier.from_pretrained(tiny_model_dir)) is None  # torch: none
    (tmp_path / "spec.json").write_text(json.dumps(spec))
    (tmp_path / "texts.json").write_text(json.dumps(texts))
    code = ("import json, sys; from tonecls.classifier import classifier_from_spec; "
            f"clf = classifier_from_spec(json.load(open({str(tmp_path / 'spec.json')!r})), threads=1); "
            f"z = clf.predict_logits(json.load(open({str(tmp_path / 'texts.json')!r}))); "
            "assert 'torch' not in sys.modules, 'torch was imported'; print(json.dumps(z.tolist()))")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, cwd=ROOT,
                         env={**__import__("os").environ, "OMP_NUM_THREADS": "1", "PYTHONPATH": str(ROOT)})
    assert out.returncode == 0, out.stderr
    np.testing.assert_array_equal(np.array(json.loads(out.stdout), dtype=np.float32), clf.predict_logits(texts))


def test_onnx_int8_keeps_excluded_layers_fp32(tiny_model_dir):
    import onnx

    def matmuls(path):
        return {n.name for n in onnx.load(str(path)).graph.node if n.op_type in ("MatMul", "Gemm")}

    clf = ToneClassifier.from_pretrained(tiny_model_dir)
    linears = ("attention/self/query", "attention/self/key", "attention/self/value", "attention/output/dense",
               "intermediate/dense", "output/dense")
    # ONNX node names follow the module paths (BertModel's), which is what `exclude` matches.
    layer = {i: {f"{graphs._module_to_node_prefix(f'encoder.encoder.layer.{i}')}{m}/MatMul" for m in linears} for i in (0, 1)}
    assert layer[0] | layer[1] <= matmuls(fast.export_onnx(clf))
    kept = matmuls(fast.quantize_onnx(clf, exclude=("head", "encoder.encoder.layer.1")))
    assert layer[1] <= kept and not layer[0] & kept


def test_score_bulk_and_the_command_share_one_backend_choice(tmp_path, tiny_model_dir, texts, monkeypatch, capsys):
    """tonecls.score(), score_archive and `tonecls score` use backends.DEFAULT_BACKEND: same backend, same levels."""
    import pyarrow.parquet as pq

    from tonecls import classifier
    from tonecls.bulk import score_archive
    from tonecls.cli import main

    record = {"recommended": {"backend": "onnx-int8", "guard": 0.0, "agreement": 0.995}, "data": "made up"}
    fast.save_agreement_record(ToneClassifier.from_pretrained(tiny_model_dir), record, to_model_folder=True)
    monkeypatch.setenv("TONECLS_MODEL", str(tiny_model_dir))
    monkeypatch.setattr(classifier, "_default", None)
    scores = classifier.score(texts)
    assert fast.DEFAULT_BACKEND == "auto" and classifier.load_default().backend == "onnx-int8"
    data = tmp_path / "in.jsonl"
    data.write_text("".join(json.dumps({"text": t}) + "\n" for t in texts))
    summary = score_archive(data, tmp_path / "out.parquet", progress=False, log=lambda m: None)
    table = pq.read_table(tmp_path / "out.parquet")
    assert summary.backend == "onnx-int8"
    assert table.column("level").to_pylist() == [s.level for s in scores]
    np.testing.assert_allclose(table.column("score").to_numpy(), [s.score for s in scores], rtol=0, atol=1e-9)
    assert main(["score", texts[3], "--json"]) == 0
    one = json.loads(capsys.readouterr().out)
    assert one["backend"] == "onnx-int8" and one["level"] == scores[3].level
    assert main(["score", texts[3], "--json", "--backend", "torch"]) == 0
    assert json.loads(capsys.readouterr().out)["backend"] == "torch"


def test_a_second_process_starts_without_torch_and_scores_the_same(tmp_path, tiny_model_dir, texts):
    from tonecls.classifier import load_for_scoring

    first = load_for_scoring(tiny_model_dir, "onnx-int8", guard=0.5, threads=1)
    assert "torch" not in first.backend and start.load_start(tiny_model_dir, {"backend": "onnx-int8", "guard": 0.5})
    (tmp_path / "texts.json").write_text(json.dumps(texts))
    code = ("import json, sys; from tonecls.classifier import load_for_scoring; "
            f"clf = load_for_scoring({str(tiny_model_dir)!r}, 'onnx-int8', guard=0.5, threads=1); "
            f"z = clf.predict_proba(json.load(open({str(tmp_path / 'texts.json')!r}))); "
            "assert 'torch' not in sys.modules, 'torch was imported'; "
            "print(json.dumps({'p': z.tolist(), 'backend': clf.backend}))")
    env = {**__import__("os").environ, "OMP_NUM_THREADS": "1", "PYTHONPATH": str(ROOT)}
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, cwd=ROOT, env=env)
    assert out.returncode == 0, out.stderr
    got = json.loads(out.stdout)
    assert got["backend"] == first.backend == "onnx-int8+guard0.5"
    np.testing.assert_array_equal(np.array(got["p"]), first.predict_proba(texts))


def test_a_fast_start_repeats_the_warning_of_a_distrusted_agreement_record(tiny_model_dir, caplog, monkeypatch):
    from tonecls.classifier import load_for_scoring

    clf = ToneClassifier.from_pretrained(tiny_model_dir)
    record = fast.save_agreement_record(clf, {"recommended": {"backend": "onnx-int8", "guard": 0.5, "agreement": 0.996}},
                                        to_model_folder=True)
    record.write_text(json.dumps({**json.loads(record.read_text()), "cpu": "x86_64-made-up"}))
    for expect_fast_start in (False, True):  # the process that builds the start, then one that reuses it
        monkeypatch.setattr(fast, "_notified", set())
        caplog.clear()
        with caplog.at_level("WARNING", logger="tonecls"):
            clf = load_for_scoring(tiny_model_dir, "auto")
        assert isinstance(clf.network, start.NoNetwork) is expect_fast_start and clf.backend == "onnx"
        notices = [r.getMessage() for r in caplog.records if r.name == "tonecls"]
        assert len(notices) == 1 and "x86_64-made-up processor" in notices[0], notices


def test_the_fast_start_follows_the_files_and_loads_the_network_on_use(tiny_model_dir, texts):
    from tonecls.classifier import load_for_scoring

    request = {"backend": "onnx", "guard": None}
    reference = ToneClassifier.from_pretrained(tiny_model_dir)
    load_for_scoring(tiny_model_dir, "onnx")
    started = load_for_scoring(tiny_model_dir, "onnx")
    assert isinstance(started.network, start.NoNetwork) and started.path == tiny_model_dir
    np.testing.assert_allclose(started.predict_proba(texts), reference.predict_proba(texts), atol=1e-5)
    # the network is there when asked for (torch is imported then), and equals the folder's
    state = started.network.state_dict()
    assert all(np.array_equal(state[k].numpy(), v.numpy()) for k, v in reference.network.state_dict().items())
    saved = started.save_pretrained(tiny_model_dir.parent / "copy")
    np.testing.assert_allclose(ToneClassifier.from_pretrained(saved).predict_proba(texts), reference.predict_proba(texts))
    # an altered cached graph is refused with the fix; a deleted one is built again by a full load
    from tonecls.exceptions import ChecksumError

    graph = Path(start.load_start(tiny_model_dir, request)["fast"])
    graph.write_bytes(graph.read_bytes() + b"\0")
    with pytest.raises(ChecksumError, match="altered or damaged. Delete it"):
        load_for_scoring(tiny_model_dir, "onnx")
    graph.unlink()
    assert start.load_start(tiny_model_dir, request) is None
    assert not isinstance(load_for_scoring(tiny_model_dir, "onnx").network, start.NoNetwork)  # exported again
    assert start.load_start(tiny_model_dir, request) is not None
    # a folder file changed: no cached start
    config = tiny_model_dir / "config.json"  # (here: a space) is another key
    config.write_text(config.read_text() + " ")
    assert start.load_start(tiny_model_dir, request) is None
    assert start.load_start(tiny_model_dir, {"backend": "onnx-int8", "guard": None}) is None  # another request
    assert start.save_start(reference, request) is None  # torch: nothing to cache
