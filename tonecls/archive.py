"""Streaming readers and writers for statement archives (used by :mod:`tonecls.bulk`).

Readers cut the input into *chunks* of exactly ``chunk_size`` records (the last one shorter),
so that chunk ``k`` always holds the same records and a resumed run can skip finished chunks.
Each chunk carries an Arrow table of the rows that can be scored (every input column kept)
and the rows that cannot, as errors with their row number and reason.

Row numbers (``row``) are 0-based positions among the input's records: data rows of a CSV
(after the header; blank lines are not records), non-blank lines of a JSON Lines file, rows of
a Parquet file or ``datasets`` dataset. Text formats also report the 1-based ``line`` where
the record starts.

Decoding (one path for every text reader: bulk scoring here, and ``read_table`` for ``label``,
``train``, ``calibrate``, ``evaluate`` and ``shifts``): files are decoded with ``encoding``
(default UTF-8; a byte-order mark is removed, as Excel writes one) and ``errors="surrogateescape"``,
so bytes that are not valid in that encoding are never replaced silently: the record holding them
is reported as ``bad_encoding`` with its row and line and the hint to pass ``--encoding``. A ``.json``
file whose first character is ``[`` is read as one JSON array of records. A corrupt or truncated
gzip file stops the read with a :class:`DataError` naming the file and the last good row.

Bad rows:

- ``missing_text``: no text field (JSON), a null value, or (CSV) a cell that is exactly a
  missing-value marker such as ``NA``, ``NaN``, ``null``, ``#N/A`` (:data:`tonecls.validation.NA_MARKERS`);
- ``not_a_string``: the text is a number, list, object, ...;
- ``empty_text``: empty or whitespace only;
- ``no_readable_text``: only control, format or zero-width characters;
- ``invalid_unicode``: a lone surrogate (a broken ``\\ud800`` JSON escape) in the text or another field;
- ``bad_encoding``: bytes that are not valid in the file's encoding;
- ``bad_json``: a line that is not valid JSON, or not a JSON object;
- ``bad_csv``: a CSV row with more or fewer fields than the header.
"""

from __future__ import annotations

import csv
import gzip
import hashlib
import io
import json
import os
import sys
from dataclasses import dataclass, field
from pathlib import Path
from typing import Iterator

import pyarrow as pa

from . import validation
from .exceptions import DataError, ToneclsError  # noqa: F401 (DataError re-exported)

FORMATS = ("csv", "jsonl", "parquet", "datasets")


@dataclass
class Chunk:
    index: int
    first_row: int
    n_rows: int  # records covered, good and bad
    table: pa.Table | None = None  # good rows, all input columns (None for a skipped chunk)
    rows: list[int] = field(default_factory=list)  # row number of each table row
    errors: list[dict] = field(default_factory=list)


def detect_format(path: str | Path) -> str:
    path = Path(path)
    if path.is_dir():
        return "datasets"
    name = path.name.lower()
    for suffixes, fmt in (((".csv", ".csv.gz", ".tsv", ".tsv.gz"), "csv"),
                          ((".jsonl", ".jsonl.gz", ".json", ".json.gz", ".ndjson", ".ndjson.gz"), "jsonl"),
                          ((".parquet", ".pq"), "parquet")):
        if name.endswith(suffixes):
            return fmt
    raise DataError(f"{path}: unknown format. Use .csv, .jsonl, .jsonl.gz, .parquet, or a datasets folder.")


def output_format(path: str | Path) -> str:
    """Format of an output path: by suffix; a path without a known suffix is a datasets folder."""
    path = Path(path)
    if path.exists() and path.is_dir():
        return "datasets"
    try:
        return detect_format(path)
    except DataError:
        if path.suffix == "":
            return "datasets"
        raise


_UTF8 = {"utf-8", "utf8", "u8", "utf", "utf_8", "cp65001"}


def resolve_encoding(encoding: str | None) -> str:
    """The codec to read with: UTF-8 becomes ``utf-8-sig`` (a byte-order mark is dropped);
    an unknown name is a :class:`DataError`."""
    import codecs

    name = (encoding or "utf-8").strip()
    try:
        info = codecs.lookup(name)
    except LookupError:
        raise DataError(f"unknown encoding {encoding!r}; use e.g. utf-8, latin-1, cp1252 or utf-16.") from None
    return "utf-8-sig" if info.name in ("utf-8", "utf-8-sig") or name.lower() in _UTF8 else info.name


