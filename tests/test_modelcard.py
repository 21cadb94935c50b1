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
