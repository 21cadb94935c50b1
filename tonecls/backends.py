"""Runners: how a :class:`~tonecls.classifier.ToneClassifier`'s network is run, checked against fp32.

A :class:`Runner` has ``forward(input_ids, attention_mask) -> logits`` and a ``name``; the
classifier takes one (``ToneClassifier(..., runner=...)``, or :func:`apply_backend`), and
tokenising, windows, length-sorted batching, aggregation and calibration stay the same. This
module builds runners and never imports the classifier.

=============  ==========================================================================
``torch``      the reference: the PyTorch network in fp32 (the default of ``from_pretrained``)
``onnx``       ONNX Runtime, fp32 graph from ``torch.onnx.export`` (dynamic batch and length);
               matches torch to ~1e-6 in the logits
``int8``       ``torch.ao.quantization.quantize_dynamic``: int8 weights (per output channel)
               and dynamically quantised activations in the encoder's Linear layers; the head
               (and any layers named in ``exclude``) stay fp32
``onnx-int8``  ONNX Runtime with ``onnxruntime.quantization.quantize_dynamic`` (per-channel
               int8 MatMuls); the head and ``exclude`` layers stay fp32; with ``smoothing``, of
               the smoothed network (:mod:`tonecls.smoothing`: the same function, activation
               outliers moved into the weights, which int8 reads far better)
``auto``       the fastest backend recorded as agreeing with fp32 on ≥ 99 % of levels for
               *these weights*, *this runtime* and *this processor class* (see
               :func:`agreement_record`); without such a record ``onnx`` (exact) when
               onnxruntime is installed, else ``torch``
=============  ==========================================================================

``tonecls.score()``, the ``tonecls score`` command and :func:`tonecls.bulk.score_archive` all
use :data:`DEFAULT_BACKEND` (``auto``), so a statement gets the same level from each;
``ToneClassifier.from_pretrained`` defaults to ``torch``, the reference.

**Scores never depend on the batch.** Dynamic int8 quantises activations with one scale per
tensor, computed from the whole batch (padding included), so a statement's int8 logits would
move with its neighbours (by up to 1.2 in the logits on the default model). The int8 backends
therefore run every window alone, trimmed to its own length (no padding): its numbers are then
exactly the same in any batch, chunk or order. With ``threads > 1`` the windows run
concurrently, each on one thread, which here is as fast as batching or faster (benchmarks/README.md).
The fp32 backends mask padding and are independent of the batch up to float rounding (~1e-6).

**Runtime versions.** The agreement record names the torch and onnxruntime versions it was
measured with (:func:`runtime_versions`); ``auto`` trusts it only on the same versions and the
same quantisation recipe, else it falls back to the exact backend with a one-line notice.

**The guard.** Int8 moves the logits a little, so a statement whose two most probable
levels are nearly tied can change level. With ``guard=g > 0`` an int8 backend recomputes in
fp32 every window whose two most probable levels are within ``g`` in calibrated
log-probability (``log p1 - log p2 < g``; for temperature scaling that is the logit margin
over the temperature) and uses those logits instead: the level then agrees with fp32 wherever int8's error is smaller than
the margin, at the cost of re-running the near-ties (usually a small fraction). Rows that
are re-run get exactly the fp32 result; the others carry int8's small error in ``score``
and the probabilities. ``benchmarks/agreement.py`` measures agreement and the re-run
fraction for several guards on a labelled split and writes the record that ``auto`` reads.

Compiled graphs (:mod:`tonecls.graphs`) are cached under ``$TONECLS_CACHE`` (default
``~/.cache/tonecls``), keyed by a hash of the network's weights and the quantisation settings;
nothing is downloaded.

>>> from tonecls import ToneClassifier
>>> clf = ToneClassifier.from_pretrained("./models/tonecls-base", backend="auto")   # doctest: +SKIP
>>> clf.backend                                                                   # doctest: +SKIP
'onnx-int8-smooth0.8+guard0.1'
"""

