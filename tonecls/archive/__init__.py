"""Streaming readers and writers for statement archives (used by :mod:`tonecls.bulk`).

Modules: :mod:`~tonecls.archive.formats` (format by suffix, encodings), :mod:`~tonecls.archive.records`
(decoding CSV and JSON files into records), :mod:`~tonecls.archive.reader` (:class:`ArchiveReader`: chunks of
rows and bad rows), :mod:`~tonecls.archive.writer` (one schema for many tables, :class:`TableWriter`).

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

from ..exceptions import DataError
from .formats import FORMATS, detect_format, output_format, resolve_encoding
from .reader import ArchiveReader, Chunk, text_problem
from .records import corrupt_file_error, csv_records, iter_records, json_array_file, text_lines, visible
from .writer import TableWriter, conform, unify_schemas

__all__ = ["FORMATS", "ArchiveReader", "Chunk", "DataError", "TableWriter", "conform", "corrupt_file_error",
           "csv_records", "detect_format", "iter_records", "json_array_file", "output_format", "resolve_encoding",
           "text_lines", "text_problem", "unify_schemas", "visible"]
