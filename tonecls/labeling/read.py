"""Read statement tables into a `datasets.Dataset` with canonical column names.

Formats: CSV (optionally ``.gz``), JSON Lines (``.jsonl``, ``.jsonl.gz``; ``.json`` holding either
lines or one array), Parquet, and a folder written by ``Dataset.save_to_disk`` /
``DatasetDict.save_to_disk``. Every problem is a :class:`DataError` that names the file, the row
where one applies, and what to do: a missing column, an unreadable or empty file, text that is not
UTF-8 (e.g. a Latin-1 CSV), a line that is not JSON, a level that is not on the scale. CSV and JSON
files are decoded by the same reader as bulk scoring (:func:`tonecls.archive.iter_records`): a
UTF-8 byte-order mark is dropped, ``encoding`` names another codec, empty CSV cells are missing
values, and a text cell that is exactly a missing-value marker (``NA``, ``NaN``, ``null``, ``#N/A``,
... :data:`tonecls.validation.NA_MARKERS`) is missing text.

>>> import tempfile, pathlib
>>> path = pathlib.Path(tempfile.mkdtemp()) / "s.csv"
>>> _ = path.write_text("body,country\\nWe welcome the talks.,NOR\\n", encoding="utf-8")
>>> ds = read_table(path, columns={"text": "body", "actor": "country"})
>>> ds.column_names, ds[0]["text"]
(['text', 'actor'], 'We welcome the talks.')
"""

from __future__ import annotations

from pathlib import Path

from ..exceptions import DataError  # noqa: F401 (re-exported)

CANONICAL = ("text", "id", "actor", "date", "level")
REQUIRED = ("text",)
_CHUNK_ROWS = 20_000

__all__ = ["DataError", "read_table", "detect_format", "CANONICAL"]


def detect_format(path: Path) -> str:
    """``"csv"``, ``"json"``, ``"parquet"`` or ``"datasets"`` (a folder), from the name."""
    path = Path(path)
    if path.is_dir():
        return "datasets"
    name = path.name.lower()
    for suffix, fmt in ((".csv", "csv"), (".csv.gz", "csv"), (".tsv", "tsv"), (".jsonl", "json"), (".jsonl.gz", "json"),
                        (".ndjson", "json"), (".json", "json"), (".json.gz", "json"), (".parquet", "parquet"),
                        (".pq", "parquet")):
        if name.endswith(suffix):
            return fmt
    raise DataError(f"{path}: unknown format. Use .csv, .tsv, .jsonl, .jsonl.gz, .parquet, or a datasets folder "
                    "(rename the file to the extension that matches its content).")


def _strict_records(path: Path, fmt: str, encoding: str, sep: str = ","):
    """Records of a CSV/JSON file through the shared reader (:func:`tonecls.archive.iter_records`:
    same decoding, BOM handling, JSON arrays, gzip checks), the first bad record a DataError."""
    from ..archive import iter_records

    label = encoding or "utf-8"
    for _row, line, rec, err in iter_records(path, "csv" if fmt in ("csv", "tsv") else "jsonl", encoding,
                                             "excel-tab" if sep == "\t" else "excel"):
        if err is None:
            yield rec
            continue
        kind, reason, raw = err
        where = f"{path}, line {line}"
        if kind == "bad_encoding":
            raise DataError(
                f"{where}: not valid {label} ({reason.split(' are not')[0]}). Re-save the file as UTF-8 (e.g. "
                f"`iconv -f latin1 -t utf-8 in.csv > out.csv`) or pass its encoding (encoding='latin-1', "
                f"CLI --encoding latin-1).")
        if kind == "bad_json" and reason.startswith("not valid JSON"):
            raise DataError(f"{where}: {reason}: {raw.strip()[:60]!r}. Fix or delete that line; each line must hold "
                            "one JSON object.")
        if kind == "bad_json":
            raise DataError(f"{where}: expected a JSON object ({{\"text\": ...}}), got {reason.split(',')[0][2:]}. "
                            "Write one object per line.")
        if kind == "bad_csv":
            raise DataError(f"{where}: {reason}. Not a well-formed CSV: quote fields that hold the separator or line "
                            "breaks, or fix that row.")
        raise DataError(f"{where}: {reason}. Fix the record at the source.")


def _from_rows(rows_iter):
    """Build a Dataset from an iterator of dicts in chunks (types unified across chunks)."""
    import datasets
    import pyarrow as pa

    tables, chunk = [], []
    for row in rows_iter:
        chunk.append(row)
        if len(chunk) >= _CHUNK_ROWS:
            tables.append(pa.Table.from_pylist(chunk))
            chunk = []
    if chunk or not tables:
        tables.append(pa.Table.from_pylist(chunk))
    table = pa.concat_tables(tables, promote_options="permissive") if len(tables) > 1 else tables[0]
    return datasets.Dataset(table)


def _read_json(path: Path, encoding: str):
    try:
        return _from_rows(_strict_records(path, "json", encoding))
    except DataError:
        raise
    except Exception as err:  # pyarrow type clashes, e.g. a field that is a string in one row and a list in another
        raise DataError(f"{path}: the rows do not share one schema ({err}). Make each field the same type on every "
                        "record.") from err