from __future__ import annotations

import copy
import json
import logging
import os
import threading
from dataclasses import dataclass, field
from pathlib import Path
from typing import Callable, Sequence

import numpy as np

from ._files import atomic_write
from .exceptions import BackendUnavailable  # noqa: F401 (re-exported)
# The graphs and their keys live in .graphs; the public names are re-exported as part of this module's interface.
from .graphs import EXPORT_VERSION, _has_ort, _module, _require_ort, cache_dir, cpu_kind, export_onnx, quantize_onnx, weights_key

BACKENDS = ("torch", "onnx", "int8", "onnx-int8", "auto")
# The one backend choice of the convenience paths: ``tonecls.score()`` / ``load_default()``, the
# ``tonecls score`` command (one statement or an archive) and ``score_archive``, so that they give
# the same level for the same statement. ``from_pretrained`` keeps ``torch``, the reference.
DEFAULT_BACKEND = "auto"
AGREEMENT_TARGET = 0.99
RECORD_NAME = "fast.json"
# Fastest first: the order in which ``auto`` considers recorded backends.
_SPEED_ORDER = ("onnx-int8", "int8", "onnx", "torch")
# Libraries recorded in agreement records and output metadata; those in RUNTIME_COMPARED compute
# the numbers, so a record measured on other versions of them is not trusted by ``auto``.
RUNTIME_PACKAGES = ("tonecls", "torch", "onnxruntime", "onnx", "transformers", "tokenizers")
RUNTIME_COMPARED = ("torch", "onnxruntime")
log = logging.getLogger("tonecls")


# --------------------------------------------------------------------------- runners, runtime, processor
@dataclass
class Runner:
    """Runs a network: ``forward(input_ids, attention_mask) -> logits`` for one padded batch.

    ``name`` says how (``"torch"``, ``"onnx-int8+guard0.05"``, ...); ``options`` are the settings
    it was built with (and ``reason``, why ``auto`` chose it); ``guard_stats`` counts the windows
    the guard re-ran; ``weights_key`` is set when the runner was built without the torch network.
    """

    forward: Callable[[np.ndarray, np.ndarray], np.ndarray]
    name: str
    options: dict = field(default_factory=dict)
    guard_stats: dict | None = None
    weights_key: str | None = None


def runtime_versions() -> dict[str, str | None]:
    """Installed versions of :data:`RUNTIME_PACKAGES` (None when not installed); nothing is imported."""
    from importlib import metadata

    from . import __version__

    out: dict[str, str | None] = {}
    for name in RUNTIME_PACKAGES:
        if name == "tonecls":
            out[name] = __version__
            continue
        try:
            out[name] = metadata.version(name)
        except metadata.PackageNotFoundError:
            out[name] = None
    return out


def ort_forward(onnx_path: str | Path, threads: int | None = None, *, sha256: str | None = None,
                lazy: bool = False) -> Callable[[np.ndarray, np.ndarray], np.ndarray]:
    """A ``_forward`` running ``onnx_path`` in ONNX Runtime (CPU) with ``threads`` intra-op threads.
    ``sha256``: the graph's recorded checksum, checked before the session is made (a
    ``ChecksumError`` naming the file if it differs); ``lazy``: make the session on the first call
    (a guard's fp32 reference may never be needed in a short run)."""
    _require_ort()
    threads = threads or _default_threads()
    session, lock = None, threading.Lock()

    def make():
        nonlocal session
        import onnxruntime as ort

        if sha256 is not None:
            from ._files import sha256_file
            from .exceptions import ChecksumError

            actual = sha256_file(onnx_path)
            if actual != sha256:
                raise ChecksumError(f"{onnx_path}: this cached graph has sha256 {actual}, not the {sha256} recorded when "
                                    "it was built: it was altered or damaged. Delete it (or the whole cache, "
                                    f"{cache_dir()}); the next run builds it again.")
        options = ort.SessionOptions()
        options.intra_op_num_threads = threads
        options.inter_op_num_threads = 1
        options.graph_optimization_level = ort.GraphOptimizationLevel.ORT_ENABLE_ALL
        session = ort.InferenceSession(str(onnx_path), options, providers=["CPUExecutionProvider"])

    if not lazy:
        make()

    def forward(input_ids: np.ndarray, attention_mask: np.ndarray) -> np.ndarray:
        if session is None:
            with lock:
                if session is None:
                    make()
        return session.run(["logits"], {"input_ids": input_ids, "attention_mask": attention_mask})[0]

    return forward


