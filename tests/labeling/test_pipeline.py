import json

import datasets
import numpy as np
import pytest

from tonecls.labeling.lexicon import LEXICON_LFS
from tonecls.labeling.pipeline import WeakLabeler, label_file, no_marker_column, read_id_list
from tonecls.labeling.splits import check_no_overlap


def test_label_file_end_to_end(tmp_path, docs_path):
    out = tmp_path / "corpus"
    dd = label_file(docs_path, out, aggregator="majority", no_marker="cue", validation_size=0.25, test_size=0.25,
                    progress=False, log=lambda *a: None)
    assert set(dd) == {"train", "validation", "test"}
    check_no_overlap(dd)
    loaded = datasets.load_from_disk(str(out))
    rows = [r for split in loaded.values() if len(split) for r in split]
    assert {"text", "level", "label", "confidence", "doc_id", "actor", "date", "source", "position", "votes"} <= set(
        loaded["train"].column_names)
    by_text = {r["text"]: r for r in rows}
    assert by_text["The aggressor will pay a heavy price for its crimes."]["level"] == 4
    assert by_text["Russia bears full responsibility for this war."]["level"] == 3
    assert by_text["We welcome the agreement reached in Geneva today."]["level"] == 0
    assert by_text["We urge all parties to exercise restraint and return to dialogue."]["level"] in (0, 2)
    assert all(0 <= r["level"] <= 4 and 0 <= r["confidence"] <= 1 for r in rows)
    # A reported threat is at most firm (rubric); a negated criticism is no criticism.
    assert by_text.get("Moscow said it would retaliate against any expansion.", {"level": -1})["level"] <= 2
    assert by_text.get("We do not oppose the new trade rules.", {"level": -1})["level"] < 2
    card = (out / "README.md").read_text()
    assert "CC0" in card and "doi:10.7910/DVN/0TJX8Y" in card and "MIT" in card and "| train |" in card
    info = json.loads((out / "labeling.json").read_text())
    assert info["documents_read"] == 4 and info["votes_column"][-1] == "no_marker_measured"


def test_excluded_documents_never_appear(tmp_path, docs_path):
    ids = tmp_path / "gold.jsonl"
    ids.write_text(json.dumps({"doc_id": "wh-2022-05-01-press-briefing"}) + "\n")
    dd = label_file(docs_path, tmp_path / "c", exclude_docs=read_id_list(ids), lfs=LEXICON_LFS, aggregator="majority",
                    progress=False, log=lambda *a: None)
    assert all("wh-2022-05-01-press-briefing" not in split["doc_id"] for split in dd.values())


def test_weak_labeler_abstains_without_evidence():
    texts = ["We warmly welcome the agreement.", "It is raining.", "The Department of Energy announced $5 billion."]
    ds = datasets.Dataset.from_dict({"text": texts})
    out = WeakLabeler(lfs=LEXICON_LFS, aggregator="majority", no_marker="abstain").fit_transform(ds)
    assert list(out["level"])[:2] == [0, -1] and out["label"][1] == "abstain"
    L = WeakLabeler(lfs=LEXICON_LFS, no_marker="abstain").votes(ds)
    assert no_marker_column(texts, L, "cue").tolist() == [-1, -1, -1]  # third has a vote already (statistics)
    assert no_marker_column(["It is raining.", "The Council met in Geneva."], np.full((2, 1), -1), "cue").tolist() == [-1, 1]
    with pytest.raises(ValueError, match="no_marker"):
        WeakLabeler(no_marker="maybe")


def test_label_model_aggregator_runs(tmp_path, docs_path):
    dd = label_file(docs_path, tmp_path / "c", lfs=LEXICON_LFS, aggregator="label_model", progress=False,
                    log=lambda *a: None)
    info = json.loads((tmp_path / "c" / "labeling.json").read_text())
    assert "label_model" in info["weak_labeler"] and sum(len(v) for v in dd.values()) > 0
    assert "Label-model weights" in (tmp_path / "c" / "README.md").read_text()
