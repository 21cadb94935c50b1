"""The Ray Data engine: ``ray.data.read_*`` → ``map_batches(RayScorer)`` → ordered blocks."""

from __future__ import annotations

import json
import os
import shutil
import time
from dataclasses import asdict
from pathlib import Path

import numpy as np

from ..archive import (ArchiveReader, Chunk, TableWriter, conform, output_format, resolve_encoding, text_problem,
                       unify_schemas)
from ..exceptions import DataError, OutputError
from .columns import INTERVAL_COLUMNS, RESULT_COLUMNS, append_results, result_columns, segment_chunk
from .model import check_interval, load_model, model_folder, model_info, score_texts
from .output import (META_IN_FOLDER, OutputLock, atomic_write, check_output_path, errors_path, foreign_output_error,
                     output_metadata, sidecar_path)
from .summary import BulkSummary


class RayScorer:
    """Callable class for ``ray.data.Dataset.map_batches``: loads the model once per actor and
    scores ``pyarrow`` batches (length-sorted within the batch). Bad rows come back with null
    results and the reason in ``_error``."""

    def __init__(self, model_dir: str, backend_options: dict, text_column: str = "text", batch_size: int = 64,
                 interval: bool = False, segment: bool = False, threads: int | None = None):
        from ..classifier import ToneClassifier
        from ..backends import apply_backend, runner_options

        if threads:
            import torch

            torch.set_num_threads(threads)
        self.clf = ToneClassifier.from_pretrained(model_dir)
        opts = runner_options(backend_options)
        apply_backend(self.clf, backend_options["backend"], threads=threads, **opts)
        self.text_column, self.batch_size, self.interval, self.segment = text_column, batch_size, interval, segment

    def __call__(self, table):
        import pyarrow as pa

        texts = table.column(self.text_column).to_pylist()
        problems = [text_problem(t, self.text_column) for t in texts]
        good = [i for i, p in enumerate(problems) if p is None]
        if self.segment:
            chunk = Chunk(index=0, first_row=0, n_rows=table.num_rows, table=table.take(pa.array(good, pa.int64())),
                          rows=good)
            scored, seg_errors = segment_chunk(chunk, self.text_column)
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
        scored = append_results(scored, result_columns(self.clf, logits, counts, self.interval))
        scored = scored.append_column("_error", pa.nulls(scored.num_rows, pa.string()))
        if not bad_idx:
            return scored
        bad = table.take(pa.array(bad_idx, pa.int64()))
        # bad rows keep their (stringified) text so they can be found again
        bad = bad.set_column(bad.column_names.index(self.text_column), self.text_column,
                             pa.array([None if v is None else str(v) for v in bad.column(self.text_column).to_pylist()],
                                      pa.string()))
        bad = bad.append_column("_error", pa.array(reasons, pa.string()))
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

    t0 = time.monotonic()
    input, output = Path(input), Path(output)
    if resolve_encoding(encoding) != "utf-8-sig":
        raise DataError(f"--engine ray reads UTF-8 only, not {encoding!r}: convert the file (e.g. `iconv -f {encoding} "
                        "-t utf-8`) or use the local engine.")
    reader = ArchiveReader(input, text_column=text_column, split=split, chunk_size=chunk_size)
    out_fmt = output_format(output)
    check_output_path(output, input)
    with OutputLock(output):
        if output.exists() or output.is_symlink():
            if output_metadata(output) is None:
                raise foreign_output_error(output)
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
        check_interval(clf)
    info = model_info(clf)
    work = output.with_name(output.name + ".ray")
    if work.exists():
        shutil.rmtree(work)
    work.mkdir(parents=True)
    model_dir = model_folder(clf, work / "model")
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
    summary = BulkSummary(output=str(output), errors_file=str(errors_path(output)), backend=info["backend"],
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
    os.replace(errors_tmp, errors_path(output))
    summary.documents_without_statements = kinds.pop("no_statements", 0)
    summary.errors = sum(kinds.values())
    summary.error_kinds = kinds
    summary.rows_read = reader.total_rows() if reader.format in ("parquet", "datasets") else (
        summary.errors + (summary.rows_scored if not segment else 0))
    summary.seconds = time.monotonic() - t0
    metadata["output"] = {"format": out_fmt, "bytes": output.stat().st_size if output.is_file() else None}
    atomic_write(sidecar_path(output), (json.dumps({**metadata, "summary": asdict(summary)}, indent=2, default=str)
                                        + "\n").encode())
    shutil.rmtree(work, ignore_errors=True)
    return summary
