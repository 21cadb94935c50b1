"""What counts as a statement: the one check used by the API, bulk scoring, ``Dataset.map`` and Ray.

A statement is a ``str`` that

- is not empty or whitespace only,
- has at least one readable character: a letter, digit, punctuation mark or symbol (Unicode
  categories L, N, P, S). Text made only of control, format or zero-width characters (``"\\x00"``,
  U+200B, a lone byte-order mark U+FEFF) has nothing to rate;
- holds no lone surrogate (U+D800–U+DFFF): such a string is not valid Unicode and cannot be
  tokenised or written as UTF-8. It comes from a broken ``\\ud800`` JSON escape, or from bytes
  that were not valid in the file's encoding (the readers decode with ``surrogateescape`` so
  that such rows are reported, never silently turned into U+FFFD).

In CSV files a text cell that is exactly a missing-value marker (:data:`NA_MARKERS`: ``NA``,
``N/A``, ``NaN``, ``null``, ``None``, ``#N/A``, ...) counts as missing text, as pandas and
spreadsheet exports write them. (Other columns keep such values: ``NA`` is Namibia's code.)

:func:`text_problem` returns ``(kind, predicate)`` for a value that is not a statement; the API
raises :class:`~tonecls.exceptions.InvalidInputError` ("Statement at index 3 ..."), bulk scoring
lists the row in the errors file with ``kind`` and ``'text' <predicate>``.

>>> text_problem("We welcome the talks.") is None
True
>>> text_problem("\\u200b\\ufeff")[0], text_problem(None)[0], text_problem("NA", na_markers=True)[0]
('no_readable_text', 'missing_text', 'missing_text')
"""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Iterable, Mapping, Set

from .exceptions import InvalidInputError

NA_MARKERS = frozenset({"NA", "N/A", "NaN", "nan", "null", "NULL", "None", "#N/A", "#NA", "<NA>", "-NaN", ""})
TEXT_KINDS = ("missing_text", "not_a_string", "empty_text", "no_readable_text", "invalid_unicode")

SURROGATE = re.compile("[\ud800-\udfff]")
_FAST_READABLE = re.compile(r"[^\W_]|[!-~]")  # any letter/digit, or printable ASCII: most texts stop here
_MISSING = object()

# What to do, by kind (the API's messages end with it).
_HINTS = {
    "missing_text": "pass text only (drop or fill missing values first)",
    "not_a_string": "pass text only (drop or fill missing values first)",
    "empty_text": "there is no tone to rate",
    "no_readable_text": "there is no tone to rate (drop the row, or fix how the text was extracted)",
    "invalid_unicode": "the text is not valid Unicode; fix its encoding (or the JSON escape) at the source",
}


def find_surrogate(text: str) -> int | None:
    """Index of the first lone surrogate in ``text``, or None."""
    m = SURROGATE.search(text)
    return None if m is None else m.start()


def has_readable_character(text: str) -> bool:
    """True if ``text`` has a letter, digit, punctuation mark or symbol (categories L, N, P, S)."""
    if _FAST_READABLE.search(text):
        return True
    return any(unicodedata.category(c)[0] in "LNPS" for c in text)


def text_problem(value, *, na_markers: bool = False) -> tuple[str, str] | None:
    """``(kind, predicate)`` if ``value`` is not a statement, else None.

    ``predicate`` completes a sentence whose subject names the value ("'text' is empty or
    whitespace only"). ``na_markers``: CSV cells equal to a marker in :data:`NA_MARKERS` count as
    missing (an empty cell stays ``empty_text``). ``value`` may be :data:`MISSING` (no such field).
    """
    if value is _MISSING:
        return "missing_text", "is missing (the record has no such field)"
    if value is None:
        return "missing_text", "is NoneType (null), not a string"
    if not isinstance(value, str):
        return "not_a_string", f"is {type(value).__name__}, not a string"
    if na_markers and value and value in NA_MARKERS:
        return "missing_text", f"is {value!r}, a missing-value marker"
    if not value.strip():
        return "empty_text", "is empty or whitespace only"
    at = find_surrogate(value)
    if at is not None:
        return "invalid_unicode", (f"holds a lone surrogate U+{ord(value[at]):04X} at character {at}, "
                                   "which is not valid Unicode")
    if not has_readable_character(value):
        shown = ", ".join(f"U+{ord(c):04X}" for c in dict.fromkeys(value.strip())) or "none"
        return "no_readable_text", f"has no readable character (only {shown}: control, format or zero-width)"
    return None


MISSING = _MISSING


def row_reason(column: str, predicate: str) -> str:
    """The reason written for a bad row: ``'text' is empty or whitespace only``."""
    return f"{column!r} {predicate}"


def describe_type(obj) -> str:
    """``bytes``, ``dict``, ``numpy.ndarray``: the name a message should show."""
    t = type(obj)
    return t.__name__ if t.__module__ == "builtins" else f"{t.__module__.split('.')[0]}.{t.__name__}"


def as_statement_list(texts, *, allow_single: bool) -> tuple[list, bool]:
    """``(items, single)``: a str (when ``allow_single``) becomes a one-item list; a list, tuple,
    numpy array, pandas Series or other ordered iterable becomes a list. Bytes, mappings, sets
    and non-iterables raise :class:`InvalidInputError` naming their real type."""
    if isinstance(texts, str):
        if allow_single:
            return [texts], True
        raise InvalidInputError("Expected a list of statements, got one str; wrap it in a list.")
    if isinstance(texts, (bytes, bytearray, memoryview)):
        raise InvalidInputError(f"Expected a str or a list of str, got {describe_type(texts)}: decode it first "
                                "(e.g. data.decode('utf-8')).")
    if isinstance(texts, Mapping):
        raise InvalidInputError(f"Expected a str or a list of str, got {describe_type(texts)}: a mapping would be "
                                "scored by its keys; pass a list, e.g. list(d.values()).")
    if isinstance(texts, Set):
        raise InvalidInputError(f"Expected a str or a list of str, got {describe_type(texts)}, which has no order; "
                                "pass a list (e.g. sorted(...)) so results can be matched to statements.")
    if not isinstance(texts, Iterable):
        raise InvalidInputError(f"Expected a str or a list of str, got {describe_type(texts)}.")
    return list(texts), False


def validate_texts(texts) -> list[str]:
    """``texts`` as a list of statements, or :class:`InvalidInputError` at the first bad item
    ("Statement at index 3 is empty or whitespace only: there is no tone to rate.")."""
    items, _ = as_statement_list(texts, allow_single=False)
    for i, t in enumerate(items):
        problem = text_problem(t)
        if problem:
            kind, predicate = problem
            if isinstance(t, (bytes, bytearray)):
                predicate += " (decode it first, e.g. text.decode('utf-8'))"
            raise InvalidInputError(f"Statement at index {i} {predicate}: {_HINTS[kind]}.")
    return items
