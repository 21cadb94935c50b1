"""Reading an archive in chunks (:class:`ArchiveReader`): each :class:`Chunk` holds the rows that
can be scored (every input column kept) and the bad rows, as errors with their row number and reason."""

from __future__ import annotations

import gzip
import hashlib
import json
from dataclasses import dataclass, field
from pathlib import Path
from typing import Iterator

import pyarrow as pa

from .. import validation
from ..exceptions import DataError
from .formats import detect_format, resolve_encoding
from .records import ReadFailed, corrupt_file_error, csv_records, iter_records, open_bytes


@dataclass
class Chunk:
    index: int
    first_row: int
    n_rows: int  # records covered, good and bad
    table: pa.Table | None = None  # good rows, all input columns (None for a skipped chunk)
    rows: list[int] = field(default_factory=list)  # row number of each table row
    errors: list[dict] = field(default_factory=list)


def text_problem(value, text_column: str = "text", *, na_markers: bool = False) -> tuple[str, str] | None:
    """``(kind, reason)`` if ``value`` cannot be scored, else None (:func:`tonecls.validation.text_problem`
    with the column as the reason's subject)."""
    problem = validation.text_problem(value, na_markers=na_markers)
    return None if problem is None else (problem[0], validation.row_reason(text_column, problem[1]))


_MISSING = validation.MISSING


def _error(row: int, kind: str, reason: str, line: int | None = None, raw: str | None = None) -> dict:
    out = {"row": row, "line": line, "kind": kind, "reason": reason}
    if raw is not None:
        out["raw"] = raw[:200]
    return out


def _column_array(values: list) -> pa.Array:
    """An Arrow array of ``values``; values of mixed types become JSON text."""
    try:
        return pa.array(values)
    except (pa.ArrowInvalid, pa.ArrowTypeError, TypeError, OverflowError):
        return pa.array([v if v is None or isinstance(v, str) else json.dumps(v, ensure_ascii=False, default=str)
                         for v in values], type=pa.string())


def _table_from_records(records: list[dict], text_column: str) -> pa.Table:
    names: dict[str, None] = {}
    for rec in records:
        for k in rec:
            names.setdefault(k, None)
    cols = {k: _column_array([rec.get(k) for rec in records]) for k in names}
    return pa.table(cols) if cols else pa.table({text_column: pa.array([], pa.string())})


