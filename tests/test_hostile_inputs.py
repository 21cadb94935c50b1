"""Regression tests for issue 11: hostile but realistic inputs, paths and runs.

Each test reproduces one case of the issue (which failed or crashed before) and checks the
answer that docs/bulk.md ("Errors and guarantees") promises.
"""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest

from tonecls import backends as fast
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
BACKENDS = [("torch", None), ("onnx", None), ("int8", None), ("onnx-int8", None), ("int8", 0.05), ("onnx-int8", 0.05)]


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
    # measured on another processor class (int8 kernels differ with and without VNNI)
    assert saved["cpu"] == fast.cpu_kind()
    path.write_text(json.dumps({**saved, "cpu": "x86_64-made-up"}))
    auto = ToneClassifier.from_pretrained(tiny_model_dir, backend="auto")
    assert auto.backend == "onnx" and f"x86_64-made-up processor (this one: {fast.cpu_kind()})" in auto.backend_options["reason"]


def test_cpu_kind_names_the_int8_instruction_class(monkeypatch, tmp_path):
    import builtins

    real_open = builtins.open
    for flags, kind in (("fpu sse2 avx2 fma", "avx2"), ("avx2 avx512f avx512bw avx512_vnni", "avx512-vnni"),
                        ("avx2 avx_vnni", "avx-vnni"), ("fpu sse2", None)):
        info = tmp_path / "cpuinfo"
        info.write_text(f"processor\t: 0\nflags\t\t: {flags}\n")
        monkeypatch.setattr(builtins, "open", lambda f, *a, **k: real_open(info if f == "/proc/cpuinfo" else f, *a, **k))
        got = fast.cpu_kind()
        monkeypatch.setattr(builtins, "open", real_open)
        machine = __import__("platform").machine().lower()
        assert got == (f"{machine}-{kind}" if kind else machine), flags


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


# ---------------------------------------------------------------------------- helpers for the CLI cases
def cli(capsys, *argv) -> tuple[int, str, str]:
    """Run ``tonecls`` in this process: (exit code, stdout, stderr)."""
    from tonecls.cli import main

    code = main([str(a) for a in argv])
    out, err = capsys.readouterr()
    return code, out, err


def one_line_error(err: str, command: str = "score") -> str:
    """The error printed by the CLI: one line, the last one, no traceback (progress lines may precede it)."""
    lines = [line for line in err.splitlines() if line.strip()]
    errors = [line for line in lines if line.startswith(f"tonecls {command}: error: ")]
    assert len(errors) == 1 and lines[-1] == errors[0], err
    assert "Traceback" not in err
    return errors[0]


def score_cli(capsys, inp, out, model, *extra):
    return cli(capsys, "score", inp, "-o", out, "--model", model, "--backend", "torch", "--no-progress", *extra)


def errors_of(out: Path) -> list[dict]:
    return [json.loads(x) for x in Path(str(out) + ".errors.jsonl").read_text().splitlines()]


@pytest.fixture
def no_scoring(monkeypatch):
    """Fails the test if anything is scored: for checks that must happen before any scoring."""
    from tonecls.bulk import local  # the local engine scores through its own score_texts

    def refuse(*a, **k):
        raise AssertionError("scoring started before the output path was checked")

    monkeypatch.setattr(local, "score_texts", refuse)


