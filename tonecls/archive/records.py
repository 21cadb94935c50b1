"""Decoding CSV and JSON files into records: one path for every text reader (bulk scoring and
``read_table``), with ``surrogateescape`` so that undecodable bytes become ``bad_encoding`` rows
(see :mod:`tonecls.archive`)."""

from __future__ import annotations

import csv
import gzip
import io
import json
import sys
from pathlib import Path
from typing import Iterator

from .. import validation
from ..exceptions import DataError, ToneclsError
from .formats import resolve_encoding


class ReadFailed(ToneclsError):
    """The byte stream ended or broke after ``line`` lines (a corrupt or truncated gzip file)."""

    def __init__(self, line: int, err: BaseException):
        super().__init__(str(err))
        self.line, self.err = line, err


def _is_gzip(path: Path) -> bool:
    return path.name.lower().endswith(".gz")


def open_bytes(path: Path):
    return gzip.open(path, "rb") if _is_gzip(path) else open(path, "rb")


def text_lines(path: Path, encoding: str = "utf-8") -> Iterator[str]:
    """Decoded lines of ``path`` (gzip by suffix), line endings kept; undecodable bytes become
    lone surrogates (``surrogateescape``). A broken stream raises :class:`ReadFailed`."""
    import zlib

    n = 0
    try:
        with io.TextIOWrapper(open_bytes(path), encoding=resolve_encoding(encoding), errors="surrogateescape",
                              newline="") as f:
            for line in f:
                n += 1
                yield line
    except (EOFError, zlib.error, gzip.BadGzipFile) as err:
        raise ReadFailed(n, err) from None
    except OSError as err:
        if _is_gzip(path) and not isinstance(err, (FileNotFoundError, PermissionError, IsADirectoryError)):
            raise ReadFailed(n, err) from None
        raise


def corrupt_file_error(path: Path, failure: ReadFailed, row: int | None = None) -> DataError:
    """The :class:`DataError` for a stream that broke after ``failure.line`` lines."""
    where = f"after line {failure.line}" if row is None else (
        f"after row {row} (line {failure.line})" if row >= 0 else f"after line {failure.line}, before any row")
    return DataError(f"{path}: cannot be read {where}: the gzip data is corrupt or truncated "
                     f"({type(failure.err).__name__}: {failure.err}). The rows before it are intact; check the file "
                     "with `gzip -t`, then download or compress it again.")


def visible(text: str) -> str:
    """``text`` with lone surrogates shown as escapes: bytes kept by ``surrogateescape`` as
    ``\\xe9``, other surrogates as ``\\ud800`` (so it can be written as UTF-8)."""
    return validation.SURROGATE.sub(
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
    except ReadFailed:
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
    except ReadFailed as failure:
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
    except ReadFailed as failure:
        raise corrupt_file_error(path, failure, last) from None
