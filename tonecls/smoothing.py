"""Smoothing for int8: move activation outliers into the weights before quantising (SmoothQuant).

Dynamic int8 quantises a MatMul's input with one scale per window. A BERT encoder's activations
have a few channels tens of times larger than the rest, so that one scale leaves the other
channels a handful of int8 steps. Smoothing divides input channel ``j`` by ``s_j`` and multiplies
the weight's input column ``j`` by ``s_j`` (``s_j = max|x_j|^alpha / max|W_j|^(1 - alpha)``, from
activation maxima on calibration windows): in exact arithmetic the network computes the same
function, while int8 sees flatter activations and only slightly less even weights (Xiao et al.,
2023, *SmoothQuant*). The division is folded into the operation that feeds the MatMul:

* the attention output: into the value projection (attention mixes values linearly);
* queries, keys, values and the first FFN matrix: a per-channel multiply before the MatMul (in a
  post-LayerNorm encoder the LayerNorm's output is also the residual, so it cannot take it);
* the second FFN matrix: a per-channel multiply after the activation (GELU does not commute).

>>> import torch
>>> from tonecls.encoder import ToneNetwork
>>> net = ToneNetwork({"vocab_size": 50, "hidden_size": 8, "num_hidden_layers": 1, "num_attention_heads": 2,
...                    "intermediate_size": 16, "max_position_embeddings": 16}, 5).eval()
>>> ids, mask = torch.randint(0, 50, (3, 7)), torch.ones(3, 7, dtype=torch.long)
>>> smooth = smoothed(net, activation_maxima(net, [ids[i] for i in range(3)]), alpha=0.5)
>>> bool(torch.allclose(net(ids, mask), smooth(ids, mask), atol=1e-5))
True
"""

from __future__ import annotations

import copy
import os
from pathlib import Path
from typing import Iterable

import torch
from torch import nn

__all__ = ["activation_maxima", "smoothed", "save_maxima", "load_maxima", "Scale"]


class Scale(nn.Module):
    """Multiplies the last dimension by a fixed vector (the smoothing of a MatMul's input)."""

    def __init__(self, factor: torch.Tensor):
        super().__init__()
        self.register_buffer("factor", factor.detach().clone())

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return x * self.factor


def _linears(network) -> dict[str, nn.Linear]:
    """The MatMuls that smoothing scales, by key (in a smoothed network: behind their Scale)."""
    out = {}
    for i, layer in enumerate(network.encoder.encoder.layer):
        for key, m in (("qkv", getattr(layer.attention, "self").query), ("attention_out", layer.attention.output.dense),
                       ("ffn_in", layer.intermediate.dense), ("ffn_out", layer.output.dense)):
            out[f"{i}.{key}"] = m[-1] if isinstance(m, nn.Sequential) else m
    return out


@torch.inference_mode()
def activation_maxima(network, windows: Iterable[torch.Tensor]) -> dict[str, torch.Tensor]:
    """Largest ``|input|`` of every smoothed MatMul, per input channel, over ``windows`` (1-D
    token-id tensors, each run alone, unpadded). Keys: ``"<layer>.qkv"``, ``".attention_out"``,
    ``".ffn_in"``, ``".ffn_out"``."""
    if getattr(network, "implementation", "compact") != "compact":
        network = network.with_implementation("compact")
    maxima: dict[str, torch.Tensor] = {}
    hooks = []
    for name, linear in _linears(network).items():
        def hook(_module, inputs, _output, name=name):
            m = inputs[0].detach().abs().flatten(0, -2).amax(dim=0)
            maxima[name] = m if name not in maxima else torch.maximum(maxima[name], m)
        hooks.append(linear.register_forward_hook(hook))
    try:
        network.eval()
        count = 0
        for ids in windows:
            ids = torch.as_tensor(ids, dtype=torch.long).reshape(1, -1)
            network(ids, torch.ones_like(ids))
            count += 1
        if count == 0:
            raise ValueError("activation_maxima needs at least one calibration window.")
    finally:
        for h in hooks:
            h.remove()
    return maxima


def _factors(act: torch.Tensor, weights: list[torch.Tensor], alpha: float) -> torch.Tensor:
    w = torch.stack([wt.abs().amax(dim=0) for wt in weights]).amax(dim=0)  # per input channel
    s = act.clamp(min=1e-5).pow(alpha) / w.clamp(min=1e-5).pow(1 - alpha)
    return s.clamp(min=1e-2, max=1e2)


