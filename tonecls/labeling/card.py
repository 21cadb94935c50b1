"""Dataset cards: a README.md saved beside a weakly labelled ``DatasetDict``.

>>> card = render_card({"train": {"rows": 3, "levels": [1, 1, 1, 0, 0]}}, {"statements": 3})
>>> card.splitlines()[0]
'# tonecls weak-label corpus'
"""

from __future__ import annotations

import json
from pathlib import Path

from ..scale import LEVELS, NUM_LEVELS

__all__ = ["render_card", "write_card", "DEFAULT_SOURCES"]

DEFAULT_SOURCES = [
    {"name": "UN General Debate Corpus (sessions 45-77, 1990-2022)", "source": "un-general-debate",
     "licence": "CC0", "citation": "Jankin, Baturo & Dasandi, Harvard Dataverse, doi:10.7910/DVN/0TJX8Y"},
    {"name": "White House statements, releases, briefings, speeches (Jan 2021 - Jan 2025)",
     "source": "white-house-*", "licence": "US government works, public domain; collection CC0",
     "citation": "github.com/brian14708/wh-briefings"},
    {"name": "CAMEO verb patterns and Goldstein scale (PETRARCH2)", "source": "labeling functions",
     "licence": "MIT (Open Event Data Alliance)", "citation": "github.com/openeventdata/petrarch2; Goldstein 1992, JCR 36(2)"},
]


def _table(split_levels: dict[str, list[int]]) -> list[str]:
    head = "| split | " + " | ".join(f"{k} {name}" for k, name in enumerate(LEVELS)) + " | total |"
    rows = [head, "|" + "---|" * (NUM_LEVELS + 2)]
    for split, counts in split_levels.items():
        rows.append(f"| {split} | " + " | ".join(f"{c:,}" for c in counts) + f" | {sum(counts):,} |")
    return rows


def render_card(splits: dict, info: dict, sources: list[dict] | None = None) -> str:
    """Markdown card. ``splits``: name → {"rows", "levels"}; ``info``: the pipeline's record."""
    sources = DEFAULT_SOURCES if sources is None else sources
    lines = ["# tonecls weak-label corpus", "",
             "Official statements with a weak tone level from 0 cautious to 4 confrontational "
             "(`tone-scale.md`), made by labeling functions and an aggregation of their votes, not by people. "
             "Use it to train; measure on a human-labelled gold set.", "",
             "## Sources and licences", ""]
    lines += [f"- **{s['name']}** (`{s['source']}`): {s['licence']}; {s['citation']}" for s in sources]
    lines += ["", "## Counts per level and split", ""]
    lines += _table({k: v["levels"] for k, v in splits.items()})
    before = info.get("levels_before_balancing")
    if before:
        lines += ["", "Before balancing (train subsampled to at most "
                  f"{info.get('settings', {}).get('cap_per_level')} per level, seeded):", ""]
        lines += _table(before)
    distinct = info.get("distinct_train_levels")
    floor = info.get("settings", {}).get("min_per_level")
    if distinct and floor:
        lines += ["", f"Train levels with fewer than {floor:,} statements were filled up to {floor:,} by repeating "
                  "statements of that level (drawn with replacement, seeded; `duplicate == True` on the copies). "
                  "Distinct statements in train per level: " + ", ".join(f"{c:,}" for c in distinct) + ". "
                  "Drop the copies and use class weights instead if you prefer."]
    lines += ["", "## How the labels were made", "",
              "1. Documents were split into statements (sentences; short follow-ups merged, up to three), "
              "without question turns, speaker tags, headers, bullets, URLs or markdown; hard line wraps "
              "repaired; duplicates dropped (`tonecls.labeling.segment`).",
              "2. Labeling functions voted a level or abstained: a lexicon of diplomatic markers for each "
              "level with negation and reported-speech guards (`tonecls.labeling.lexicon`), and CAMEO verb "
              "patterns mapped to levels through the Goldstein scale (`tonecls.labeling.cameo`).",
              "3. The votes were aggregated into a level and a confidence "
              f"({info.get('weak_labeler', {}).get('aggregator', '?')}); statements without votes "
              "or below the confidence threshold were left out (abstained).",
              "4. Splits are by document and time: within each source the latest documents are the test "
              "split and those just before the validation split; no document is in two splits.",
              f"5. Documents excluded before labeling (gold set): {info.get('documents_excluded', 0)}.", ""]
    wl = info.get("weak_labeler", {})
    lm = wl.get("label_model")
    if lm:
        lines += ["## Label-model weights", "",
                  "Class prior: " + ", ".join(f"{LEVELS[k]} {p:.3f}" for k, p in enumerate(lm["class_prior"])), "",
                  "Estimated by EM on the unlabelled votes: for each function, its accuracy P(true level = the "
                  "level it votes | it votes) and how often it votes when the true level is 0, 1, 2, 3, 4.", "",
                  "| function | accuracy | P(votes / level 0-4) |", "|---|---|---|"]
        for name, f in lm["functions"].items():
            lines.append(f"| {name} | {f['accuracy']:.3f} | " + " ".join(f"{x:.4f}" for x in f["p_vote_given_level"]) + " |")
        lines.append("")
    settings = info.get("settings")
    if settings:
        lines += ["## Settings", "", "```json", json.dumps(settings, indent=2), "```", ""]
    return "\n".join(lines)


def write_card(out_dir, dd, info: dict, sources: list[dict] | None = None) -> Path:
    """Write ``README.md`` into ``out_dir`` (a saved ``DatasetDict``)."""
    import numpy as np

    from .columns import column_array

    splits = {k: {"rows": len(v), "levels": np.bincount(column_array(v, "level").astype(np.int64),
                                                      minlength=NUM_LEVELS).tolist()} for k, v in dd.items()}
    path = Path(out_dir) / "README.md"
    path.write_text(render_card(splits, info, sources), encoding="utf-8")
    return path
