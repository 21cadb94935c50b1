"""Bulk scoring: formats, bad rows, resume after crashes and kill -9, workers, Dataset.map, Ray."""

from __future__ import annotations

import gzip
import json
import os
import signal
import subprocess
import sys
import textwrap
import time
from pathlib import Path

import numpy as np
import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from tonecls.bulk import local as local_engine  # the local engine: _update_manifest is its test seam
from tonecls.archive import DataError
from tonecls.scale import LEVELS
from tonecls.bulk import PROB_COLUMNS, RESULT_COLUMNS, map_function, score_archive

from tiny_models import EXAMPLES

TEXTS = [t for k in sorted(EXAMPLES) for t in EXAMPLES[k]]
ROOT = Path(__file__).resolve().parent.parent


@pytest.fixture(autouse=True)
def _cache(tmp_path, monkeypatch):
    monkeypatch.setenv("TONECLS_CACHE", str(tmp_path / "cache"))
    monkeypatch.setenv("OMP_NUM_THREADS", "1")


def rows(n: int) -> list[dict]:
    """n records with varied lengths (long ones need several windows in the tiny model)."""
    out = []
    for i in range(n):
        t = TEXTS[i % len(TEXTS)]
        if i % 7 == 3:
            t = " ".join([t] * 4)  # > 32 tokens: several windows
        out.append({"id": f"r{i}", "actor": ["JPN", "USA", "CHN"][i % 3], "n": i, "text": t})
    return out


def write_all_formats(folder: Path, records: list[dict]) -> dict[str, Path]:
    import datasets

    folder.mkdir(parents=True, exist_ok=True)
    table = pa.Table.from_pylist(records)
    paths = {"parquet": folder / "in.parquet", "jsonl": folder / "in.jsonl", "jsonl.gz": folder / "in.jsonl.gz",
             "csv": folder / "in.csv", "datasets": folder / "in_ds"}
    pq.write_table(table, paths["parquet"], row_group_size=7)
    lines = "".join(json.dumps(r) + "\n" for r in records)
    paths["jsonl"].write_text(lines)
    with gzip.open(paths["jsonl.gz"], "wt") as f:
        f.write(lines)
    import csv

    with open(paths["csv"], "w", newline="") as f:
        w = csv.DictWriter(f, fieldnames=list(records[0]))
        w.writeheader()
        w.writerows(records)
    datasets.Dataset.from_list(records).save_to_disk(str(paths["datasets"]))
    return paths


def results(path: Path) -> pa.Table:
    return pq.read_table(path).select(["id", "text", *RESULT_COLUMNS])


def run(inp, out, model, **kw):
    kw.setdefault("backend", "torch")
    kw.setdefault("progress", False)
    kw.setdefault("log", lambda m: None)
    return score_archive(inp, out, model=model, **kw)


# ---------------------------------------------------------------------------- formats
def test_all_input_formats_give_the_same_scores_as_score(tmp_path, tiny_model_dir):
    from tonecls.classifier import ToneClassifier

    records = rows(40)
    paths = write_all_formats(tmp_path / "in", records)
    outs = {}
    for name, path in paths.items():
        out = tmp_path / f"out-{name.replace('.', '-')}.parquet"
        s = run(path, out, tiny_model_dir, chunk_size=16)
        assert (s.rows_read, s.rows_scored, s.errors) == (40, 40, 0), name
        outs[name] = pq.read_table(out)
    ref = outs["parquet"]
    assert ref.column("id").to_pylist() == [r["id"] for r in records]  # input order kept
    assert ref.column_names[:4] == ["id", "actor", "n", "text"]  # input columns first, in their order
    for name, table in outs.items():
        for col in ("text", *RESULT_COLUMNS):
            assert table.column(col).equals(ref.column(col)), (name, col)
    # the same numbers as ToneClassifier.score
    clf = ToneClassifier.from_pretrained(tiny_model_dir)
    expected = clf.score([r["text"] for r in records])
    np.testing.assert_allclose(ref.column("score").to_numpy(), [e.score for e in expected], rtol=0, atol=1e-6)
    assert ref.column("label").to_pylist() == [e.label for e in expected]
    assert ref.column("windows").to_pylist() == [e.windows for e in expected]
    assert max(ref.column("windows").to_pylist()) > 1
    probs = np.column_stack([ref.column(c).to_numpy() for c in PROB_COLUMNS])
    np.testing.assert_allclose(probs, [e.probabilities for e in expected], atol=1e-6)
    meta = json.loads(pq.read_schema(tmp_path / "out-parquet.parquet").metadata[b"tonecls"])
    assert meta["model"]["name"] == "tiny" and len(meta["model"]["weights_sha256"]) == 64
    assert meta["model"]["tonecls_version"] and meta["rows"] == {"read": 40, "scored": 40, "errors": 0,
                                                                  "documents_without_statements": 0}


