"""The committed human-labelled sets: no gold test statement or document leaks into training data."""

import json
import sys
from collections import Counter
from pathlib import Path

import pytest

from tonecls.scale import LEVELS

TRAINING = Path(__file__).resolve().parents[1] / "training"
sys.path.insert(0, str(TRAINING))
from train_default import load_gold, normalized, not_in, read_jsonl as read  # noqa: E402


GOLD = read(TRAINING / "gold" / "gold.jsonl")
DEV_FIT, DEV_HOLD, TEST = load_gold()
# What training/train_default.py trains on or chooses with.
TRAINED_ON = {
    "gold dev-fit": DEV_FIT,
    "gold dev-hold": DEV_HOLD,
    "gold round 3": not_in(read(TRAINING / "gold" / "gold_round3.jsonl"), TEST),
    "silver": read(TRAINING / "silver" / "silver.jsonl"),
}


def test_recipe_drops_dev_statements_that_are_also_test_statements():
    # s0033 (dev) repeats s0298 (test): one White House briefing published under two document ids.
    assert len(TEST) == sum(r["split"] == "test" for r in GOLD)
    assert "s0033" in {r["gold_id"] for r in GOLD} and "s0033" not in {r["gold_id"] for r in DEV_FIT + DEV_HOLD}
    assert len(DEV_FIT) + len(DEV_HOLD) == sum(r["split"] == "dev" for r in GOLD) - 1


@pytest.mark.parametrize("name", TRAINED_ON)
def test_no_gold_test_document_or_statement_in_training_sets(name):
    rows = TRAINED_ON[name]
    assert {r["doc_id"] for r in rows}.isdisjoint(r["doc_id"] for r in TEST)
    assert {normalized(r["text"]) for r in rows}.isdisjoint(normalized(r["text"]) for r in TEST)


@pytest.mark.parametrize("name", TRAINED_ON)
def test_levels_and_labels_agree(name):
    for r in TRAINED_ON[name]:
        assert r["level"] in range(len(LEVELS)) and r["label"] == LEVELS[r["level"]], r


def test_silver_comes_from_documents_of_no_gold_round():
    gold_docs = {r["doc_id"] for path in (TRAINING / "gold").glob("candidates*.jsonl") for r in read(path)}
    silver = TRAINED_ON["silver"]
    assert len(silver) == len({r["silver_id"] for r in silver})
    assert gold_docs.isdisjoint(r["doc_id"] for r in silver)
    assert {normalized(r["text"]) for r in silver}.isdisjoint(normalized(r["text"]) for r in GOLD)


def test_silver2_ids_are_unique_so_edits_find_their_source():
    # training/counterfactual/build.py looks source statements up by silver_id
    rows = read(TRAINING / "silver2" / "silver2.jsonl")
    seen = Counter(r["silver_id"] for r in rows)
    assert [k for k, n in seen.items() if n > 1] == [] and len(rows) > 20_000


def test_silver_annotators_were_measured_on_hidden_gold_statements():
    quality = json.loads((TRAINING / "silver" / "quality.json").read_text())
    batches = {k: v for k, v in quality.items() if k.startswith("batch ")}
    assert sum(v["n"] for v in batches.values()) == quality["all annotators vs gold"]["n"] > 0
    assert sum(quality["levels"].values()) == quality["n"] == len(TRAINED_ON["silver"])
