"""The default model's recipe (training/train_default.py): what each configuration trains on."""

import sys
from collections import Counter
from pathlib import Path

import datasets
import pytest

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "training"))
import train_default as recipe  # noqa: E402

WEAK = datasets.DatasetDict({"train": datasets.Dataset.from_dict(
    {"text": [f"weak statement {i}." for i in range(20)], "level": [i % 5 for i in range(20)]})})
DEV_FIT = [{"text": f"gold statement {i}.", "level": i % 5} for i in range(4)]
KIL_AUX = [{"text": "We condemn it.", "conflict": 1}, {"text": "We welcome it.", "conflict": 0}]
SILVER = len(recipe.read_jsonl(recipe.SILVER))
ANCHORS = len(recipe.read_jsonl(recipe.ANCHORS))


def sources(ds) -> Counter:
    gold = {r["text"] for r in DEV_FIT}
    silver = {r["text"] for r in recipe.read_jsonl(recipe.SILVER)}
    anchors = {r["text"] for r in recipe.read_jsonl(recipe.ANCHORS)}
    kil = {r["text"] for r in KIL_AUX}
    return Counter("gold" if t in gold else "silver" if t in silver else "anchors" if t in anchors
                   else "kil" if t in kil else "weak" for t in ds["text"])


@pytest.mark.parametrize("silver_repeat, anchor_repeat", [(None, None), (2, None), (2, 10), (1, 3)])
def test_each_source_is_repeated_as_asked(silver_repeat, anchor_repeat):
    config = recipe.CONFIGS["weak + gold dev-fit + silver + keep-it-local + anchors, ordinal"] | {
        "gold_repeat": 5, "silver_repeat": silver_repeat, "anchor_repeat": anchor_repeat}
    ds = recipe.training_set(WEAK, config, DEV_FIT, KIL_AUX, n=10, seed=0)
    assert sources(ds) == {"weak": 10, "gold": 4 * 5, "silver": SILVER * (silver_repeat or 5),
                           "anchors": ANCHORS * (anchor_repeat or 5), "kil": 2}
    kil = [r for r in ds if r["text"] in {k["text"] for k in KIL_AUX}]
    assert {(r["level_low"], r["level_high"]) for r in kil} == {(2, 4), (0, 1)}


def test_configuration_without_weak_labels_reads_no_corpus_row():
    config = recipe.CONFIGS["gold dev-fit + silver + keep-it-local + anchors, ordinal"] | {"gold_repeat": 2}
    ds = recipe.training_set(WEAK, config, DEV_FIT, KIL_AUX, n=10, seed=0)
    assert "weak" not in sources(ds)
    assert recipe.weak_samples("gold dev-fit + silver + keep-it-local + anchors, ordinal",
                               type("Args", (), {"samples": 3000})()) == 0


def test_equal_repeats_keep_rounds_of_gold_silver_anchors():
    # Runs recorded before silver/anchor repeats existed must train on rows in the same order.
    config = recipe.CONFIGS["gold dev-fit + silver + keep-it-local + anchors, ordinal"] | {"gold_repeat": 2, "kil": False}
    rows = recipe.training_set(WEAK, config, DEV_FIT, KIL_AUX, n=0, seed=0)["text"]
    one_round = [r["text"] for r in DEV_FIT + recipe.read_jsonl(recipe.SILVER) + recipe.read_jsonl(recipe.ANCHORS)]
    assert rows == one_round * 2
