"""The generated model card (tonecls/modelcard.py): every number comes from the folder's JSON files."""

import json

from tonecls.modelcard import write_model_card


def test_seed_table_and_spread_come_from_metrics(tmp_path):
    seeds = [{"run": "a-seed42", "future-test QWK": 0.6}, {"run": "a-seed1", "future-test QWK": 0.58},
             {"run": "soup", "future-test QWK": 0.61}]
    metrics = {"seeds": seeds, "seeds_description": "Two seeds and their soup.",
               "seed_spread": {"future-test QWK": {"mean": 0.59, "sd": 0.0141}}}
    (tmp_path / "metrics.json").write_text(json.dumps(metrics))
    card = write_model_card(tmp_path).read_text()
    assert "| a-seed1 | 0.580 |" in card and "| soup | 0.610 |" in card
    assert "Over the 2 seeds (the soup not counted)" in card and "| 0.590 ± 0.014 |" in card


def test_card_without_seeds_has_no_seed_section(tmp_path):
    (tmp_path / "metrics.json").write_text(json.dumps({"final": {"run": "x"}}))
    assert "### Seeds" not in write_model_card(tmp_path).read_text()


def test_the_multilingual_section_says_which_kind_of_scorer_reads_and_shows_its_numbers(tmp_path):
    (tmp_path / "metrics.json").write_text(json.dumps({"final": {"run": "x"}}))
    (tmp_path / "multilingual").mkdir()
    ml_test = [{"language": "ja", "QWK": 0.71, "same level as this scorer on the original": 0.78}]
    config = {"kind": "network", "dtype": "float16", "trained_on": "e5 with translations", "chosen": "run-seed1",
              "ml_test": ml_test, "rule": "the rule", "configurations": [{"configuration": "run-seed1",
                                                                           "ml-dev mean QWK (ja, zh, ru)": 0.77}]}
    (tmp_path / "multilingual" / "config.json").write_text(json.dumps(config))
    card = write_model_card(tmp_path).read_text()
    assert "a network fine-tuned on multilingual-e5-small" in card and "Run `run-seed1`" in card
    assert "| ja | 0.710 | 0.780 |" in card and "| run-seed1 | 0.770 |" in card and "chosen by the rule: the rule" in card
    (tmp_path / "multilingual" / "config.json").write_text(json.dumps({**config, "kind": "head", "chosen": "mlp"}))
    card = write_model_card(tmp_path).read_text()
    assert "a head on frozen multilingual-e5-small embeddings" in card and "configuration `mlp`" in card
