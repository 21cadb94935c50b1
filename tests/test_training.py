import json

import datasets
import numpy as np
import pytest
import torch

from tiny_models import EXAMPLES, build_tiny_classifier
from tonecls.classifier import ToneClassifier
from tonecls.cli import main
from tonecls.training import TrainingArguments, load_training_data, ordinal_loss, train


def _corpus(repeat=12):
    rows = [{"text": t, "level": k} for k, texts in EXAMPLES.items() for t in texts]
    return datasets.DatasetDict(train=datasets.Dataset.from_list(rows * repeat), validation=datasets.Dataset.from_list(rows))


FAST = dict(max_length=32, epochs=8, batch_size=8, learning_rate=2e-3, head_learning_rate=5e-3, eval_every=15, patience=10)


def test_retrain_end_to_end_save_load_score(tmp_path):
    out = tmp_path / "model"
    clf = train(_corpus(), TrainingArguments(**FAST), model=build_tiny_classifier(), out=out, progress=False)
    texts = [t for texts in EXAMPLES.values() for t in texts]
    levels = np.repeat(np.arange(5), 3)
    pred = clf.predict_proba(texts).argmax(1)
    assert (pred == levels).mean() >= 0.6  # it learned the training examples
    loaded = ToneClassifier.from_pretrained(out)
    assert np.array_equal(loaded.predict_logits(texts), clf.predict_logits(texts))
    saved_args = TrainingArguments.from_json((out / "training_args.json").read_text())
    assert saved_args == TrainingArguments(**FAST)
    metrics = json.loads((out / "metrics.json").read_text())
    assert metrics["training"]["best_eval_qwk"] == pytest.approx(max(h["qwk"] for h in metrics["training"]["history"]))
    assert "tiny" in (out / "README.md").read_text()


def test_same_seed_same_model():
    a = train(_corpus(2), TrainingArguments(**FAST | {"epochs": 1}), model=build_tiny_classifier(), progress=False)
    b = train(_corpus(2), TrainingArguments(**FAST | {"epochs": 1}), model=build_tiny_classifier(), progress=False)
    for (k, v), w in zip(a.network.state_dict().items(), b.network.state_dict().values()):
        assert torch.equal(v, w), k


def test_training_arguments_json_round_trip_and_validation():
    args = TrainingArguments(base="multilingual-e5-small", objective="cross_entropy", seed=7, extra={"note": "x"})
    assert TrainingArguments.from_json(args.to_json()) == args
    with pytest.raises(ValueError, match="ordinal"):
        TrainingArguments(objective="hinge")
    with pytest.raises(ValueError, match="multilingual-e5-small"):
        TrainingArguments(base="bert-base-uncased")
    with pytest.raises(ValueError, match="valid ones"):
        TrainingArguments.from_json('{"learning_rat": 1}')


@pytest.mark.parametrize("objective", ["ordinal", "cross_entropy"])
def test_loss_prefers_near_misses_only_when_ordinal(objective):
    near = torch.tensor([[0.0, 0.0, 0.0, 4.0, 0.0]])  # predicts assertive
    far = torch.tensor([[4.0, 0.0, 0.0, 0.0, 0.0]])   # predicts cautious
    y = torch.tensor([4])
    kw = dict(exact=torch.tensor([True]), weight=torch.ones(1), objective=objective, emd_weight=1.0)
    l_near = ordinal_loss(near, y, y, **kw)
    l_far = ordinal_loss(far, y, y, **kw)
    if objective == "ordinal":
        assert l_near < l_far
    else:
        assert l_near == pytest.approx(l_far.item())


def test_range_labels_reward_mass_inside_the_range():
    low, high = torch.tensor([2]), torch.tensor([4])
    inside = torch.tensor([[0.0, 0.0, 3.0, 3.0, 3.0]])
    outside = torch.tensor([[3.0, 3.0, 0.0, 0.0, 0.0]])
    kw = dict(exact=torch.tensor([False]), weight=torch.ones(1), objective="ordinal", emd_weight=1.0)
    assert ordinal_loss(inside, low, high, **kw) < ordinal_loss(outside, low, high, **kw)


