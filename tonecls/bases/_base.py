"""The interface every base encoder implements (:class:`Base`)."""

from __future__ import annotations

from pathlib import Path
from typing import Iterable

from ..exceptions import ModelError


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
        names = None if names is None else list(names)
        state = self.tensors(names)
        missing, unexpected = encoder.load_state_dict(state, strict=False)
        if names is not None:  # every tensor asked for must come from the base
            missing = sorted(set(names) - set(state))
        if unexpected or [k for k in missing if not k.endswith("position_ids")]:
            raise ModelError(f"The base {self.name} does not fit the encoder: missing {missing}, unexpected {unexpected}.")

    def __repr__(self) -> str:
        return f"{type(self).__name__}({self.name!r}, package {self.package}=={self.version})"
