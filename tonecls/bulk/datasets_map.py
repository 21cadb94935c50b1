"""``datasets.Dataset.map``: :func:`map_function`."""

from __future__ import annotations

from typing import Callable

import numpy as np

from ..archive import text_problem
from .columns import result_columns
from .model import check_interval, load_model, score_texts


def map_function(model=None, *, text_column: str = "text", backend: str | None = None, batch_size: int = 64,
                 interval: bool = False) -> Callable[[dict], "object"]:
    """A function for ``datasets.Dataset.map(fn, batched=True)`` that adds the result columns.

    Rows that cannot be scored (missing, empty or non-string text) keep their place, with the
    reason in an ``error`` column (``""`` for scored rows) and placeholder results: NaN for
    ``score`` and the probabilities, -1 for ``level``/``windows``, ``""`` for ``label``. (Not
    None: ``Dataset.map`` infers column types batch by batch, and a first batch of only bad rows
    would fix a column to the null type.) Filter with ``ds.filter(lambda r: not r["error"])``.

    >>> ds = ds.map(map_function("models/tonecls-base"), batched=True, batch_size=1024)   # doctest: +SKIP
    """
    clf = load_model(model, backend)
    if interval:
        check_interval(clf)

    def fn(batch: dict):
        texts = list(batch[text_column])
        problems = [text_problem(t, text_column) for t in texts]
        good = np.asarray([i for i, p in enumerate(problems) if p is None], dtype=np.int64)
        logits, counts = score_texts(clf, [texts[i] for i in good], batch_size) if len(good) else (
            np.zeros((0, len(clf.labels)), np.float32), np.zeros(0, np.int64))
        n = len(texts)
        out = {}
        for name, values in result_columns(clf, logits, counts, interval).items():
            # sentinels rather than None: Dataset.map infers column types batch by batch
            full = np.full(n, "" if values.dtype == object else np.nan if values.dtype.kind == "f" else -1,
                           dtype=object if values.dtype == object else values.dtype)
            full[good] = values
            out[name] = full.tolist() if values.dtype == object else full
        out["error"] = ["" if p is None else p[1] for p in problems]
        return out

    fn.classifier = clf  # type: ignore[attr-defined]
    return fn
