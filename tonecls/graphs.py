"""Compiled graphs and their keys: the fp32 ONNX export of a network, its dynamic int8 quantisation
(optionally of the smoothed network, :mod:`tonecls.smoothing`), and the cache they are kept in,
keyed by a hash of the weights (:func:`weights_key`) and the quantisation settings. Runners that
execute them are in :mod:`tonecls.backends`.
"""

from __future__ import annotations

import hashlib
import json
import os
import shutil
import tempfile
import weakref
from pathlib import Path
from typing import Sequence

from .exceptions import BackendUnavailable

# bump when the export or quantisation recipe changes (invalidates cached graphs and agreement records; v4: smoothing;
# v5: 7-bit weights on processors without an int8 dot product)
EXPORT_VERSION = 5


def cache_dir() -> Path:
    return Path(os.environ.get("TONECLS_CACHE", Path.home() / ".cache" / "tonecls"))


_weights_keys: "weakref.WeakKeyDictionary" = weakref.WeakKeyDictionary()


def weights_key(clf) -> str:
    """sha256 of the network's tensors (names, dtypes, shapes, bytes) and pooling: identifies
    *these weights* whatever folder or base package they came from."""
    if clf.runner is not None and clf.runner.weights_key:
        return clf.runner.weights_key
    cached = _weights_keys.get(_module(clf.network))
    if cached:
        return cached
    digest = hashlib.sha256()
    digest.update(f"pooling={clf.network.pooling};labels={list(clf.labels)}".encode())
    for name, tensor in sorted(clf.network.state_dict().items()):
        if name.endswith("position_ids"):
            continue
        t = tensor.detach().contiguous().cpu()
        digest.update(f"{name}:{t.dtype}:{tuple(t.shape)}".encode())
        digest.update(t.view(-1).view(dtype=__import__("torch").uint8).numpy().tobytes())
    key = digest.hexdigest()
    _weights_keys[_module(clf.network)] = key
    return key


def _has_ort() -> bool:
    try:
        import onnxruntime  # noqa: F401
    except ImportError:
        return False
    return True


def _require_ort():
    if not _has_ort():
        raise BackendUnavailable("The onnx backends need onnxruntime: pip install 'tonecls[fast]'")


def export_onnx(clf, path: str | Path | None = None, *, opset: int = 17) -> Path:
    """Export the fp32 network to ONNX (inputs ``input_ids``, ``attention_mask``; output
    ``logits``; batch and sequence axes dynamic). Without ``path`` the graph is cached under
    :func:`cache_dir` keyed by :func:`weights_key`."""
    if path is None:
        path = cache_dir() / "onnx" / f"{weights_key(clf)[:32]}-v{EXPORT_VERSION}-fp32.onnx"
    return _export(_module(clf.network), Path(path), opset)


def _export(network, path: Path, opset: int = 17) -> Path:
    import torch

    if path.is_file():
        return path
    path.parent.mkdir(parents=True, exist_ok=True)
    network = network.eval()
    ids = torch.full((2, 16), 101, dtype=torch.long)
    mask = torch.ones_like(ids)
    mask[1, 10:] = 0
    tmp = path.with_name(f".{path.name}.{os.getpid()}.tmp")
    axes = {"input_ids": {0: "batch", 1: "sequence"}, "attention_mask": {0: "batch", 1: "sequence"},
            "logits": {0: "batch"}}
    import warnings

    with warnings.catch_warnings(), torch.inference_mode():
        warnings.simplefilter("ignore")
        # The TorchScript exporter writes one self-contained file in ~2 s; the dynamo exporter
        # is the fallback for torch versions that drop it.
        try:
            torch.onnx.export(network, (ids, mask), str(tmp), input_names=["input_ids", "attention_mask"],
                              output_names=["logits"], dynamic_axes=axes, opset_version=opset, dynamo=False)
        except Exception:  # pragma: no cover - depends on the torch version
            program = torch.onnx.export(network, (ids, mask), input_names=["input_ids", "attention_mask"],
                                        output_names=["logits"], dynamic_axes=axes, dynamo=True)
            program.save(str(tmp), external_data=False)
    os.replace(tmp, path)
    return path


def _module_to_node_prefix(module: str) -> str:
    # "encoder.encoder.layer.5.output.dense" -> "/encoder/encoder/layer.5/output/dense/"
    parts, out = module.split("."), []
    for p in parts:
        if p.isdigit() and out:
            out[-1] += "." + p
        else:
            out.append(p)
    return "/" + "/".join(out) + "/"


