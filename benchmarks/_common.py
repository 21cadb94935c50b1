"""Helpers shared by the benchmark scripts (not part of the library)."""

from __future__ import annotations

import gzip
import json
import random
import re
import sys
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parent.parent
STATEMENTS = ROOT.parent / "shared" / "data" / "statements"
FILES = ("un-general-debate-1990-2022.jsonl.gz", "white-house-2021-2025.jsonl.gz")
_SENTENCE = re.compile(r"(?<=[.!?])\s+(?=[A-Z“\"])")


def base_classifier(seed: int = 0):
    """``ToneClassifier.from_base()`` (real encoder, random head), with a fixed head seed."""
    import torch

    from tonecls.classifier import ToneClassifier

    torch.manual_seed(seed)
    return ToneClassifier.from_base()


def sentences(n: int, *, seed: int = 0, min_words: int = 20, max_words: int = 60, per_doc: int = 3) -> list[str]:
    """``n`` real sentences of ``min_words``–``max_words`` words from the shared statement corpora
    (at most ``per_doc`` per document; documents in a fixed random order)."""
    docs = []
    for name in FILES:
        with gzip.open(STATEMENTS / name, "rt", encoding="utf-8") as f:
            for line in f:
                docs.append(json.loads(line)["text"])
    rng = random.Random(seed)
    rng.shuffle(docs)
    out: list[str] = []
    for text in docs:
        got = 0
        for para in text.split("\n"):
            for s in _SENTENCE.split(para.strip()):
                s = " ".join(s.split())
                if min_words <= len(s.split()) <= max_words and s[-1:] in ".!?" and s[:1].isupper():
                    out.append(s)
                    got += 1
                    if got >= per_doc:
                        break
            if got >= per_doc:
                break
        if len(out) >= n:
            break
    return out[:n]


def future_sentences(n: int, seed: int = 0) -> list[str]:
    """``n`` sentences of 5-80 words from documents of the held-out future period (White House from
    July 2024, UN General Debate 2021-2022), which no model was trained on; documents in a fixed random
    order, each read paragraph by paragraph until it has given at least 4 sentences."""
    sys.path.insert(0, str(ROOT / "training"))
    from annotation import in_future

    docs = []
    for name in FILES:
        with gzip.open(STATEMENTS / name, "rt", encoding="utf-8") as f:
            for line in f:
                d = json.loads(line)
                if in_future(d["source"], str(d.get("date") or "")):
                    docs.append(d["text"])
    rng = np.random.default_rng(seed)
    out: list[str] = []
    for i in rng.permutation(len(docs)):
        got = 0
        for para in docs[i].split("\n"):
            for s in _SENTENCE.split(para.strip()):
                s = " ".join(s.split())
                if 5 <= len(s.split()) <= 80 and s[-1:] in ".!?" and s[:1].isupper():
                    out.append(s)
                    got += 1
            if got >= 4:
                break
        if len(out) >= n:
            break
    return out[:n]


def split_texts(path: Path, split: str) -> list[str]:
    """The texts of ``split`` in a labelled JSONL file."""
    with open(path, encoding="utf-8") as f:
        return [r["text"] for r in map(json.loads, f) if r.get("split") == split]


def agreement_sets(n: int) -> dict[str, list[str]]:
    """The text sets that fast paths are compared with fp32 on: gold dev and future-dev (to choose),
    gold test, future test and ``n`` future-period sentences (to report)."""
    gold, future = ROOT / "training/gold/gold.jsonl", ROOT / "training/future/future.jsonl"
    gold_test = split_texts(gold, "test")
    return {"gold dev": sorted(set(split_texts(gold, "dev")) - set(gold_test)),
            "future dev": split_texts(future, "future-dev"), "gold test": gold_test,
            "future test": split_texts(future, "future-test"), "future sentences": future_sentences(n)}

