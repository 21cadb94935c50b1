"""Bulk scoring of statement archives: streaming, resumable, multi-process, or on Ray Data.

    tonecls score archive.parquet -o scored.parquet            # CSV, JSONL(.gz), Parquet, datasets folder
    tonecls score speeches.jsonl.gz -o scored.parquet --segment --workers 2

>>> from tonecls.bulk import score_archive
>>> summary = score_archive("archive.parquet", "scored.parquet")          # doctest: +SKIP
>>> summary.rows_scored, summary.errors                                   # doctest: +SKIP
(999998, 2)

**Output.** Every input column, then ``score`` (expected level / 4), ``level``, ``label``,
``p_cautious`` … ``p_confrontational`` (calibrated), ``windows`` (encoder windows read), and with
``interval=True`` the conformal ``interval_low``/``interval_high`` (models calibrated with
``--conformal-alpha``). With ``explain=k`` (``--explain``), ``top_phrases``: the row's ``k``
phrases that move its level most, as JSON (:mod:`tonecls.explanation`). With ``segment=True`` each document is first split into statements
(:func:`tonecls.labeling.segment.split_statements`): one output row per statement, ``text``
holds the statement, the document's other columns are repeated, and ``doc_row`` (the
document's input row) and ``position`` (the statement's index in the document) are added.
Model name, versions, weights sha256, backend and the run's fingerprint go into the Parquet
file's key-value metadata (key ``tonecls``) and, for every format, into ``<output>.meta.json``.
Rows are written in input order.

**Bad rows** (missing, null, empty or non-string text, NA markers in CSV, text without a readable
character, lone surrogates, bytes not valid in ``encoding``; unparsable JSON lines; CSV rows with
the wrong number of fields; see :mod:`tonecls.archive`) are skipped and listed in
``<output>.errors.jsonl`` with their ``row`` (0-based record number), ``line`` (text formats),
``kind`` and reason.

**Output safety.** The output path is checked before any scoring (:func:`check_output_path`);
``overwrite`` only replaces an earlier tonecls output, recognised by its metadata
(:func:`output_metadata`), never a file or folder tonecls did not write; and a run holds an
exclusive lock on ``<output>.lock`` (:class:`OutputLock`), so a second run onto the same output
is refused with the first one's pid and command. An input without records gives an output with
its columns and the result columns and 0 rows. With ``segment=True`` a
document in which the segmenter finds no statement is listed there too (kind ``no_statements``).

**Streaming and resume.** The input is read in chunks of ``chunk_size`` records; each chunk
is tokenised, sorted by length into batches, scored and written to
``<output>.parts/part-NNNNNN.parquet`` (written under a temporary name, fsync'ed, then
renamed, so a part is either complete or absent; its errors are written the same way just
before it). ``manifest.json`` records the run's fingerprint (sha256 of the input bytes, the
weights, calibrator, backend and every option that changes results) and the finished
chunks, but the parts themselves are the truth: after a crash or ``kill -9``, running the same
command again keeps every finished part, redoes the rest, and assembles the final file, which
is identical to an uninterrupted run's. Starting again with another input, model or options
is refused (``resume=False`` / ``--restart`` starts over). The parts folder is removed once
the output is in place (``keep_parts=True`` keeps it).

**Several processes.** ``workers=N`` scores chunks in N processes started with the *spawn*
method (a forked process that inherits an initialised CUDA or OpenMP runtime can hang or
fail; spawn starts clean interpreters), each loading the model once and using
``cores // N`` threads; the main process reads, writes and drives the progress bar.
Chunks are scored identically whichever worker takes them.

**Ray Data.** ``engine="ray"`` runs ``ray.data.read_*`` → ``map_batches`` with a callable
class (:class:`RayScorer`, the model loaded once per actor) → blocks in input order to the driver; see
:func:`score_archive_ray`. ``pip install 'tonecls[ray]'``.

**Dataset.map.** :func:`map_function` returns a function for ``datasets.Dataset.map(...,
batched=True)``.
"""

from __future__ import annotations

import json
import os
import shutil
import sys
import time
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Callable, Sequence

import numpy as np

from .archive import ArchiveReader, Chunk, TableWriter, output_format, unify_schemas
from .bundle import CALIBRATION_NAME, conformal_of
from .exceptions import DataError, OutputError, OutputLockedError
from .backends import RUNTIME_COMPARED
from .scale import LEVELS, score_from_probabilities

PROB_COLUMNS = tuple(f"p_{name}" for name in LEVELS)
RESULT_COLUMNS = ("score", "level", "label", *PROB_COLUMNS, "windows")
INTERVAL_COLUMNS = ("interval_low", "interval_high")
SEGMENT_COLUMNS = ("doc_row", "position")
MANIFEST = "manifest.json"
FORMAT_VERSION = 1


@dataclass
class BulkSummary:
    """What a run did. ``rows_read`` counts input records (documents with ``segment``);
    ``rows_scored`` output rows (statements with ``segment``); ``errors`` bad rows."""

    output: str
    errors_file: str
    rows_read: int = 0
    rows_scored: int = 0
    errors: int = 0
    documents_without_statements: int = 0
    chunks: int = 0
    chunks_resumed: int = 0
    seconds: float = 0.0
    backend: str = ""
    already_complete: bool = False
    error_kinds: dict = field(default_factory=dict)

    def __str__(self) -> str:
        rate = (self.rows_read / self.seconds) if self.seconds else 0.0
        lines = [f"rows read {self.rows_read:,} | scored {self.rows_scored:,} | errors {self.errors:,}"
                 + (f" ({', '.join(f'{k} {v:,}' for k, v in sorted(self.error_kinds.items()))})" if self.errors else "")
                 + f" | {self.seconds:.1f} s ({rate:,.0f} rows/s) | backend {self.backend}"]
        if self.error_kinds.get("bad_encoding"):
            lines.append(f"{self.error_kinds['bad_encoding']:,} row(s) hold bytes that are not valid in the input's "
                         "encoding: if the file is not UTF-8, run again with its encoding, e.g. --encoding latin-1")
        if self.rows_read == 0 and not self.already_complete:
            lines.append("the input holds no records: the output has its columns and 0 rows")
        if self.chunks_resumed:
            lines.append(f"resumed: {self.chunks_resumed} of {self.chunks} chunks were already done")
        if self.already_complete:
            lines.append("already complete: the output exists and was made from the same input, model and options")
        lines.append(f"output {self.output}; errors {self.errors_file}")
        return "\n".join(lines)


# ---------------------------------------------------------------------------- model
def load_model(model=None, backend: str | None = "auto", threads: int | None = None, guard: float | None = None):
    """A :class:`~tonecls.classifier.ToneClassifier` from a folder, the default model (None) or
    an instance (used as is when ``backend`` is None)."""
    from .classifier import ToneClassifier, default_model_path

    if isinstance(model, ToneClassifier):
        clf = model
        if backend is None:
            return clf
    else:
        clf = ToneClassifier.from_pretrained(default_model_path() if model is None else model)
        backend = backend or "auto"
    if threads:
        import torch

        torch.set_num_threads(threads)
    from .backends import apply_backend

    kw = {"guard": guard} if guard is not None else {}
    return apply_backend(clf, backend, threads=threads, **kw)