# ---------------------------------------------------------------------------- --overwrite and output paths
def test_overwrite_never_deletes_a_users_folder_or_file(tmp_path, tiny_model_dir, capsys, no_scoring):
    inp = tmp_path / "in.csv"
    inp.write_text("text\n" + "\n".join(TEXTS) + "\n")
    folder = tmp_path / "results"
    (folder / "notes").mkdir(parents=True)
    (folder / "notes" / "thesis.txt").write_text("years of work")
    code, _, err = score_cli(capsys, inp, folder, tiny_model_dir, "--overwrite")
    msg = one_line_error(err)
    assert code == 2 and "not a tonecls output" in msg and "never replaces" in msg
    assert (folder / "notes" / "thesis.txt").read_text() == "years of work"
    code, _, err = score_cli(capsys, inp, folder, tiny_model_dir)  # without --overwrite: no "from another input"
    assert code == 2 and "another input" not in one_line_error(err) and "not a tonecls output" in err
    plain = tmp_path / "scores.csv"  # a user's file where the output would go
    plain.write_text("id,note\n1,keep me\n")
    code, _, err = score_cli(capsys, inp, plain, tiny_model_dir, "--overwrite")
    assert code == 2 and "not a tonecls output" in one_line_error(err)
    assert plain.read_text() == "id,note\n1,keep me\n"
    results_file = tmp_path / "results_file"  # --overwrite onto a plain file where a datasets folder would go
    results_file.write_text("data")
    code, _, err = score_cli(capsys, inp, results_file, tiny_model_dir, "--overwrite")
    assert code == 2 and "not a tonecls output" in one_line_error(err) and results_file.read_text() == "data"
    assert not list(tmp_path.glob("*.parts")) and not list(tmp_path.glob("*.lock"))


def test_overwrite_replaces_an_earlier_tonecls_output(tmp_path, tiny_model_dir, capsys):
    inp = tmp_path / "in.jsonl"
    inp.write_text("".join(json.dumps({"text": t}) + "\n" for t in TEXTS))
    for out in (tmp_path / "out.csv", tmp_path / "out_ds"):
        assert score_cli(capsys, inp, out, tiny_model_dir)[0] == 0
        other = tmp_path / "other.jsonl"
        other.write_text("".join(json.dumps({"text": t}) + "\n" for t in TEXTS[:4]))
        code, _, err = score_cli(capsys, other, out, tiny_model_dir)
        msg = one_line_error(err)
        assert code == 2 and "earlier tonecls output" in msg and "--overwrite" in msg
        code, printed, _ = score_cli(capsys, other, out, tiny_model_dir, "--overwrite")
        assert code == 0 and "scored 4 " in printed


def test_output_paths_are_checked_before_scoring(tmp_path, tiny_model_dir, capsys, no_scoring):
    import os

    inp = tmp_path / "in.jsonl"
    inp.write_text("".join(json.dumps({"text": t}) + "\n" for t in TEXTS))
    blocker = tmp_path / "report.txt"
    blocker.write_text("a file")
    code, _, err = score_cli(capsys, inp, blocker / "out.parquet", tiny_model_dir)
    assert code == 2 and "is a file, not a folder" in one_line_error(err)
    code, _, err = score_cli(capsys, inp, blocker / "sub" / "out.parquet", tiny_model_dir)
    assert code == 2 and "is a file, not a folder" in one_line_error(err)
    if os.geteuid() != 0:
        locked = tmp_path / "readonly"
        locked.mkdir()
        locked.chmod(0o555)
        target = locked / "out.parquet"
    else:  # root writes anywhere a permission bit forbids; /sys refuses even root
        target = Path("/sys/tonecls-test-out.parquet")
    try:
        code, _, err = score_cli(capsys, inp, target, tiny_model_dir)
    finally:
        if os.geteuid() != 0:
            locked.chmod(0o755)
    assert code == 2 and "not writable" in one_line_error(err)
    assert not target.exists()
    code, _, err = score_cli(capsys, inp, inp, tiny_model_dir)
    assert code == 2 and "overwrite the input" in one_line_error(err)


