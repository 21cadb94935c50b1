"""Tokenizers: loading one from a file, and the ids of its special tokens."""

from __future__ import annotations

from pathlib import Path
from typing import NamedTuple

from .exceptions import ModelError


class SpecialIds(NamedTuple):
    """Ids of the tokens that open, close and pad a window, and stand for an empty statement.

    >>> from tonecls.bases import get_base
    >>> SpecialIds.of(get_base("all-MiniLM-L6-v2").tokenizer())  # BERT's names
    SpecialIds(start=101, end=102, padding=0, unknown=100)
    """

    start: int
    end: int
    padding: int
    unknown: int

    NAMES = {"start": ("[CLS]", "<s>"), "end": ("[SEP]", "</s>"), "padding": ("[PAD]", "<pad>"),
             "unknown": ("[UNK]", "<unk>")}  # BERT's, then RoBERTa / XLM-R's (e5)

    @classmethod
    def of(cls, tokenizer) -> "SpecialIds":
        ids = {}
        for role, names in cls.NAMES.items():
            found = [i for i in map(tokenizer.token_to_id, names) if i is not None]
            if not found:
                raise ModelError(f"The tokenizer has no {role} token (looked for {' or '.join(names)}): name its "
                                 "special tokens [CLS]/[SEP]/[PAD]/[UNK] or <s>/</s>/<pad>/<unk>.")
            ids[role] = found[0]
        return cls(**ids)


def load_tokenizer(path: str | Path):
    """The ``tokenizers.Tokenizer`` in ``path``, without padding or truncation (windows are cut by the model)."""
    from tokenizers import Tokenizer

    tok = Tokenizer.from_file(str(path))
    tok.no_padding()
    tok.no_truncation()
    return tok