def model_info(clf) -> dict:
    """Name, versions, weights sha256 and backend of ``clf``, for output metadata."""
    from . import __version__
    from .encoder import sha256_file
    from .backends import runtime_versions, weights_key

    info = {"name": clf.name, "tonecls_version": __version__, "runtime": runtime_versions(), "model_tonecls_version": None, "model_version": None,
            "path": None, "weights_sha256": None, "base_sha256": None, "calibration_sha256": None,
            "weights_key": weights_key(clf), "backend": clf.backend,
            "calibrator": type(clf.calibrator).__name__ if clf.calibrator is not None else None,
            "max_length": clf.max_length, "stride": clf.stride, "aggregate": clf.aggregate, "labels": list(clf.labels)}
    if clf.path is not None:
        config = json.loads((Path(clf.path) / "config.json").read_text())
        info.update(path=str(clf.path), weights_sha256=config["weights"]["sha256"],
                    model_tonecls_version=config.get("tonecls_version"),
                    model_version=config.get("model_version", config.get("version")))
        if (Path(clf.path) / CALIBRATION_NAME).is_file():
            info["calibration_sha256"] = sha256_file(Path(clf.path) / CALIBRATION_NAME)
    if clf.base:
        info["base_sha256"] = clf.base.get("sha256", {}).get("model.safetensors")
    if clf.calibrator is not None and info["calibration_sha256"] is None:
        import hashlib

        info["calibration_sha256"] = hashlib.sha256(
            json.dumps(clf.calibrator.to_dict(), sort_keys=True, default=str).encode()).hexdigest()
    return info


def _is_instance(model) -> bool:
    from .classifier import ToneClassifier

    return isinstance(model, ToneClassifier)


def _model_folder(clf, where: Path) -> Path:
    """A folder the workers can load ``clf`` from: its own, or a copy saved to ``where``."""
    if clf.path is not None:
        return Path(clf.path)
    try:
        return clf.save_pretrained(where)
    finally:
        clf.path = None  # save_pretrained records the folder; the instance stays in-memory


def _check_interval(clf) -> None:
    if conformal_of(clf.calibrator) is None:
        raise ValueError(f"Model {clf.name!r} has no conformal intervals: calibrate it with "
                         "`tonecls calibrate MODEL --data DEV --conformal-alpha 0.1`, or drop --interval.")


# ---------------------------------------------------------------------------- scoring
def score_texts(clf, texts: Sequence[str], batch_size: int = 64, progress: Callable[[int, int], None] | None = None):
    """Logits (one row per text, after window aggregation) and window counts; ``progress(done,
    total)`` is called after every batch with windows done so far and the total."""
    enc = clf.encode(texts)
    total = len(enc.windows)
    done = 0

    def tick(n):
        nonlocal done
        done += n
        if progress is not None:
            progress(done, total)

    window = clf.window_logits(enc, batch_size, progress=tick)
    logits, counts = clf.aggregate_windows(enc, window, len(texts))
    return np.asarray(logits, dtype=np.float32), np.asarray(counts, dtype=np.int64)


def result_columns(clf, logits: np.ndarray, counts: np.ndarray, interval: bool = False) -> dict:
    """The output columns for scored rows, as numpy arrays (same numbers as ``clf.score``)."""
    probs = clf.calibrated_probabilities(logits) if len(logits) else np.zeros((0, len(clf.labels)))
    levels = probs.argmax(axis=1) if len(probs) else np.zeros(0, dtype=np.int64)
    out = {"score": np.asarray(score_from_probabilities(probs), dtype=np.float64) if len(probs) else np.zeros(0),
           "level": levels.astype(np.int64),
           "label": np.asarray(clf.labels, dtype=object)[levels] if len(probs) else np.zeros(0, dtype=object)}
    for j, name in enumerate(PROB_COLUMNS):
        out[name] = probs[:, j].astype(np.float64)
    out["windows"] = np.asarray(counts, dtype=np.int64)
    if interval:
        if len(probs):
            low, high = conformal_of(clf.calibrator).predict(probs)
        else:
            low = high = np.zeros(0)
        out["interval_low"], out["interval_high"] = np.asarray(low, np.int64), np.asarray(high, np.int64)
    return out


def _append_results(table, cols: dict):
    import pyarrow as pa

    for name, values in cols.items():
        text = name in ("label", "top_phrases")
        table = table.append_column(name, pa.array(values.tolist() if text else values, type=pa.string() if text else None))
    return table


def _segment_chunk(chunk: Chunk, text_column: str):
    """Replace each document by its statements; returns (table, doc_rows, errors)."""
    import pyarrow as pa

    from .labeling.segment import split_statements

    texts = chunk.table.column(text_column).to_pylist()
    take, statements, positions, errors = [], [], [], []
    for i, text in enumerate(texts):
        pieces = split_statements(text)
        if not pieces:
            errors.append({"row": chunk.rows[i], "line": None, "kind": "no_statements",
                           "reason": "the segmenter found no statement to rate in this document"})
        for p, s in enumerate(pieces):
            take.append(i)
            statements.append(s)
            positions.append(p)
    table = chunk.table.take(pa.array(take, pa.int64()))
    idx = table.column_names.index(text_column)
    table = table.set_column(idx, text_column, pa.array(statements, pa.string()))
    doc_rows = [chunk.rows[i] for i in take]
    table = table.append_column("doc_row", pa.array(doc_rows, pa.int64()))
    table = table.append_column("position", pa.array(positions, pa.int64()))
    return table, errors


# ---------------------------------------------------------------------------- workers (spawn)
_WORKER: dict = {}


def _worker_init(model_dir: str, backend_options: dict, threads: int, queue, spec: dict | None = None) -> None:
    os.environ.setdefault("OMP_NUM_THREADS", str(threads))
    os.environ.setdefault("MKL_NUM_THREADS", str(threads))
    if spec is not None:  # ONNX Runtime backends: no torch in this process
        from .classifier import classifier_from_spec

        _WORKER.update(clf=classifier_from_spec(spec, threads), queue=queue)
        return
    import torch

    torch.set_num_threads(threads)
    from .classifier import ToneClassifier
    from .backends import apply_backend

    clf = ToneClassifier.from_pretrained(model_dir)
    opts = {k: v for k, v in backend_options.items() if k in ("guard", "exclude", "per_channel", "independent")}
    apply_backend(clf, backend_options["backend"], threads=threads, **opts)
    _WORKER.update(clf=clf, queue=queue)


def _worker_score(index: int, texts: list[str], batch_size: int):
    queue = _WORKER["queue"]
    last = [0.0]

    def progress(done, total):
        now = time.monotonic()
        if done == total or now - last[0] > 0.2:
            last[0] = now
            queue.put((index, done, total))

    logits, counts = score_texts(_WORKER["clf"], texts, batch_size, progress)
    _trim_heap()
    return index, logits, counts


