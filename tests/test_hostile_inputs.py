"""Regression tests for issue 11: hostile but realistic inputs, paths and runs.

Each test reproduces one case of the issue (which failed or crashed before) and checks the
answer that docs/bulk.md ("Errors and guarantees") promises.
"""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest

from tonecls import fast
from tonecls.classifier import ToneClassifier

from tiny_models import EXAMPLES

TEXTS = [t for k in sorted(EXAMPLES) for t in EXAMPLES[k]]
ROOT = Path(__file__).resolve().parent.parent


@pytest.fixture(autouse=True)
def _cache(tmp_path, monkeypatch):
    monkeypatch.setenv("TONECLS_CACHE", str(tmp_path / "cache"))
    monkeypatch.setenv("OMP_NUM_THREADS", "1")


@pytest.fixture
def one_torch_thread():
    """Tiny models run ~10x faster on one torch thread when the machine is busy."""
    import torch

    before = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(before)


def varied_texts(n: int = 90) -> list[str]:
    """Statements of 3 to ~60 words (the longest need several windows of the tiny model)."""
    rng = np.random.default_rng(1)
    words = " ".join(TEXTS).split()
    out = list(TEXTS)
    while len(out) < n:
        out.append(" ".join(rng.choice(words, size=int(rng.integers(3, 60)))))
    return out


# ---------------------------------------------------------------------------- batch independence
# fp32 backends differ between batch shapes only by float rounding (~1e-7 in the logits); the int8
# backends run every window alone, so their numbers are exactly equal. Guarded int8 re-runs near-ties
# in fp32 (batched), so it inherits the fp32 tolerance.
TOLERANCE = 1e-5
BACKENDS = [("torch", None), ("onnx", None), ("int8", None), ("onnx-int8", None), ("int8", 0.3), ("onnx-int8", 0.3)]


@pytest.mark.parametrize("backend,guard", BACKENDS, ids=[f"{b}{'+guard' if g else ''}" for b, g in BACKENDS])
def test_scores_do_not_depend_on_the_batch(tiny_model_dir, one_torch_thread, backend, guard):
    if backend.startswith("onnx"):
        pytest.importorskip("onnxruntime")
    # onnx-int8 with 2 threads runs rows concurrently (the pooled path); torch stays on one thread
    threads = 2 if backend.startswith("onnx") else 1
    clf = fast.apply_backend(ToneClassifier.from_pretrained(tiny_model_dir), backend, guard=guard, threads=threads)
    texts = varied_texts()
    assert max(clf.encode(texts).owner.count(i) for i in range(len(texts))) > 1  # some have several windows

    def table(results):
        return (np.array([r.level for r in results]), np.array([r.score for r in results]),
                np.array([r.probabilities for r in results]))

    alone = table([clf.score(t) for t in texts])
    runs = {f"batch {b}": table(clf.score(texts, batch_size=b)) for b in (1, 7, 64)}
    perm = np.random.default_rng(0).permutation(len(texts))
    for b in (7, 64):
        shuffled = clf.score([texts[i] for i in perm], batch_size=b)
        back = [None] * len(texts)
        for j, i in enumerate(perm):
            back[i] = shuffled[j]
        runs[f"shuffled, batch {b}"] = table(back)
    for name, (levels, scores, probs) in runs.items():
        assert np.array_equal(levels, alone[0]), name
        np.testing.assert_allclose(scores, alone[1], rtol=0, atol=TOLERANCE, err_msg=name)
        np.testing.assert_allclose(probs, alone[2], rtol=0, atol=TOLERANCE, err_msg=name)
    if backend in ("int8", "onnx-int8") and not guard:  # the network's outputs are bit-for-bit the same
        single = np.concatenate([clf.predict_logits([t]) for t in texts])
        for b in (1, 7, 64):
            np.testing.assert_array_equal(clf.predict_logits(texts, batch_size=b), single)


def test_int8_rows_do_not_depend_on_threads_and_batched_int8_would(tiny_model_dir):
    pytest.importorskip("onnxruntime")
    texts = varied_texts()
    one = fast.apply_backend(ToneClassifier.from_pretrained(tiny_model_dir), "onnx-int8", threads=1)
    two = fast.apply_backend(ToneClassifier.from_pretrained(tiny_model_dir), "onnx-int8", threads=2)
    np.testing.assert_array_equal(one.predict_logits(texts, batch_size=64), two.predict_logits(texts, batch_size=5))
    # what the issue measured: batched dynamic int8 scales activations by the whole batch
    batched = fast.apply_backend(ToneClassifier.from_pretrained(tiny_model_dir), "onnx-int8", independent=False)
    assert batched.backend == "onnx-int8-batched"
    a, b = batched.predict_logits(texts, batch_size=64), batched.predict_logits(texts, batch_size=1)
    assert np.abs(a - b).max() > 1e-3


