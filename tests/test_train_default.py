"""The default model's recipe (training/train_default.py): what each run trains on, and what it never sees."""

import re
import sys
from collections import Counter
from pathlib import Path

import numpy as np
import pytest

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "training"))
import train_default as recipe  # noqa: E402

pytestmark = pytest.mark.skipif(not recipe.FUTURE.is_file(), reason="the future set is not built")


@pytest.fixture(scope="module")
def full():
    # The last ablation row holds every source (each row adds to the one before).
    return recipe.training_rows(recipe.ABLATION[list(recipe.ABLATION)[-1]]) if recipe.EDITS.is_file() else \
        recipe.training_rows(recipe.ABLATION["+ active learning"])


def test_each_ablation_row_adds_sources_to_the_one_before():
    names = list(recipe.ABLATION)
    assert recipe.FINAL in names
    for before, after in zip(names[1:], names[2:]):
        assert set(recipe.ABLATION[before]) < set(recipe.ABLATION[after]), after


def test_the_shipped_recipe_has_the_best_mean_over_seeds_on_future_dev_unless_the_churn_rule_refused_it():
    rows = recipe.read_jsonl(recipe.ABLATION_RECORD)
    # the newest future-dev on which any configuration holds every seed trained the recipe's way (an enlarged
    # future-dev or a new recipe starts a new comparison: the shipped recipe has to win it too before another
    # one can be compared with it)
    complete = [r for r in rows if r.get("min_steps", 0) == recipe.MIN_STEPS and recipe.seeds_mean(rows, recipe.comparison(r))]
    newest = recipe.comparison(max(complete, key=lambda r: r["future-dev statements"]))
    means = recipe.seeds_mean(rows, newest)
    assert recipe.FINAL in means and len(means) > 1  # FINAL and "+ recent years 2" hold every seed here
    decisions = recipe.read_jsonl(recipe.REPLACEMENTS) if recipe.REPLACEMENTS.is_file() else []
    refused = {d["data"] for d in decisions if not d["replaces"]
               and (d["future_dev_sha256"], d.get("candidate min_steps", 0)) == newest}
    assert {name for name, m in means.items() if m > means[recipe.FINAL]} <= refused


def test_seeds_mean_needs_every_seed_in_one_comparison():
    rows = [{"data": "+ structure forms", "seed": s, "future-dev QWK": q, "future_dev_sha256": "a"}
            for s, q in zip(recipe.SEEDS, (0.5, 0.6, 0.7))]
    assert recipe.seeds_mean(rows, ("a", 0)) == {"+ structure forms": 0.6}
    assert recipe.seeds_mean(rows[:-1], ("a", 0)) == {}
    assert recipe.seeds_mean(rows[:-1] + [rows[-1] | {"future_dev_sha256": "b"}], ("a", 0)) == {}
    # a run stopped by another rule (min_steps) is another comparison
    assert recipe.seeds_mean(rows[:-1] + [rows[-1] | {"min_steps": 3000}], ("a", 0)) == {}
    assert recipe.seeds_mean([r | {"min_steps": 3000} for r in rows], ("a", 3000)) == {"+ structure forms": 0.6}


def test_a_run_off_the_recipe_is_an_experiment_in_its_own_folder():
    from argparse import Namespace

    recipe_run = Namespace(ema=0.0, min_steps=recipe.MIN_STEPS, runs="r")
    assert not recipe.experiment(recipe_run)
    assert recipe.run_folder("+ recent years 2", 7, recipe_run).name == f"recent-years-2-seed7-min{recipe.MIN_STEPS}"
    before = Namespace(ema=0.0, min_steps=0, runs="r")  # the rule before MIN_STEPS: its old folders and records
    assert not recipe.experiment(before) and recipe.run_folder("+ recent years 2", 7, before).name == "recent-years-2-seed7"
    assert recipe.experiment(Namespace(ema=0.0, min_steps=2000, runs="r"))
    ema = Namespace(ema=0.998, min_steps=recipe.MIN_STEPS, runs="r")
    assert recipe.experiment(ema)
    assert recipe.run_folder("+ recent years 2", 7, ema).name == f"recent-years-2-seed7-ema0.998-min{recipe.MIN_STEPS}"


def test_every_recorded_run_names_the_future_dev_it_was_measured_on():
    dev_sets = {r["round"] for r in recipe.read_jsonl(recipe.FUTURE)}
    known = {recipe.dev_fingerprint([r for r in recipe.load_future()[0] if r["round"] <= k]) for k in dev_sets}
    for path in (recipe.ABLATION_RECORD, recipe.RECIPE_RECORD):
        assert {r["future_dev_sha256"] for r in recipe.read_jsonl(path)} <= known, path


def test_no_held_out_text_is_trained_on(full):
    held = recipe.held_out_texts()
    assert held and not held & {recipe.normalized(r["text"]) for r in full}


def test_nothing_of_the_future_period_is_trained_on(full):
    # A sentence said in the future period and also earlier (a speech repeating itself) may be trained
    # on from its earlier document; one found only in future documents may not.
    rows = [r for loader in recipe.SOURCE_ROWS.values() for r in loader()]
    past = {recipe.normalized(r["text"]) for r in rows if not recipe.in_future(r)}
    future_only = {recipe.normalized(r["text"]) for r in rows if recipe.in_future(r)} - past
    assert len(future_only) > 250  # gold and silver 1 statements of the period
    assert not future_only & {recipe.normalized(r["text"]) for r in full}


