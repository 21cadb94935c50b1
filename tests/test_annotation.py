"""training/annotation.py: taking an annotator's pass into a labelled set, and discarding one."""

import json
import sys
from pathlib import Path

import pytest

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "training"))
import annotation  # noqa: E402


def _pass(folder: Path, levels: dict) -> Path:
    folder.mkdir(parents=True)
    (folder / "labels.jsonl").write_text("".join(json.dumps({"item_id": i, "level": v}) + "\n" for i, v in levels.items()))
    return folder


def _log(folder: Path) -> list[dict]:
    return annotation.read_jsonl(folder / "annotation_log.jsonl")


def test_take_copies_the_labels_and_logs_who_and_when(tmp_path):
    labelled = tmp_path / "set"
    (labelled / "annotations").mkdir(parents=True)
    first = _pass(tmp_path / "ws1", {"x1": 1, "x2": 3})
    annotation.take(labelled, "b_00", first, "AI-agent session helper-1")
    assert annotation.read_labels(labelled / "annotations" / "b_00.jsonl") == {"x1": 1, "x2": 3}
    (row,) = _log(labelled)
    assert row["batch"] == "b_00" and row["annotator"] == "AI-agent session helper-1"
    assert row["finished_at"].endswith("Z") and len(row["finished_at"]) == 20


def test_a_redo_discards_the_pass_before_it_and_keeps_both_logged(tmp_path):
    labelled = tmp_path / "set"
    (labelled / "annotations").mkdir(parents=True)
    annotation.take(labelled, "b_00", _pass(tmp_path / "ws1", {"x1": 1}), "helper-1")
    annotation.take(labelled, "b_00", _pass(tmp_path / "ws2", {"x1": 2}), "helper-2")
    annotation.discard(labelled, "b_00")  # a third outcome: dropped, every pass discarded
    discarded = labelled / "annotations" / "discarded"
    assert sorted(p.name for p in discarded.iterdir()) == ["b_00_pass1.jsonl", "b_00_pass2.jsonl"]
    assert annotation.read_labels(discarded / "b_00_pass2.jsonl") == {"x1": 2}
    assert [(r["batch"], r["annotator"]) for r in _log(labelled)] == [("b_00_pass1", "helper-1"), ("b_00_pass2", "helper-2")]
    assert not (labelled / "annotations" / "b_00.jsonl").exists()


def test_take_refuses_a_bad_file_before_moving_anything(tmp_path):
    labelled = tmp_path / "set"
    (labelled / "annotations").mkdir(parents=True)
    annotation.take(labelled, "b_00", _pass(tmp_path / "ws1", {"x1": 1}), "helper-1")
    with pytest.raises(ValueError, match="level 7 for x1 is not 0-4"):
        annotation.take(labelled, "b_00", _pass(tmp_path / "ws2", {"x1": 7}), "helper-2")
    assert annotation.read_labels(labelled / "annotations" / "b_00.jsonl") == {"x1": 1}
    assert len(_log(labelled)) == 1


def test_discard_needs_a_pass(tmp_path):
    with pytest.raises(FileNotFoundError, match="no pass of b_09"):
        annotation.discard(tmp_path, "b_09")


def test_score_reads_a_pass_against_its_hidden_gold_statements_only(tmp_path):
    labelled = tmp_path / "set"
    for sub in ("batches", "annotations"):
        (labelled / sub).mkdir(parents=True)
    key = [{"batch": "b_00", "item_id": "x1", "source_id": "g1", "hidden": True},
           {"batch": "b_00", "item_id": "x2", "source_id": "g2", "hidden": True},
           {"batch": "b_00", "item_id": "x3", "source_id": "c1", "hidden": False},
           {"batch": "b_01", "item_id": "x4", "source_id": "g1", "hidden": True}]
    annotation.write_jsonl(labelled / "batches" / "key_strand.jsonl", key)
    gold = tmp_path / "gold.jsonl"
    annotation.write_jsonl(gold, [{"gold_id": "g1", "level": 0}, {"gold_id": "g2", "level": 4}])
    annotation.take(labelled, "b_00", _pass(tmp_path / "ws", {"x1": 0, "x2": 3, "x3": 2}), "helper-1")
    q = annotation.score(labelled, "b_00", gold_files=[gold])
    assert (q["n"], q["exact"], q["within_one"]) == (2, 0.5, 1.0)
    with pytest.raises(ValueError, match="no key file names batch b_07"):
        annotation.score(labelled, "b_07", gold_files=[gold])