def test_bulk_chunk_size_does_not_change_scores(tmp_path, tiny_model_dir):
    pytest.importorskip("onnxruntime")
    import pyarrow.parquet as pq

    from tonecls.bulk import PROB_COLUMNS, score_archive

    path = tmp_path / "in.jsonl"
    path.write_text("".join(json.dumps({"id": i, "text": t}) + "\n" for i, t in enumerate(varied_texts())))
    outs = []
    for chunk, batch in ((7, 3), (64, 64)):
        out = tmp_path / f"out-{chunk}.parquet"
        score_archive(path, out, model=tiny_model_dir, backend="onnx-int8", chunk_size=chunk, batch_size=batch,
                      progress=False, log=lambda m: None)
        outs.append(pq.read_table(out))
    for col in ("level", "score", *PROB_COLUMNS):
        assert outs[0].column(col).equals(outs[1].column(col)), col


# ---------------------------------------------------------------------------- runtime versions
def test_auto_trusts_an_agreement_record_only_on_its_runtime(tiny_model_dir, caplog, monkeypatch):
    pytest.importorskip("onnxruntime")
    rec = {"recommended": {"backend": "onnx-int8", "guard": 0.5, "agreement": 0.996}, "data": "gold test"}
    clf = ToneClassifier.from_pretrained(tiny_model_dir)
    path = fast.save_agreement_record(clf, rec, to_model_folder=True)
    saved = json.loads(path.read_text())
    assert saved["runtime"] == fast.runtime_versions() and saved["runtime"]["onnxruntime"]
    assert saved["export_version"] and saved["independent_rows"] is True
    assert ToneClassifier.from_pretrained(tiny_model_dir, backend="auto").backend == "onnx-int8+guard0.5"
    # a record that names no runtime (as models/tonecls-base/fast.json did): exact backend, one-line notice
    path.write_text(json.dumps({k: v for k, v in saved.items() if k != "runtime"}))
    monkeypatch.setattr(fast, "_notified", set())
    with caplog.at_level("WARNING", logger="tonecls"):
        auto = ToneClassifier.from_pretrained(tiny_model_dir, backend="auto")
    assert auto.backend == "onnx" and "names no runtime versions" in auto.backend_options["reason"]
    notices = [r.getMessage() for r in caplog.records if r.name == "tonecls"]
    assert len(notices) == 1 and "\n" not in notices[0] and "names no runtime versions" in notices[0]
    # measured on another onnxruntime: not trusted either, and the notice names both versions
    other = {**saved, "runtime": {**saved["runtime"], "onnxruntime": "1.24.4"}}
    path.write_text(json.dumps(other))
    auto = ToneClassifier.from_pretrained(tiny_model_dir, backend="auto")
    assert auto.backend == "onnx" and "onnxruntime 1.24.4 (installed: " in auto.backend_options["reason"]
    # an older quantisation recipe (the head was quantised before export version 3)
    path.write_text(json.dumps({**saved, "export_version": 2}))
    assert ToneClassifier.from_pretrained(tiny_model_dir, backend="auto").backend == "onnx"


def test_output_metadata_names_the_runtime(tmp_path, tiny_model_dir):
    import pyarrow.parquet as pq

    from tonecls.bulk import score_archive

    path = tmp_path / "in.jsonl"
    path.write_text("".join(json.dumps({"text": t}) + "\n" for t in TEXTS))
    for out in (tmp_path / "o.parquet", tmp_path / "o.csv"):
        score_archive(path, out, model=tiny_model_dir, backend="torch", progress=False, log=lambda m: None)
        side = json.loads(Path(str(out) + ".meta.json").read_text())
        assert side["model"]["runtime"] == fast.runtime_versions()
        assert {"torch", "onnxruntime", "transformers", "tonecls"} <= set(side["model"]["runtime"])
    meta = json.loads(pq.read_schema(tmp_path / "o.parquet").metadata[b"tonecls"])
    assert meta["model"]["runtime"]["torch"] == fast.runtime_versions()["torch"]
