"""The translated dev and test sets of the multilingual scorer: gold statements in Japanese, Chinese, Russian.

    python training/multilingual/build.py      # written/ -> translations.jsonl, train_translations.jsonl, quality.json

600 gold statements (``sources.jsonl``: 300 of the gold ``dev`` split and gold round 3, 300 of the gold
``test`` split, stratified over the levels; drawn by a seeded sample) were translated by AI-agent
translator sessions told to keep the tone exactly (hedges, threats, negations, reported speech,
register), two sessions per language (``written/tr_<lang>_<part>.jsonl``, 300 statements each), and
every translation was checked by another session that corrected those that changed the tone or
meaning (``written/tc_<lang>_<part>.jsonl``). Nobody saw a level. The English statement's gold level is
the label of its translations: ``ml-dev`` chooses and calibrates the multilingual scorer, ``ml-test``
only reports it.

Training translations (translate-train): ``draw_train.py`` drew single-rated training statements
(``train_sources.jsonl``, up to 120 per level and language, other statements for each language: 1,577
in round 1, 1,440 more in round 2, 1,512 more in round 3 from the silver strands rated since, 1,300 more in
round 4 from what was left: levels 0-2 full, level 3 74 or 73 per language, level 4 none); one AI-agent
translator session per 216-263 statements translated them with the same brief (``written/tt_<lang>_<part>.jsonl``,
``written/tt2_...``, ``written/tt3_...``, ``written/tt4_...``, no checker pass),
never seeing a level. Each translation takes the
level of its English original (``train_translations.jsonl``).
"""

from __future__ import annotations

import json
import sys
from pathlib import Path

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE.parent))

from annotation import read_jsonl, write_jsonl  # noqa: E402

LANGUAGES = ("ja", "zh", "ru")


def main() -> None:
    sources = read_jsonl(HERE / "sources.jsonl")
    rows = {s["ml_id"]: dict(s) for s in sources}
    changed = {}
    for lang in LANGUAGES:
        first = {r["id"]: r["text"] for p in (0, 1) for r in read_jsonl(HERE / "written" / f"tr_{lang}_{p}.jsonl")}
        checked = {r["id"]: r for p in (0, 1) for r in read_jsonl(HERE / "written" / f"tc_{lang}_{p}.jsonl")}
        if set(first) != set(rows) or set(checked) != set(rows):
            raise SystemExit(f"{lang}: translations do not cover the {len(rows)} sources")
        for i, row in rows.items():
            row[lang] = checked[i]["text"].strip()
            row[f"{lang}_first"] = first[i]
            row[f"{lang}_check_note"] = checked[i].get("note") or ""
        changed[lang] = sum(checked[i]["text"].strip() != first[i].strip() for i in rows)
    out = [rows[s["ml_id"]] for s in sources]
    write_jsonl(HERE / "translations.jsonl", out)
    summary = {"statements": len(out), "per split": {s: sum(r["split"] == s for r in out) for s in ("ml-dev", "ml-test")},
               "levels per split": {s: [sum(r["split"] == s and r["level"] == k for r in out) for k in range(5)]
                                    for s in ("ml-dev", "ml-test")},
               "translations changed by the checker": changed}
    summary["training translations"] = build_train()
    (HERE / "quality.json").write_text(json.dumps(summary, indent=2) + "\n")
    print(json.dumps(summary, indent=2))


def build_train() -> dict:
    """``train_translations.jsonl`` from ``train_sources.jsonl`` and ``written/tt_*.jsonl``; its counts."""
    sources = {r["tt_id"]: r for r in read_jsonl(HERE / "train_sources.jsonl")}
    out = []
    for lang in LANGUAGES:
        written = {r["id"]: r["text"].strip() for f in sorted((HERE / "written").glob(f"tt*_{lang}_*.jsonl"))
                   for r in read_jsonl(f)}
        wanted = {i for i, r in sources.items() if r["lang"] == lang}
        if set(written) != wanted or not all(written.values()):
            raise SystemExit(f"{lang}: the training translations do not cover the {len(wanted)} sources")
        out += [{"tt_id": i, "lang": lang, "text": written[i], "en": sources[i]["text"], "level": sources[i]["level"],
                 "source": sources[i]["source"], "round": sources[i].get("round", 1)} for i in sorted(wanted)]
    write_jsonl(HERE / "train_translations.jsonl", out)
    return {lang: [sum(r["lang"] == lang and r["level"] == k for r in out) for k in range(5)] for lang in LANGUAGES}


if __name__ == "__main__":
    main()