def independent_rows(forward: Callable, threads: int = 1) -> Callable[[np.ndarray, np.ndarray], np.ndarray]:
    """A ``_forward`` that runs ``forward`` on every row alone, trimmed to its length (rows are
    right-padded, as :meth:`~tonecls.classifier.ToneClassifier.window_logits` builds them), so a
    row's logits do not depend on the other rows. ``threads > 1`` runs rows concurrently (for
    ONNX Runtime sessions, which release the GIL; give them one intra-op thread each)."""
    pool, pool_pid = None, None
    lock = threading.Lock()

    def run(input_ids: np.ndarray, attention_mask: np.ndarray) -> np.ndarray:
        nonlocal pool, pool_pid
        lengths = attention_mask.sum(axis=1)
        if len(lengths) == 0:
            return forward(input_ids, attention_mask)
        rows = [(np.ascontiguousarray(input_ids[i:i + 1, :n]), np.ascontiguousarray(attention_mask[i:i + 1, :n]))
                for i, n in enumerate(lengths.tolist())]
        if threads > 1 and len(rows) > 1:
            with lock:
                if pool is None or pool_pid != os.getpid():  # a forked child has none of the parent's threads
                    from concurrent.futures import ThreadPoolExecutor

                    pool, pool_pid = ThreadPoolExecutor(threads, thread_name_prefix="tonecls-row"), os.getpid()
            out = list(pool.map(lambda row: forward(*row), rows))
        else:
            out = [forward(*row) for row in rows]
        return np.concatenate(out, axis=0)

    run.independent_rows = True  # type: ignore[attr-defined]
    return run


def ort_int8_forward(onnx_path: str | Path, threads: int | None = None, independent: bool = True, *,
                     sha256: str | None = None) -> Callable:
    """The int8 graph's ``_forward``: row by row on single-threaded sessions (``threads`` rows at
    a time) unless ``independent=False`` (batched: scores depend on the batch; benchmarks only)."""
    threads = threads or _default_threads()
    if not independent:
        return ort_forward(onnx_path, threads, sha256=sha256)
    return independent_rows(ort_forward(onnx_path, 1, sha256=sha256), threads)


def _default_threads() -> int:
    import torch

    return max(1, torch.get_num_threads())


# --------------------------------------------------------------------------- torch int8
def torch_int8_network(network, *, exclude: Sequence[str] = ("head",), per_channel: bool = True):
    """A dynamically quantised copy of ``network``: int8 Linear layers in the encoder, except the
    modules named in ``exclude`` (the head is outside the encoder and always stays fp32)."""
    import warnings

    import torch
    from torch import nn
    from torch.ao.quantization import default_dynamic_qconfig, per_channel_dynamic_qconfig, quantize_dynamic

    qconfig = per_channel_dynamic_qconfig if per_channel else default_dynamic_qconfig
    spec = {name: qconfig for name, m in network.named_modules()
            if isinstance(m, nn.Linear) and name.startswith("encoder.")
            and not any(name == e or name.startswith(e + ".") for e in exclude)}
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        return quantize_dynamic(copy.deepcopy(network).eval(), spec, dtype=torch.qint8)


_single_thread = {"depth": 0, "before": 1}
_single_thread_lock = threading.Lock()