def test_file_input_with_level_names_and_abstentions(tmp_path):
    path = tmp_path / "data.jsonl"
    rows = [{"body": t, "tone": ["cautious", "measured", "firm", "assertive", "confrontational"][k]}
            for k, texts in EXAMPLES.items() for t in texts] * 4 + [{"body": "unknown", "tone": None}]
    path.write_text("\n".join(json.dumps(r) for r in rows))
    train_set, eval_set = load_training_data(path, text_column="body", level_column="tone")
    assert len(train_set) + len(eval_set) == len(rows) - 1
    assert set(train_set.low) <= set(range(5))


def test_calibrator_is_dropped_when_retraining(tmp_path):
    from tonecls.calibration import TemperatureScaling

    model = build_tiny_classifier()
    model.calibrator = TemperatureScaling().fit(np.random.default_rng(0).normal(size=(50, 5)), np.arange(50) % 5)
    with pytest.warns(UserWarning, match="calibrate again"):
        clf = train(_corpus(1), TrainingArguments(**FAST | {"epochs": 1}), model=model, progress=False)
    assert clf.calibrator is None


def test_max_length_must_fit_the_model():
    model = build_tiny_classifier()
    with pytest.raises(ValueError, match="positions"):
        train(_corpus(1), TrainingArguments(max_length=128), model=model, progress=False)
    assert model.network.implementation == "compact"  # a refused call leaves the model as it was


def test_bad_level_names_the_row(tmp_path):
    path = tmp_path / "data.csv"
    path.write_text("text,level\nfine,firm\nbad,furious\n")
    with pytest.raises(ValueError, match="row 2.*furious"):
        load_training_data(path)


def test_bad_level_row_counts_unlabelled_rows():
    ds = datasets.Dataset.from_dict({"text": ["a", "b", "c"], "level": [None, None, "furious"]})
    from tonecls.training import levelled_from_dataset

    with pytest.raises(ValueError, match="row 3"):
        levelled_from_dataset(ds)


def test_cli_train(tmp_path, monkeypatch):
    path = tmp_path / "data.jsonl"
    path.write_text("\n".join(json.dumps({"text": t, "level": k}) for k, ts in EXAMPLES.items() for t in ts * 4))
    monkeypatch.setattr("tonecls.classifier.ToneClassifier.from_base", classmethod(lambda cls, *a, **kw: build_tiny_classifier()))
    assert main(["train", "--data", str(path), "--out", str(tmp_path / "m"), "--epochs", "1", "--batch-size", "8",
                 "--max-length", "32"]) == 0
    assert (tmp_path / "m" / "model.safetensors").exists()


def test_init_seed_fixes_the_new_head_so_seeds_can_be_averaged():
    # With no learning, the trained network is its initialisation: the head depends on init_seed only.
    still = FAST | {"max_steps": 1, "learning_rate": 0.0, "head_learning_rate": 0.0, "max_length": 64}

    def head(seed, init_seed):
        clf = train(_corpus(1), TrainingArguments(**still | {"seed": seed, "init_seed": init_seed}), progress=False)
        return clf.network.head.weight.detach().clone()

    assert torch.equal(head(1, 7), head(2, 7))
    assert not torch.equal(head(1, None), head(2, None))


