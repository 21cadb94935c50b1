"""The labeling pipeline end to end: documents → statements → votes → weak levels → splits → card.

:class:`WeakLabeler` is the scikit-learn-style core (``fit`` on unlabelled statements, then
``transform``); :func:`label_file` is what ``tonecls label`` runs.

>>> import datasets
>>> statements = datasets.Dataset.from_dict({"text": [
...     "We warmly welcome the agreement and thank our partners.",
...     "If they proceed we will impose countermeasures.",
...     "The two sides discussed trade and investment."]})
>>> labeler = WeakLabeler(aggregator="majority").fit(statements)
>>> list(labeler.transform(statements)["level"])
[0, 4, 1]
"""

from __future__ import annotations

import json
import time
from pathlib import Path
from typing import Sequence

import numpy as np

from ..scale import LEVELS, NUM_LEVELS
from .aggregate import AGGREGATORS, LabelModel
from .lexicon import ABSTAIN, LabelingFunction, apply_lfs, default_lfs

__all__ = ["WeakLabeler", "label_file", "compute_votes"]


def _votes_batch(batch, lfs):
    return {"votes": apply_lfs(batch["text"], lfs).tolist()}


def compute_votes(ds, lfs: Sequence[LabelingFunction] | None = None, num_proc: int | None = None,
                  batch_size: int = 1000) -> np.ndarray:
    """The ``(n, m)`` vote matrix of ``lfs`` over ``ds["text"]`` (a Dataset or a list of texts)."""
    lfs = list(default_lfs() if lfs is None else lfs)
    if isinstance(ds, (list, tuple)):
        return apply_lfs(ds, lfs)
    if len(ds) == 0:
        return np.zeros((0, len(lfs)), dtype=np.int8)
    if not num_proc or num_proc <= 1 or len(ds) < 20_000:
        return apply_lfs(ds["text"], lfs)
    out = ds.select_columns(["text"]).map(_votes_batch, batched=True, batch_size=batch_size, num_proc=num_proc,
                                          fn_kwargs={"lfs": lfs}, remove_columns=["text"], desc="labeling functions")
    return np.asarray(out.with_format("numpy")["votes"], dtype=np.int8)


class WeakLabeler:
    """Labeling functions + an aggregator: ``fit`` learns the aggregator from unlabelled votes.

    ``aggregator``: ``"label_model"`` (Dawid-Skene EM), ``"majority"`` or ``"strongest"``, or an
    instance. ``threshold``: statements whose confidence is below it are abstained (level -1), as
    are statements without any vote.
    """

    def __init__(self, lfs: Sequence[LabelingFunction] | None = None, aggregator="label_model",
                 threshold: float = 0.0, seed: int = 0, num_proc: int | None = None):
        self.lfs = list(default_lfs() if lfs is None else lfs)
        self.aggregator = aggregator
        self.threshold, self.seed, self.num_proc = threshold, seed, num_proc

    @property
    def names(self) -> list[str]:
        return [lf.name for lf in self.lfs]

    def _make(self):
        if isinstance(self.aggregator, str):
            if self.aggregator not in AGGREGATORS:
                raise ValueError(f"Unknown aggregator {self.aggregator!r}; choose one of {sorted(AGGREGATORS)}.")
            cls = AGGREGATORS[self.aggregator]
            return cls(seed=self.seed, threshold=self.threshold) if cls is LabelModel else cls(threshold=self.threshold)
        return self.aggregator

    def votes(self, ds) -> np.ndarray:
        return compute_votes(ds, self.lfs, self.num_proc)

    def fit(self, ds, votes: np.ndarray | None = None):
        L = self.votes(ds) if votes is None else votes
        self.aggregator_ = self._make().fit(L)
        return self

    def predict(self, ds, votes: np.ndarray | None = None) -> tuple[np.ndarray, np.ndarray]:
        """(levels with -1 for abstained, confidences)."""
        if not hasattr(self, "aggregator_"):
            raise RuntimeError("WeakLabeler is not fitted; call fit() first.")
        L = self.votes(ds) if votes is None else votes
        return self.aggregator_.predict_with_confidence(L)

    def transform(self, ds, votes: np.ndarray | None = None, keep_abstained: bool = True, add_votes: bool = False):
        """Add ``level`` (int, -1 = abstained), ``label`` and ``confidence`` columns to ``ds``."""
        L = self.votes(ds) if votes is None else votes
        level, conf = self.predict(ds, L)
        ds = ds.add_column("level", level.astype(np.int64).tolist())
        ds = ds.add_column("label", [LEVELS[k] if k >= 0 else "abstain" for k in level])
        ds = ds.add_column("confidence", np.round(conf, 4).astype(np.float32).tolist())
        if add_votes:
            ds = ds.add_column("votes", L.tolist())
        if not keep_abstained:
            ds = ds.select(np.flatnonzero(level >= 0))
        return ds

    def fit_transform(self, ds, **kwargs):
        L = self.votes(ds)
        return self.fit(ds, L).transform(ds, L, **kwargs)

    def describe(self) -> dict:
        """Plain description for dataset cards."""
        agg = self.aggregator_
        d = {"aggregator": type(agg).__name__, "params": agg.get_params(), "functions": self.names}
        if isinstance(agg, LabelModel):
            d["label_model"] = agg.to_dict(self.names)
        return d