def torch_rows_forward(network, threads: int | None = None):
    """``network`` (torch int8) window by window, ``threads`` windows at a time, each on one torch
    thread (small per-window GEMMs run faster one per thread than split over threads); torch's thread
    setting is restored after every batch."""
    import torch

    rows = independent_rows(torch_forward(network), threads or torch.get_num_threads())

    def forward(input_ids: np.ndarray, attention_mask: np.ndarray) -> np.ndarray:
        with _single_thread_lock:
            if _single_thread["depth"] == 0:
                _single_thread["before"] = torch.get_num_threads()
                torch.set_num_threads(1)
            _single_thread["depth"] += 1
        try:
            return rows(input_ids, attention_mask)
        finally:
            with _single_thread_lock:
                _single_thread["depth"] -= 1
                if _single_thread["depth"] == 0:
                    torch.set_num_threads(_single_thread["before"])

    return forward


def torch_forward(network, threads: int | None = None):
    def forward(input_ids: np.ndarray, attention_mask: np.ndarray) -> np.ndarray:
        import torch

        if threads:
            torch.set_num_threads(threads)
        with torch.inference_mode():
            return network(torch.from_numpy(input_ids), torch.from_numpy(attention_mask)).float().numpy()

    return forward


# --------------------------------------------------------------------------- the guard
def guarded(fast: Callable, reference: Callable, probabilities: Callable[[np.ndarray], np.ndarray],
            guard: float, stats: dict | None = None) -> Callable:
    """``fast``, except that windows whose two most probable levels are within ``guard`` in
    log-probability (``log p1 - log p2 < guard``) are recomputed with ``reference``."""

    def forward(input_ids: np.ndarray, attention_mask: np.ndarray) -> np.ndarray:
        logits = fast(input_ids, attention_mask)
        if guard > 0:
            with np.errstate(divide="ignore"):
                logp = np.sort(np.log(probabilities(logits)), axis=1)
            redo = np.flatnonzero(logp[:, -1] - logp[:, -2] < guard)
            if len(redo):
                width = int(attention_mask[redo].sum(axis=1).max())
                logits = logits.copy()
                logits[redo] = reference(np.ascontiguousarray(input_ids[redo, :width]),
                                         np.ascontiguousarray(attention_mask[redo, :width]))
            if stats is not None:
                stats["windows"] = stats.get("windows", 0) + len(logits)
                stats["rerun"] = stats.get("rerun", 0) + len(redo)
        return logits

    return forward


# --------------------------------------------------------------------------- records
def agreement_record(clf) -> dict | None:
    """The agreement record for these weights: ``<model folder>/fast.json`` or the cache's
    ``agreement/<weights key>.json``; None if there is none or it was made for other weights."""
    key = weights_key(clf)
    candidates = []
    if getattr(clf, "path", None) is not None:
        candidates.append(Path(clf.path) / RECORD_NAME)
    candidates.append(cache_dir() / "agreement" / f"{key[:32]}.json")
    for path in candidates:
        if path.is_file():
            try:
                record = json.loads(path.read_text())
            except (OSError, json.JSONDecodeError):
                continue
            if record.get("weights_key") == key:
                record["_path"] = str(path)
                return record
    return None


def save_agreement_record(clf, record: dict, *, to_model_folder: bool = False) -> Path:
    """Write ``record`` for these weights, stamped with the runtime versions it was measured on,
    the quantisation recipe (export version) and row-independent int8 execution."""
    record = {**record, "weights_key": weights_key(clf), "runtime": runtime_versions(), "cpu": cpu_kind(),
              "export_version": EXPORT_VERSION, "independent_rows": True}
    if to_model_folder:
        if getattr(clf, "path", None) is None:
            raise ValueError("The classifier was not loaded from a folder; cannot write fast.json beside it.")
        path = Path(clf.path) / RECORD_NAME
    else:
        path = cache_dir() / "agreement" / f"{weights_key(clf)[:32]}.json"
        path.parent.mkdir(parents=True, exist_ok=True)
    atomic_write(path, (json.dumps(record, indent=2) + "\n").encode())
    return path


