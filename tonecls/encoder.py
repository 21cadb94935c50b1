"""The network: a BERT-style encoder, a pooling step and a linear head over the levels.

The pretrained encoders it starts from come from PyPI packages, checksum-verified
(:mod:`tonecls.bases`).

>>> from tonecls.encoder import ToneNetwork
>>> from tonecls.bases import get_base
>>> net = ToneNetwork(get_base("all-MiniLM-L6-v2").config(), num_labels=5, pooling="mean")
>>> net.head.out_features
5
"""

from __future__ import annotations

import torch
from torch import nn

from ._files import sha256_file, verify_file  # noqa: F401 (re-exported)
from .exceptions import ChecksumError  # noqa: F401 (re-exported)

POOLINGS = ("mean", "cls")


# BERT settings the compact encoder reads, with BERT's defaults for keys a config leaves out.
BERT_DEFAULTS = {"vocab_size": 30522, "hidden_size": 768, "num_hidden_layers": 12, "num_attention_heads": 12,
                 "intermediate_size": 3072, "hidden_act": "gelu", "hidden_dropout_prob": 0.1,
                 "attention_probs_dropout_prob": 0.1, "max_position_embeddings": 512, "type_vocab_size": 2,
                 "layer_norm_eps": 1e-12, "pad_token_id": 0, "position_embedding_type": "absolute"}
ACTIVATIONS = {"gelu": nn.GELU, "gelu_new": lambda: nn.GELU(approximate="tanh"),
               "gelu_pytorch_tanh": lambda: nn.GELU(approximate="tanh"), "relu": nn.ReLU}
IMPLEMENTATIONS = ("compact", "transformers")


def bert_settings(config: dict) -> dict:
    """``config`` with BERT's defaults for the keys it leaves out (or sets to None)."""
    return BERT_DEFAULTS | {k: v for k, v in config.items() if v is not None}


# Every container below has a forward that calls its children, so exported ONNX node names follow
# the module paths of BertModel ("/encoder/encoder/layer.1/attention/self/query/MatMul"), which
# tonecls.backends uses to keep named layers out of int8.
class _DenseNorm(nn.Module):
    def __init__(self, c: dict, n_in: int):
        super().__init__()
        self.dense = nn.Linear(n_in, c["hidden_size"])
        self.LayerNorm = nn.LayerNorm(c["hidden_size"], eps=c["layer_norm_eps"])
        self.dropout = nn.Dropout(c["hidden_dropout_prob"])

    def forward(self, x: torch.Tensor, residual: torch.Tensor) -> torch.Tensor:
        return self.LayerNorm(self.dropout(self.dense(x)) + residual)