def test_two_runs_onto_one_output_the_second_is_refused_by_the_lock(tmp_path, tiny_model_dir):
    import os
    import subprocess
    import sys
    import time

    from tonecls.bulk import score_archive
    from tonecls.exceptions import OutputLockedError

    inp = tmp_path / "in.jsonl"
    inp.write_text("".join(json.dumps({"text": t}) + "\n" for t in TEXTS * 4))
    out = tmp_path / "out.parquet"
    slow = ("import sys, time\nfrom tonecls.classifier import ToneClassifier\nfrom tonecls.bulk import score_archive\n"
            "real = ToneClassifier._forward\n"
            "def slow(self, ids, mask):\n    time.sleep(0.3)\n    return real(self, ids, mask)\n"
            "ToneClassifier._forward = slow\n"
            "score_archive(sys.argv[1], sys.argv[2], model=sys.argv[3], backend='torch', chunk_size=4, batch_size=2,"
            " progress=False)\n")
    proc = subprocess.Popen([sys.executable, "-c", slow, str(inp), str(out), str(tiny_model_dir)],
                            env={**os.environ, "PYTHONPATH": str(ROOT)}, stderr=subprocess.PIPE)
    try:
        deadline = time.monotonic() + 60
        while not list(tmp_path.glob("out.parquet.parts/part-*.parquet")) and time.monotonic() < deadline:
            time.sleep(0.05)
        with pytest.raises(OutputLockedError, match=rf"being written by another tonecls run \(pid {proc.pid} "):
            score_archive(inp, out, model=tiny_model_dir, backend="torch", chunk_size=4, batch_size=2,
                          progress=False, log=lambda m: None)
    finally:
        _, stderr = proc.communicate(timeout=120)
    assert proc.returncode == 0, stderr.decode()[-2000:]
    import pyarrow.parquet as pq

    assert pq.read_table(out).num_rows == len(TEXTS) * 4 and not Path(str(out) + ".lock").exists()
    # the lock is free again: the same command now recognises the finished output
    s = score_archive(inp, out, model=tiny_model_dir, backend="torch", chunk_size=4, batch_size=2, progress=False,
                      log=lambda m: None)
    assert s.already_complete


# ---------------------------------------------------------------------------- encodings, BOM, NA cells
def test_latin1_csv_is_never_scored_as_replacement_characters(tmp_path, tiny_model_dir, capsys):
    import pyarrow.parquet as pq

    inp = tmp_path / "latin.csv"
    inp.write_bytes("id,text\n1,We thank the delegation.\n2,Nous saluons la d\u00e9l\u00e9gation.\n".encode("latin-1"))
    out = tmp_path / "out.parquet"
    code, printed, _ = score_cli(capsys, inp, out, tiny_model_dir)
    assert code == 0 and "bad_encoding 1" in printed and "--encoding latin-1" in printed
    (err,) = errors_of(out)
    assert (err["row"], err["line"], err["kind"]) == (1, 3, "bad_encoding")
    assert "--encoding latin-1" in err["reason"] and "\\xe9" in err["raw"]
    texts = pq.read_table(out).column("text").to_pylist()
    assert texts == ["We thank the delegation."] and not any("\ufffd" in t for t in texts)
    code, printed, _ = score_cli(capsys, inp, tmp_path / "ok.parquet", tiny_model_dir, "--encoding", "latin-1")
    assert code == 0 and pq.read_table(tmp_path / "ok.parquet").column("text").to_pylist()[1] == \
        "Nous saluons la d\u00e9l\u00e9gation."
    code, _, err = score_cli(capsys, inp, tmp_path / "x.parquet", tiny_model_dir, "--encoding", "klingon")
    assert code == 2 and "unknown encoding 'klingon'" in one_line_error(err)


def test_utf8_bom_does_not_hide_the_text_column(tmp_path, tiny_model_dir, capsys):
    import pyarrow.parquet as pq

    from tonecls.labeling.read import read_table

    inp = tmp_path / "excel.csv"
    inp.write_bytes("\ufefftext,actor\nWe welcome the talks.,NOR\n".encode("utf-8"))
    code, _, _ = score_cli(capsys, inp, tmp_path / "out.parquet", tiny_model_dir)
    assert code == 0 and pq.read_table(tmp_path / "out.parquet").column_names[:2] == ["text", "actor"]
    assert read_table(inp).column_names == ["text", "actor"]  # label / train / calibrate / evaluate / shifts


