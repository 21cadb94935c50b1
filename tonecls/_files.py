"""Reading a model folder's JSON files (``config.json``, ``calibration.json``) with errors that
name the file and the fix."""

from __future__ import annotations

import json
from pathlib import Path

from .exceptions import ModelError


def read_model_json(path: Path, what: str) -> dict:
    """The JSON object in ``path``; a :class:`ModelError` naming the file (``what`` it holds) otherwise."""
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except json.JSONDecodeError as err:
        raise ModelError(f"{path}: {what} is not valid JSON ({err.msg} at line {err.lineno}, column {err.colno}); "
                         "the model folder is damaged: copy it again from its source.") from None
    except (OSError, UnicodeDecodeError) as err:
        raise ModelError(f"{path}: {what} cannot be read ({err}).") from None
    if not isinstance(data, dict):
        raise ModelError(f"{path}: {what} must be a JSON object, got {type(data).__name__}.")
    return data