def balance(ds, cap_per_level: int | None, seed: int = 0):
    """Subsample every level to at most ``cap_per_level`` rows (seeded); keeps the row order."""
    if not cap_per_level:
        return ds
    rng = np.random.default_rng(seed)
    level = np.asarray(ds["level"])
    keep = []
    for k in range(NUM_LEVELS):
        idx = np.flatnonzero(level == k)
        if len(idx) > cap_per_level:
            idx = rng.choice(idx, cap_per_level, replace=False)
        keep.append(idx)
    return ds.select(np.sort(np.concatenate(keep)))


def label_file(inputs, out_dir, *, columns: dict[str, str] | None = None, aggregator: str = "label_model",
               threshold: float = 0.0, exclude_docs: set[str] | None = None, validation_size: float = 0.1,
               test_size: float = 0.1, cap_per_level: int | None = None, max_eval_rows: int | None = None,
               seed: int = 0, num_proc: int | None = None, progress: bool = True, sources: list[dict] | None = None,
               log=print):
    """Read ``inputs`` (one path or several), segment, label, split by time, write a ``DatasetDict``.

    Documents whose id is in ``exclude_docs`` are dropped before anything else (e.g. the gold
    set). Returns the saved ``DatasetDict``; ``out_dir/README.md`` is its dataset card and
    ``out_dir/labeling.json`` the label-model weights and counts.
    """
    import datasets

    from .card import write_card
    from .read import read_table
    from .segment import segment
    from .splits import check_no_overlap, split_by_time

    if progress:
        datasets.enable_progress_bars()
    else:
        datasets.disable_progress_bars()
    t0 = time.time()
    paths = [inputs] if isinstance(inputs, (str, Path)) else list(inputs)
    docs = []
    for p in paths:
        d = read_table(p, columns=columns)
        keep = [c for c in ("text", "id", "actor", "date", "source") if c in d.column_names]
        d = d.select_columns(keep)
        if "id" not in d.column_names:
            d = d.add_column("id", [f"{Path(p).name}:{i}" for i in range(len(d))])
        if "source" not in d.column_names:
            d = d.add_column("source", [Path(p).name] * len(d))
        for c in ("actor", "date"):
            if c not in d.column_names:
                d = d.add_column(c, [None] * len(d))
        d = d.cast_column("id", datasets.Value("string"))
        d = d.cast_column("date", datasets.Value("string"))
        d = d.cast_column("actor", datasets.Value("string"))
        docs.append(d)
    docs = datasets.concatenate_datasets(docs) if len(docs) > 1 else docs[0]
    n_docs = len(docs)
    if exclude_docs:
        ids = docs["id"]
        docs = docs.select([i for i, d in enumerate(ids) if d not in exclude_docs])
    log(f"read {n_docs} documents from {len(paths)} file(s); {n_docs - len(docs)} excluded")
    statements = segment(docs, num_proc=num_proc)
    log(f"segmented into {len(statements)} statements ({time.time() - t0:.0f}s)")
    labeler = WeakLabeler(aggregator=aggregator, threshold=threshold, seed=seed, num_proc=num_proc)
    L = labeler.votes(statements)
    log(f"labeling functions applied ({time.time() - t0:.0f}s)")
    labeler.fit(statements, L)
    labeled = labeler.transform(statements, L)
    level = np.asarray(labeled["level"])
    n_abstained = int((level < 0).sum())
    labeled = labeled.select(np.flatnonzero(level >= 0))
    log(f"labelled {len(labeled)} statements, abstained on {n_abstained} ({time.time() - t0:.0f}s)")
    dd = split_by_time(labeled, validation_size=validation_size, test_size=test_size, seed=seed)
    check_no_overlap(dd)
    natural = {k: np.bincount(np.asarray(v["level"], dtype=np.int64), minlength=NUM_LEVELS).tolist() for k, v in dd.items()}
    dd["train"] = balance(dd["train"], cap_per_level, seed)
    if max_eval_rows:
        rng = np.random.default_rng(seed)
        for k in ("validation", "test"):
            if len(dd[k]) > max_eval_rows:
                dd[k] = dd[k].select(np.sort(rng.choice(len(dd[k]), max_eval_rows, replace=False)))
    out_dir = Path(out_dir)
    dd.save_to_disk(str(out_dir))
    info = {
        "inputs": [str(p) for p in paths],
        "documents_read": n_docs, "documents_excluded": n_docs - len(docs) if exclude_docs else 0,
        "statements": len(statements), "abstained": n_abstained,
        "levels_before_balancing": natural,
        "levels": {k: np.bincount(np.asarray(v["level"], dtype=np.int64), minlength=NUM_LEVELS).tolist() for k, v in dd.items()},
        "rows": {k: len(v) for k, v in dd.items()},
        "settings": {"aggregator": aggregator, "threshold": threshold, "validation_size": validation_size,
                     "test_size": test_size, "cap_per_level": cap_per_level, "max_eval_rows": max_eval_rows,
                     "seed": seed, "split": "by time within each source, whole documents (latest → test)"},
        "weak_labeler": labeler.describe(),
        "seconds": round(time.time() - t0, 1),
    }
    (out_dir / "labeling.json").write_text(json.dumps(info, indent=2), encoding="utf-8")
    write_card(out_dir, dd, info, sources=sources)
    log(f"saved to {out_dir} in {info['seconds']}s: " + ", ".join(f"{k} {len(v)}" for k, v in dd.items()))
    return dd