class _ReadFailed(ToneclsError):
    """The byte stream ended or broke after ``line`` lines (a corrupt or truncated gzip file)."""

    def __init__(self, line: int, err: BaseException):
        super().__init__(str(err))
        self.line, self.err = line, err


def _is_gzip(path: Path) -> bool:
    return path.name.lower().endswith(".gz")


def _open_bytes(path: Path):
    return gzip.open(path, "rb") if _is_gzip(path) else open(path, "rb")


def text_lines(path: Path, encoding: str = "utf-8") -> Iterator[str]:
    """Decoded lines of ``path`` (gzip by suffix), line endings kept; undecodable bytes become
    lone surrogates (``surrogateescape``). A broken stream raises :class:`_ReadFailed`."""
    import zlib

    n = 0
    try:
        with io.TextIOWrapper(_open_bytes(path), encoding=resolve_encoding(encoding), errors="surrogateescape",
                              newline="") as f:
            for line in f:
                n += 1
                yield line
    except (EOFError, zlib.error, gzip.BadGzipFile) as err:
        raise _ReadFailed(n, err) from None
    except OSError as err:
        if _is_gzip(path) and not isinstance(err, (FileNotFoundError, PermissionError, IsADirectoryError)):
            raise _ReadFailed(n, err) from None
        raise


def corrupt_file_error(path: Path, failure: _ReadFailed, row: int | None = None) -> DataError:
    """The :class:`DataError` for a stream that broke after ``failure.line`` lines."""
    where = f"after line {failure.line}" if row is None else (
        f"after row {row} (line {failure.line})" if row >= 0 else f"after line {failure.line}, before any row")
    return DataError(f"{path}: cannot be read {where}: the gzip data is corrupt or truncated "
                     f"({type(failure.err).__name__}: {failure.err}). The rows before it are intact; check the file "
                     "with `gzip -t`, then download or compress it again.")


def visible(text: str) -> str:
    """``text`` with lone surrogates shown as escapes: bytes kept by ``surrogateescape`` as
    ``\\xe9``, other surrogates as ``\\ud800`` (so it can be written as UTF-8)."""
    return validation._SURROGATE.sub(
        lambda m: f"\\x{ord(m.group()) - 0xDC00:02x}" if 0xDC80 <= ord(m.group()) <= 0xDCFF
        else f"\\u{ord(m.group()):04x}", text)


def _escaped_bytes(text: str) -> str:
    """The undecodable bytes in ``text`` (``surrogateescape``), e.g. ``b'\\xe9'``."""
    found = bytes(ord(c) - 0xDC00 for c in text if 0xDC80 <= ord(c) <= 0xDCFF)
    return repr(found[:8])


def _bad_encoding(text: str, encoding: str) -> tuple[str, str, str]:
    return ("bad_encoding", f"bytes {_escaped_bytes(text)} are not valid {encoding}: pass the file's encoding, "
                            "e.g. --encoding latin-1 (encoding='latin-1')", visible(text))


def _surrogate_field(rec) -> str | None:
    """Name of the first field of ``rec`` (a JSON value) holding a lone surrogate, or None."""
    def has(v) -> bool:
        if isinstance(v, str):
            return validation.find_surrogate(v) is not None
        if isinstance(v, dict):
            return any(has(k) or has(x) for k, x in v.items())
        if isinstance(v, list):
            return any(has(x) for x in v)
        return False

    for k, v in rec.items():
        if has(k) or has(v):
            return visible(k)
    return None


def json_array_file(path: Path, encoding: str = "utf-8") -> bool:
    """True for a ``.json`` / ``.json.gz`` file whose first non-blank character is ``[``."""
    name = path.name.lower()
    if not name.endswith((".json", ".json.gz")):
        return False
    try:
        for line in text_lines(path, encoding):
            stripped = line.strip()
            if stripped:
                return stripped.startswith("[")
    except _ReadFailed:
        return False
    return False


def _json_value_records(path: Path, encoding: str, label: str):
    """(row, line, record, error) of each line of a JSON Lines file."""
    row = 0
    for line_no, line in enumerate(text_lines(path, encoding), start=1):
        if not line.strip():
            continue
        raw = line.rstrip("\r\n")
        if validation.find_surrogate(line) is not None:
            yield row, line_no, None, _bad_encoding(raw, label)
        else:
            try:
                rec = json.loads(line)
            except json.JSONDecodeError as err:
                yield row, line_no, None, ("bad_json", f"not valid JSON: {err.msg} at column {err.colno}", raw)
            else:
                yield (row, line_no, *_checked_object(rec, raw, "\\u" in line))
        row += 1


