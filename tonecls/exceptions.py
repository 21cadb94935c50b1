"""Every error tonecls raises on purpose, under one base class, :class:`ToneclsError`.

Each message says what is wrong, where (file, row, line, index) and what to do; the ``tonecls``
command prints it as one line (``tonecls score: error: ...``, exit code 2), without a traceback.
The classes also subclass the built-in error that callers caught before (``ValueError``,
``FileNotFoundError``, ``ImportError``, ...), and stay importable from their old modules
(``tonecls.classifier.InvalidInputError``, ``tonecls.archive.DataError``, ...).

>>> from tonecls.exceptions import ToneclsError, InvalidInputError
>>> issubclass(InvalidInputError, ToneclsError) and issubclass(InvalidInputError, ValueError)
True
"""

from __future__ import annotations


class ToneclsError(Exception):
    """Base class of the errors tonecls raises on purpose."""


class InvalidInputError(ToneclsError, ValueError):
    """A statement passed to the API is not scorable text (the message names its index)."""


class OptionError(ToneclsError, ValueError):
    """An option has a value tonecls cannot use; the message names the option and the valid choices."""


class DataError(ToneclsError, ValueError):
    """An input file cannot be used as given; the message names the file, row or line, and the fix."""


class OutputError(DataError):
    """The output path cannot be written (or would replace something tonecls did not write)."""


class OutputLockedError(OutputError):
    """Another run is writing the same output right now."""


class ModelError(ToneclsError, ValueError):
    """A model folder cannot be loaded; the message names the file."""


class ModelNotFoundError(ModelError, FileNotFoundError):
    """The path is not a model folder (no ``config.json``)."""


class ChecksumError(ModelError, RuntimeError):
    """A weights or tokenizer file does not match its recorded sha256."""


class CalibrationError(ModelError):
    """A stored calibrator (``calibration.json``) is invalid: unknown method, wrong shape, or a
    number that is not finite (or a temperature that is not positive)."""


class ShiftError(ToneclsError, ValueError):
    """Input that the shift detector cannot use; the message names the column, row or fix."""


class BackendUnavailable(ToneclsError, ImportError):
    """The backend needs a package that is not installed."""


class NotFittedError(ToneclsError, ValueError, AttributeError):
    """A calibrator, conformal predictor or ``ShiftDetector`` was used before ``fit``."""


class WeightsMismatchError(ModelError, RuntimeError):
    """A model folder's weights do not fit the network its ``config.json`` describes."""