@pytest.mark.parametrize("suffix", ["csv", "jsonl", "jsonl.gz", "ds"])
def test_output_formats(tmp_path, tiny_model_dir, suffix):
    import datasets

    records = rows(20)
    paths = write_all_formats(tmp_path / "in", records)
    ref = tmp_path / "ref.parquet"
    run(paths["parquet"], ref, tiny_model_dir, chunk_size=8)
    out = tmp_path / (f"out.{suffix}" if suffix != "ds" else "out_ds")
    run(paths["parquet"], out, tiny_model_dir, chunk_size=8)
    expected = pq.read_table(ref).to_pandas()
    if suffix == "csv":
        import pandas as pd

        got = pd.read_csv(out)
    elif suffix == "ds":
        got = datasets.load_from_disk(str(out)).to_pandas()
    else:
        import pandas as pd

        got = pd.read_json(out, lines=True, dtype=False)
    assert list(got.columns) == list(expected.columns)
    assert got["label"].tolist() == expected["label"].tolist()
    np.testing.assert_allclose(got["score"].to_numpy(float), expected["score"].to_numpy(), atol=1e-12)
    side = json.loads(Path(str(out) + ".meta.json").read_text())
    assert side["model"]["weights_sha256"] and side["summary"]["rows_scored"] == 20