# ---------------------------------------------------------------------------- the run
def _atomic_write(path: Path, data: bytes) -> None:
    tmp = path.with_name(f".{path.name}.tmp")
    with open(tmp, "wb") as f:
        f.write(data)
        f.flush()
        os.fsync(f.fileno())
    os.replace(tmp, path)


def _fingerprint(reader: ArchiveReader, info: dict, options: dict) -> tuple[str, dict]:
    import hashlib

    model = {k: info[k] for k in ("weights_key", "calibration_sha256", "backend", "max_length", "stride",
                                  "aggregate", "labels")}
    # the libraries that compute the numbers: parts scored on other versions are not mixed in
    model["runtime"] = {k: info["runtime"].get(k) for k in RUNTIME_COMPARED}
    content = {"format_version": FORMAT_VERSION, "input": reader.fingerprint(), "model": model, "options": options}
    return hashlib.sha256(json.dumps(content, sort_keys=True).encode()).hexdigest(), content


def _diff(a: dict, b: dict, prefix="") -> list[str]:
    out = []
    for k in sorted(set(a) | set(b)):
        va, vb = a.get(k), b.get(k)
        if isinstance(va, dict) and isinstance(vb, dict):
            out += _diff(va, vb, f"{prefix}{k}.")
        elif va != vb:
            out.append(f"{prefix}{k}: {va!r} then, {vb!r} now")
    return out


class _Parts:
    """The parts folder: manifest, part files and their errors."""

    def __init__(self, folder: Path, fingerprint: str):
        self.folder = folder
        self.fingerprint = fingerprint

    def part(self, k: int) -> Path:
        return self.folder / f"part-{k:06d}.parquet"

    def errors(self, k: int) -> Path:
        return self.folder / f"errors-{k:06d}.jsonl"

    def scan(self) -> dict[int, dict]:
        """Finished chunks (from the parts, not the manifest) → their metadata."""
        import pyarrow.parquet as pq

        done = {}
        for tmp in self.folder.glob(".*.tmp"):
            tmp.unlink()  # a write interrupted before its rename
        for path in sorted(self.folder.glob("part-*.parquet")):
            try:
                meta = json.loads(pq.read_schema(path).metadata[b"tonecls_part"])
            except Exception:  # unreadable: cannot happen with atomic renames, but never trust it
                path.unlink()
                continue
            k = meta["chunk"]
            if meta.get("fingerprint") != self.fingerprint or path != self.part(k) or not self.errors(k).is_file():
                path.unlink()
                continue
            done[k] = meta
        return done

    def write_manifest(self, content: dict, done: dict[int, dict], complete: bool = False) -> None:
        manifest = {"fingerprint": self.fingerprint, "fingerprint_content": content, "complete": complete,
                    "chunks_done": sorted(done), "rows_done": sum(m["n_rows"] for m in done.values())}
        _atomic_write(self.folder / MANIFEST, (json.dumps(manifest, indent=1) + "\n").encode())

    def write_chunk(self, chunk: Chunk, table, errors: list[dict], extra: dict) -> dict:
        import pyarrow.parquet as pq

        _atomic_write(self.errors(chunk.index),
                      "".join(json.dumps(e, ensure_ascii=False) + "\n" for e in errors).encode())
        meta = {"fingerprint": self.fingerprint, "chunk": chunk.index, "first_row": chunk.first_row,
                "n_rows": chunk.n_rows, "n_scored": table.num_rows, "n_errors": len(errors), **extra}
        table = table.replace_schema_metadata({b"tonecls_part": json.dumps(meta).encode()})
        tmp = self.folder / f".{self.part(chunk.index).name}.tmp"
        with open(tmp, "wb") as f:
            pq.write_table(table, f)
            f.flush()
            os.fsync(f.fileno())
        os.replace(tmp, self.part(chunk.index))
        return meta


_LIBC = []


def _trim_heap() -> None:
    """Give freed heap pages back to the OS after each chunk (glibc's ``malloc_trim``): without
    it, fragmentation lets RSS creep up by ~8 MB per 100k rows; a no-op elsewhere."""
    if not _LIBC:
        try:
            import ctypes

            _LIBC.append(ctypes.CDLL("libc.so.6").malloc_trim)
        except (OSError, AttributeError):
            _LIBC.append(None)
    if _LIBC[0] is not None:
        _LIBC[0](0)


def _update_manifest(parts: _Parts, content: dict, done: dict) -> None:
    """Written after every part (a crash before it is harmless: parts are the truth)."""
    parts.write_manifest(content, done)


def _sidecar(output: Path) -> Path:
    return output.with_name(output.name + ".meta.json")


def _errors_path(output: Path) -> Path:
    return output.with_name(output.name + ".errors.jsonl")


def _cpu_count() -> int:
    try:
        return len(os.sched_getaffinity(0))
    except AttributeError:  # pragma: no cover
        return os.cpu_count() or 1


# ---------------------------------------------------------------------------- output safety
META_IN_FOLDER = "tonecls_meta.json"


def check_output_path(output: Path, input: Path | None = None) -> None:
    """Raise :class:`OutputError` unless ``output`` can be written: not the input or inside an
    input folder, no file where a folder is needed, a writable folder, and the side files
    (``.errors.jsonl``, ``.meta.json``, ``.parts``, ``.lock``) not of the wrong kind. Run before any work."""
    import tempfile

    if input is not None:
        if output.resolve() == input.resolve():
            raise OutputError("The output would overwrite the input; choose another output path.")
        if input.is_dir() and input.resolve() in output.resolve().parents:
            raise OutputError(f"{output} is inside the input folder {input}; choose an output outside it.")
    folder = output.parent
    for parent in [output.parent, *output.parent.parents]:
        if parent.exists() or parent.is_symlink():
            if not parent.is_dir():
                raise OutputError(f"cannot write {output}: {parent} is a file, not a folder. Choose another output path.")
            folder = parent
            break
    try:
        fd, probe = tempfile.mkstemp(dir=folder, prefix=".tonecls-probe-")
        os.close(fd)
        os.unlink(probe)
    except OSError as err:
        raise OutputError(f"cannot write {output}: the folder {folder} is not writable ({err.strerror}). "
                          "Choose an output in a folder you can write to.") from None
    for side, want_dir in ((_errors_path(output), False), (_sidecar(output), False), (_lock_path(output), False),
                           (output.with_name(output.name + ".parts"), True)):
        if side.exists() and side.is_dir() != want_dir:
            raise OutputError(f"cannot write {output}: {side} exists and is a {'file' if want_dir else 'folder'}; "
                              "tonecls needs that name for its own " + ("parts folder." if want_dir else "side file.")
                              + " Move it away or choose another output path.")