def record_problem(record: dict) -> str | None:
    """Why ``record`` does not describe this installation (None when it does): it names no
    runtime, was measured on other torch / onnxruntime versions, another processor class
    (:func:`cpu_kind`), another quantisation recipe, or batched int8, or its smoothing entry is
    malformed."""
    runtime = record.get("runtime")
    if not isinstance(runtime, dict) or not runtime:
        return "names no runtime versions"
    installed = runtime_versions()
    diff = [f"{k} {runtime.get(k)} (installed: {installed[k]})" for k in RUNTIME_COMPARED if runtime.get(k) != installed[k]]
    if diff:
        return "was measured with " + ", ".join(diff)
    if record.get("cpu") != cpu_kind():
        return f"was measured on a {record.get('cpu') or 'unnamed'} processor (this one: {cpu_kind()})"
    if record.get("export_version") != EXPORT_VERSION:
        return f"was measured with export/quantisation recipe v{record.get('export_version')} (this tonecls: v{EXPORT_VERSION})"
    if not record.get("independent_rows"):
        return "was measured on batched int8 (scores now never depend on the batch)"
    rec = record.get("recommended") or {}
    smoothing = rec.get("smoothing")
    if smoothing is not None and not (isinstance(smoothing, dict) and {"alpha", "file", "sha256"} <= set(smoothing)
                                      and Path(str(smoothing["file"])).name == smoothing["file"]
                                      and rec.get("backend") == "onnx-int8"):
        return "has a smoothing entry that is not {alpha, file (a name beside the record), sha256} of onnx-int8"
    return None


_notified: set = set()


def notify_once(message: str) -> None:
    """Log ``message`` as a warning on the ``tonecls`` logger (shown on stderr), once per process."""
    if message not in _notified:
        _notified.add(message)
        log.warning("%s", message)


def choose_auto(clf) -> tuple[str, dict]:
    """(backend, options) chosen by ``auto`` and why (``options["reason"]``). A record made on
    another runtime is not used: ``auto`` then takes the exact backend and says so once per
    process (``options["notice"]``, logged by :func:`notify_once`; a cached start of the same
    choice logs it again in its own process)."""
    record = agreement_record(clf)
    distrust = None
    if record and record.get("recommended"):
        rec = record["recommended"]
        distrust = record_problem(record)
        if distrust is None and rec.get("agreement", 0) >= AGREEMENT_TARGET and rec.get("backend") in BACKENDS:
            if rec["backend"] not in ("onnx", "onnx-int8") or _has_ort():
                smoothing = rec.get("smoothing")
                if smoothing:  # the maxima file lies beside the record
                    smoothing = {"alpha": smoothing["alpha"], "sha256": smoothing["sha256"],
                                 "file": str((Path(record["_path"]).parent / smoothing["file"]).resolve()),
                                 "recorded_in": record["_path"]}
                return rec["backend"], {
                    "guard": rec.get("guard", 0.0), "exclude": tuple(rec.get("exclude", ("head",))),
                    "smoothing": smoothing,
                    "reason": (f"{rec['backend']} agreed with fp32 on {rec['agreement']:.2%} of levels "
                               f"({record.get('data', '?')}, record {record['_path']})")}
    if _has_ort():
        exact, exact_name = "onnx", "ONNX fp32 (exact)"
    else:
        exact, exact_name = "torch", "torch fp32 (exact; onnxruntime not installed)"
    if distrust:
        reason = (f"agreement record {record['_path']} {distrust}: not used; {exact_name}. "
                  "Re-measure with benchmarks/agreement.py on this runtime to enable int8")
        notice = (f"tonecls: backend 'auto' uses {exact}: the agreement record {record['_path']} {distrust} "
                  "(re-measure with benchmarks/agreement.py).")
        notify_once(notice)
        return exact, {"reason": reason, "notice": notice}
    if exact == "onnx":
        return "onnx", {"reason": "no agreement record ≥ 99% for these weights; ONNX fp32 (exact) "
                                  "(run benchmarks/agreement.py to enable int8)"}
    return "torch", {"reason": "onnxruntime not installed and no int8 agreement record; torch fp32"}