def cpu_kind() -> str:
    """The processor's int8 instruction class, e.g. ``"x86_64-avx2"`` or ``"x86_64-avx512-vnni"``.

    ONNX Runtime and torch pick different int8 kernels for each class (without VNNI, u8 x s8
    products go through int16 sums that can saturate), so int8 results, and the agreement
    measured on them, hold for one class only; an agreement record names the class it was made on.
    """
    import platform

    machine = platform.machine().lower() or "unknown"
    try:
        with open("/proc/cpuinfo", encoding="utf-8", errors="replace") as f:
            flags = next((set(line.split(":", 1)[1].split()) for line in f if line.startswith(("flags", "Features"))), set())
    except OSError:
        flags = set()
    for flag, kind in (("amx_int8", "amx"), ("avx512_vnni", "avx512-vnni"), ("avx_vnni", "avx-vnni"),
                       ("avx512bw", "avx512"), ("avx2", "avx2"), ("asimddp", "neon-dotprod"), ("asimd", "neon")):
        if flag in flags:
            return f"{machine}-{kind}"
    return machine


def quantize_onnx(clf, *, exclude: Sequence[str] = ("head",), per_channel: bool = True,
                  reduce_range: bool | None = None, smoothing: dict | None = None) -> Path:
    """Dynamic int8 ONNX graph of the network (cached). ``exclude`` names modules (as in
    ``network.named_modules()``) whose MatMul/Gemm stay fp32; the head by default. ``smoothing``
    (``{"alpha", "file", "sha256"}``, optionally ``"recorded_in"``, the record that names the
    file, for error messages: activation maxima saved by :func:`tonecls.smoothing.save_maxima`)
    quantises the smoothed network instead (:mod:`tonecls.smoothing`: the same function in
    fp32, flatter activations for int8). ``reduce_range`` (7-bit weights) defaults to on where the
    processor has no int8 dot product (x86 AVX2 or AVX-512 without VNNI: u8 x s8 products go through
    int16 sums that saturate, ONNX Runtime's advice) and off elsewhere. Each build works in its own
    temporary folder, so concurrent builds of one graph never read each other's half-written files."""
    _require_ort()
    if reduce_range is None:
        reduce_range = cpu_kind().endswith(("-avx2", "-avx512"))
    import onnx
    from onnxruntime.quantization import QuantType, quantize_dynamic

    smooth = None if not smoothing else [float(smoothing["alpha"]), smoothing["sha256"]]
    tag = hashlib.sha256(json.dumps([sorted(exclude), per_channel, reduce_range] + ([smooth] if smooth else []))
                         .encode()).hexdigest()[:10]
    path = cache_dir() / "onnx" / f"{weights_key(clf)[:32]}-v{EXPORT_VERSION}-int8-{tag}.onnx"
    if path.is_file():
        return path
    path.parent.mkdir(parents=True, exist_ok=True)
    work = Path(tempfile.mkdtemp(prefix=".build-", dir=path.parent))  # this build's own files, removed after
    try:
        if smooth:
            from .smoothing import load_maxima, smoothed

            maxima = load_maxima(smoothing["file"], smoothing["sha256"], smoothing.get("recorded_in"))
            fp32 = _export(smoothed(_module(clf.network), maxima, alpha=smooth[0]), work / "smoothed-fp32.onnx")
        else:
            fp32 = export_onnx(clf)
        model = onnx.load(str(fp32))
        prefixes = [_module_to_node_prefix(m) for m in exclude]
        excluded = [n.name for n in model.graph.node
                    if n.op_type in ("MatMul", "Gemm") and any(n.name.startswith(p) for p in prefixes)]
        # onnxruntime rewrites a Gemm into "<name>_MatMul" + "<name>_Add" before it reads nodes_to_exclude,
        # so the original name alone leaves the head quantised (found when onnxruntime 1.32 failed the tests).
        excluded += [f"{n.name}_MatMul" for n in model.graph.node if n.op_type == "Gemm" and n.name in excluded]
        quantize_dynamic(str(fp32), str(work / "int8.onnx"), per_channel=per_channel, reduce_range=reduce_range,
                         weight_type=QuantType.QInt8, op_types_to_quantize=["MatMul", "Gemm"],
                         nodes_to_exclude=excluded)
        os.replace(work / "int8.onnx", path)
    finally:
        shutil.rmtree(work, ignore_errors=True)
    return path


def _module(network):
    """The torch module behind ``network``: a stand-in (:class:`tonecls.start.NoNetwork`) loads it."""
    return network.torch_module() if hasattr(type(network), "torch_module") else network
