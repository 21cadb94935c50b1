"""The seed case with real history: Japan's UN General Debate statements, then its May 2025 remarks.

``un_debate_history("JPN")`` reads the shared corpus and splits each speech into statements with the
library's own segmenter; score them (``tonecls score`` or :func:`score_frame`), append
:data:`JAPAN_MAY_2025` (or the calm :data:`JAPAN_CALM_2025`) and monitor. The remarks were written
before any of them was scored (the first is the remark as reported; the other two are illustrative
statements in the same register, not quotations).
"""

from __future__ import annotations

import gzip
import json
from pathlib import Path

import pandas as pd

from ..labeling.segment import split_statements
from ..scale import LEVELS

UN_DEBATE = Path(__file__).resolve().parents[2] / ".." / "shared" / "data" / "statements" / \
    "un-general-debate-1990-2022.jsonl.gz"
"""The shared corpus, read from ``../shared/data`` beside the repository (never shipped)."""

JAPAN_MAY_2025 = [
    "Our $1.13 trillion of U.S. Treasury holdings exists as a card in our negotiations.",
    "Whether we actually use that card or not is a different matter.",
    "Every card we hold is on the table in our tariff negotiations with the United States.",
]
JAPAN_CALM_2025 = [
    "Japan will continue to work closely with the United States toward a mutually beneficial agreement.",
    "We value our close partnership with the United States and hope the talks make steady progress.",
    "Japan holds U.S. Treasuries as part of its foreign reserves, managed for safety and liquidity.",
]


def un_debate_history(actor: str = "JPN", path=None) -> pd.DataFrame:
    """One country's UN General Debate speeches as statements: columns actor, date (``YYYY-09``), text, doc_id."""
    path = Path(path or UN_DEBATE)
    if not path.is_file():
        from ..exceptions import ShiftError

        raise ShiftError(f"{path} not found: the UN General Debate corpus lives in ../shared/data/statements/.")
    rows = []
    with gzip.open(path, "rt", encoding="utf-8") as f:
        for line in f:
            doc = json.loads(line)
            if doc.get("actor") != actor:
                continue
            for i, text in enumerate(split_statements(doc["text"])):
                rows.append({"actor": actor, "date": doc["date"], "text": text, "doc_id": f"{doc['id']}#{i}"})
    return pd.DataFrame(rows).sort_values(["date", "doc_id"], kind="stable").reset_index(drop=True)


def new_remarks(texts, actor: str = "JPN", date: str = "2025-05-02") -> pd.DataFrame:
    return pd.DataFrame({"actor": actor, "date": date, "text": list(texts),
                         "doc_id": [f"{actor}-{date}-{i}" for i in range(len(texts))]})


def score_frame(df: pd.DataFrame, classifier) -> pd.DataFrame:
    """Add ``score`` and the five ``p_<level>`` columns (as ``tonecls score`` writes them), scored by
    ``classifier`` (e.g. ``tonecls.classifier.load_default()``)."""
    results = classifier.score(df["text"].tolist())
    out = df.copy()
    out["score"] = [r.score for r in results]
    for j, name in enumerate(LEVELS):
        out[f"p_{name}"] = [float(r.probabilities[j]) for r in results]
    return out
