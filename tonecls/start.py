"""Torch-free starts: what a process needs to score like a classifier without importing torch.

:func:`ort_worker_spec` describes a classifier on an ONNX Runtime backend (cached graphs,
tokenizer, calibrator, options) and :func:`spec_runner` runs it; bulk workers start from one.
:func:`save_start` / :func:`load_start` keep such a spec in the cache, keyed by the model
folder's files as they are (:func:`start_key`), the runtime versions and the processor class,
so that a later ``tonecls score`` or ``tonecls.score()`` skips torch (about a second less
start-up and 0.2 GB less memory; ``benchmarks/README.md``):

>>> from tonecls.classifier import load_for_scoring
>>> clf = load_for_scoring("models/tonecls-base", "onnx")   # doctest: +SKIP
>>> clf.backend                                             # doctest: +SKIP
'onnx'
"""

from __future__ import annotations

import hashlib
import json
import os
from pathlib import Path
from typing import Callable

import numpy as np

from ._files import atomic_write
from .backends import (EXPORT_VERSION, RECORD_NAME, BackendUnavailable, Runner, cache_dir, cpu_kind, export_onnx, guarded,
                       ort_forward, ort_int8_forward, quantize_onnx, runtime_versions, weights_key)

_START_VERSION = 1


class NoNetwork:
    """Stands in for the torch network in a process that runs only ONNX Runtime.

    With ``loader`` (a function returning the network) the first use of anything but ``pooling``
    (``state_dict()``, a call, ``save_pretrained``, a torch backend) loads the network, importing
    torch then; without one (a bulk worker) such a use raises :class:`BackendUnavailable`.
    """

    def __init__(self, pooling: str, loader: Callable | None = None):
        self.pooling = pooling
        self._loader = loader
        self._module = None

    def eval(self):
        return self if self._module is None else self._module.eval()

    def torch_module(self):
        """The torch network (loaded on first use)."""
        if self._module is None:
            if self._loader is None:
                raise BackendUnavailable("This classifier runs ONNX graphs only (a bulk worker's); it has no torch network.")
            self._module = self._loader().eval()
        return self._module

    def __call__(self, *args, **kwargs):
        return self.torch_module()(*args, **kwargs)

    def __getattr__(self, name: str):
        if name.startswith("__") or name in ("_loader", "_module"):
            raise AttributeError(name)
        return getattr(self.torch_module(), name)


def ort_worker_spec(clf) -> dict | None:
    """What a worker process needs to score like ``clf`` without importing torch (about 0.6 GB
    less per process): the cached ONNX graphs, tokenizer, calibrator and options. None when
    ``clf``'s backend is not an ONNX Runtime one."""
    options = clf.backend_options
    backend = options["backend"]
    if backend not in ("onnx", "onnx-int8"):
        return None
    guard = float(options.get("guard") or 0.0)
    exclude = tuple(options.get("exclude") or ("head",))
    per_channel = options.get("per_channel", True)
    fast_path = export_onnx(clf) if backend == "onnx" else quantize_onnx(clf, exclude=exclude, per_channel=per_channel,
                                                                         smoothing=options.get("smoothing"))
    return {"name": clf.name, "labels": list(clf.labels), "max_length": clf.max_length, "stride": clf.stride,
            "aggregate": clf.aggregate, "pooling": clf.network.pooling, "tokenizer": clf.tokenizer.to_str(),
            "calibrator": clf.calibrator.to_dict() if clf.calibrator is not None else None,
            "fast": str(fast_path), "reference": str(export_onnx(clf)) if backend == "onnx-int8" and guard > 0 else None,
            "guard": guard, "backend_name": clf.backend, "weights_key": weights_key(clf), "options": dict(options),
            "independent": options.get("independent", True), "base": clf.base}