def output_metadata(output: Path) -> dict | None:
    """The metadata of an earlier tonecls output at ``output`` (a file with its ``.meta.json``
    sidecar, or a datasets folder holding ``tonecls_meta.json``); None for anything else."""
    def load(path: Path) -> dict | None:
        try:
            meta = json.loads(path.read_text())
        except (OSError, ValueError):
            return None
        return meta if isinstance(meta, dict) and isinstance(meta.get("model"), dict) and "input" in meta else None

    if output.is_symlink():
        return None
    if output.is_dir():
        return load(output / META_IN_FOLDER)
    if not output.is_file():
        return None
    meta = load(_sidecar(output))
    if meta is None:
        return None
    recorded = meta.get("output", {}).get("bytes") if isinstance(meta.get("output"), dict) else None
    if recorded is not None and recorded != output.stat().st_size:
        return None  # the sidecar describes another file than the one now there
    if output.name.lower().endswith((".parquet", ".pq")):
        try:
            import pyarrow.parquet as pq

            if b"tonecls" not in (pq.read_schema(output).metadata or {}):
                return None
        except Exception:
            return None
    return meta


def _foreign_output_error(output: Path) -> OutputError:
    what = "folder" if output.is_dir() else "file"
    return OutputError(f"{output} exists and is not a tonecls output (no {_sidecar(output).name if what == 'file' else META_IN_FOLDER}"
                       f" describing it): tonecls never replaces a {what} it did not write, even with --overwrite. "
                       "Choose another output path, or move it away yourself.")


def _lock_path(output: Path) -> Path:
    return output.with_name(output.name + ".lock")


class OutputLock:
    """An exclusive lock (``fcntl.flock``) on ``<output>.lock`` for the length of a run, so two
    runs never write the same output; the loser gets :class:`OutputLockedError` naming the winner.
    A lock left by a killed run is free (the kernel drops it with the process)."""

    def __init__(self, output: Path):
        self.path = _lock_path(output)
        self.output = output
        self.fd: int | None = None

    def __enter__(self):
        try:
            import fcntl
        except ImportError:  # pragma: no cover - not POSIX: no lock
            return self
        import socket

        while True:
            fd = os.open(self.path, os.O_RDWR | os.O_CREAT, 0o644)
            try:
                fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
            except BlockingIOError:
                try:
                    other = json.loads(os.read(fd, 4096) or b"{}")
                except ValueError:
                    other = {}
                os.close(fd)
                who = (f"pid {other.get('pid')} on {other.get('host')}, started {other.get('started')}: "
                       f"{other.get('command')}") if other else "a process that holds the lock"
                raise OutputLockedError(f"{self.output} is being written by another tonecls run ({who}). Wait for it "
                                        "to finish (then run this command again), or choose another output.") from None
            try:
                same = os.fstat(fd).st_ino == os.stat(self.path).st_ino
            except FileNotFoundError:
                same = False
            if same:  # not a lock file that the previous holder removed meanwhile
                break
            os.close(fd)
        os.ftruncate(fd, 0)
        os.write(fd, json.dumps({"pid": os.getpid(), "host": socket.gethostname(),
                                 "started": time.strftime("%Y-%m-%d %H:%M:%S"),
                                 "command": " ".join(sys.argv)[:300]}).encode())
        self.fd = fd
        return self

    def __exit__(self, *exc):
        if self.fd is not None:
            try:
                os.unlink(self.path)
            except FileNotFoundError:
                pass
            os.close(self.fd)  # releases the lock
            self.fd = None
        return False


def _empty_input_table(reader: ArchiveReader, text_column: str, segment: bool):
    """The table of an input without records: its columns (header or schema), no rows."""
    import pyarrow as pa

    schema = reader.schema()
    if schema is not None:
        table = schema.remove_metadata().empty_table()
    else:
        names = reader.columns() or [text_column]
        table = pa.table({n: pa.array([], pa.string()) for n in names})
    if segment:
        for name in SEGMENT_COLUMNS:
            table = table.append_column(name, pa.array([], pa.int64()))
    return table


def score_archive(input, output, *, model=None, backend: str | None = None, text_column: str = "text",
                  split: str | None = None, segment: bool = False, interval: bool = False, workers: int = 1,
                  threads: int | None = None, chunk_size: int = 4096, batch_size: int = 64, guard: float | None = None,
                  progress: bool = True, resume: bool = True, overwrite: bool = False, keep_parts: bool = False,
                  engine: str = "local", encoding: str = "utf-8", explain: int = 0, log=None) -> BulkSummary:
    """Score every row of ``input`` into ``output`` (see the module docs).

    ``model``: a model folder, a :class:`~tonecls.classifier.ToneClassifier`, or None for the
    default model. ``backend``: ``"auto"`` (default for folders; see :mod:`tonecls.backends`),
    ``"torch"``, ``"onnx"``, ``"int8"``, ``"onnx-int8"``; None keeps an instance's backend.
    ``workers``: processes (spawn). ``threads``: per process (default: cores / workers).
    ``chunk_size``: records per part file (and per length-sorting window). ``resume=False``
    discards an earlier unfinished run of the same output. ``overwrite`` replaces an earlier
    tonecls output (never a file or folder tonecls did not write). ``encoding``: of CSV/JSON
    input (default UTF-8, byte-order mark dropped). ``engine="ray"`` runs on Ray Data
    (:func:`score_archive_ray`). ``explain=k`` adds ``top_phrases``: each row's ``k`` phrases with the
    largest contributions, as JSON (:mod:`tonecls.explanation`; one process only; costs one extra
    forward pass per phrase, about 10x the scoring time, docs/explain.md).

    The output path is checked and locked before any scoring; an input without records gives
    an output with its columns and the result columns and 0 rows.
    """
    if explain and (engine != "local" or workers != 1):
        from .exceptions import OptionError

        raise OptionError(f"explain={explain!r} runs in one local process; drop workers={workers} / engine={engine!r} "
                          "(or score first, then explain the rows you need).")
    if engine == "ray":
        return score_archive_ray(input, output, model=model, backend=backend, text_column=text_column, split=split,
                                 segment=segment, interval=interval, workers=workers, threads=threads,
                                 chunk_size=chunk_size, batch_size=batch_size, guard=guard, overwrite=overwrite,
                                 encoding=encoding, log=log)
    if engine != "local":
        raise ValueError(f"Unknown engine {engine!r}; choose 'local' or 'ray'.")
    log = log or (lambda msg: print(msg, file=sys.stderr))
    t0 = time.monotonic()
    input, output = Path(input), Path(output)
    if workers < 1:
        raise ValueError(f"workers must be at least 1, got {workers}.")
    if not input.exists():
        raise DataError(f"{input}: no such file or folder.")
    out_fmt = output_format(output)
    check_output_path(output, input)
    with OutputLock(output):
        return _score_archive_locked(input, output, out_fmt, model=model, backend=backend, text_column=text_column,
                                     split=split, segment=segment, interval=interval, workers=workers,
                                     threads=threads, chunk_size=chunk_size, batch_size=batch_size, guard=guard,
                                     progress=progress, resume=resume, overwrite=overwrite, keep_parts=keep_parts,
                                     encoding=encoding, explain=explain, log=log, t0=t0)