@torch.no_grad()
def smoothed(network, maxima: dict[str, torch.Tensor], alpha: float = 0.5):
    """A copy of ``network`` (compact encoder) that computes the same function with smoothed
    MatMul inputs; ``maxima`` from :func:`activation_maxima` on this architecture, ``alpha`` in
    [0, 1] (how much of the activations' range moves into the weights: at 1 all of it, at 0 the
    weights' range moves the other way)."""
    if not 0 <= alpha <= 1:
        raise ValueError(f"alpha must be in [0, 1], got {alpha}.")
    net = copy.deepcopy(network if getattr(network, "implementation", "compact") == "compact"
                        else network.with_implementation("compact")).eval()
    expected = {k: m.in_features for k, m in _linears(net).items()}
    found = {k: tuple(v.shape) for k, v in maxima.items()}
    if found != {k: (n,) for k, n in expected.items()}:
        raise ValueError(f"These activation maxima do not fit this network: it needs {len(expected)} vectors "
                         f"({', '.join(f'{k}: {n}' for k, n in list(expected.items())[:4])}, ...), the maxima hold "
                         f"{len(found)}. Measure them on this model (activation_maxima, or benchmarks/agreement.py --smooth).")
    for i, layer in enumerate(net.encoder.encoder.layer):
        attention = getattr(layer.attention, "self")
        qkv = ("query", "key", "value")
        s = _factors(maxima[f"{i}.qkv"], [getattr(attention, n).weight for n in qkv], alpha)
        for n in qkv:
            linear = getattr(attention, n)
            linear.weight.mul_(s)
            setattr(attention, n, nn.Sequential(Scale(1 / s), linear))
        out = layer.attention.output.dense
        s = _factors(maxima[f"{i}.attention_out"], [out.weight], alpha)
        value = attention.value[1]
        value.weight.div_(s[:, None])
        value.bias.div_(s)
        out.weight.mul_(s)
        ffn_in = layer.intermediate.dense
        s = _factors(maxima[f"{i}.ffn_in"], [ffn_in.weight], alpha)
        ffn_in.weight.mul_(s)
        layer.intermediate.dense = nn.Sequential(Scale(1 / s), ffn_in)
        ffn_out = layer.output.dense
        s = _factors(maxima[f"{i}.ffn_out"], [ffn_out.weight], alpha)
        ffn_out.weight.mul_(s)
        layer.output.dense = nn.Sequential(Scale(1 / s), ffn_out)
    return net


def save_maxima(maxima: dict[str, torch.Tensor], path) -> str:
    """Write ``maxima`` to ``path`` (safetensors, atomically); returns the file's sha256, to record
    beside it."""
    from safetensors.torch import save_file

    from ._files import sha256_file

    tmp = Path(path).with_name(f".{Path(path).name}.{os.getpid()}.part")
    tmp.parent.mkdir(parents=True, exist_ok=True)
    save_file({k: v.contiguous().float() for k, v in maxima.items()}, str(tmp))
    os.replace(tmp, path)
    return sha256_file(path)


def load_maxima(path, sha256: str, recorded_in=None) -> dict[str, torch.Tensor]:
    """The maxima saved by :func:`save_maxima`, after checking the file's ``sha256``: a
    :class:`~tonecls.exceptions.ChecksumError` that names the file, the record
    (``recorded_in``) and the fix if it is missing or differs."""
    from safetensors.torch import load_file

    from ._files import sha256_file
    from .exceptions import ChecksumError

    where = f" named by {recorded_in}" if recorded_in else ""
    fix = ("Measure and save them again with benchmarks/agreement.py --smooth ALPHA --save (which writes the file and "
           "its record together), or score with backend='onnx' (exact) meanwhile.")
    if not Path(path).is_file():
        raise ChecksumError(f"The int8 smoothing maxima {path}{where} are missing. {fix}")
    actual = sha256_file(path)
    if actual != sha256:
        raise ChecksumError(f"The int8 smoothing maxima {path}{where} have sha256 {actual}, not the recorded {sha256}: "
                            f"the file was altered or replaced without its record. {fix}")
    return load_file(str(path))