def spec_runner(spec: dict, probabilities: Callable[[np.ndarray], np.ndarray], threads: int | None = None) -> Runner:
    """The runner of an :func:`ort_worker_spec` (ONNX Runtime only; torch is never imported);
    ``probabilities`` maps logits to calibrated probabilities, for the guard. Graphs whose sha256
    the spec records (a cached start's) are checked before use; the guard's fp32 graph is loaded
    when first needed."""
    threads = threads or max(1, os.cpu_count() or 1)
    sums = spec.get("graphs_sha256") or {}
    if spec["backend_name"].startswith("onnx-int8"):
        forward = ort_int8_forward(spec["fast"], threads, spec.get("independent", True), sha256=sums.get(spec["fast"]))
    else:
        forward = ort_forward(spec["fast"], threads, sha256=sums.get(spec["fast"]))
    stats = None
    if spec["reference"] and spec["guard"] > 0:
        stats = {}
        reference = ort_forward(spec["reference"], threads, sha256=sums.get(spec["reference"]), lazy=True)
        forward = guarded(forward, reference, probabilities, spec["guard"], stats)
    return Runner(forward, spec["backend_name"], spec["options"], stats, spec["weights_key"])


def start_key(path: str | Path, request: dict) -> str | None:
    """Key of a torch-free start of the model folder ``path`` on ``request`` (backend and guard):
    sha256 of the folder's ``config.json``, ``calibration.json`` and agreement record, of its weights
    and tokenizer files as they are now (a base's tokenizer by its package files' paths, sizes and
    times), the runtime versions, the processor class and the export version. None when a file is
    missing or unreadable (then the folder is loaded the full way, which says what is wrong)."""
    from ._files import read_model_json, sha256_file
    from .bases import get_base, named_base
    from .exceptions import ToneclsError

    path = Path(path)
    head = [_START_VERSION, EXPORT_VERSION, runtime_versions(), cpu_kind(), request]
    digest = hashlib.sha256(json.dumps(head, sort_keys=True, default=str).encode())
    try:
        config = read_model_json(path / "config.json", "the model's configuration")
        for name in ("config.json", "calibration.json", RECORD_NAME):
            f = path / name
            digest.update(name.encode() + b"\0" + (f.read_bytes() if f.is_file() else b"-") + b"\0")
        if config.get("tokenizer") == "base":
            tokenizer = json.dumps(get_base(named_base(config)).stamp())
        else:
            tokenizer = sha256_file(path / "tokenizer.json")
        digest.update(sha256_file(path / config["weights"]["file"]).encode() + tokenizer.encode())
    except (OSError, KeyError, TypeError, ToneclsError):
        return None
    return digest.hexdigest()


def _start_file(key: str) -> Path:
    return cache_dir() / "start" / f"{key[:40]}.json"


def save_start(clf, request: dict) -> Path | None:
    """Cache what a later process needs to score like ``clf`` without torch (:func:`load_start`):
    its :func:`ort_worker_spec` and the sha256 of its graphs. Only for a classifier loaded from a
    folder on an ONNX Runtime backend; returns the file written (None otherwise)."""
    from ._files import sha256_file

    if getattr(clf, "path", None) is None or clf.backend_options.get("backend") not in ("onnx", "onnx-int8"):
        return None
    key = start_key(clf.path, request)
    spec = ort_worker_spec(clf)
    if key is None or spec is None:
        return None
    spec["graphs_sha256"] = {f: sha256_file(f) for f in (spec["fast"], spec["reference"]) if f}
    out = _start_file(key)
    out.parent.mkdir(parents=True, exist_ok=True)
    atomic_write(out, json.dumps(spec).encode())
    return out


def load_start(path: str | Path, request: dict) -> dict | None:
    """The cached spec of a torch-free start of ``path`` on ``request``, if an earlier process saved
    one for the same files, runtime and processor and its graphs are still there; else None. (The
    graphs' sha256 is checked when their sessions are made, :func:`spec_runner`.)"""
    key = start_key(path, request)
    if key is None or not _start_file(key).is_file():
        return None
    try:
        spec = json.loads(_start_file(key).read_text(encoding="utf-8"))
        if not all(Path(f).is_file() for f in spec["graphs_sha256"]):
            return None
    except (OSError, ValueError, KeyError, TypeError, AttributeError):
        return None
    return spec
