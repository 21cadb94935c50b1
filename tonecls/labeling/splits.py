"""Split statements into train / validation / test by document and by time.

No document is ever in two splits. :func:`split_by_time` puts, within each source (a register such
as UN speeches or press briefings), the **latest** documents into test and the ones just before
into validation, so that evaluation measures how a model does on the future it will score.
:func:`split_by_hash` is the alternative when there are no dates: documents are assigned by a
stable hash of their id. Both are deterministic.

>>> import datasets
>>> ds = datasets.Dataset.from_dict({"text": list("abcdefghij"), "doc_id": list("aabbccddee"),
...                                  "date": ["2001", "2001", "2002", "2002", "2003", "2003", "2004", "2004", "2005", "2005"]})
>>> dd = split_by_time(ds, validation_size=0.2, test_size=0.2)
>>> {k: sorted(set(v["doc_id"])) for k, v in dd.items()}
{'train': ['a', 'b', 'c'], 'validation': ['d'], 'test': ['e']}
>>> check_no_overlap(dd)
"""

from __future__ import annotations

import hashlib
from collections import defaultdict

import numpy as np

from .columns import column_list

__all__ = ["split_by_time", "split_by_hash", "check_no_overlap", "split_of_documents"]

SPLITS = ("train", "validation", "test")


def _hash01(key: str, seed: int = 0) -> float:
    h = hashlib.sha1(f"{seed}:{key}".encode("utf-8")).digest()
    return int.from_bytes(h[:8], "big") / 2**64


def split_of_documents(doc_ids, dates, groups=None, validation_size: float = 0.1, test_size: float = 0.1,
                       seed: int = 0) -> dict[str, str]:
    """Map each document id to a split: within each group, latest documents → test, then validation.

    Documents are ordered by (date, hash of id); documents without a date are placed by hash.
    Sizes are fractions of documents in each group.
    """
    if not 0 <= validation_size < 1 or not 0 <= test_size < 1 or validation_size + test_size >= 1:
        raise ValueError("validation_size and test_size must be fractions with a sum below 1.")
    first_date: dict[str, str] = {}
    group_of: dict[str, str] = {}
    for i, d in enumerate(doc_ids):
        date = dates[i] if dates is not None else None
        date = "" if date is None else str(date)
        if d not in first_date or (date and (not first_date[d] or date < first_date[d])):
            first_date[d] = date
        group_of.setdefault(d, "" if groups is None or groups[i] is None else str(groups[i]))
    by_group: dict[str, list[str]] = defaultdict(list)
    for d, g in group_of.items():
        by_group[g].append(d)
    out: dict[str, str] = {}
    for g, docs in by_group.items():
        dated = sorted((d for d in docs if first_date[d]), key=lambda d: (first_date[d], _hash01(d, seed)))
        n = len(dated)
        n_test = int(round(n * test_size))
        n_val = int(round(n * validation_size))
        for r, d in enumerate(dated):
            out[d] = "test" if r >= n - n_test else "validation" if r >= n - n_test - n_val else "train"
        for d in docs:
            if not first_date[d]:
                u = _hash01(d, seed)
                out[d] = "test" if u < test_size else "validation" if u < test_size + validation_size else "train"
    return out


def _apply(ds, assignment: dict[str, str], group_column: str):
    import datasets

    split = np.array([assignment[str(d)] for d in column_list(ds, group_column)])
    return datasets.DatasetDict({s: ds.select(np.flatnonzero(split == s)) for s in SPLITS})


def split_by_time(ds, *, validation_size: float = 0.1, test_size: float = 0.1, group_column: str = "doc_id",
                  date_column: str = "date", by: str | None = "source", seed: int = 0):
    """``DatasetDict`` of train/validation/test; whole documents, latest ones held out (per ``by`` group)."""
    for c in (group_column,):
        if c not in ds.column_names:
            raise KeyError(f"split_by_time: no column {c!r}; columns are {ds.column_names}.")
    dates = column_list(ds, date_column) if date_column in ds.column_names else None
    groups = column_list(ds, by) if by and by in ds.column_names else None
    docs = [str(d) for d in column_list(ds, group_column)]
    assignment = split_of_documents(docs, dates, groups, validation_size, test_size, seed)
    return _apply(ds, assignment, group_column)


def split_by_hash(ds, *, validation_size: float = 0.1, test_size: float = 0.1, group_column: str = "doc_id",
                  seed: int = 0):
    """``DatasetDict`` of train/validation/test by a stable hash of the document id."""
    docs = [str(d) for d in column_list(ds, group_column)]
    assignment = split_of_documents(docs, None, None, validation_size, test_size, seed)
    return _apply(ds, assignment, group_column)


def check_no_overlap(dd, group_column: str = "doc_id") -> None:
    """Raise ``AssertionError`` naming a document that appears in two splits."""
    seen: dict[str, str] = {}
    for name, split in dd.items():
        for d in set(column_list(split, group_column)):
            if d in seen and seen[d] != name:
                raise AssertionError(f"document {d!r} is in both {seen[d]!r} and {name!r}")
            seen[d] = name