def _checked_object(rec, raw: str, may_have_escapes: bool = True):
    if not isinstance(rec, dict):
        return None, ("bad_json", f"a JSON {type(rec).__name__}, not an object", raw)
    field_name = _surrogate_field(rec) if may_have_escapes else None
    if field_name is not None:
        return None, ("invalid_unicode", f"field {field_name!r} holds a lone surrogate (a broken \\ud800-style "
                                         "escape): not valid Unicode", visible(raw))
    return rec, None


def _json_array_records(path: Path, encoding: str, label: str):
    """(row, line, record, error) of each item of a file holding one JSON array."""
    text = "".join(text_lines(path, encoding))
    decoder = json.JSONDecoder()
    ws = " \t\r\n"
    i = len(text) - len(text.lstrip(ws)) + 1  # after "["
    line, counted, row = 1, 0, 0
    while True:
        while i < len(text) and text[i] in ws:
            i += 1
        if i < len(text) and text[i] == "]" and row == 0:
            break
        line += text.count("\n", counted, i)
        counted = i
        try:
            rec, end = decoder.raw_decode(text, i)
        except json.JSONDecodeError as err:
            raise DataError(f"{path}, line {err.lineno}: not valid JSON ({err.msg} at column {err.colno}) in the "
                            "JSON array. Fix it, or write one object per line (JSON Lines, .jsonl).") from None
        raw = text[i:end]
        if validation.find_surrogate(raw) is not None:  # in the file's text itself: undecodable bytes
            yield row, line, None, _bad_encoding(raw[:200], label)
        else:
            yield (row, line, *_checked_object(rec, raw[:200]))
        row += 1
        i = end
        while i < len(text) and text[i] in ws:
            i += 1
        if i < len(text) and text[i] == ",":
            i += 1
            continue
        if i < len(text) and text[i] == "]":
            break
        raise DataError(f"{path}, line {line + text.count(chr(10), counted, i)}: expected ',' or ']' after item {row} "
                        "of the JSON array. Fix the file, or write one object per line (JSON Lines, .jsonl).")
    if text[i + 1:].strip():
        raise DataError(f"{path}: text after the end of the JSON array. Fix the file, or write one object per line.")


def csv_records(path: Path, encoding: str = "utf-8", dialect: str = "excel"):
    """``(header, records)``: the header row, and (row, line, record, error) of each data row."""
    csv.field_size_limit(min(sys.maxsize, 2**31 - 1))
    label = encoding or "utf-8"
    lines = text_lines(path, encoding)
    reader = csv.reader(lines, dialect=dialect)
    try:
        header = next(reader, None)
    except _ReadFailed as failure:
        raise corrupt_file_error(path, failure) from None
    if header and any(validation.find_surrogate(h) is not None for h in header):
        raise DataError(f"{path}: the header line is not valid {label} (bytes {_escaped_bytes(''.join(header))}): "
                        "pass the file's encoding, e.g. --encoding latin-1.")

    def records():
        width = len(header)
        row = 0
        start_line = reader.line_num + 1
        for values in reader:
            line = start_line
            start_line = reader.line_num + 1
            if not values:
                continue  # a blank line is not a record
            joined = ",".join(values)
            if validation.find_surrogate(joined) is not None:
                yield row, line, None, _bad_encoding(joined, label)
            elif len(values) != width:
                yield row, line, None, ("bad_csv", f"{len(values)} fields, the header has {width}", joined)
            else:
                yield row, line, dict(zip(header, values)), None
            row += 1

    return header, records()


def iter_records(path: Path, fmt: str, encoding: str = "utf-8", dialect: str = "excel"):
    """(row, line, record | None, (kind, reason, raw) | None) for every record of a CSV or JSON
    file, in order; a broken gzip stream raises :class:`DataError` naming the last good row."""
    label = encoding or "utf-8"
    if fmt == "csv":
        header, records = csv_records(path, encoding, dialect)
        if header is None:
            return
    elif json_array_file(path, encoding):
        records = _json_array_records(path, encoding, label)
    else:
        records = _json_value_records(path, encoding, label)
    last = -1
    try:
        for item in records:
            last = item[0]
            yield item
    except _ReadFailed as failure:
        raise corrupt_file_error(path, failure, last) from None


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

    def _schema(self) -> pa.Schema | None:
        if self.format == "parquet":
            import pyarrow.parquet as pq

            return pq.read_schema(self.path)
        if self.format == "datasets":
            return self._load_dataset().data.schema
        return None

    def _check_columns(self) -> None:
        schema = self._schema()
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
        schema = self._schema()
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
            with _open_bytes(self.path) as f:
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
            raise corrupt_file_error(self.path, _ReadFailed(n, err)) from None
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