# ---------------------------------------------------------------------------- bad rows
def test_every_bad_row_kind_is_reported_and_skipped(tmp_path, tiny_model_dir):
    good = "We hope that dialogue will continue."
    jsonl = tmp_path / "bad.jsonl"
    jsonl.write_text("\n".join([
        json.dumps({"id": 0, "text": good}),
        json.dumps({"id": 1}),                       # missing field
        json.dumps({"id": 2, "text": None}),         # null
        json.dumps({"id": 3, "text": "   "}),        # whitespace only
        json.dumps({"id": 4, "text": 3.5}),          # not a string
        json.dumps({"id": 5, "text": ["a"]}),        # not a string
        '{"id": 6, "text": "unterminated',           # bad JSON
        "[1, 2]",                                    # JSON, not an object
        "",                                          # blank line: not a record
        json.dumps({"id": 9, "text": good}),
    ]) + "\n")
    s = run(jsonl, tmp_path / "out.parquet", tiny_model_dir, chunk_size=3)
    assert (s.rows_read, s.rows_scored, s.errors) == (9, 2, 7)
    assert s.error_kinds == {"missing_text": 2, "empty_text": 1, "not_a_string": 2, "bad_json": 2}
    errors = [json.loads(x) for x in (tmp_path / "out.parquet.errors.jsonl").read_text().splitlines()]
    assert [(e["row"], e["line"], e["kind"]) for e in errors] == [
        (1, 2, "missing_text"), (2, 3, "missing_text"), (3, 4, "empty_text"), (4, 5, "not_a_string"),
        (5, 6, "not_a_string"), (6, 7, "bad_json"), (7, 8, "bad_json")]
    assert "float" in errors[3]["reason"] and errors[5]["raw"].startswith('{"id": 6')
    assert pq.read_table(tmp_path / "out.parquet").column("id").to_pylist() == [0, 9]
    assert f"errors {s.errors}" in str(s)

    csv_path = tmp_path / "bad.csv"
    csv_path.write_text('id,text,actor\n1,"A first, quoted statement we welcome.",JPN\n2,,USA\n'
                        '3,too,many,fields\n4,"multi\nline statement we oppose.",CHN\n\n5,short\n6,Fine words here.,UK\n')
    s = run(csv_path, tmp_path / "csv-out.parquet", tiny_model_dir)
    errors = [json.loads(x) for x in (tmp_path / "csv-out.parquet.errors.jsonl").read_text().splitlines()]
    assert [(e["row"], e["line"], e["kind"]) for e in errors] == [
        (1, 3, "empty_text"), (2, 4, "bad_csv"), (4, 8, "bad_csv")]
    out = pq.read_table(tmp_path / "csv-out.parquet")
    assert out.column("id").to_pylist() == ["1", "4", "6"]
    assert out.column("text").to_pylist()[1] == "multi\nline statement we oppose."

    pqt = tmp_path / "bad.parquet"
    pq.write_table(pa.table({"text": [good, None, "", good], "k": [1, 2, 3, 4]}), pqt)
    s = run(pqt, tmp_path / "pq-out.csv", tiny_model_dir)
    assert (s.rows_scored, s.errors, s.error_kinds) == (2, 2, {"missing_text": 1, "empty_text": 1})


def test_input_problems_are_clear(tmp_path, tiny_model_dir):
    pqt = tmp_path / "x.parquet"
    pq.write_table(pa.table({"body": ["a"], "score": [1.0]}), pqt)
    with pytest.raises(DataError, match="no column 'text'.*--text-column"):
        run(pqt, tmp_path / "o.parquet", tiny_model_dir)
    with pytest.raises(DataError, match="already has column"):
        run(pqt, tmp_path / "o.parquet", tiny_model_dir, text_column="body")
    with pytest.raises(DataError, match="no such file"):
        run(tmp_path / "missing.jsonl", tmp_path / "o.parquet", tiny_model_dir)
    with pytest.raises(ValueError, match="no conformal intervals"):
        run(pqt, tmp_path / "o2.parquet", tiny_model_dir, text_column="body", interval=True)


# ---------------------------------------------------------------------------- resume
@pytest.fixture
def archive(tmp_path):
    records = rows(120)
    records[17]["text"] = ""
    records[55]["text"] = None
    path = tmp_path / "arch.jsonl"
    path.write_text("".join(json.dumps(r) + "\n" for r in records) + "{broken\n")
    return path


def _same_run(a: Path, b: Path) -> None:
    ta, tb = pq.read_table(a), pq.read_table(b)
    assert ta.equals(tb, check_metadata=True)
    assert Path(str(a) + ".errors.jsonl").read_bytes() == Path(str(b) + ".errors.jsonl").read_bytes()
    assert a.read_bytes() == b.read_bytes()
    ids = ta.column("id").to_pylist()
    assert len(ids) == len(set(ids))  # nothing written twice


