"""The five-level tone scale, from cautious (0) to confrontational (4).

The ordered tuple :data:`LEVELS` is the single source of truth: level ids, label
names, ``id2label`` in saved models and the columns of every probability array all
derive from it.

>>> from tonecls.scale import LEVELS, level_from_label, score_from_probabilities
>>> LEVELS[4]
'confrontational'
>>> level_from_label("firm")
2
>>> score_from_probabilities([0.0, 0.0, 0.5, 0.5, 0.0])
0.625
"""

from __future__ import annotations

from typing import Sequence

import numpy as np

LEVELS: tuple[str, ...] = ("cautious", "measured", "firm", "assertive", "confrontational")
NUM_LEVELS = len(LEVELS)
MAX_LEVEL = NUM_LEVELS - 1

DESCRIPTIONS: dict[str, str] = {
    "cautious": "restrained, conciliatory, hedged; stresses dialogue, partnership, thanks",
    "measured": "neutral, factual, procedural; a position stated without pressure",
    "firm": "clear disagreement, concern or criticism, without demands backed by consequences",
    "assertive": "demands, conditions, warnings, accusations, retaliation signalled in general terms",
    "confrontational": "explicit threats or ultimatums, named leverage or retaliation, hostile insults",
}


def id2label(labels: Sequence[str] = LEVELS) -> dict[int, str]:
    """Map level ids to names, in the order of ``labels``."""
    return dict(enumerate(labels))


def label2id(labels: Sequence[str] = LEVELS) -> dict[str, int]:
    """Map level names to ids, in the order of ``labels``."""
    return {name: i for i, name in enumerate(labels)}


def level_from_label(value: str | int) -> int:
    """Return the level id (0-4) for a level name, or an id given as int, whole float or digit string.

    Raises ``ValueError`` listing the valid choices for anything else.
    """
    if isinstance(value, (bool, np.bool_)):
        raise ValueError(f"Invalid level {value!r}: expected one of {list(LEVELS)} or 0-{MAX_LEVEL}.")
    if isinstance(value, (int, np.integer)):
        if 0 <= int(value) <= MAX_LEVEL:
            return int(value)
    elif isinstance(value, (float, np.floating)):
        if float(value).is_integer() and 0 <= value <= MAX_LEVEL:
            return int(value)
    elif isinstance(value, str):
        key = value.strip().lower()
        if key in LEVELS:
            return LEVELS.index(key)
        if key.isascii() and key.isdigit() and 0 <= int(key) <= MAX_LEVEL:
            return int(key)
    raise ValueError(f"Invalid level {value!r}: expected one of {list(LEVELS)} or 0-{MAX_LEVEL}.")


def score_from_probabilities(probabilities) -> np.ndarray | float:
    """Expected level divided by 4, in [0, 1]; works on one row or a 2-D array of rows."""
    p = np.asarray(probabilities, dtype=np.float64)
    if p.shape[-1] != NUM_LEVELS:
        raise ValueError(f"Expected {NUM_LEVELS} probabilities per row, got shape {p.shape}.")
    score = p @ np.arange(NUM_LEVELS, dtype=np.float64) / MAX_LEVEL
    return float(score) if score.ndim == 0 else score


def level_from_score(score: float) -> int:
    """Nearest level to a continuous score in [0, 1] (rounding half up)."""
    if not 0.0 <= score <= 1.0:
        raise ValueError(f"Score {score!r} is outside [0, 1].")
    return int(np.floor(score * MAX_LEVEL + 0.5))