# ---------------------------------------------------------------------------- assembling
def unify_schemas(schemas: list[pa.Schema], first: list[str] | None = None, last: list[str] | None = None) -> pa.Schema:
    """One schema for all parts: columns in order of first appearance (``last`` at the end);
    a column whose types disagree becomes a string column."""
    fields: dict[str, pa.DataType] = {}
    for s in schemas:
        for f in s:
            if f.name not in fields or pa.types.is_null(fields[f.name]):
                fields[f.name] = f.type
            elif f.type != fields[f.name] and not pa.types.is_null(f.type):
                try:
                    fields[f.name] = pa.unify_schemas([pa.schema([(f.name, fields[f.name])]), pa.schema([f])],
                                                      promote_options="permissive").field(f.name).type
                except (pa.ArrowInvalid, pa.ArrowTypeError, NotImplementedError):
                    fields[f.name] = pa.string()
    order = list(first or []) + [n for n in fields if n not in (first or []) and n not in (last or [])]
    order = [n for n in order if n in fields] + [n for n in (last or []) if n in fields]
    return pa.schema([(n, fields[n]) for n in order])


def conform(table: pa.Table, schema: pa.Schema) -> pa.Table:
    """``table`` with exactly ``schema``'s columns (missing ones null, types cast; values that
    cannot be cast become JSON text)."""
    cols = []
    for f in schema:
        if f.name not in table.column_names:
            cols.append(pa.nulls(table.num_rows, f.type))
            continue
        col = table.column(f.name)
        if col.type != f.type:
            try:
                col = col.cast(f.type)
            except (pa.ArrowInvalid, pa.ArrowTypeError, pa.ArrowNotImplementedError):
                col = pa.array([None if v is None else v if isinstance(v, str) else
                                json.dumps(v, ensure_ascii=False, default=str) for v in col.to_pylist()], f.type)
        cols.append(col)
    return pa.Table.from_arrays(cols, schema=schema)


def _flatten_nested_for_csv(schema: pa.Schema) -> pa.Schema:
    return pa.schema([(f.name, pa.string()) if pa.types.is_nested(f.type) else f for f in schema])


class TableWriter:
    """Write tables one after another to ``path`` in ``fmt`` (parquet, csv, jsonl[.gz])."""

    def __init__(self, path: Path, fmt: str, schema: pa.Schema, metadata: dict | None = None):
        self.path, self.fmt = path, fmt
        self._writer = None
        self._file = None
        if fmt == "parquet":
            import pyarrow.parquet as pq

            meta = {b"tonecls": json.dumps(metadata, sort_keys=True).encode()} if metadata else None
            self.schema = schema.with_metadata(meta) if meta else schema
            self._writer = pq.ParquetWriter(str(path), self.schema)
        elif fmt == "csv":
            import pyarrow.csv as pacsv

            self.schema = _flatten_nested_for_csv(schema)
            self._file = gzip.open(path, "wb") if path.name.lower().endswith(".gz") else open(path, "wb")
            self._writer = pacsv.CSVWriter(self._file, self.schema)
        elif fmt == "jsonl":
            self.schema = schema
            raw = gzip.GzipFile(path, "wb", mtime=0) if path.name.lower().endswith(".gz") else open(path, "wb")
            self._file = io.TextIOWrapper(raw, encoding="utf-8", newline="\n")
        else:
            raise ValueError(f"Cannot stream-write format {fmt!r}.")

    def write(self, table: pa.Table) -> None:
        table = conform(table, self.schema.remove_metadata() if self.schema.metadata else self.schema)
        if self.fmt == "jsonl":
            for rec in table.to_pylist():
                self._file.write(json.dumps(rec, ensure_ascii=False, default=str) + "\n")
        else:
            self._writer.write_table(table)

    def close(self) -> None:
        if self._writer is not None:
            self._writer.close()
        if self._file is not None:
            self._file.close()
