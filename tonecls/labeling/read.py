"""Read statement tables into a `datasets.Dataset` with canonical column names.

Formats: CSV, JSON Lines (optionally gzip), Parquet, and a folder written by
``Dataset.save_to_disk`` / ``DatasetDict.save_to_disk``.

>>> from tonecls.labeling.read import read_table
>>> ds = read_table("statements.csv", columns={"text": "body"})     # doctest: +SKIP
"""

from __future__ import annotations

from pathlib import Path

CANONICAL = ("text", "id", "actor", "date", "level")
REQUIRED = ("text",)


class DataError(ValueError):
    """An input file cannot be used as given; the message names the file, the row and the fix."""


def detect_format(path: Path) -> str:
    if path.is_dir():
        return "datasets"
    name = path.name.lower()
    for suffix, fmt in ((".csv", "csv"), (".csv.gz", "csv"), (".jsonl", "json"), (".jsonl.gz", "json"),
                        (".json", "json"), (".json.gz", "json"), (".parquet", "parquet")):
        if name.endswith(suffix):
            return fmt
    raise DataError(f"{path}: unknown format. Use .csv, .jsonl, .jsonl.gz, .parquet, or a datasets folder.")


def read_table(path, columns: dict[str, str] | None = None, required=REQUIRED, split: str | None = None):
    """Read ``path`` and rename the user's columns to the canonical ones.

    ``columns`` maps canonical names (``text``, ``id``, ``actor``, ``date``, ``level``) to the
    file's column names; unmapped canonical names are taken as-is when present.
    """
    import datasets

    path = Path(path)
    if not path.exists():
        raise DataError(f"{path}: no such file or folder.")
    fmt = detect_format(path)
    try:
        if fmt == "datasets":
            ds = datasets.load_from_disk(str(path))
            if isinstance(ds, datasets.DatasetDict):
                if split is None:
                    raise DataError(f"{path} holds splits {list(ds)}; name one (split=...).")
                ds = ds[split]
        else:
            ds = datasets.load_dataset(fmt, data_files=str(path), split="train")
    except DataError:
        raise
    except Exception as err:
        raise DataError(f"{path}: could not be read as {fmt}: {err}") from err
    mapping = {**{c: c for c in CANONICAL}, **(columns or {})}
    for name in required:
        if mapping[name] not in ds.column_names:
            raise DataError(
                f"{path}: column {mapping[name]!r} (for {name}) not found; columns are {ds.column_names}. "
                f"Name the right one, e.g. --{name}-column."
            )
    rename = {src: dst for dst, src in mapping.items() if src in ds.column_names and src != dst}
    return ds.rename_columns(rename) if rename else ds