def test_resume_after_a_crash_between_part_and_manifest(tmp_path, tiny_model_dir, archive, monkeypatch):
    ref = tmp_path / "ref.parquet"
    s_ref = run(archive, ref, tiny_model_dir, chunk_size=16)
    assert (s_ref.rows_read, s_ref.rows_scored, s_ref.errors) == (121, 118, 3)

    out = tmp_path / "out.parquet"
    calls = {"n": 0}
    real = local_engine._update_manifest

    def crash(parts, content, done):
        calls["n"] += 1
        if calls["n"] == 3:  # part 2 is on disk, the manifest does not list it yet
            raise KeyboardInterrupt("simulated crash")
        real(parts, content, done)

    monkeypatch.setattr(local_engine, "_update_manifest", crash)
    with pytest.raises(KeyboardInterrupt):
        run(archive, out, tiny_model_dir, chunk_size=16)
    monkeypatch.setattr(local_engine, "_update_manifest", real)
    folder = tmp_path / "out.parquet.parts"
    manifest = json.loads((folder / "manifest.json").read_text())
    assert manifest["chunks_done"] == [0, 1] and (folder / "part-000002.parquet").exists()
    assert not out.exists()
    (folder / ".part-000003.parquet.tmp").write_bytes(b"half a file")  # a write cut short
    s = run(archive, out, tiny_model_dir, chunk_size=16)
    assert s.chunks_resumed == 3 and (s.rows_read, s.rows_scored, s.errors) == (121, 118, 3)
    _same_run(ref, out)
    assert not folder.exists()
    again = run(archive, out, tiny_model_dir, chunk_size=16)  # a finished output is recognised
    assert again.already_complete and again.rows_scored == 118


KILL_SCRIPT = textwrap.dedent("""
    import sys, time
    from tonecls.classifier import ToneClassifier
    from tonecls.bulk import score_archive
    real = ToneClassifier._forward
    def slow(self, ids, mask):
        time.sleep(0.03)
        return real(self, ids, mask)
    ToneClassifier._forward = slow
    score_archive(sys.argv[1], sys.argv[2], model=sys.argv[3], backend="torch", chunk_size=8, batch_size=4,
                  progress=False)
""")


