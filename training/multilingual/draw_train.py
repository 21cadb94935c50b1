"""Training statements to translate (translate-train for the multilingual scorer).

    python training/multilingual/draw_train.py [--round N]     # -> train_sources.jsonl (rounds 1-4 so far)

Up to 600 human-labelled training statements per language (Japanese, Chinese, Russian; 525-526 each, as
level 4 has only 137 eligible statements), different ones for
each language, drawn by a seeded sample stratified over the levels (120 per level, or all a level has)
from the single-rated silver sets and gold round 3 — statements the English model also trains on.
Never drawn: the translated dev/test sets' originals, the held-out texts of ``train_default.py``
(future period, gold test, behavioural suite), statements under 6 or over 60 words. Translators see
the text only, never a level. Round 2 draws again from what round 1 left (level 4 had nothing left);
round 3 from what rounds 1-2 left of these sources and of the strands rated since (``LATER_SOURCES``), round 4
from what rounds 1-3 left of all of them (level 4: nothing left; level 3: 220).
"""

from __future__ import annotations

import json
import random
import sys
from pathlib import Path

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE.parent))

import train_default as recipe  # noqa: E402
from annotation import read_jsonl, write_jsonl  # noqa: E402

LANGUAGES = ("ja", "zh", "ru")
PER_LEVEL = 120
SOURCES = ("gold round 3", "silver 1", "silver 2 natural", "silver 2 shortcut", "silver 2 active")
# Round 3 draws from the silver strands rated after rounds 1-2 too (recent years, structure forms, active
# rounds 3-4): the register nearest the future period, and the forms the English model fails.
LATER_SOURCES = ("silver 2 structure", "silver 2 recent", "silver 2 active 3", "silver 2 active 4",
                 "silver 2 structure 2", "silver 2 recent 2", "silver 2 recent 3", "silver 2 recent 4",
                 "silver 2 structure 3")


def main() -> None:
    import argparse

    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--round", type=int, default=1, help="a later round adds statements no earlier round drew")
    args = p.parse_args()
    earlier = [r for r in read_jsonl(HERE / "train_sources.jsonl") if r.get("round", 1) < args.round] \
        if args.round > 1 else []
    ml = {recipe.normalized(r["en"]) for r in read_jsonl(HERE / "translations.jsonl")}
    ml |= {recipe.normalized(r["text"]) for r in earlier}
    sources = SOURCES + (LATER_SOURCES if args.round >= 3 else ())
    rows = [r for r in recipe.training_rows(sources) if recipe.normalized(r["text"]) not in ml
            and r["level_low"] == r["level_high"] and 6 <= len(r["text"].split()) <= 60]
    unique = {recipe.normalized(r["text"]): r for r in rows}
    by_level = {k: sorted((r for r in unique.values() if r["level_low"] == k), key=lambda r: r["text"])
                for k in range(5)}
    rng = random.Random(17 + args.round - 1)
    out = []
    for level, pool in by_level.items():
        rng.shuffle(pool)
        take = min(PER_LEVEL * len(LANGUAGES), len(pool))
        for i, r in enumerate(pool[:take]):
            out.append({"text": r["text"], "level": level, "source": r["source"], "lang": LANGUAGES[i % len(LANGUAGES)]})
    rng.shuffle(out)
    prefix = "tt" if args.round == 1 else f"tt{args.round}_"
    for i, r in enumerate(out):
        r["tt_id"], r["round"] = f"{prefix}{i:04d}", args.round
    write_jsonl(HERE / "train_sources.jsonl", earlier + out)
    print(json.dumps({lang: [sum(r["lang"] == lang and r["level"] == k for r in out) for k in range(5)]
                      for lang in LANGUAGES}))


if __name__ == "__main__":
    main()
