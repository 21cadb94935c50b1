"""The model of a run: loading it, describing it for the output metadata, scoring texts to logits."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Callable, Sequence

import numpy as np

from ..backends import DEFAULT_BACKEND
from ..bundle import CALIBRATION_NAME, conformal_of


def load_model(model=None, backend: str | None = DEFAULT_BACKEND, threads: int | None = None, guard: float | None = None):
    """A :class:`~tonecls.classifier.ToneClassifier` from a folder, the default model (None) or
    an instance (used as is when ``backend`` is None); ``backend`` None means
    :data:`~tonecls.backends.DEFAULT_BACKEND` for a folder. Folders load through
    :func:`~tonecls.classifier.load_for_scoring` (no torch import when a start is cached)."""
    from ..classifier import ToneClassifier, default_model_path, load_for_scoring

    if not isinstance(model, ToneClassifier):
        return load_for_scoring(default_model_path() if model is None else model, backend, guard=guard, threads=threads)
    if backend is None:
        return model
    if threads:
        import torch

        torch.set_num_threads(threads)
    from ..backends import apply_backend

    kw = {"guard": guard} if guard is not None else {}
    return apply_backend(model, backend, threads=threads, **kw)


def model_info(clf) -> dict:
    """Name, versions, weights sha256 and backend of ``clf``, for output metadata."""
    from .. import __version__
    from .._files import sha256_file
    from ..backends import runtime_versions, weights_key

    info = {"name": clf.name, "tonecls_version": __version__, "runtime": runtime_versions(), "model_tonecls_version": None, "model_version": None,
            "path": None, "weights_sha256": None, "base_sha256": None, "calibration_sha256": None,
            "weights_key": weights_key(clf), "backend": clf.backend,
            "smoothing_sha256": (clf.backend_options.get("smoothing") or {}).get("sha256"),
            "calibrator": type(clf.calibrator).__name__ if clf.calibrator is not None else None,
            "max_length": clf.max_length, "stride": clf.stride, "aggregate": clf.aggregate, "labels": list(clf.labels)}
    if clf.path is not None:
        config = json.loads((Path(clf.path) / "config.json").read_text())
        info.update(path=str(clf.path), weights_sha256=config["weights"]["sha256"],
                    model_tonecls_version=config.get("tonecls_version"),
                    model_version=config.get("model_version", config.get("version")))
        if (Path(clf.path) / CALIBRATION_NAME).is_file():
            info["calibration_sha256"] = sha256_file(Path(clf.path) / CALIBRATION_NAME)
    if clf.base:
        info["base_sha256"] = next(iter(clf.base.get("sha256", {}).values()), None)  # the base's weights file, listed first
    if clf.calibrator is not None and info["calibration_sha256"] is None:
        import hashlib

        info["calibration_sha256"] = hashlib.sha256(
            json.dumps(clf.calibrator.to_dict(), sort_keys=True, default=str).encode()).hexdigest()
    return info


def model_folder(clf, where: Path) -> Path:
    """A folder the workers can load ``clf`` from: its own, or a copy saved to ``where``."""
    if clf.path is not None:
        return Path(clf.path)
    try:
        return clf.save_pretrained(where)
    finally:
        clf.path = None  # save_pretrained records the folder; the instance stays in-memory


def check_interval(clf) -> None:
    if conformal_of(clf.calibrator) is None:
        raise ValueError(f"Model {clf.name!r} has no conformal intervals: calibrate it with "
                         "`tonecls calibrate MODEL --data DEV --conformal-alpha 0.1`, or drop --interval.")


def score_texts(clf, texts: Sequence[str], batch_size: int = 64, progress: Callable[[int, int], None] | None = None):
    """Logits (one row per text, after window aggregation) and window counts; ``progress(done,
    total)`` is called after every batch with windows done so far and the total."""
    enc = clf.encode(texts)
    total = len(enc.windows)
    done = 0

    def tick(n):
        nonlocal done
        done += n
        if progress is not None:
            progress(done, total)

    window = clf.window_logits(enc, batch_size, progress=tick)
    logits, counts = clf.aggregate_windows(enc, window, len(texts))
    return np.asarray(logits, dtype=np.float32), np.asarray(counts, dtype=np.int64)


_LIBC = []


def trim_heap() -> None:
    """Give freed heap pages back to the OS after each chunk (glibc's ``malloc_trim``): without
    it, fragmentation lets RSS creep up by ~8 MB per 100k rows; a no-op elsewhere."""
    if not _LIBC:
        try:
            import ctypes

            _LIBC.append(ctypes.CDLL("libc.so.6").malloc_trim)
        except (OSError, AttributeError):
            _LIBC.append(None)
    if _LIBC[0] is not None:
        _LIBC[0](0)
