"""The result columns: their names, the columns for scored rows, documents split into statements."""

from __future__ import annotations

import numpy as np

from ..archive import Chunk
from ..bundle import conformal_of
from ..results import result_arrays
from ..scale import LEVELS


PROB_COLUMNS = tuple(f"p_{name}" for name in LEVELS)
RESULT_COLUMNS = ("score", "level", "label", *PROB_COLUMNS, "windows")
INTERVAL_COLUMNS = ("interval_low", "interval_high")
SEGMENT_COLUMNS = ("doc_row", "position")


def result_columns(clf, logits: np.ndarray, counts: np.ndarray, interval: bool = False) -> dict:
    """The output columns for scored rows, as numpy arrays (``clf.score``'s numbers for English statements,
    by the same :func:`~tonecls.classifier.result_arrays`; bulk runs read every statement with the network)."""
    probs = clf.calibrated_probabilities(logits) if len(logits) else np.zeros((0, len(clf.labels)))
    r = result_arrays(probs, clf.labels, counts, conformal_of(clf.calibrator) if interval else None)
    out = {"score": r["score"], "level": r["level"], "label": r["label"]}
    out.update({name: r["probabilities"][:, j] for j, name in enumerate(PROB_COLUMNS)})
    out["windows"] = r["windows"]
    out.update({name: r[name] for name in INTERVAL_COLUMNS if name in r})
    return out


def append_results(table, cols: dict):
    for name, values in cols.items():
        table = table.append_column(name, to_arrow(np.asarray(values), text=name in ("label", "top_phrases")))
    return table


def to_arrow(values: np.ndarray, text: bool = False):
    """An Arrow array of a numeric or (``text``) string column, built from its buffers: ``pa.array``
    imports pandas, half a second of every command's start-up."""
    import pyarrow as pa

    if (text and any(v is None for v in values)) or (not text and values.dtype.kind not in "iuf"):
        return pa.array(values.tolist(), type=pa.string() if text else None)
    if text:
        data = [str(v).encode("utf-8") for v in values]
        offsets = np.zeros(len(data) + 1, np.int32)
        np.cumsum([len(b) for b in data], out=offsets[1:])
        return pa.Array.from_buffers(pa.string(), len(data), [None, pa.py_buffer(offsets), pa.py_buffer(b"".join(data))])
    values = np.ascontiguousarray(values)
    return pa.Array.from_buffers(pa.from_numpy_dtype(values.dtype), len(values), [None, pa.py_buffer(values)])


def segment_chunk(chunk: Chunk, text_column: str):
    """Replace each document by its statements; returns (table, doc_rows, errors)."""
    import pyarrow as pa

    from ..labeling.segment import split_statements

    texts = chunk.table.column(text_column).to_pylist()
    take, statements, positions, errors = [], [], [], []
    for i, text in enumerate(texts):
        pieces = split_statements(text)
        if not pieces:
            errors.append({"row": chunk.rows[i], "line": None, "kind": "no_statements",
                           "reason": "the segmenter found no statement to rate in this document"})
        for p, s in enumerate(pieces):
            take.append(i)
            statements.append(s)
            positions.append(p)
    table = chunk.table.take(pa.array(take, pa.int64()))
    idx = table.column_names.index(text_column)
    table = table.set_column(idx, text_column, pa.array(statements, pa.string()))
    doc_rows = [chunk.rows[i] for i in take]
    table = table.append_column("doc_row", pa.array(doc_rows, pa.int64()))
    table = table.append_column("position", pa.array(positions, pa.int64()))
    return table, errors