def test_csv_missing_value_markers_are_missing_text(tmp_path, tiny_model_dir, capsys):
    import pyarrow.parquet as pq

    from tonecls.validation import NA_MARKERS

    markers = sorted(m for m in NA_MARKERS if m)
    inp = tmp_path / "na.csv"
    inp.write_text("actor,text\n" + "".join(f"NA,{m}\n" for m in markers) + "NA,We welcome the talks.\n")
    out = tmp_path / "out.parquet"
    code, printed, _ = score_cli(capsys, inp, out, tiny_model_dir)
    assert code == 0 and f"errors {len(markers)} (missing_text {len(markers)})" in printed
    assert all("missing-value marker" in e["reason"] for e in errors_of(out))
    table = pq.read_table(out)
    assert table.column("text").to_pylist() == ["We welcome the talks."]
    assert table.column("actor").to_pylist() == ["NA"]  # other columns keep "NA" (Namibia)


@pytest.mark.parametrize("text", ["\x00\x01", "\u200b\u200b", "\ufeff", "\u200d \u2060"])
def test_text_without_readable_characters_is_rejected_not_scored_cautious(tiny_classifier, tmp_path, tiny_model_dir,
                                                                        text):
    from tonecls.bulk import score_archive
    from tonecls.classifier import InvalidInputError

    with pytest.raises(InvalidInputError, match=r"index 1 has no readable character"):
        tiny_classifier.score(["We welcome the talks.", text])
    inp = tmp_path / "in.jsonl"
    inp.write_text(json.dumps({"text": "We welcome the talks."}) + "\n" + json.dumps({"text": text}) + "\n")
    s = score_archive(inp, tmp_path / "o.parquet", model=tiny_model_dir, backend="torch", progress=False,
                      log=lambda m: None)
    assert (s.rows_scored, s.error_kinds) == (1, {"no_readable_text": 1})


# ---------------------------------------------------------------------------- lone surrogates
def test_a_lone_surrogate_is_one_bad_row_and_an_api_error(tmp_path, tiny_model_dir, tiny_classifier):
    import pyarrow.parquet as pq

    from tonecls.bulk import score_archive
    from tonecls.classifier import InvalidInputError

    with pytest.raises(InvalidInputError, match=r"index 0 holds a lone surrogate U\+D800"):
        tiny_classifier.score("abc \ud800 def")
    inp = tmp_path / "in.jsonl"
    inp.write_text('{"id": 0, "text": "We welcome the talks."}\n{"id": 1, "text": "abc \\ud800 def"}\n'
                   '{"id": 2, "text": "fine", "note": "\\udc00"}\n{"id": 3, "text": "We regret it."}\n')
    out = tmp_path / "out.parquet"
    for _ in range(2):  # a second run (the "resume") gets the same answer
        s = score_archive(inp, out, model=tiny_model_dir, backend="torch", chunk_size=2, progress=False,
                          log=lambda m: None)
        assert (s.rows_scored, s.errors) == (2, 2)
    assert [(e["row"], e["line"], e["kind"]) for e in errors_of(out)] == [(1, 2, "invalid_unicode"),
                                                                          (2, 3, "invalid_unicode")]
    assert "'note'" in errors_of(out)[1]["reason"]
    assert pq.read_table(out).column("id").to_pylist() == [0, 3]


