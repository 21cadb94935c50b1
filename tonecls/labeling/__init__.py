"""The labeling pipeline: raw statements → statements with weak tone levels → a `DatasetDict`."""

from .read import DataError, read_table

__all__ = ["DataError", "read_table"]
