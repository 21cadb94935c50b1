from tonecls.labeling.card import render_card


def test_card_lists_sources_licences_counts_and_weights():
    info = {"documents_excluded": 3, "levels_before_balancing": {"train": [10, 20, 5, 2, 1]},
            "settings": {"cap_per_level": 10},
            "weak_labeler": {"aggregator": "LabelModel", "label_model": {
                "class_prior": [0.2] * 5, "functions": {"thanks": {"accuracy": 0.9, "p_vote_given_level": [0.3, 0, 0, 0, 0]}}}}}
    card = render_card({"train": {"rows": 28, "levels": [10, 10, 5, 2, 1]}}, info)
    for needle in ("CC0", "public domain", "doi:10.7910/DVN/0TJX8Y", "github.com/brian14708/wh-briefings", "MIT",
                   "| train | 10 | 10 | 5 | 2 | 1 | 28 |", "| thanks | 0.900 |", "Documents excluded before labeling (gold set): 3"):
        assert needle in card
