import gzip
import json

import datasets
import pandas as pd
import pytest

from tonecls.labeling.read import DataError, read_table


def test_jsonl_and_gzip(tmp_path, docs_path):
    ds = read_table(docs_path)
    assert len(ds) == 4 and {"text", "id", "actor", "date"} <= set(ds.column_names)
    gz = tmp_path / "docs.jsonl.gz"
    gz.write_bytes(gzip.compress(docs_path.read_bytes()))
    assert read_table(gz)["id"] == ds["id"]


def test_csv_with_column_mapping(tmp_path):
    path = tmp_path / "s.csv"
    path.write_text("body,who,when,tone\n\"We welcome, warmly, the talks.\",NOR,2020-01-01,firm\n", encoding="utf-8")
    ds = read_table(path, columns={"text": "body", "actor": "who", "date": "when", "level": "tone"})
    assert ds[0] == {"text": "We welcome, warmly, the talks.", "actor": "NOR", "date": "2020-01-01", "level": 2}


def test_parquet_and_datasets_folder(tmp_path):
    df = pd.DataFrame({"text": ["We regret the decision."], "id": ["d1"]})
    df.to_parquet(tmp_path / "s.parquet")
    assert read_table(tmp_path / "s.parquet")["text"] == ["We regret the decision."]
    datasets.DatasetDict({"train": datasets.Dataset.from_pandas(df)}).save_to_disk(str(tmp_path / "dd"))
    assert read_table(tmp_path / "dd")["id"] == ["d1"]  # one split: taken without naming it


def test_missing_column_names_the_file_and_the_fix(tmp_path):
    path = tmp_path / "s.csv"
    path.write_text("body\nWe regret it.\n", encoding="utf-8")
    with pytest.raises(DataError, match=r"s\.csv.*column 'text'.*\['body'\].*--text-column"):
        read_table(path)


def test_latin1_csv_names_the_line_and_the_fix(tmp_path):
    path = tmp_path / "latin.csv"
    path.write_bytes("text\nWe thank the delegation.\nNous saluons la d\u00e9l\u00e9gation.\n".encode("latin-1"))
    with pytest.raises(DataError, match=r"latin\.csv, line 3: not valid utf-8.*iconv.*encoding='latin-1'"):
        read_table(path)
    assert read_table(path, encoding="latin-1")["text"][1] == "Nous saluons la d\u00e9l\u00e9gation."


def test_bad_json_line_names_the_line(tmp_path):
    path = tmp_path / "bad.jsonl"
    path.write_text(json.dumps({"text": "ok one."}) + "\n" + '{"text": "broken\n' + json.dumps({"text": "x"}) + "\n")
    with pytest.raises(DataError, match=r"bad\.jsonl, line 2: not valid JSON"):
        read_table(path)


def test_json_line_that_is_not_an_object(tmp_path):
    path = tmp_path / "list.jsonl"
    path.write_text('{"text": "fine."}\n["not", "an", "object"]\n')
    with pytest.raises(DataError, match=r"line 2: expected a JSON object"):
        read_table(path)


@pytest.mark.parametrize("name,content", [("empty.csv", b""), ("empty.jsonl", b""), ("blank.jsonl", b"\n\n"),
                                          ("header.csv", b"text\n")])
def test_empty_files(tmp_path, name, content):
    path = tmp_path / name
    path.write_bytes(content)
    with pytest.raises(DataError, match=r"empty|no rows"):
        read_table(path)


def test_unreadable_and_unknown_files(tmp_path):
    with pytest.raises(DataError, match="no such file"):
        read_table(tmp_path / "missing.csv")
    bad_gz = tmp_path / "trunc.jsonl.gz"
    bad_gz.write_bytes(b"not gzip at all")
    with pytest.raises(DataError, match=r"trunc\.jsonl\.gz: cannot be read"):
        read_table(bad_gz)
    bad_pq = tmp_path / "x.parquet"
    bad_pq.write_bytes(b"garbage")
    with pytest.raises(DataError, match="cannot be read as Parquet"):
        read_table(bad_pq)
    (tmp_path / "a.txt").write_text("x")
    with pytest.raises(DataError, match="unknown format"):
        read_table(tmp_path / "a.txt")
    with pytest.raises(DataError, match="not a folder written by save_to_disk"):
        read_table(tmp_path)


def test_bad_level_and_non_text_column(tmp_path):
    path = tmp_path / "l.csv"
    path.write_text("text,level\nWe regret it.,firm\nWe warn them.,furious\n", encoding="utf-8")
    with pytest.raises(DataError, match=r"row 2: level 'furious'"):
        read_table(path)
    path = tmp_path / "n.jsonl"
    path.write_text('{"text": 3}\n')
    with pytest.raises(DataError, match="not text"):
        read_table(path)