# ---------------------------------------------------------------------------- gzip
@pytest.mark.parametrize("damage", ["truncated", "corrupt"])
def test_broken_gzip_is_a_clear_error_without_leftovers(tmp_path, tiny_model_dir, capsys, damage):
    import gzip

    records = "".join(json.dumps({"id": i, "text": TEXTS[i % len(TEXTS)] + f" {i}"}) + "\n" for i in range(3000))
    data = gzip.compress(records.encode(), mtime=0)
    if damage == "truncated":
        data = data[: len(data) // 2]
    else:
        mid = len(data) // 2
        data = data[:mid] + bytes(b ^ 0x5A for b in data[mid:mid + 64]) + data[mid + 64:]
    inp = tmp_path / "in.jsonl.gz"
    inp.write_bytes(data)
    out = tmp_path / "out.parquet"
    code, _, err = score_cli(capsys, inp, out, tiny_model_dir, "--chunk-size", "100")
    msg = one_line_error(err)
    assert code == 2 and "in.jsonl.gz: cannot be read after row" in msg and "corrupt or truncated" in msg
    last_row = int(msg.split("after row ")[1].split(" ")[0])
    assert 0 < last_row < 3000 and f"(line {last_row + 1})" in msg  # JSONL: row r is on line r + 1
    assert not out.exists() and not list(tmp_path.glob("*.parts")) and not list(tmp_path.glob("*.lock"))
    # so does the record reader when it meets the damage itself
    from tonecls.archive import ArchiveReader
    from tonecls.exceptions import DataError

    reader = ArchiveReader(inp, chunk_size=100)
    with pytest.raises(DataError, match=r"cannot be read after row \d+ \(line \d+\)"):
        for _ in reader.chunks():
            pass


# ---------------------------------------------------------------------------- API inputs
def test_empty_lists_bytes_and_mappings(tiny_classifier):
    from tonecls.classifier import InvalidInputError

    assert tiny_classifier.score([]) == []
    assert tiny_classifier.predict_proba([]).shape == (0, 5) and tiny_classifier.predict_logits([]).shape == (0, 5)
    with pytest.raises(InvalidInputError, match="got bytes: decode it first"):
        tiny_classifier.score(b"We welcome the talks.")
    with pytest.raises(InvalidInputError, match="got bytes: decode it first"):
        tiny_classifier.predict_proba(b"abc")
    with pytest.raises(InvalidInputError, match="index 1 is bytes.*decode it first"):
        tiny_classifier.score(["We welcome the talks.", b"abc"])
    with pytest.raises(InvalidInputError, match="got dict: a mapping would be scored by its keys"):
        tiny_classifier.score({"We welcome the talks.": 1})
    with pytest.raises(InvalidInputError, match="got set, which has no order"):
        tiny_classifier.score({"We welcome the talks."})
    assert len(tiny_classifier.score(np.array(["We welcome the talks.", "We regret it."]))) == 2


# ---------------------------------------------------------------------------- model folders
def test_altered_weights_blame_the_model_folder_not_the_base_package(tmp_path, tiny_classifier):
    from tonecls.exceptions import ChecksumError

    folder = tiny_classifier.save_pretrained(tmp_path / "m")
    weights = folder / "model.safetensors"
    weights.write_bytes(weights.read_bytes()[: weights.stat().st_size // 2])  # a truncated copy
    with pytest.raises(ChecksumError) as info:
        ToneClassifier.from_pretrained(folder)
    msg = str(info.value)
    assert "this model folder's file is corrupt or was altered" in msg and str(folder / "config.json") in msg
    assert "reinstall" not in msg and "pip install" not in msg


@pytest.mark.parametrize("content, expected", [
    ("{not json", r"config\.json: the model's configuration is not valid JSON \(.*line 1"),
    ('["a list"]', r"config\.json: the model's configuration must be a JSON object"),
    ('{"labels": ["cautious"]}', r"config\.json: 'labels'|config\.json: 'pooling' should be a str, is missing"),
])
def test_invalid_config_names_the_file(tmp_path, tiny_classifier, capsys, content, expected):
    from tonecls.exceptions import ModelError

    folder = tiny_classifier.save_pretrained(tmp_path / "m")
    (folder / "config.json").write_text(content)
    with pytest.raises(ModelError, match=expected):
        ToneClassifier.from_pretrained(folder)
    code, _, err = cli(capsys, "score", "We welcome the talks.", "--model", folder)
    assert code == 2 and "config.json" in one_line_error(err)


@pytest.mark.parametrize("change, expected", [
    ({"state": {"temperature": -1.5}}, r"temperature -1\.5 must be > 0"),
    ({"state": {"temperature": float("nan")}}, r"state\.temperature = nan: every parameter must be a finite number"),
    ({"state": {"temperature": float("inf")}}, r"finite number"),
    ({"state": {}}, r"missing 'temperature'"),
    ({"method": "magic"}, r"unknown calibration method 'magic'"),
    ({"n_classes": 3}, r"the calibrator has 3 levels, the model 5"),
])
def test_calibration_json_is_validated_on_load(tmp_path, tiny_classifier, change, expected):
    from tonecls.calibration import TemperatureScaling
    from tonecls.exceptions import CalibrationError

    rng = np.random.default_rng(0)
    tiny_classifier.calibrator = TemperatureScaling().fit(rng.normal(size=(100, 5)) * 2, rng.integers(0, 5, 100))
    folder = tiny_classifier.save_pretrained(tmp_path / "m")
    path = folder / "calibration.json"
    data = json.loads(path.read_text())
    data.update(change)
    path.write_text(json.dumps(data))  # json writes NaN / Infinity as Python reads them back
    with pytest.raises(CalibrationError, match=expected) as info:
        ToneClassifier.from_pretrained(folder)
    assert str(path) in str(info.value) and "tonecls calibrate" in str(info.value)


def test_vector_and_conformal_shapes_are_checked(tiny_classifier, tmp_path):
    from tonecls.bundle import CalibrationBundle, fit_calibration
    from tonecls.exceptions import CalibrationError

    rng = np.random.default_rng(0)
    logits, y = rng.normal(size=(200, 5)), rng.integers(0, 5, 200)
    d = fit_calibration(logits, y, method="vector").to_dict()
    d["state"]["weights"] = d["state"]["weights"][:3]
    with pytest.raises(CalibrationError, match=r"weights has shape \(3,\), expected \(5,\)"):
        CalibrationBundle.from_dict(d)
    d = fit_calibration(logits, y, conformal_alpha=0.2).to_dict()
    d["conformal"]["alpha"] = 1.5
    with pytest.raises(CalibrationError, match="conformal intervals: alpha must be in"):
        CalibrationBundle.from_dict(d)


# ---------------------------------------------------------------------------- shifts, empty inputs, JSON arrays
def test_shifts_with_a_missing_date_skips_and_reports_the_row(tmp_path, capsys):
    import pandas as pd

    from tonecls.shift import japan_scenario

    df = japan_scenario()
    df["score"] = np.linspace(0.1, 0.9, len(df))
    df.loc[3, "date"] = None
    df.loc[5, "date"] = "sometime"
    df.to_csv(tmp_path / "scored.csv", index=False)
    code, printed, err = cli(capsys, "shifts", tmp_path / "scored.csv", "-o", tmp_path / "out", "--plots", "none")
    assert code == 0 and f"{len(df) - 2} statements" in printed
    assert "skipped 2 row(s) without a usable actor or date (rows 3, 5)" in err
    skipped = pd.read_csv(tmp_path / "out" / "skipped.csv")
    assert skipped["row"].tolist() == [3, 5] and skipped["reason"].tolist()[0] == "missing date"
    assert "'sometime' is not YYYY-MM-DD" in skipped["reason"].tolist()[1]


@pytest.mark.parametrize("name, content", [("empty.jsonl", b""), ("blank.jsonl", b"\n\n"),
                                           ("header.csv", b"id,text\n"), ("empty.json", b"[]")])
def test_empty_input_gives_the_columns_and_zero_rows(tmp_path, tiny_model_dir, capsys, name, content):
    import pyarrow.parquet as pq

    from tonecls.bulk import RESULT_COLUMNS

    inp = tmp_path / name
    inp.write_bytes(content)
    out = tmp_path / "out.parquet"
    code, printed, _ = score_cli(capsys, inp, out, tiny_model_dir)
    assert code == 0 and "rows read 0 | scored 0" in printed and "holds no records" in printed
    table = pq.read_table(out)
    assert table.num_rows == 0 and "text" in table.column_names and set(RESULT_COLUMNS) <= set(table.column_names)
    assert table.schema.field("score").type == "double" and table.schema.field("label").type == "string"
    if name == "header.csv":
        assert table.column_names[:2] == ["id", "text"]


def test_json_array_file_is_read_as_records(tmp_path, tiny_model_dir, capsys):
    import pyarrow.parquet as pq

    from tonecls.labeling.read import read_table

    inp = tmp_path / "statements.json"
    inp.write_text(json.dumps([{"id": i, "text": t} for i, t in enumerate(TEXTS[:5])], indent=2)[:-1]
                   + ',\n  ["not", "an object"]\n]')
    out = tmp_path / "out.parquet"
    code, printed, _ = score_cli(capsys, inp, out, tiny_model_dir)
    assert code == 0 and "rows read 6 | scored 5 | errors 1 (bad_json 1)" in printed
    assert pq.read_table(out).column("id").to_pylist() == [0, 1, 2, 3, 4]
    (err,) = errors_of(out)
    assert err["row"] == 5 and err["line"] == 23 and err["kind"] == "bad_json"
    broken = tmp_path / "broken.json"
    broken.write_text('[{"text": "a"},\n {"text": ]')
    code, _, err = score_cli(capsys, broken, tmp_path / "b.parquet", tiny_model_dir)
    assert code == 2 and "broken.json, line 2: not valid JSON" in one_line_error(err)
    from tonecls.exceptions import DataError

    with pytest.raises(DataError, match=r"statements\.json, line 23: expected a JSON object"):
        read_table(inp)  # the strict readers (label, train, ...) name the item's line
    (tmp_path / "ok.json").write_text(json.dumps([{"text": "a"}, {"text": "b"}], indent=1))
    assert read_table(tmp_path / "ok.json")["text"] == ["a", "b"]


# ---------------------------------------------------------------------------- every reader takes --encoding
def test_every_reading_command_takes_encoding(tmp_path, tiny_model_dir, capsys):
    from tonecls.cli import build_parser

    for argv in (["score", "x.csv", "-o", "o.parquet"], ["shifts", "x.csv", "-o", "o"], ["calibrate", "m", "--data", "x"],
                 ["evaluate", "m", "--data", "x", "-o", "r"], ["train", "--data", "x", "--out", "m"],
                 ["label", "x.csv", "-o", "c"]):
        assert build_parser().parse_args([*argv, "--encoding", "latin-1"]).encoding == "latin-1", argv[0]
    data = tmp_path / "dev.csv"
    rows = [f"Nous saluons la d\u00e9l\u00e9gation {i}.,{i % 5}" for i in range(20)]
    data.write_bytes(("text,level\n" + "\n".join(rows) + "\n").encode("latin-1"))
    code, _, err = cli(capsys, "evaluate", tiny_model_dir, "--data", data, "-o", tmp_path / "r", "--no-plot")
    msg = one_line_error(err, "evaluate")
    assert code == 2 and "dev.csv, line 2: not valid utf-8" in msg and "--encoding latin-1" in msg
    code, printed, _ = cli(capsys, "evaluate", tiny_model_dir, "--data", data, "-o", tmp_path / "r", "--no-plot",
                           "--encoding", "latin-1")
    assert code == 0 and "20 statements" in printed


def test_dependencies_have_upper_bounds():
    tomllib = pytest.importorskip("tomllib")
    project = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]
    specs = project["dependencies"] + [d for group in project["optional-dependencies"].values() for d in group]
    for spec in specs:
        name = spec.split(";")[0].split("[")[0].split("=")[0].split(">")[0].split("<")[0].strip()
        if name in ("torch", "tonecls"):  # torch: CI installs torch==2.13.0 first; tonecls[...]: the extras
            continue
        assert "<" in spec or "==" in spec, spec
    assert '"onnxruntime>=1.20,<1.33"' in (ROOT / "pyproject.toml").read_text()
