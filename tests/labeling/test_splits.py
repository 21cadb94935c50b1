import datasets
import numpy as np
from hypothesis import given, settings
from hypothesis import strategies as st

from tonecls.labeling.splits import check_no_overlap, split_by_hash, split_by_time


def make(n_docs=60, per_doc=3, seed=0):
    rng = np.random.default_rng(seed)
    rows = {"text": [], "doc_id": [], "date": [], "source": []}
    for d in range(n_docs):
        src = "un" if d % 2 else "wh"
        year = 1990 + int(rng.integers(0, 30))
        for i in range(per_doc):
            rows["text"].append(f"s{d}-{i}")
            rows["doc_id"].append(f"{src}-{d}")
            rows["date"].append(f"{year}-09")
            rows["source"].append(src)
    return datasets.Dataset.from_dict(rows)


def test_time_split_holds_out_the_latest_documents_per_source():
    ds = make()
    dd = split_by_time(ds, validation_size=0.2, test_size=0.2)
    check_no_overlap(dd)
    assert sum(len(v) for v in dd.values()) == len(ds)
    for src in ("un", "wh"):
        train = [d for d, s in zip(dd["train"]["date"], dd["train"]["source"]) if s == src]
        test = [d for d, s in zip(dd["test"]["date"], dd["test"]["source"]) if s == src]
        assert max(train) <= min(test)


@settings(max_examples=25, deadline=None)
@given(n_docs=st.integers(1, 40), per_doc=st.integers(1, 4), seed=st.integers(0, 10),
       val=st.floats(0, 0.4), test=st.floats(0, 0.4))
def test_no_document_is_in_two_splits(n_docs, per_doc, seed, val, test):
    ds = make(n_docs, per_doc, seed)
    for dd in (split_by_time(ds, validation_size=val, test_size=test), split_by_hash(ds, validation_size=val,
                                                                                      test_size=test)):
        check_no_overlap(dd)
        assert sum(len(v) for v in dd.values()) == len(ds)


def test_splits_are_deterministic_and_undated_documents_hash():
    ds = make().map(lambda r, i: {"date": None if i % 5 == 0 else r["date"]}, with_indices=True)
    a = split_by_time(ds)
    b = split_by_time(ds)
    assert all(a[k]["doc_id"] == b[k]["doc_id"] for k in a)
    check_no_overlap(a)


def test_overlap_is_detected():
    import pytest

    dd = datasets.DatasetDict({"train": datasets.Dataset.from_dict({"doc_id": ["a"]}),
                               "test": datasets.Dataset.from_dict({"doc_id": ["a"]})})
    with pytest.raises(AssertionError, match="'a'"):
        check_no_overlap(dd)
