"""Writing tables: one schema for many parts (:func:`unify_schemas`, :func:`conform`) and a
streaming :class:`TableWriter` for Parquet, CSV and JSON Lines (gzip by suffix)."""

from __future__ import annotations

import gzip
import io
import json
from pathlib import Path

import pyarrow as pa


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