def _score_archive_locked(input: Path, output: Path, out_fmt: str, *, model, backend, text_column, split, segment,
                          interval, workers, threads, chunk_size, batch_size, guard, progress, resume, overwrite,
                          keep_parts, encoding, log, t0, explain=0) -> BulkSummary:
    previous = None
    if output.exists() or output.is_symlink():
        previous = output_metadata(output)
        if previous is None:
            raise _foreign_output_error(output)
    reader = ArchiveReader(input, text_column=text_column, split=split, chunk_size=chunk_size, encoding=encoding)
    total = reader.total_rows()  # reads a compressed file through: a corrupt one fails here, before any scoring
    if threads is None and workers > 1:
        threads = max(1, _cpu_count() // workers)
    clf = load_model(model, backend, threads=threads if workers == 1 else None, guard=guard)
    if interval:
        _check_interval(clf)
    columns = reader.columns()
    added = RESULT_COLUMNS + (INTERVAL_COLUMNS if interval else ()) + (SEGMENT_COLUMNS if segment else ()) \
        + (("top_phrases",) if explain else ())
    clash = [c for c in added if columns and c in columns]
    if clash:
        raise DataError(f"{input}: already has column(s) {clash}, which the output adds; rename them first.")
    info = model_info(clf)
    options = {"text_column": text_column, "split": split, "segment": segment, "interval": interval,
               "chunk_size": chunk_size, "batch_size": batch_size}
    if explain:
        options["explain"] = explain
    fingerprint, content = _fingerprint(reader, info, options)
    if workers > 1 and not _is_instance(model):
        clf.__dict__.pop("_forward", None)  # the workers score; free this process's ONNX sessions
        import gc

        gc.collect()
    errors_path, sidecar = _errors_path(output), _sidecar(output)
    summary = BulkSummary(output=str(output), errors_file=str(errors_path), backend=info["backend"])

    if previous is not None:
        if previous.get("fingerprint") == fingerprint and not overwrite:
            for k in ("rows_read", "rows_scored", "errors", "documents_without_statements", "chunks", "error_kinds"):
                setattr(summary, k, previous.get("summary", {}).get(k, getattr(summary, k)))
            summary.already_complete = True
            summary.seconds = time.monotonic() - t0
            return summary
        if not overwrite:
            why = _diff(previous.get("fingerprint_content", {}), content) if previous.get("fingerprint_content") else []
            raise OutputError(f"{output} is an earlier tonecls output made from another input, model or options"
                              + (f" ({'; '.join(why[:4])})" if why else "") + "; pass --overwrite to replace it.")

    output.parent.mkdir(parents=True, exist_ok=True)
    folder = output.with_name(output.name + ".parts")
    created = not folder.exists()
    if folder.exists():
        old = {}
        try:
            old = json.loads((folder / MANIFEST).read_text())
        except (OSError, json.JSONDecodeError):
            pass
        if not resume:
            shutil.rmtree(folder)
        elif old and old.get("fingerprint") != fingerprint:
            why = _diff(old.get("fingerprint_content", {}), content) or ["fingerprint"]
            raise DataError(f"{folder} holds an unfinished run with a different input, model or options "
                            f"({'; '.join(why[:4])}). Run the same command as before to resume it, or pass "
                            "--restart (resume=False) to discard it.")
    folder.mkdir(parents=True, exist_ok=True)
    try:
        return _run_chunks(reader, clf, info, content, fingerprint, options, added, folder, input, output, out_fmt,
                           summary, total=total, text_column=text_column, segment=segment, interval=interval,
                           workers=workers, threads=threads, batch_size=batch_size, progress=progress,
                           keep_parts=keep_parts, log=log, t0=t0, explain=explain)
    except DataError:
        # the input cannot be read to its end (e.g. a gzip file corrupt half-way): resuming would fail at the
        # same place, so this run's parts are removed rather than left behind
        if created:
            shutil.rmtree(folder, ignore_errors=True)
        raise


def _run_chunks(reader, clf, info, content, fingerprint, options, added, folder, input, output, out_fmt, summary, *,
                total, text_column, segment, interval, workers, threads, batch_size, progress, keep_parts, log,
                t0, explain=0) -> BulkSummary:
    sidecar = _sidecar(output)
    parts = _Parts(folder, fingerprint)
    done = parts.scan()
    parts.write_manifest(content, done)
    summary.chunks_resumed = len(done)
    if done:
        log(f"resuming: {len(done)} chunk(s), {sum(m['n_rows'] for m in done.values()):,} rows already done in {folder}")
    log(f"backend: {info['backend']}" + (f" ({clf.backend_options['reason']})"
                                          if clf.backend_options.get("reason") else ""))

    from tqdm.auto import tqdm

    bar = tqdm(total=total, initial=sum(m["n_rows"] for m in done.values()), unit="rows", disable=not progress,
               dynamic_ncols=True, smoothing=0.1, desc="scoring", file=sys.stderr)
    credited: dict[int, int] = {}

    def credit(k: int, n_rows: int, done_w: int, total_w: int):
        target = n_rows if total_w == 0 else (n_rows * done_w) // total_w
        delta = target - credited.get(k, 0)
        if delta > 0:
            credited[k] = target
            bar.update(delta)

    def finish(chunk: Chunk, table, errors, logits, counts, texts=()):
        if logits is not None:
            cols = result_columns(clf, logits, counts, interval)
        else:
            cols = result_columns(clf, np.zeros((0, len(clf.labels)), np.float32), np.zeros(0, np.int64), interval)
        if explain:
            from .explanation import top_phrases_json

            cols["top_phrases"] = np.asarray(top_phrases_json(clf, texts, explain, batch_size), dtype=object)
        table = _append_results(table, cols)
        done[chunk.index] = parts.write_chunk(chunk, table, errors, {"n_docs_empty": sum(
            e["kind"] == "no_statements" for e in errors)})
        _update_manifest(parts, content, done)
        credit(chunk.index, chunk.n_rows, 1, 1)
        _trim_heap()

    def prepare(chunk: Chunk):
        errors = list(chunk.errors)
        table = chunk.table
        if segment:
            table, seg_errors = _segment_chunk(chunk, text_column)
            errors = sorted(errors + seg_errors, key=lambda e: e["row"])
        else:
            errors.sort(key=lambda e: e["row"])
        return table, errors, table.column(text_column).to_pylist()

    n_chunks = 0
    try:
        if workers == 1:
            for chunk in reader.chunks(skip=set(done)):
                n_chunks += 1
                if chunk.table is None:
                    continue
                table, errors, texts = prepare(chunk)
                logits = counts = None
                if texts:
                    logits, counts = score_texts(clf, texts, batch_size,
                                                 lambda d, t, c=chunk: credit(c.index, c.n_rows, d, t))
                finish(chunk, table, errors, logits, counts, texts)
        else:
            n_chunks = _run_pool(clf, reader, done, parts, workers, threads, batch_size, prepare, finish, credit,
                                 folder)
        if n_chunks == 0:  # no records at all: one empty part carries the columns
            log(f"{input} holds no records: the output gets its columns and the result columns, and 0 rows")
            if 0 not in done:
                finish(Chunk(index=0, first_row=0, n_rows=0), _empty_input_table(reader, text_column, segment), [],
                       None, None)
            n_chunks = 1
        if bar.total is not None and bar.n != bar.total:
            bar.total = bar.n  # CSV/JSONL totals are line counts, an estimate
            bar.refresh()
    finally:
        bar.close()

    missing = [k for k in range(n_chunks) if k not in done]
    if missing:  # pragma: no cover - defensive
        raise RuntimeError(f"chunks {missing[:5]} were not written; run again to resume")
    parts.write_manifest(content, done, complete=True)
    summary.chunks = n_chunks
    summary.rows_read = sum(m["n_rows"] for m in done.values())
    summary.rows_scored = sum(m["n_scored"] for m in done.values())
    summary.documents_without_statements = sum(m.get("n_docs_empty", 0) for m in done.values())
    summary.errors = sum(m["n_errors"] for m in done.values()) - summary.documents_without_statements
    kinds: dict[str, int] = {}
    for k in range(n_chunks):
        for line in parts.errors(k).read_text().splitlines():
            kind = json.loads(line)["kind"]
            kinds[kind] = kinds.get(kind, 0) + 1
    summary.error_kinds = {k: v for k, v in kinds.items() if k != "no_statements"}

    metadata = {"model": info, "input": content["input"] | {"path": str(input)}, "options": options,
                "fingerprint": fingerprint,
                "rows": {"read": summary.rows_read, "scored": summary.rows_scored, "errors": summary.errors,
                         "documents_without_statements": summary.documents_without_statements},
                "columns": {"added": list(added), "probabilities": list(PROB_COLUMNS)}}
    _assemble(parts, n_chunks, output, out_fmt, metadata, text_column, added)
    summary.seconds = time.monotonic() - t0
    side = {**metadata, "fingerprint_content": content,
            "output": {"format": out_fmt, "bytes": output.stat().st_size if output.is_file() else None},
            "summary": {**asdict(summary), "seconds_this_run": summary.seconds}}
    _atomic_write(sidecar, (json.dumps(side, indent=2, default=str) + "\n").encode())
    if not keep_parts:
        shutil.rmtree(folder, ignore_errors=True)
    return summary


def _run_pool(clf, reader, done, parts, workers, threads, batch_size, prepare, finish, credit, folder) -> int:
    import multiprocessing as mp
    import queue as queue_mod
    from concurrent.futures import FIRST_COMPLETED, ProcessPoolExecutor, wait

    from .backends import ort_worker_spec

    spec = ort_worker_spec(clf)
    model_dir = _model_folder(clf, folder / "model") if spec is None else None
    ctx = mp.get_context("spawn")
    progress_q = ctx.Queue()
    n_chunks = 0
    inflight: dict = {}
    pending: dict[int, tuple] = {}

    def drain_progress():
        while True:
            try:
                k, d, t = progress_q.get_nowait()
            except queue_mod.Empty:
                return
            if k in pending:
                credit(k, pending[k][0].n_rows, d, t)

    def collect(block: bool):
        if not inflight:
            return
        finished, _ = wait(list(inflight), timeout=0.2 if block else 0, return_when=FIRST_COMPLETED)
        drain_progress()
        for fut in finished:
            k = inflight.pop(fut)
            _, logits, counts = fut.result()
            chunk, table, errors = pending.pop(k)
            finish(chunk, table, errors, logits, counts)

    with ProcessPoolExecutor(max_workers=workers, mp_context=ctx, initializer=_worker_init,
                             initargs=(str(model_dir), clf.backend_options, threads, progress_q, spec)) as pool:
        for chunk in reader.chunks(skip=set(done)):
            n_chunks += 1
            if chunk.table is None:
                continue
            table, errors, texts = prepare(chunk)
            if not texts:
                finish(chunk, table, errors, None, None)
                continue
            pending[chunk.index] = (chunk, table, errors)
            inflight[pool.submit(_worker_score, chunk.index, texts, batch_size)] = chunk.index
            while len(inflight) > workers:
                collect(block=True)
        while inflight:
            collect(block=True)
    return n_chunks


def _assemble(parts: _Parts, n_chunks: int, output: Path, fmt: str, metadata: dict, text_column: str,
              added: Sequence[str]) -> None:
    """Concatenate the parts (in order) into ``output`` and the errors into the errors file."""
    import pyarrow.parquet as pq

    errors_path = _errors_path(output)
    tmp = errors_path.with_name(f".{errors_path.name}.tmp")
    with open(tmp, "wb") as f:
        for k in range(n_chunks):
            f.write(parts.errors(k).read_bytes())
        f.flush()
        os.fsync(f.fileno())
    os.replace(tmp, errors_path)

    schemas = [pq.read_schema(parts.part(k)).remove_metadata() for k in range(n_chunks)]
    nonempty = [s for k, s in enumerate(schemas) if pq.ParquetFile(parts.part(k)).metadata.num_rows]
    schema = unify_schemas(nonempty or schemas, last=list(added))
    target = output if fmt != "datasets" else parts.folder / "assembled.parquet"
    write_fmt = "parquet" if fmt == "datasets" else fmt
    tmp = target.with_name(f".tmp-{target.name}")  # keeps the suffix (.gz)
    writer = TableWriter(tmp, write_fmt, schema, metadata)
    try:
        for k in range(n_chunks):
            table = pq.read_table(parts.part(k))
            if table.num_rows:
                writer.write(table)
    finally:
        writer.close()
    if write_fmt != "parquet":
        with open(tmp, "rb+") as f:
            os.fsync(f.fileno())
    if fmt != "datasets":
        os.replace(tmp, output)
        return
    os.replace(tmp, target)
    import datasets

    ds = datasets.Dataset.from_parquet(str(target), cache_dir=str(parts.folder / "hf-cache"))
    staging = output.with_name(f".{output.name}.tmp")
    if staging.exists():
        shutil.rmtree(staging)
    ds.save_to_disk(str(staging))
    (staging / META_IN_FOLDER).write_text(json.dumps(metadata, indent=2, default=str) + "\n")
    if output.exists():
        shutil.rmtree(output)  # checked before the run: an earlier tonecls output (tonecls_meta.json)
    os.replace(staging, output)


# ---------------------------------------------------------------------------- Dataset.map
def map_function(model=None, *, text_column: str = "text", backend: str | None = None, batch_size: int = 64,
                 interval: bool = False) -> Callable[[dict], "object"]:
    """A function for ``datasets.Dataset.map(fn, batched=True)`` that adds the result columns.

    Rows that cannot be scored (missing, empty or non-string text) keep their place, with the
    reason in an ``error`` column (``""`` for scored rows) and placeholder results: NaN for
    ``score`` and the probabilities, -1 for ``level``/``windows``, ``""`` for ``label``. (Not
    None: ``Dataset.map`` infers column types batch by batch, and a first batch of only bad rows
    would fix a column to the null type.) Filter with ``ds.filter(lambda r: not r["error"])``.

    >>> ds = ds.map(map_function("models/tonecls-base"), batched=True, batch_size=1024)   # doctest: +SKIP
    """
    clf = load_model(model, backend)
    if interval:
        _check_interval(clf)

    def fn(batch: dict):
        from .archive import text_problem

        texts = list(batch[text_column])
        problems = [text_problem(t, text_column) for t in texts]
        good = np.asarray([i for i, p in enumerate(problems) if p is None], dtype=np.int64)
        logits, counts = score_texts(clf, [texts[i] for i in good], batch_size) if len(good) else (
            np.zeros((0, len(clf.labels)), np.float32), np.zeros(0, np.int64))
        n = len(texts)
        out = {}
        for name, values in result_columns(clf, logits, counts, interval).items():
            # sentinels rather than None: Dataset.map infers column types batch by batch
            full = np.full(n, "" if values.dtype == object else np.nan if values.dtype.kind == "f" else -1,
                           dtype=object if values.dtype == object else values.dtype)
            full[good] = values
            out[name] = full.tolist() if values.dtype == object else full
        out["error"] = ["" if p is None else p[1] for p in problems]
        return out

    fn.classifier = clf  # type: ignore[attr-defined]
    return fn


# ---------------------------------------------------------------------------- Ray Data
class RayScorer:
    """Callable class for ``ray.data.Dataset.map_batches``: loads the model once per actor and
    scores ``pyarrow`` batches (length-sorted within the batch). Bad rows come back with null
    results and the reason in ``_error``."""

    def __init__(self, model_dir: str, backend_options: dict, text_column: str = "text", batch_size: int = 64,
                 interval: bool = False, segment: bool = False, threads: int | None = None):
        from .classifier import ToneClassifier
        from .backends import apply_backend

        if threads:
            import torch

            torch.set_num_threads(threads)
        self.clf = ToneClassifier.from_pretrained(model_dir)
        opts = {k: v for k, v in backend_options.items() if k in ("guard", "exclude", "per_channel", "independent")}
        apply_backend(self.clf, backend_options["backend"], threads=threads, **opts)
        self.text_column, self.batch_size, self.interval, self.segment = text_column, batch_size, interval, segment

    def __call__(self, table):
        import pyarrow as pa

        from .archive import text_problem

        texts = table.column(self.text_column).to_pylist()
        problems = [text_problem(t, self.text_column) for t in texts]
        good = [i for i, p in enumerate(problems) if p is None]
        if self.segment:
            chunk = Chunk(index=0, first_row=0, n_rows=table.num_rows, table=table.take(pa.array(good, pa.int64())),
                          rows=good)
            scored, seg_errors = _segment_chunk(chunk, self.text_column)
            scored = scored.drop_columns(["doc_row"])
            bad_idx = [i for i, p in enumerate(problems) if p is not None]
            reasons = ["\t".join(problems[i]) for i in bad_idx]  # kind<TAB>reason
            bad_idx += [e["row"] for e in seg_errors]
            reasons += [f"{e['kind']}\t{e['reason']}" for e in seg_errors]
        else:
            scored = table.take(pa.array(good, pa.int64()))
            bad_idx = [i for i, p in enumerate(problems) if p is not None]
            reasons = ["\t".join(problems[i]) for i in bad_idx]  # kind<TAB>reason
        s_texts = scored.column(self.text_column).to_pylist()
        if s_texts:
            logits, counts = score_texts(self.clf, s_texts, self.batch_size)
        else:
            logits, counts = np.zeros((0, len(self.clf.labels)), np.float32), np.zeros(0, np.int64)
        scored = _append_results(scored, result_columns(self.clf, logits, counts, self.interval))
        scored = scored.append_column("_error", pa.nulls(scored.num_rows, pa.string()))
        if not bad_idx:
            return scored
        bad = table.take(pa.array(bad_idx, pa.int64()))
        # bad rows keep their (stringified) text so they can be found again
        bad = bad.set_column(bad.column_names.index(self.text_column), self.text_column,
                             pa.array([None if v is None else str(v) for v in bad.column(self.text_column).to_pylist()],
                                      pa.string()))
        bad = bad.append_column("_error", pa.array(reasons, pa.string()))
        from .archive import conform

        schema = unify_schemas([scored.schema, bad.schema], last=[c for c in scored.column_names
                                                                  if c not in table.column_names])
        return pa.concat_tables([conform(scored, schema), conform(bad, schema)])


def _ray_read(path: Path, fmt: str, split: str | None):
    import ray

    if fmt == "parquet":
        return ray.data.read_parquet(str(path))
    if fmt == "csv":
        import pyarrow.csv as pacsv

        return ray.data.read_csv(str(path), convert_options=pacsv.ConvertOptions(strings_can_be_null=False,
                                                                                 column_types=None))
    if fmt == "jsonl":
        return ray.data.read_json(str(path), lines=True)
    import datasets

    ds = datasets.load_from_disk(str(path))
    if isinstance(ds, datasets.DatasetDict):
        if split is None:
            raise DataError(f"{path} holds splits {list(ds)}; name one (--split).")
        ds = ds[split]
    return ray.data.from_huggingface(ds)


def score_archive_ray(input, output, *, model=None, backend: str | None = None, text_column: str = "text",
                      split: str | None = None, segment: bool = False, interval: bool = False, workers: int = 1,
                      threads: int | None = None, chunk_size: int = 4096, batch_size: int = 64,
                      guard: float | None = None, overwrite: bool = False, encoding: str = "utf-8", log=None,
                      **_ignored) -> BulkSummary:
    """The same scoring on Ray Data: ``ray.data.read_*`` → ``map_batches(RayScorer, ...)`` with
    ``workers`` actors of ``threads`` CPUs → ordered blocks, assembled by the driver. Connects to a running Ray
    cluster if ``ray.init`` was called (or ``RAY_ADDRESS`` is set), else starts a local one.

    Differences from the local engine: no resume (Ray Data retries failed tasks itself); the
    input must be parseable by Ray's readers (an unparsable JSON line fails the read); bad
    rows are listed in the errors file with their columns and reason but without a row number
    (Ray does not number rows); CSV columns are typed by Ray's reader. Output rows keep the
    input order. An output path without suffix gets Ray's folder of Parquet files; a
    ``.parquet``/``.csv``/``.jsonl`` output is assembled from it by the driver. Ray's readers
    take UTF-8 only: another ``encoding`` is refused (use the local engine).
    """
    try:
        import ray
    except ImportError as err:
        raise ImportError("engine='ray' needs Ray Data: pip install 'tonecls[ray]'") from err
    import pyarrow.compute as pc
    import pyarrow.parquet as pq

    log = log or (lambda msg: print(msg, file=sys.stderr))
    t0 = time.monotonic()
    input, output = Path(input), Path(output)
    from .archive import resolve_encoding

    if resolve_encoding(encoding) != "utf-8-sig":
        raise DataError(f"--engine ray reads UTF-8 only, not {encoding!r}: convert the file (e.g. `iconv -f {encoding} "
                        "-t utf-8`) or use the local engine.")
    reader = ArchiveReader(input, text_column=text_column, split=split, chunk_size=chunk_size)
    out_fmt = output_format(output)
    check_output_path(output, input)
    with OutputLock(output):
        if output.exists() or output.is_symlink():
            if output_metadata(output) is None:
                raise _foreign_output_error(output)
            if not overwrite:
                raise OutputError(f"{output} is an earlier tonecls output; pass --overwrite to replace it.")
        return _score_ray_locked(ray, pc, pq, reader, input, output, out_fmt, model=model, backend=backend,
                                 text_column=text_column, split=split, segment=segment, interval=interval,
                                 workers=workers, threads=threads, chunk_size=chunk_size, batch_size=batch_size,
                                 guard=guard, t0=t0)


def _score_ray_locked(ray, pc, pq, reader, input, output, out_fmt, *, model, backend, text_column, split, segment,
                      interval, workers, threads, chunk_size, batch_size, guard, t0) -> BulkSummary:
    clf = load_model(model, backend, guard=guard)
    if interval:
        _check_interval(clf)
    info = model_info(clf)
    work = output.with_name(output.name + ".ray")
    if work.exists():
        shutil.rmtree(work)
    work.mkdir(parents=True)
    model_dir = _model_folder(clf, work / "model")
    if not ray.is_initialized():
        ray.init(num_cpus=workers * (threads or 1) + 1, include_dashboard=False, log_to_driver=False,
                 ignore_reinit_error=True)
    ctx = ray.data.DataContext.get_current()
    ctx.execution_options.preserve_order = True
    ctx.enable_progress_bars = False
    ds = _ray_read(input, reader.format, split)
    # Leave one CPU of the cluster to the read and write tasks: actors that reserve every CPU
    # starve them and the pipeline stalls. (The reservation only schedules; threads are set apart.)
    cluster_cpus = float(ray.cluster_resources().get("CPU", 1))
    actor_cpus = min(float(threads or 1), max(0.25, (cluster_cpus - 1) / workers))
    scored = ds.map_batches(
        RayScorer, fn_constructor_kwargs=dict(model_dir=str(model_dir), backend_options=clf.backend_options,
                                              text_column=text_column, batch_size=batch_size, interval=interval,
                                              segment=segment, threads=threads or 1),
        batch_size=chunk_size, batch_format="pyarrow", compute=ray.data.ActorPoolStrategy(size=workers),
        num_cpus=actor_cpus)
    raw = work / "scored"
    raw.mkdir()
    # Ray's write_parquet names files by write task, which need not follow the rows' order; blocks
    # iterated here do (preserve_order), so the driver numbers them as it receives them.
    for i, block in enumerate(scored.iter_batches(batch_size=None, batch_format="pyarrow")):
        pq.write_table(block, raw / f"{i:09d}.parquet")
    files = sorted(raw.glob("*.parquet"))
    added = RESULT_COLUMNS + (INTERVAL_COLUMNS if interval else ()) + (("position",) if segment else ())
    schemas = [pq.read_schema(f) for f in files]
    schema = unify_schemas(schemas, last=list(added) + ["_error"]) if schemas else None
    summary = BulkSummary(output=str(output), errors_file=str(_errors_path(output)), backend=info["backend"],
                          chunks=len(files))
    errors_tmp = work / "errors.jsonl"
    fields = [f for f in schema if f.name != "_error"] if schema else []
    import pyarrow as pa

    good_schema = pa.schema(fields)
    metadata = {"model": info, "input": reader.fingerprint() | {"path": str(input)}, "engine": "ray",
                "options": {"text_column": text_column, "split": split, "segment": segment, "interval": interval,
                            "batch_size": batch_size, "chunk_size": chunk_size}}
    target = output if out_fmt != "datasets" else work / "assembled.parquet"
    tmp = target.with_name(f".tmp-{target.name}")  # keeps the suffix (.gz)
    writer = TableWriter(tmp, "parquet" if out_fmt == "datasets" else out_fmt, good_schema, metadata)
    kinds: dict[str, int] = {}
    with open(errors_tmp, "w") as ef:
        for f in files:
            t = pq.read_table(f)
            from .archive import conform

            t = conform(t, schema)
            bad = pc.is_valid(t.column("_error"))
            good_t = t.filter(pc.invert(bad)).drop_columns(["_error"])
            bad_t = t.filter(bad)
            if good_t.num_rows:
                writer.write(good_t)
            summary.rows_scored += good_t.num_rows
            for rec in bad_t.select([c for c in bad_t.column_names if c not in added]).to_pylist():
                kind, reason = rec.pop("_error").split("\t", 1)
                kinds[kind] = kinds.get(kind, 0) + 1
                ef.write(json.dumps({"row": None, "line": None, "kind": kind, "reason": reason, "record": rec},
                                    ensure_ascii=False, default=str) + "\n")
    writer.close()
    if out_fmt == "datasets":
        import datasets

        os.replace(tmp, target)
        dset = datasets.Dataset.from_parquet(str(target), cache_dir=str(work / "hf-cache"))
        if output.exists():
            shutil.rmtree(output)  # checked before the run: an earlier tonecls output
        dset.save_to_disk(str(output))
        (output / META_IN_FOLDER).write_text(json.dumps(metadata, indent=2, default=str) + "\n")
    else:
        os.replace(tmp, output)
    os.replace(errors_tmp, _errors_path(output))
    summary.documents_without_statements = kinds.pop("no_statements", 0)
    summary.errors = sum(kinds.values())
    summary.error_kinds = kinds
    summary.rows_read = reader.total_rows() if reader.format in ("parquet", "datasets") else (
        summary.errors + (summary.rows_scored if not segment else 0))
    summary.seconds = time.monotonic() - t0
    metadata["output"] = {"format": out_fmt, "bytes": output.stat().st_size if output.is_file() else None}
    _atomic_write(_sidecar(output), (json.dumps({**metadata, "summary": asdict(summary)}, indent=2, default=str)
                                     + "\n").encode())
    shutil.rmtree(work, ignore_errors=True)
    return summary


# ---------------------------------------------------------------------------- CLI
def run_cli(args) -> int:
    summary = score_archive(
        args.input, args.output, model=args.model, backend=getattr(args, "backend", "auto"),
        text_column=getattr(args, "text_column", "text"), split=getattr(args, "split", None),
        segment=getattr(args, "segment", False), interval=getattr(args, "interval", False),
        workers=getattr(args, "workers", 1), threads=getattr(args, "threads", None),
        chunk_size=getattr(args, "chunk_size", 4096), batch_size=args.batch_size, guard=getattr(args, "guard", None),
        progress=not getattr(args, "no_progress", False), resume=not getattr(args, "restart", False),
        overwrite=getattr(args, "overwrite", False), keep_parts=getattr(args, "keep_parts", False),
        engine=getattr(args, "engine", "local"), encoding=getattr(args, "encoding", "utf-8"),
        explain=getattr(args, "explain", 0) or 0)
    if getattr(args, "json", False):
        print(json.dumps(asdict(summary), indent=2))
    else:
        print(summary)
    return 0