def test_gold_is_repeated_and_ranges_are_kept(full):
    counts = Counter(r["source"] for r in full)
    gold = recipe.training_rows(["gold dev"])
    assert counts["gold dev"] == len(gold) and len(gold) == recipe.GOLD_REPEAT * len({r["text"] for r in gold})
    kil = [r for r in full if r["source"] == "keep-it-local"]
    assert {(r["level_low"], r["level_high"]) for r in kil} == {(2, 4), (0, 1)}
    exact = [r for r in full if r["source"] != "keep-it-local"]
    assert all(r["level_low"] == r["level_high"] in range(5) for r in exact)


def test_written_training_text_never_names_leverage_a_card(full):
    # "card" stays only as a document in calm anchors ("a joint health insurance card"); the seed remark
    # ("... exists as a card in our negotiations") is then an independent test.
    written = [r for r in full if r["source"] in set(recipe.WRITTEN_SOURCES) - {"keep-it-local"}]
    assert written and not [r["text"] for r in written if re.search(r"\bcards?\b", r["text"], re.I) and r["level_high"] >= 2]


def test_the_churn_rule_replaces_only_a_model_better_beyond_chance():
    rng = np.random.default_rng(0)
    y = rng.integers(0, 5, 600)
    documents = np.arange(600) // 2
    good = np.where(rng.random(600) < 0.8, y, rng.integers(0, 5, 600))
    # 40 statements read differently: 22 that the good model gets right and this one misses by a level, 18 the reverse
    slightly_worse = good.copy()
    right, wrong = np.flatnonzero(good == y), np.flatnonzero(np.abs(good - y) == 1)
    slightly_worse[right[:22]] = np.where(y[right[:22]] < 4, y[right[:22]] + 1, 3)
    slightly_worse[wrong[:18]] = y[wrong[:18]]
    assert recipe.churn_decision(y, good, rng.integers(0, 5, 600), documents, draws=300)["replaces"]
    close = recipe.churn_decision(y, good, slightly_worse, documents, draws=300)
    assert close["candidate QWK"] > close["shipped QWK"] and not close["replaces"]  # higher, but inside the noise
    assert 0.5 < close["P(candidate better)"] < recipe.CHURN_P
    assert not recipe.churn_decision(y, slightly_worse, good, documents, draws=300)["replaces"]
    same = recipe.churn_decision(y, good, good, documents, draws=300)
    assert not same["replaces"] and same["P(candidate better)"] == 0.0  # no difference is never better


def test_replaces_compares_the_two_models_readings_of_future_dev(tmp_path):
    import torch
    from tiny_models import EXAMPLES, build_tiny_classifier
    from tonecls.metrics import quadratic_weighted_kappa

    shipped = build_tiny_classifier().save_pretrained(tmp_path / "shipped")
    (shipped / "training_args.json").write_text('{"extra": {"data": "+ recent years 2"}}')
    other = build_tiny_classifier()
    torch.manual_seed(1)
    with torch.no_grad():
        for p in other.network.parameters():
            p.add_(torch.randn_like(p))
    other = other.save_pretrained(tmp_path / "other")
    (other / "training_args.json").write_text('{"min_steps": 3000, "extra": {"data": "+ recent years 2"}}')
    dev = [{"text": t, "level": k, "doc_id": f"d{i % 4}"}
           for i, (k, t) in enumerate((k, t) for k, ts in sorted(EXAMPLES.items()) for t in ts)]
    decision = recipe.replaces(other, shipped, dev, draws=100)
    y = [r["level"] for r in dev]
    for key, folder in (("candidate QWK", other), ("shipped QWK", shipped)):
        pred = recipe.ToneClassifier.from_pretrained(folder).predict_logits([r["text"] for r in dev]).argmax(1)
        assert decision[key] == round(quadratic_weighted_kappa(y, pred), 4)
    assert decision["candidate"] == "other" and decision["shipped data"] == "+ recent years 2"
    assert (decision["candidate min_steps"], decision["shipped min_steps"]) == (3000, 0)
    assert decision["candidate weights"] != decision["shipped weights"]
    assert decision["future_dev_sha256"] == recipe.dev_fingerprint(dev)


def test_the_shipped_model_was_trained_on_final():
    import json

    args = json.loads((recipe.ROOT / "models" / "tonecls-base" / "training_args.json").read_text())
    assert args["extra"]["data"] == recipe.FINAL


def test_stored_as_stores_the_run_again_with_its_training_record_and_its_readings(tmp_path):
    import json

    import torch
    from tonecls.classifier import INT8_DELTA
    from tonecls.training import TrainingArguments, save_trained

    torch.manual_seed(0)
    clf = recipe.ToneClassifier.from_base("multilingual-e5-small", max_length=64)
    with torch.no_grad():
        for name, p in clf.network.named_parameters():
            if ".layer.11." in name:
                p.add_(0.01 * torch.randn_like(p))
    run = save_trained(clf, tmp_path / "run", TrainingArguments(seed=7), delta_from_base=True, dtype="float16")
    (run / "metrics.json").write_text('{"training": {"steps": 3}}\n')
    stored = recipe.stored_as(run, INT8_DELTA)
    assert stored == tmp_path / "run-int8-delta"
    assert json.loads((stored / "config.json").read_text())["weights"]["dtype"] == INT8_DELTA
    for record in ("training_args.json", "metrics.json"):
        assert (stored / record).read_text() == (run / record).read_text()
    texts = ["We will respond firmly.", "We regret the decision.", "Any attack will be met with force."]
    before, after = (recipe.ToneClassifier.from_pretrained(f).predict_proba(texts) for f in (run, stored))
    np.testing.assert_allclose(after, before, atol=2e-3)
    assert (after.argmax(1) == before.argmax(1)).all()