class ArchiveReader:
    """Iterate an archive in chunks. ``total_rows()`` is exact for Parquet and datasets, an
    estimate (line count) for CSV and JSON Lines."""

    def __init__(self, path: str | Path, *, text_column: str = "text", split: str | None = None,
                 chunk_size: int = 4096, encoding: str = "utf-8"):
        self.path = Path(path)
        if not self.path.exists():
            raise DataError(f"{self.path}: no such file or folder.")
        if chunk_size < 1:
            raise ValueError(f"chunk_size must be positive, got {chunk_size}.")
        self.format = detect_format(self.path)
        self.encoding = encoding or "utf-8"
        resolve_encoding(self.encoding)  # an unknown name fails here, before any work
        self.text_column = text_column
        self.split = split
        self.chunk_size = chunk_size
        self._dataset = None
        self._check_columns()

    # ------------------------------------------------------------------ metadata
    def _load_dataset(self):
        if self._dataset is None:
            import datasets

            ds = datasets.load_from_disk(str(self.path))
            if isinstance(ds, datasets.DatasetDict):
                if self.split is None:
                    raise DataError(f"{self.path} holds splits {list(ds)}; name one (--split).")
                if self.split not in ds:
                    raise DataError(f"{self.path} has no split {self.split!r}; splits are {list(ds)}.")
                ds = ds[self.split]
            self._dataset = ds
        return self._dataset

    def schema(self) -> pa.Schema | None:
        if self.format == "parquet":
            import pyarrow.parquet as pq

            return pq.read_schema(self.path)
        if self.format == "datasets":
            return self._load_dataset().data.schema
        return None

    def _check_columns(self) -> None:
        schema = self.schema()
        if schema is not None:
            if self.text_column not in schema.names:
                raise DataError(f"{self.path}: no column {self.text_column!r}; columns are {schema.names}. "
                                "Name the text column with --text-column.")
            t = schema.field(self.text_column).type
            if pa.types.is_dictionary(t):
                t = t.value_type
            if not (pa.types.is_string(t) or pa.types.is_large_string(t) or pa.types.is_null(t)
                    or pa.types.is_string_view(t)):
                raise DataError(f"{self.path}: column {self.text_column!r} holds {t}, not text. "
                                "Name the text column with --text-column.")
        elif self.format == "csv":
            header = self.columns()
            if not header:
                raise DataError(f"{self.path}: empty CSV file (no header row).")
            if self.text_column not in header:
                raise DataError(f"{self.path}: no column {self.text_column!r}; columns are {header}. "
                                "Name the text column with --text-column.")
            if len(set(header)) != len(header):
                raise DataError(f"{self.path}: duplicate column names in the header {header}.")
        else:  # JSON Lines: the text field should appear among the first records
            keys: dict[str, None] = {}
            seen = 0
            for _, _, rec, _ in iter_records(self.path, "jsonl", self.encoding):
                if rec is not None:
                    if self.text_column in rec:
                        return
                    keys.update(dict.fromkeys(rec))
                    seen += 1
                    if seen >= 100:
                        break
            if seen:
                raise DataError(f"{self.path}: none of the first {seen} records has a {self.text_column!r} field; "
                                f"fields are {list(keys)}. Name the text field with --text-column.")

    def columns(self) -> list[str] | None:
        schema = self.schema()
        if schema is not None:
            return list(schema.names)
        if self.format == "csv":
            return csv_records(self.path, self.encoding, self._dialect())[0]
        return None

    def total_rows(self) -> int | None:
        if self.format == "parquet":
            import pyarrow.parquet as pq

            return pq.ParquetFile(self.path).metadata.num_rows
        if self.format == "datasets":
            return len(self._load_dataset())
        # count newlines: fast, and an upper bound on records (CSV fields may span lines). This reads the
        # whole (decompressed) file, so a corrupt gzip file is found here, before any scoring.
        import zlib

        n, last = 0, b"\n"
        try:
            with open_bytes(self.path) as f:
                for block in iter(lambda: f.read(1 << 22), b""):
                    n += block.count(b"\n")
                    last = block[-1:]
        except (EOFError, zlib.error, gzip.BadGzipFile) as err:
            # read the records up to the damage, so that the message names the last good row
            try:
                for _ in iter_records(self.path, self.format, self.encoding, self._dialect()):
                    pass
            except DataError as named:
                raise named from None
            raise corrupt_file_error(self.path, ReadFailed(n, err)) from None
        n += last != b"\n"
        return max(n - (self.format == "csv"), 0)

    def fingerprint(self) -> dict:
        """sha256 of the input's bytes (every file of a datasets folder) plus split/column."""
        digest = hashlib.sha256()
        files = sorted(p for p in self.path.rglob("*") if p.is_file()) if self.path.is_dir() else [self.path]
        size = 0
        for p in files:
            if self.path.is_dir():
                digest.update(str(p.relative_to(self.path)).encode() + b"\0")
            with open(p, "rb") as f:
                for block in iter(lambda: f.read(1 << 22), b""):
                    digest.update(block)
                    size += len(block)
        out = {"format": self.format, "sha256": digest.hexdigest(), "bytes": size, "split": self.split,
               "text_column": self.text_column}
        if self.format in ("csv", "jsonl"):
            out["encoding"] = resolve_encoding(self.encoding)
        return out

    def _dialect(self):
        return "excel-tab" if ".tsv" in self.path.name.lower() else "excel"

    # ------------------------------------------------------------------ chunks
    def chunks(self, skip: set[int] | frozenset = frozenset()) -> Iterator[Chunk]:
        """Yield every chunk in order; chunks in ``skip`` come with ``table=None``."""
        if self.format in ("parquet", "datasets"):
            yield from self._arrow_chunks(skip)
        else:
            yield from self._record_chunks(iter_records(self.path, self.format, self.encoding, self._dialect()), skip)

    def _arrow_batches(self) -> Iterator[pa.RecordBatch | pa.Table]:
        if self.format == "parquet":
            import pyarrow.parquet as pq

            pf = pq.ParquetFile(self.path)
            yield from pf.iter_batches(batch_size=self.chunk_size)
        else:
            ds = self._load_dataset().with_format("arrow")
            for start in range(0, len(ds), self.chunk_size):
                yield ds[start:start + self.chunk_size]

    def _arrow_chunks(self, skip) -> Iterator[Chunk]:
        pending: list = []
        have = 0
        index = 0
        row = 0

        def emit(table: pa.Table) -> Chunk:
            nonlocal index, row
            chunk = Chunk(index=index, first_row=row, n_rows=table.num_rows)
            if index not in skip:
                self._fill_arrow_chunk(chunk, table)
            index += 1
            row += table.num_rows
            return chunk

        for batch in self._arrow_batches():
            pending.append(batch if isinstance(batch, pa.Table) else pa.Table.from_batches([batch]))
            have += pending[-1].num_rows
            while have >= self.chunk_size:
                table = pa.concat_tables(pending)
                yield emit(table.slice(0, self.chunk_size))
                rest = table.slice(self.chunk_size)
                pending, have = ([rest] if rest.num_rows else []), rest.num_rows
        if have:
            yield emit(pa.concat_tables(pending))

    def _fill_arrow_chunk(self, chunk: Chunk, table: pa.Table) -> None:
        texts = table.column(self.text_column).to_pylist()
        keep = []
        for i, t in enumerate(texts):
            problem = text_problem(t, self.text_column)
            if problem:
                chunk.errors.append(_error(chunk.first_row + i, *problem))
            else:
                keep.append(i)
        chunk.rows = [chunk.first_row + i for i in keep]
        table = table.combine_chunks()
        chunk.table = table if len(keep) == table.num_rows else table.take(pa.array(keep, pa.int64()))

    def _record_chunks(self, records, skip) -> Iterator[Chunk]:
        index, buf = 0, []

        def emit(buf) -> Chunk:
            chunk = Chunk(index=index, first_row=buf[0][0], n_rows=len(buf))
            if index not in skip:
                good, rows = [], []
                for row, line, rec, err in buf:
                    if err is not None:
                        chunk.errors.append(_error(row, err[0], err[1], line, err[2]))
                        continue
                    problem = text_problem(rec.get(self.text_column, _MISSING), self.text_column,
                                           na_markers=self.format == "csv")
                    if problem:
                        chunk.errors.append(_error(row, *problem, line=line))
                        continue
                    good.append(rec)
                    rows.append(row)
                chunk.table = _table_from_records(good, self.text_column)
                chunk.rows = rows
            return chunk

        for item in records:
            buf.append(item if index not in skip else (item[0], None, None, None))
            if len(buf) == self.chunk_size:
                yield emit(buf)
                index += 1
                buf = []
        if buf:
            yield emit(buf)
