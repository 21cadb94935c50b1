"""Output safety: side files, atomic writes, the output path check, earlier outputs, the output lock."""

from __future__ import annotations

import json
import os
import sys
import time
from pathlib import Path

from .._files import atomic_write  # noqa: F401 (used by the other bulk modules)
from ..exceptions import OutputError, OutputLockedError


def sidecar_path(output: Path) -> Path:
    return output.with_name(output.name + ".meta.json")


def errors_path(output: Path) -> Path:
    return output.with_name(output.name + ".errors.jsonl")


META_IN_FOLDER = "tonecls_meta.json"


def check_output_path(output: Path, input: Path | None = None) -> None:
    """Raise :class:`OutputError` unless ``output`` can be written: not the input or inside an
    input folder, no file where a folder is needed, a writable folder, and the side files
    (``.errors.jsonl``, ``.meta.json``, ``.parts``, ``.lock``) not of the wrong kind. Run before any work."""
    import tempfile

    if input is not None:
        if output.resolve() == input.resolve():
            raise OutputError("The output would overwrite the input; choose another output path.")
        if input.is_dir() and input.resolve() in output.resolve().parents:
            raise OutputError(f"{output} is inside the input folder {input}; choose an output outside it.")
    folder = output.parent
    for parent in [output.parent, *output.parent.parents]:
        if parent.exists() or parent.is_symlink():
            if not parent.is_dir():
                raise OutputError(f"cannot write {output}: {parent} is a file, not a folder. Choose another output path.")
            folder = parent
            break
    try:
        fd, probe = tempfile.mkstemp(dir=folder, prefix=".tonecls-probe-")
        os.close(fd)
        os.unlink(probe)
    except OSError as err:
        raise OutputError(f"cannot write {output}: the folder {folder} is not writable ({err.strerror}). "
                          "Choose an output in a folder you can write to.") from None
    for side, want_dir in ((errors_path(output), False), (sidecar_path(output), False), (_lock_path(output), False),
                           (output.with_name(output.name + ".parts"), True)):
        if side.exists() and side.is_dir() != want_dir:
            raise OutputError(f"cannot write {output}: {side} exists and is a {'file' if want_dir else 'folder'}; "
                              "tonecls needs that name for its own " + ("parts folder." if want_dir else "side file.")
                              + " Move it away or choose another output path.")


def output_metadata(output: Path) -> dict | None:
    """The metadata of an earlier tonecls output at ``output`` (a file with its ``.meta.json``
    sidecar, or a datasets folder holding ``tonecls_meta.json``); None for anything else."""
    def load(path: Path) -> dict | None:
        try:
            meta = json.loads(path.read_text())
        except (OSError, ValueError):
            return None
        return meta if isinstance(meta, dict) and isinstance(meta.get("model"), dict) and "input" in meta else None

    if output.is_symlink():
        return None
    if output.is_dir():
        return load(output / META_IN_FOLDER)
    if not output.is_file():
        return None
    meta = load(sidecar_path(output))
    if meta is None:
        return None
    recorded = meta.get("output", {}).get("bytes") if isinstance(meta.get("output"), dict) else None
    if recorded is not None and recorded != output.stat().st_size:
        return None  # the sidecar describes another file than the one now there
    if output.name.lower().endswith((".parquet", ".pq")):
        try:
            import pyarrow.parquet as pq

            if b"tonecls" not in (pq.read_schema(output).metadata or {}):
                return None
        except Exception:
            return None
    return meta


def foreign_output_error(output: Path) -> OutputError:
    what = "folder" if output.is_dir() else "file"
    described_by = sidecar_path(output).name if what == "file" else META_IN_FOLDER
    return OutputError(f"{output} exists and is not a tonecls output (no {described_by}"
                       f" describing it): tonecls never replaces a {what} it did not write, even with --overwrite. "
                       "Choose another output path, or move it away yourself.")


def _lock_path(output: Path) -> Path:
    return output.with_name(output.name + ".lock")


class OutputLock:
    """An exclusive lock (``fcntl.flock``) on ``<output>.lock`` for the length of a run, so two
    runs never write the same output; the loser gets :class:`OutputLockedError` naming the winner.
    A lock left by a killed run is free (the kernel drops it with the process)."""

    def __init__(self, output: Path):
        self.path = _lock_path(output)
        self.output = output
        self.fd: int | None = None

    def __enter__(self):
        try:
            import fcntl
        except ImportError:  # pragma: no cover - not POSIX: no lock
            return self
        import socket

        while True:
            fd = os.open(self.path, os.O_RDWR | os.O_CREAT, 0o644)
            try:
                fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
            except BlockingIOError:
                try:
                    other = json.loads(os.read(fd, 4096) or b"{}")
                except ValueError:
                    other = {}
                os.close(fd)
                who = (f"pid {other.get('pid')} on {other.get('host')}, started {other.get('started')}: "
                       f"{other.get('command')}") if other else "a process that holds the lock"
                raise OutputLockedError(f"{self.output} is being written by another tonecls run ({who}). Wait for it "
                                        "to finish (then run this command again), or choose another output.") from None
            try:
                same = os.fstat(fd).st_ino == os.stat(self.path).st_ino
            except FileNotFoundError:
                same = False
            if same:  # not a lock file that the previous holder removed meanwhile
                break
            os.close(fd)
        os.ftruncate(fd, 0)
        os.write(fd, json.dumps({"pid": os.getpid(), "host": socket.gethostname(),
                                 "started": time.strftime("%Y-%m-%d %H:%M:%S"),
                                 "command": " ".join(sys.argv)[:300]}).encode())
        self.fd = fd
        return self

    def __exit__(self, *exc):
        if self.fd is not None:
            try:
                os.unlink(self.path)
            except FileNotFoundError:
                pass
            os.close(self.fd)  # releases the lock
            self.fd = None
        return False
