"""Archive formats: the format of a path (by suffix, or a datasets folder) and the encoding to read with."""

from __future__ import annotations

from pathlib import Path

from ..exceptions import DataError

FORMATS = ("csv", "jsonl", "parquet", "datasets")


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
