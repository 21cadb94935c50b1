"""The local engine: :func:`score_archive` reads chunks, scores them (here or in a spawn pool),
writes resumable parts and assembles the output."""

from __future__ import annotations

import json
import os
import shutil
import sys
import time
from dataclasses import asdict
from pathlib import Path

import numpy as np

from ..archive import ArchiveReader, Chunk, output_format
from ..exceptions import DataError, OptionError, OutputError
from .columns import (INTERVAL_COLUMNS, PROB_COLUMNS, RESULT_COLUMNS, SEGMENT_COLUMNS, append_results, result_columns,
                      segment_chunk)
from .model import check_interval, load_model, model_info, score_texts, trim_heap
from .output import (OutputLock, atomic_write, check_output_path, errors_path, foreign_output_error, output_metadata,
                     sidecar_path)
from .parts import MANIFEST, Parts, assemble, fingerprint_diff, run_fingerprint
from .pool import run_pool
from .ray_engine import score_archive_ray
from .summary import BulkSummary


def _update_manifest(parts: Parts, content: dict, done: dict) -> None:
    """Written after every part (a crash before it is harmless: parts are the truth)."""
    parts.write_manifest(content, done)


def _cpu_count() -> int:
    try:
        return len(os.sched_getaffinity(0))
    except AttributeError:  # pragma: no cover
        return os.cpu_count() or 1


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
            raise foreign_output_error(output)
    reader = ArchiveReader(input, text_column=text_column, split=split, chunk_size=chunk_size, encoding=encoding)
    total = reader.total_rows()  # reads a compressed file through: a corrupt one fails here, before any scoring
    if threads is None and workers > 1:
        threads = max(1, _cpu_count() // workers)
    clf = load_model(model, backend, threads=threads if workers == 1 else None, guard=guard)
    if interval:
        check_interval(clf)
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
    fingerprint, content = run_fingerprint(reader, info, options)
    summary = BulkSummary(output=str(output), errors_file=str(errors_path(output)), backend=info["backend"])

    if previous is not None:
        if previous.get("fingerprint") == fingerprint and not overwrite:
            for k in ("rows_read", "rows_scored", "errors", "documents_without_statements", "chunks", "error_kinds"):
                setattr(summary, k, previous.get("summary", {}).get(k, getattr(summary, k)))
            summary.already_complete = True
            summary.seconds = time.monotonic() - t0
            return summary
        if not overwrite:
            why = (fingerprint_diff(previous.get("fingerprint_content", {}), content)
                   if previous.get("fingerprint_content") else [])
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
            why = fingerprint_diff(old.get("fingerprint_content", {}), content) or ["fingerprint"]
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
    sidecar = sidecar_path(output)
    parts = Parts(folder, fingerprint)
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
            from ..explanation import top_phrases_json

            cols["top_phrases"] = np.asarray(top_phrases_json(clf, texts, explain, batch_size), dtype=object)
        table = append_results(table, cols)
        done[chunk.index] = parts.write_chunk(chunk, table, errors, {"n_docs_empty": sum(
            e["kind"] == "no_statements" for e in errors)})
        _update_manifest(parts, content, done)
        credit(chunk.index, chunk.n_rows, 1, 1)
        trim_heap()

    def prepare(chunk: Chunk):
        errors = list(chunk.errors)
        table = chunk.table
        if segment:
            table, seg_errors = segment_chunk(chunk, text_column)
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
            n_chunks = run_pool(clf, reader, done, workers, threads, batch_size, prepare, finish, credit, folder)
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
    assemble(parts, n_chunks, output, out_fmt, metadata, added)
    summary.seconds = time.monotonic() - t0
    side = {**metadata, "fingerprint_content": content,
            "output": {"format": out_fmt, "bytes": output.stat().st_size if output.is_file() else None},
            "summary": {**asdict(summary), "seconds_this_run": summary.seconds}}
    atomic_write(sidecar, (json.dumps(side, indent=2, default=str) + "\n").encode())
    if not keep_parts:
        shutil.rmtree(folder, ignore_errors=True)
    return summary
