"""Fast whole-column access to a ``datasets.Dataset`` (through Arrow, honouring ``select`` indices).

Reading ``ds["col"]`` gives a lazy ``Column`` whose row-by-row access is very slow on large
datasets; these helpers return plain lists and NumPy arrays in one Arrow pass.

>>> import datasets
>>> ds = datasets.Dataset.from_dict({"level": [0, 4, 2], "votes": [[0, -1], [4, 3], [-1, -1]]}).select([2, 1])
>>> column_array(ds, "level").tolist(), column_matrix(ds, "votes").tolist(), column_list(ds, "level")
([2, 4], [[-1, -1], [4, 3]], [2, 4])
"""

from __future__ import annotations

import numpy as np

__all__ = ["column_list", "column_array", "column_matrix"]


def _column(ds, name: str):
    if name not in ds.column_names:
        raise KeyError(f"no column {name!r}; columns are {ds.column_names}.")
    return ds.select_columns([name]).with_format("arrow")[:].column(name)


def column_list(ds, name: str) -> list:
    """The column as a Python list."""
    return _column(ds, name).to_pylist()


def column_array(ds, name: str) -> np.ndarray:
    """A scalar column as a 1-D NumPy array."""
    return _column(ds, name).to_numpy()


def column_matrix(ds, name: str) -> np.ndarray:
    """A column of equal-length lists as a 2-D NumPy array."""
    import pyarrow.compute as pc

    col = _column(ds, name)
    n = len(col)
    flat = pc.list_flatten(col).to_numpy() if n else np.zeros(0)
    return flat.reshape(n, -1) if n else flat.reshape(0, 0)