def test_weight_average_is_what_is_evaluated_and_returned():
    # After one step the average is 0.1 x the initial weights + 0.9 x the trained ones (decay min(d, 1/10) at step 0).
    one = FAST | {"max_steps": 1, "eval_every": 1}
    init = build_tiny_classifier().network.state_dict()
    raw = train(_corpus(1), TrainingArguments(**one), model=build_tiny_classifier(), progress=False)
    avg = train(_corpus(1), TrainingArguments(**one | {"ema_decay": 0.99}), model=build_tiny_classifier(),
                progress=False)
    raw_state, avg_state = raw.network.state_dict(), avg.network.state_dict()
    assert raw_state.keys() == avg_state.keys() == init.keys()
    moved = [k for k in init if not torch.equal(raw_state[k], init[k])]
    assert moved  # the step trained something
    for k in init:
        expected = 0.1 * init[k].float() + 0.9 * raw_state[k].float() if k in moved else init[k]
        torch.testing.assert_close(avg_state[k].float(), expected.float(), rtol=1e-5, atol=1e-6)
    (h,) = avg.training_summary_["history"]
    assert set(h) >= {"qwk", "qwk_raw"} and "qwk_raw" not in raw.training_summary_["history"][0]
    assert h["qwk_raw"] == raw.training_summary_["history"][0]["qwk"]
    with pytest.raises(ValueError, match="ema_decay"):
        TrainingArguments(ema_decay=1.0)


def test_early_stopping_waits_for_min_steps():
    # Nothing is learned (learning rates 0), so every evaluation after the first is "no better".
    frozen = FAST | {"learning_rate": 0.0, "head_learning_rate": 0.0, "eval_every": 5, "patience": 1}
    early = train(_corpus(), TrainingArguments(**frozen), model=build_tiny_classifier(), progress=False)
    assert early.training_summary_["steps"] == 10
    for min_steps, stop in ((30, 30), (32, 35)):  # the first evaluation at or after min_steps
        late = train(_corpus(), TrainingArguments(**frozen | {"min_steps": min_steps}), model=build_tiny_classifier(),
                     progress=False)
        assert late.training_summary_["steps"] == stop
    with pytest.raises(ValueError, match="min_steps"):
        TrainingArguments(min_steps=-1)


def _paired_corpus():
    """Each example, and the same statement reworded (its 'translation'), paired both ways, same level."""
    rows = []
    for k, texts in EXAMPLES.items():
        for t in texts:
            other = "indeed " + t.lower()
            rows += [{"text": t, "level": k, "pair": other}, {"text": other, "level": k, "pair": t},
                     {"text": t.upper(), "level": k, "pair": None}]
    return datasets.DatasetDict(train=datasets.Dataset.from_list(rows * 4),
                                validation=datasets.Dataset.from_list([r for r in rows if r["pair"]]))


def test_a_pair_column_makes_paired_statements_read_alike():
    from tonecls.training import consistency_loss

    data = _paired_corpus()
    pairs = [(r["text"], r["pair"]) for r in data["validation"]]

    def divergence(weight):
        args = TrainingArguments(**FAST | {"epochs": 3, "pair_column": "pair", "consistency_weight": weight})
        clf = train(data, args, model=build_tiny_classifier(), progress=False)
        a, b = (torch.from_numpy(clf.predict_logits([p[i] for p in pairs])) for i in (0, 1))
        return float(consistency_loss(a, b))

    assert divergence(5.0) < 0.6 * divergence(0.0)


def test_pair_column_errors_name_the_column_and_row():
    from tonecls.training import levelled_from_dataset

    ds = datasets.Dataset.from_list([{"text": "We regret it.", "level": 1, "pair": "Nous le regrettons."},
                                     {"text": "We welcome it.", "level": 0, "pair": " \t "}])
    with pytest.raises(ValueError, match="no pair column 'paired'"):
        levelled_from_dataset(ds, pair_column="paired")
    with pytest.raises(ValueError, match="row 2: the paired text in 'pair'"):
        levelled_from_dataset(ds, pair_column="pair")
    ok = levelled_from_dataset(ds.select([0]), pair_column="pair")
    assert ok.pairs == ["Nous le regrettons."] and ok.subset([0]).pairs == ok.pairs
    with pytest.raises(ValueError, match="consistency_weight"):
        TrainingArguments(consistency_weight=-1.0)