# --------------------------------------------------------------------------- applying
_apply_lock = threading.Lock()


def runner_options(options: dict) -> dict:
    """The settings of a built runner's ``options`` that :func:`build_runner` takes, to build the
    same runner again in another process (a bulk worker, a Ray actor)."""
    return {k: options[k] for k in ("guard", "exclude", "per_channel", "independent", "smoothing") if k in options}


def apply_backend(clf, backend: str = "torch", **options):
    """Make ``clf`` score with ``backend``: sets ``clf.runner`` to :func:`build_runner`'s (None for
    ``"torch"``, the classifier's own fp32 path); returns ``clf``."""
    clf.runner = build_runner(clf, backend, **options)
    return clf


def build_runner(clf, backend: str = "torch", *, guard: float | None = None, exclude: Sequence[str] | None = None,
                 threads: int | None = None, per_channel: bool = True, independent: bool = True,
                 smoothing: dict | None = None) -> Runner | None:
    """A :class:`Runner` of ``clf``'s network for ``backend`` (None for plain ``"torch"``). Its
    ``name`` says what was built, e.g. ``"onnx-int8-smooth0.8+guard0.1"``. ``guard`` and ``exclude``
    apply to the int8 backends, ``smoothing`` to ``onnx-int8`` (see :func:`quantize_onnx`);
    ``threads`` sets intra-op threads (default: torch's setting). ``independent=False`` runs the
    int8 backends batched, so that scores depend on the batch (for benchmarks; the name says
    ``-batched``)."""
    if backend not in BACKENDS:
        raise ValueError(f"Unknown backend {backend!r}; choose one of {list(BACKENDS)}.")
    with _apply_lock:
        reason = notice = None
        if backend == "auto":
            backend, opts = choose_auto(clf)
            reason, notice = opts.pop("reason"), opts.pop("notice", None)
            guard = opts.get("guard", 0.0) if guard is None else guard
            exclude = opts.get("exclude", ("head",)) if exclude is None else exclude
            smoothing = opts.get("smoothing") if smoothing is None else smoothing
        if smoothing and backend != "onnx-int8":
            raise ValueError(f"smoothing applies to the onnx-int8 backend only, not {backend!r}.")
        guard = 0.0 if guard is None else float(guard)
        exclude = tuple(("head",) if exclude is None else exclude)
        options = {"backend": backend, "guard": guard, "exclude": list(exclude), "per_channel": per_channel,
                   "independent": independent, "smoothing": smoothing or None, "reason": reason, "notice": notice}
        reference = None
        if backend == "torch":
            return None if reason is None else Runner(torch_forward(_module(clf.network), threads), "torch", options)
        if backend == "onnx":
            forward = ort_forward(export_onnx(clf), threads)
        elif backend == "int8":
            qnet = torch_int8_network(_module(clf.network), exclude=exclude, per_channel=per_channel)
            forward = torch_rows_forward(qnet, threads) if independent else torch_forward(qnet, threads)
            reference = torch_forward(_module(clf.network), threads)
        else:  # onnx-int8
            forward = ort_int8_forward(quantize_onnx(clf, exclude=exclude, per_channel=per_channel, smoothing=smoothing),
                                       threads, independent)
            reference = ort_forward(export_onnx(clf), threads, lazy=True) if guard > 0 else None
        name, stats = backend + (f"-smooth{float(smoothing['alpha']):g}" if smoothing else ""), None
        if reference is not None and guard > 0:
            stats = {}
            forward = guarded(forward, reference, clf.calibrated_probabilities, guard, stats)
            name += f"+guard{guard:g}"
        if backend in ("int8", "onnx-int8") and tuple(exclude) != ("head",):
            name += "-keep:" + ",".join(e for e in exclude if e != "head")
        if backend in ("int8", "onnx-int8") and not independent:
            name += "-batched"
        return Runner(forward, name, options, stats)