def test_kill_9_and_resume_gives_identical_output(tmp_path, tiny_model_dir, archive):
    ref = tmp_path / "ref.parquet"
    run(archive, ref, tiny_model_dir, chunk_size=8, batch_size=4)
    out = tmp_path / "out.parquet"
    folder = tmp_path / "out.parquet.parts"
    cmd = [sys.executable, "-c", KILL_SCRIPT, str(archive), str(out), str(tiny_model_dir)]
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    kills = 0
    for target in (2, 7):  # kill after a few parts, then again later
        proc = subprocess.Popen(cmd, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline and proc.poll() is None:
            if len(list(folder.glob("part-*.parquet"))) >= target:
                time.sleep(0.05 * kills)  # land at varied points: mid-batch, mid-write
                proc.send_signal(signal.SIGKILL)
                kills += 1
                break
            time.sleep(0.005)
        proc.wait()
        assert proc.returncode == -signal.SIGKILL, "the run ended before it could be killed"
    assert not out.exists()
    done_before = len(list(folder.glob("part-*.parquet")))
    s = run(archive, out, tiny_model_dir, chunk_size=8, batch_size=4)
    assert kills == 2 and s.chunks_resumed == done_before > 0
    _same_run(ref, out)


def test_resume_refuses_another_input_or_model(tmp_path, tiny_model_dir, archive, monkeypatch, tiny_classifier):
    out = tmp_path / "out.parquet"

    def crash(parts, content, done):
        raise KeyboardInterrupt

    monkeypatch.setattr(local_engine, "_update_manifest", crash)
    with pytest.raises(KeyboardInterrupt):
        run(archive, out, tiny_model_dir, chunk_size=16)
    monkeypatch.undo()
    other = tmp_path / "other.jsonl"
    other.write_text(archive.read_text().replace("Geneva", "Vienna"))
    with pytest.raises(DataError, match="different input.*input.sha256"):
        run(other, out, tiny_model_dir, chunk_size=16)
    with pytest.raises(DataError, match="chunk_size"):
        run(archive, out, tiny_model_dir, chunk_size=32)
    import torch

    with torch.no_grad():
        tiny_classifier.network.head.bias += 1.0
    with pytest.raises(DataError, match="weights_key"):
        run(archive, out, tiny_classifier, backend=None, chunk_size=16)
    s = run(other, out, tiny_model_dir, chunk_size=16, resume=False)
    assert s.chunks_resumed == 0 and s.rows_scored == 118
    with pytest.raises(DataError, match="--overwrite"):
        run(archive, out, tiny_model_dir, chunk_size=16)
    assert run(archive, out, tiny_model_dir, chunk_size=16, overwrite=True).rows_scored == 118


# ---------------------------------------------------------------------------- workers, segment, interval
@pytest.mark.parametrize("backend", ["torch", "onnx-int8"])
def test_two_spawned_workers_equal_one(tmp_path, tiny_model_dir, archive, backend):
    one, two = tmp_path / "one.parquet", tmp_path / "two.parquet"
    kw = {"backend": backend, "guard": 0.5 if backend == "onnx-int8" else None, "threads": 1}
    run(archive, one, tiny_model_dir, chunk_size=16, **kw)
    s = run(archive, two, tiny_model_dir, chunk_size=16, workers=2, **kw)  # onnx: torch-free workers
    assert (s.rows_read, s.rows_scored, s.errors) == (121, 118, 3)
    _same_run(one, two)


def test_segment_keeps_document_and_position(tmp_path, tiny_model_dir):
    docs = [{"doc": "d0", "text": "We welcome the agreement. It is a good day for both nations.\n"
                                  "We will take all necessary measures to defend our interests."},
            {"doc": "d1", "text": "###"},
            {"doc": "d2", "text": "Those who play with fire will get burned. Talks will resume in May in Geneva."}]
    path = tmp_path / "docs.jsonl"
    path.write_text("".join(json.dumps(d) + "\n" for d in docs))
    s = run(path, tmp_path / "st.parquet", tiny_model_dir, segment=True)
    t = pq.read_table(tmp_path / "st.parquet")
    from tonecls.labeling.segment import split_statements

    expected = [(i, p, s_) for i, d in enumerate(docs) for p, s_ in enumerate(split_statements(d["text"]))]
    assert list(zip(t.column("doc_row").to_pylist(), t.column("position").to_pylist(),
                    t.column("text").to_pylist())) == expected
    assert t.column("doc").to_pylist() == [docs[i]["doc"] for i, _, _ in expected]
    assert s.rows_read == 3 and s.rows_scored == len(expected) and s.documents_without_statements == 1
    assert s.errors == 0
    errors = [json.loads(x) for x in (tmp_path / "st.parquet.errors.jsonl").read_text().splitlines()]
    assert [(e["row"], e["kind"]) for e in errors] == [(1, "no_statements")]


def test_interval_columns(tmp_path, tiny_model_dir, tiny_classifier):
    from tonecls.bundle import fit_calibration
    from tonecls.classifier import ToneClassifier

    rng = np.random.default_rng(0)
    logits = rng.normal(size=(200, 5))
    y = np.array([rng.choice(5, p=np.exp(z) / np.exp(z).sum()) for z in logits])
    tiny_classifier.calibrator = fit_calibration(logits, y, conformal_alpha=0.2)
    model = tiny_classifier.save_pretrained(tmp_path / "cal-model")
    path = tmp_path / "in.parquet"
    pq.write_table(pa.Table.from_pylist(rows(10)), path)
    run(path, tmp_path / "o.parquet", model, interval=True)
    t = pq.read_table(tmp_path / "o.parquet")
    low, high, level = (t.column(c).to_numpy() for c in ("interval_low", "interval_high", "level"))
    assert np.all(low <= high) and np.all((low <= level) & (level <= high))
    clf = ToneClassifier.from_pretrained(model)
    expected = clf.calibrator.conformal_.predict(clf.predict_proba([r["text"] for r in rows(10)]))
    assert low.tolist() == list(expected[0]) and high.tolist() == list(expected[1])


# ---------------------------------------------------------------------------- Dataset.map, CLI
def test_dataset_map_function(tiny_model_dir):
    import datasets

    from tonecls.classifier import ToneClassifier

    texts = TEXTS[:5] + ["", None] + TEXTS[5:8]
    ds = datasets.Dataset.from_dict({"text": texts, "k": list(range(len(texts)))})
    fn = map_function(tiny_model_dir, backend="torch")
    out = ds.map(fn, batched=True, batch_size=4)
    assert out.column_names == ["text", "k", *RESULT_COLUMNS, "error"]
    good = [t for t in texts if t]
    expected = ToneClassifier.from_pretrained(tiny_model_dir).score(good)
    got = [r for r in out if not r["error"]]
    assert [r["label"] for r in got] == [e.label for e in expected]
    np.testing.assert_allclose([r["score"] for r in got], [e.score for e in expected], atol=1e-6)
    bad = [r for r in out if r["error"]]
    assert [r["k"] for r in bad] == [5, 6] and all(np.isnan(r["score"]) and r["level"] == -1 for r in bad)
    assert "empty" in bad[0]["error"] and "null" in bad[1]["error"]
    only_bad = datasets.Dataset.from_dict({"text": ["", " "] + TEXTS[:2]}).map(fn, batched=True, batch_size=2)
    assert only_bad.features["score"].dtype == "float64" and only_bad[3]["label"] in LEVELS


def test_cli_scores_an_archive(tmp_path, tiny_model_dir, capsys):
    from tonecls.cli import main

    path = tmp_path / "in.jsonl"
    path.write_text("".join(json.dumps(r) + "\n" for r in rows(12)))
    out = tmp_path / "out.csv"
    code = main(["score", str(path), "-o", str(out), "--model", str(tiny_model_dir), "--backend", "torch",
                 "--chunk-size", "5", "--no-progress"])
    assert code == 0
    printed = capsys.readouterr().out
    assert "rows read 12 | scored 12 | errors 0" in printed
    assert out.read_text().count("\n") == 13
    assert json.loads((tmp_path / "out.csv.meta.json").read_text())["model"]["name"] == "tiny"
    assert main(["score", str(path), "-o", str(tmp_path / "o.parquet"), "--model", str(tiny_model_dir),
                 "--text-column", "nope", "--no-progress"]) == 2


# ---------------------------------------------------------------------------- Ray
def test_ray_engine_matches_local(tmp_path, tiny_model_dir):
    ray = pytest.importorskip("ray", reason="Ray Data is not installed (pip install 'tonecls[ray]')")
    pytest.importorskip("ray.data", reason="Ray Data is not installed (pip install 'tonecls[ray]')")
    records = rows(60)
    records[10]["text"] = ""
    path = tmp_path / "in.parquet"
    pq.write_table(pa.Table.from_pylist(records), path)
    local, remote = tmp_path / "local.parquet", tmp_path / "ray.parquet"
    run(path, local, tiny_model_dir, chunk_size=16)
    ray.init(num_cpus=2, include_dashboard=False, log_to_driver=False)
    try:
        s = run(path, remote, tiny_model_dir, chunk_size=16, engine="ray", workers=1)
    finally:
        ray.shutdown()
    assert (s.rows_scored, s.errors) == (59, 1)
    a, b = pq.read_table(local), pq.read_table(remote)
    assert b.column_names == a.column_names
    assert b.column("id").to_pylist() == a.column("id").to_pylist()
    assert b.column("level").equals(a.column("level")) and b.column("label").equals(a.column("label"))
    for c in ("score", *PROB_COLUMNS):
        np.testing.assert_allclose(b.column(c).to_numpy(), a.column(c).to_numpy(), atol=1e-6)
    err = json.loads((tmp_path / "ray.parquet.errors.jsonl").read_text())
    assert err["kind"] == "empty_text" and err["record"]["id"] == "r10"