class _SelfAttention(nn.Module):
    def __init__(self, c: dict):
        super().__init__()
        self.heads, self.dropout = c["num_attention_heads"], c["attention_probs_dropout_prob"]
        self.query, self.key, self.value = (nn.Linear(c["hidden_size"], c["hidden_size"]) for _ in range(3))

    def forward(self, x: torch.Tensor, bias: torch.Tensor) -> torch.Tensor:
        b, n, d = x.shape
        q, k, v = (m(x).view(b, n, self.heads, d // self.heads).transpose(1, 2) for m in (self.query, self.key, self.value))
        out = nn.functional.scaled_dot_product_attention(q, k, v, attn_mask=bias,
                                                         dropout_p=self.dropout if self.training else 0.0)
        return out.transpose(1, 2).reshape(b, n, d)


class _Attention(nn.Module):
    def __init__(self, c: dict):
        super().__init__()
        self.add_module("self", _SelfAttention(c))
        self.output = _DenseNorm(c, c["hidden_size"])

    def forward(self, x: torch.Tensor, bias: torch.Tensor) -> torch.Tensor:
        return self.output(getattr(self, "self")(x, bias), x)


class _Intermediate(nn.Module):
    def __init__(self, c: dict):
        super().__init__()
        self.dense = nn.Linear(c["hidden_size"], c["intermediate_size"])
        self.activation = ACTIVATIONS[c["hidden_act"]]()

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.activation(self.dense(x))


class _Layer(nn.Module):
    def __init__(self, c: dict):
        super().__init__()
        self.attention = _Attention(c)
        self.intermediate = _Intermediate(c)
        self.output = _DenseNorm(c, c["intermediate_size"])

    def forward(self, x: torch.Tensor, bias: torch.Tensor) -> torch.Tensor:
        x = self.attention(x, bias)
        return self.output(self.intermediate(x), x)


class _Embeddings(nn.Module):
    def __init__(self, c: dict):
        super().__init__()
        h = c["hidden_size"]
        self.word_embeddings = nn.Embedding(c["vocab_size"], h)
        self.position_embeddings = nn.Embedding(c["max_position_embeddings"], h)
        self.token_type_embeddings = nn.Embedding(c["type_vocab_size"], h)
        self.LayerNorm = nn.LayerNorm(h, eps=c["layer_norm_eps"])
        self.dropout = nn.Dropout(c["hidden_dropout_prob"])

    def forward(self, input_ids: torch.Tensor) -> torch.Tensor:
        positions = torch.arange(input_ids.shape[1], device=input_ids.device)
        # Statements are single segments: token type 0 everywhere, as BertModel without token_type_ids.
        x = self.word_embeddings(input_ids) + self.position_embeddings(positions) + self.token_type_embeddings.weight[0]
        return self.dropout(self.LayerNorm(x))


class _Encoder(nn.Module):
    def __init__(self, c: dict):
        super().__init__()
        self.layer = nn.ModuleList(_Layer(c) for _ in range(c["num_hidden_layers"]))

    def forward(self, x: torch.Tensor, bias: torch.Tensor) -> torch.Tensor:
        for layer in self.layer:
            x = layer(x, bias)
        return x


class CompactBert(nn.Module):
    """BERT's encoder in plain PyTorch, with the parameter names of ``transformers.BertModel``
    (no pooler), so the same checkpoints load into either. It exists because importing
    ``transformers``' model code costs about 2 s, most of a first call to ``tonecls.score``;
    the equivalence is tested against ``BertModel``. Returns the last hidden states.
    """

    def __init__(self, config: dict):
        super().__init__()
        c = bert_settings(config)
        if c["hidden_act"] not in ACTIVATIONS:
            raise ValueError(f"CompactBert does not know hidden_act {c['hidden_act']!r}; it knows {list(ACTIVATIONS)}. "
                             "Use implementation='transformers'.")
        if c["position_embedding_type"] != "absolute":
            raise ValueError("CompactBert supports absolute position embeddings only; use implementation='transformers'.")
        self.embeddings = _Embeddings(c)
        self.encoder = _Encoder(c)

    def forward(self, input_ids: torch.Tensor, attention_mask: torch.Tensor) -> torch.Tensor:
        x = self.embeddings(input_ids)
        # Additive mask over keys: padded tokens get the dtype's lowest value.
        bias = (1.0 - attention_mask[:, None, None, :].to(x.dtype)) * torch.finfo(x.dtype).min
        return self.encoder(x, bias)


class ToneNetwork(nn.Module):
    """Encoder → pooling → dropout → linear head with one logit per level.

    ``encoder_config`` is a BERT config as a dict (``config.json`` of a BERT checkpoint);
    ``implementation`` picks the encoder code: ``"compact"`` (:class:`CompactBert`, used for
    scoring) or ``"transformers"`` (``BertModel``, which :func:`tonecls.train` switches to for
    training and back from). Both have the same parameter names, so weights move freely between them.
    """

    def __init__(self, encoder_config: dict, num_labels: int, pooling: str = "mean", implementation: str = "compact"):
        super().__init__()
        if pooling not in POOLINGS:
            raise ValueError(f"Unknown pooling {pooling!r}; choose one of {list(POOLINGS)}.")
        if implementation not in IMPLEMENTATIONS:
            raise ValueError(f"Unknown implementation {implementation!r}; choose one of {list(IMPLEMENTATIONS)}.")
        self.pooling = pooling
        self.implementation = implementation
        self.encoder_config = {k: v for k, v in encoder_config.items() if k != "transformers_version"}
        if implementation == "transformers":
            from transformers import BertConfig, BertModel

            self.encoder = BertModel(BertConfig.from_dict(self.encoder_config), add_pooling_layer=False)
        else:
            self.encoder = CompactBert(self.encoder_config)
        c = bert_settings(self.encoder_config)
        self.dropout = nn.Dropout(c["hidden_dropout_prob"])
        self.head = nn.Linear(c["hidden_size"], num_labels)

    def forward(self, input_ids: torch.Tensor, attention_mask: torch.Tensor) -> torch.Tensor:
        if self.implementation == "transformers":
            hidden = self.encoder(input_ids=input_ids, attention_mask=attention_mask).last_hidden_state
        else:
            hidden = self.encoder(input_ids, attention_mask)
        if self.pooling == "cls":
            pooled = hidden[:, 0]
        else:
            mask = attention_mask.unsqueeze(-1).to(hidden.dtype)
            pooled = (hidden * mask).sum(1) / mask.sum(1).clamp(min=1.0)
        return self.head(self.dropout(pooled))

    def with_implementation(self, implementation: str) -> "ToneNetwork":
        """This network with its weights in the other encoder code (``self`` if already there)."""
        if implementation == self.implementation:
            return self
        other = ToneNetwork(self.encoder_config, self.head.out_features, self.pooling, implementation)
        state = {k: v for k, v in self.state_dict().items() if not k.endswith("position_ids")}
        missing, unexpected = other.load_state_dict(state, strict=False)
        if unexpected or [k for k in missing if not k.endswith("position_ids")]:
            raise RuntimeError(f"Weights do not move between implementations: missing {missing}, unexpected {unexpected}")
        return other.train(self.training)


DELTA_SUFFIX, SCALE_SUFFIX = ".delta_int8", ".delta_scale"


def quantize_delta(name: str, tensor: torch.Tensor, base: torch.Tensor) -> dict[str, torch.Tensor]:
    """``tensor - base`` (a matrix) as int8 with a float32 scale per row, under ``name`` + the two suffixes: a
    fine-tuned matrix stored in a quarter of float32's bytes, its error a 254th of each row's largest change."""
    delta = tensor.float() - base.float()
    scale = delta.abs().amax(dim=1).clamp_min(1e-12) / 127
    q = torch.round(delta / scale[:, None]).clamp(-127, 127).to(torch.int8)
    return {name + DELTA_SUFFIX: q.contiguous(), name + SCALE_SUFFIX: scale.contiguous()}


def quantize_deltas(state: dict[str, torch.Tensor], base: dict[str, torch.Tensor]) -> dict[str, torch.Tensor]:
    """A delta folder's ``state`` for ``"int8-delta"``: each encoder matrix the ``base`` has (named without
    ``encoder.``) by :func:`quantize_delta`, every other tensor in float16."""
    out = {}
    for k, v in state.items():
        if v.dim() == 2 and k.startswith("encoder.") and k[len("encoder."):] in base:
            out.update(quantize_delta(k, v, base[k[len("encoder."):]]))
        else:
            out[k] = v.half()
    return out


def dequantize_deltas(state: dict[str, torch.Tensor], base: dict[str, torch.Tensor]) -> dict[str, torch.Tensor]:
    """``state`` with each :func:`quantize_delta` pair turned back into its matrix (``base`` holds the base's
    tensors, named without ``encoder.``); other tensors pass unchanged."""
    out = {k: v for k, v in state.items() if not k.endswith((DELTA_SUFFIX, SCALE_SUFFIX))}
    for key in state:
        if key.endswith(DELTA_SUFFIX):
            name = key[: -len(DELTA_SUFFIX)]
            out[name] = base[name[len("encoder."):]].float() + state[key].float() * state[name + SCALE_SUFFIX][:, None]
    return out