def _read_csv(path: Path, encoding: str, sep: str, text_column: str):
    from ..validation import NA_MARKERS

    def rows():
        for rec in _strict_records(path, "csv", encoding, sep):
            # empty cells are missing values; so are missing-value markers in the text column
            yield {k: (None if v == "" or (k == text_column and v in NA_MARKERS) else v) for k, v in rec.items()}

    return _from_rows(rows())


def _read_parquet(path: Path):
    import datasets
    import pyarrow.parquet as pq

    try:
        table = pq.read_table(path)
    except Exception as err:
        raise DataError(f"{path}: cannot be read as Parquet ({err}). Check the file is complete and really Parquet.") from err
    return datasets.Dataset(table)


def _read_datasets(path: Path, split: str | None):
    import datasets

    try:
        ds = datasets.load_from_disk(str(path))
    except Exception as err:
        raise DataError(f"{path}: not a folder written by save_to_disk ({err}). Give a CSV/JSONL/Parquet file or a "
                        "saved datasets folder.") from err
    if isinstance(ds, datasets.DatasetDict):
        if split is None:
            if len(ds) == 1:
                return next(iter(ds.values()))
            raise DataError(f"{path} holds splits {list(ds)}; name one (split=..., CLI --split).")
        if split not in ds:
            raise DataError(f"{path}: no split {split!r}; it holds {list(ds)}.")
        ds = ds[split]
    return ds


def read_table(path, columns: dict[str, str] | None = None, required=REQUIRED, split: str | None = None,
               encoding: str = "utf-8", check_levels: bool = True):
    """Read ``path`` and rename the user's columns to the canonical ones.

    ``columns`` maps canonical names (``text``, ``id``, ``actor``, ``date``, ``level``) to the
    file's column names; unmapped canonical names are taken as-is when present. ``required``
    canonical columns must exist; ``text`` must hold strings. A ``level`` column, when present,
    is converted to ids 0-4 (names such as "firm" are accepted).
    """
    path = Path(path)
    if not path.exists():
        raise DataError(f"{path}: no such file or folder. Check the path (relative paths start at {Path.cwd()}).")
    fmt = detect_format(path)
    if fmt != "datasets" and path.stat().st_size == 0:
        raise DataError(f"{path}: the file is empty (0 bytes).")
    bad = set(columns or {}) - set(CANONICAL)
    if bad:
        raise DataError(f"unknown canonical column(s) {sorted(bad)}; map any of {list(CANONICAL)} to your columns.")
    if fmt == "datasets":
        ds = _read_datasets(path, split)
    elif fmt == "json":
        ds = _read_json(path, encoding)
    elif fmt in ("csv", "tsv"):
        ds = _read_csv(path, encoding, "\t" if fmt == "tsv" else ",", (columns or {}).get("text", "text"))
    else:
        ds = _read_parquet(path)
    if len(ds) == 0:
        raise DataError(f"{path}: no rows. Give a file with at least one statement.")
    mapping = {**{c: c for c in CANONICAL}, **(columns or {})}
    for name in required:
        if mapping[name] not in ds.column_names:
            raise DataError(
                f"{path}: column {mapping[name]!r} (for {name}) not found; columns are {ds.column_names}. "
                f"Name the right one, e.g. --{name}-column {ds.column_names[0]} (columns={{'{name}': ...}})."
            )
    for name, src in mapping.items():
        if name != src and src not in ds.column_names and columns and name in columns:
            raise DataError(f"{path}: column {src!r} (for {name}) not found; columns are {ds.column_names}.")
    # Drop canonical names that would collide with a renamed column (e.g. a stray 'text' when text=body).
    rename = {src: dst for dst, src in mapping.items() if src in ds.column_names and src != dst}
    clash = [dst for dst in rename.values() if dst in ds.column_names and dst not in rename]
    if clash:
        ds = ds.remove_columns(clash)
    ds = ds.rename_columns(rename) if rename else ds
    if "text" in ds.column_names:
        dtype = str(ds.features["text"])
        if "string" not in dtype:
            raise DataError(f"{path}: column {mapping['text']!r} (for text) holds {dtype}, not text. "
                            "Map the column that holds the statements (--text-column).")
    if check_levels and "level" in ds.column_names:
        ds = _levels(ds, path, mapping["level"])
    return ds


def _levels(ds, path: Path, source_name: str):
    from ..scale import level_from_label

    out = []
    for i, v in enumerate(ds["level"]):
        if v is None or (isinstance(v, float) and v != v):
            out.append(-1)  # unlabelled row
            continue
        try:
            out.append(level_from_label(v))
        except ValueError:
            raise DataError(f"{path}, row {i + 1}: level {v!r} in column {source_name!r} is not on the scale; use "
                            "0-4 or cautious/measured/firm/assertive/confrontational (empty = unlabelled).") from None
    import datasets

    return ds.remove_columns("level").add_column("level", out).cast_column("level", datasets.Value("int64"))
