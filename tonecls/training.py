"""Fine-tune a tone model on levelled statements.

>>> import tonecls
>>> args = tonecls.TrainingArguments(epochs=1, max_train_samples=2000, seed=0)
>>> clf = tonecls.train("corpus/", args=args, out="my-model/")      # doctest: +SKIP

Data: a `DatasetDict` folder from ``tonecls label`` (splits ``train`` and ``validation``), or
a CSV / JSONL / Parquet file with a text column and a level column (names or 0-4); a file is
split 90/10 by row for early stopping unless ``eval_data`` is given. A row may instead give a
*range* of levels (columns ``level_low``/``level_high``): coarse labels such as "some kind of
verbal conflict" (levels 2-4) then train the model to put its mass inside the range.

Objective (``objective``):

* ``"ordinal"`` (default): cross-entropy plus the squared earth mover's distance between the
  predicted and the true cumulative distributions over levels (Hou et al., 2016). Predicting
  ``firm`` for a ``confrontational`` statement costs more than predicting ``assertive``.
* ``"cross_entropy"``: plain cross-entropy, blind to the order of the levels.

The model keeps the five logits of a softmax head either way, so calibration and all
probability outputs are identical in form.
"""

from __future__ import annotations

import json
import math
import random
import time
import warnings
from dataclasses import asdict, dataclass, field, fields
from pathlib import Path
from typing import Sequence

import numpy as np

from .bases import DEFAULT_BASE
from .exceptions import DataError
from .scale import NUM_LEVELS, level_from_label

OBJECTIVES = ("ordinal", "cross_entropy")
CLASS_WEIGHTINGS = ("balanced", "none")


@dataclass
class TrainingArguments:
    """Everything that decides a training run; saved as ``training_args.json`` beside the model.

    ``seed`` sets the data order and dropout; ``init_seed`` (default: ``seed``) the new head's initial
    weights, so runs of several seeds that share it can be averaged weight by weight. ``ema_decay`` (0:
    off) keeps an exponential moving average of the trained weights (decay ``min(ema_decay, (1 + t) /
    (10 + t))`` at step ``t``); evaluation, early stopping and the returned model then use the average,
    and the history records the raw weights' QWK beside it (``qwk_raw``). Early stopping ends a run after
    ``patience`` evaluations without a better validation QWK, but never before step ``min_steps``.
    ``base`` is the pretrained encoder a new model starts from (:data:`tonecls.bases.BASES`), when
    :func:`train` is given no model. ``pair_column`` names a column that gives a row another statement of
    the same tone (its translation or original; empty for none): a batch then reads those statements too,
    and ``consistency_weight`` times the symmetric KL divergence between the two predicted distributions
    joins the loss, so that a statement and its translation are read alike.
    """

    objective: str = "ordinal"
    emd_weight: float = 1.0
    epochs: float = 1.0
    max_steps: int | None = None
    max_train_samples: int | None = None
    batch_size: int = 16
    learning_rate: float = 5e-5
    head_learning_rate: float = 1e-3
    weight_decay: float = 0.01
    warmup_ratio: float = 0.06
    max_length: int = 128
    pooling: str = "mean"
    class_weighting: str = "balanced"
    weight_column: str | None = None
    freeze_word_embeddings: bool = True
    freeze_layers: int = 0
    eval_every: int = 250
    max_eval_samples: int = 2000
    patience: int = 4
    min_steps: int = 0
    ema_decay: float = 0.0
    seed: int = 42
    init_seed: int | None = None
    num_threads: int | None = None
    extra: dict = field(default_factory=dict)
    base: str = DEFAULT_BASE
    pair_column: str | None = None
    consistency_weight: float = 1.0

    def __post_init__(self):
        from .bases import BASES

        if self.base not in BASES:
            raise ValueError(f"Unknown base {self.base!r}; choose one of {sorted(BASES)}.")
        if self.objective not in OBJECTIVES:
            raise ValueError(f"Unknown objective {self.objective!r}; choose one of {list(OBJECTIVES)}.")
        if self.class_weighting not in CLASS_WEIGHTINGS:
            raise ValueError(f"Unknown class_weighting {self.class_weighting!r}; choose one of {list(CLASS_WEIGHTINGS)}.")
        if self.consistency_weight < 0:
            raise ValueError(f"consistency_weight must be >= 0, got {self.consistency_weight}.")
        if self.min_steps < 0:
            raise ValueError(f"min_steps must be >= 0 (0: early stopping may stop at any evaluation), got {self.min_steps}.")
        if not 0.0 <= self.ema_decay < 1.0:
            raise ValueError(f"ema_decay must be in [0, 1) (0 turns the average off), got {self.ema_decay}.")
        if self.epochs <= 0 and not self.max_steps:
            raise ValueError("epochs must be > 0 (or set max_steps).")

    def to_json(self) -> str:
        return json.dumps(asdict(self), indent=2)

    @classmethod
    def from_json(cls, text: str) -> "TrainingArguments":
        data = json.loads(text)
        known = {f.name for f in fields(cls)}
        unknown = sorted(set(data) - known)
        if unknown:
            raise ValueError(f"Unknown training arguments {unknown}; valid ones are {sorted(known)}.")
        return cls(**data)


# --------------------------------------------------------------------------- data
@dataclass
class LevelledData:
    texts: list[str]
    low: np.ndarray
    high: np.ndarray
    weight: np.ndarray
    pairs: list[str | None] | None = None  # another statement of the same tone per row (pair_column)

    def __len__(self) -> int:
        return len(self.texts)

    def subset(self, idx) -> "LevelledData":
        return LevelledData([self.texts[i] for i in idx], self.low[idx], self.high[idx], self.weight[idx],
                            None if self.pairs is None else [self.pairs[i] for i in idx])

    @property
    def exact(self) -> np.ndarray:
        return self.low == self.high


def _levels(values, rows, where: str) -> np.ndarray:
    out = np.empty(len(values), dtype=np.int64)
    for i, (v, row) in enumerate(zip(values, rows)):
        try:
            out[i] = level_from_label(v)
        except ValueError as err:
            raise ValueError(f"{where}, row {row + 1}: {err}") from None
    return out


def _unlabelled(v) -> bool:
    return v is None or v == -1 or v == "-1" or v == "" or (isinstance(v, float) and math.isnan(v))


def levelled_from_dataset(ds, where: str = "data", weight_column: str | None = None,
                          pair_column: str | None = None) -> LevelledData:
    """Rows with a ``text`` and a ``level`` (or ``level_low``/``level_high``); level -1 rows (abstained) are dropped.
    ``pair_column``: each row's paired statement (``TrainingArguments.pair_column``), None or empty for none."""
    cols = ds.column_names
    if "text" not in cols:
        raise ValueError(f"{where}: no 'text' column (columns: {cols}).")
    if "level_low" in cols and "level_high" in cols:
        raw_low, raw_high = list(ds["level_low"]), list(ds["level_high"])
    elif "level" in cols:
        raw_low = raw_high = list(ds["level"])
    else:
        raise ValueError(f"{where}: no 'level' column (columns: {cols}); name it with --level-column.")
    keep = [i for i, v in enumerate(raw_low) if not _unlabelled(v)]
    texts = ds["text"]
    texts = [texts[i] for i in keep]
    from .validation import text_problem

    for i, t in zip(keep, texts):
        problem = text_problem(t)
        if problem:
            raise DataError(f"{where}, row {i + 1}: the text {problem[1]}; fix or drop that row.")
    low = _levels([raw_low[i] for i in keep], keep, where)
    high = _levels([raw_high[i] for i in keep], keep, where)
    if np.any(low > high):
        raise ValueError(f"{where}, row {keep[int(np.argmax(low > high))] + 1}: level_low > level_high.")
    weight = np.ones(len(keep)) if weight_column is None else np.asarray(ds[weight_column], dtype=np.float64)[keep]
    pairs = None
    if pair_column is not None:
        if pair_column not in cols:
            raise ValueError(f"{where}: no pair column {pair_column!r} (columns: {cols}); set pair_column=None to "
                             "train without pairs.")
        column = ds[pair_column]
        pairs = [column[i] or None for i in keep]
        for i, t in zip(keep, pairs):
            problem = t is not None and text_problem(t)
            if problem:
                raise DataError(f"{where}, row {i + 1}: the paired text in {pair_column!r} {problem[1]}; fix it or "
                                "leave it empty.")
    return LevelledData(texts, low, high, weight, pairs)


def load_training_data(data, eval_data=None, *, text_column="text", level_column="level",
                       weight_column=None, pair_column=None, seed=42,
                       encoding: str = "utf-8") -> tuple[LevelledData, LevelledData]:
    """(train, eval) from a DatasetDict folder, a labelled file (read with ``encoding``), or
    in-memory datasets."""
    import datasets

    from .labeling.read import read_table

    def read(obj, split):
        if isinstance(obj, (datasets.Dataset, datasets.DatasetDict)):
            ds = obj[split] if isinstance(obj, datasets.DatasetDict) else obj
        else:
            path = Path(obj)
            if path.is_dir() and (path / "dataset_dict.json").exists():
                ds = datasets.load_from_disk(str(path))[split]
            else:
                ds = read_table(path, columns={"text": text_column, "level": level_column}, required=("text",),
                                encoding=encoding)
        return ds

    is_dict = isinstance(data, datasets.DatasetDict) or (
        not isinstance(data, datasets.Dataset) and Path(data).is_dir() and (Path(data) / "dataset_dict.json").exists())
    train_ds = read(data, "train")
    train = levelled_from_dataset(train_ds, f"{data if not hasattr(data, 'num_rows') else 'train data'}", weight_column,
                                  pair_column)
    if eval_data is not None:
        ev = levelled_from_dataset(read(eval_data, "validation"), "eval data")
    elif is_dict:
        ev = levelled_from_dataset(read(data, "validation"), "validation split")
    else:
        idx = np.random.default_rng(seed).permutation(len(train))
        cut = max(1, len(train) // 10)
        ev, train = train.subset(idx[:cut]), train.subset(idx[cut:])
    return train, ev


# --------------------------------------------------------------------------- loss
def ordinal_loss(logits, low, high, exact, weight, *, objective: str, emd_weight: float, class_weights=None):
    """Per-batch loss; see the module docstring. ``low``/``high`` give each row's level range."""
    import torch

    logp = torch.log_softmax(logits, dim=-1)
    k = torch.arange(logits.shape[1], device=logits.device)
    inside = (k >= low[:, None]) & (k <= high[:, None])
    nll = -torch.logsumexp(logp.masked_fill(~inside, float("-inf")), dim=1)
    if class_weights is not None:
        nll = nll * torch.where(exact, class_weights[low], torch.ones_like(weight))
    loss = nll
    if objective == "ordinal":
        cdf = torch.cumsum(logp.exp(), dim=1)
        target = (k[None, :] >= low[:, None]).to(cdf.dtype)
        emd = ((cdf - target) ** 2).sum(dim=1)
        loss = loss + emd_weight * torch.where(exact, emd, torch.zeros_like(emd))
    return (loss * weight).sum() / weight.sum()


def consistency_loss(logits_a, logits_b):
    """Mean symmetric KL divergence between the rows' predicted distributions (0 when they are equal).

    >>> import torch
    >>> a, b = torch.tensor([[2.0, 0.0, 0.0, 0.0, 0.0]]), torch.tensor([[0.0, 0.0, 2.0, 0.0, 0.0]])
    >>> float(consistency_loss(a, a)), round(float(consistency_loss(a, b)), 4) == round(float(consistency_loss(b, a)), 4)
    (0.0, True)
    """
    import torch

    la, lb = torch.log_softmax(logits_a, dim=-1), torch.log_softmax(logits_b, dim=-1)
    return 0.5 * ((la.exp() * (la - lb)).sum(1) + (lb.exp() * (lb - la)).sum(1)).mean()


# --------------------------------------------------------------------------- loop
def _batches(lengths: Sequence[int], batch_size: int, rng: random.Random):
    """Shuffled batches of similar length (sorted within mega-batches of 50 batches)."""
    idx = list(range(len(lengths)))
    rng.shuffle(idx)
    mega = batch_size * 50
    out = []
    for s in range(0, len(idx), mega):
        chunk = sorted(idx[s:s + mega], key=lambda i: lengths[i])
        out += [chunk[j:j + batch_size] for j in range(0, len(chunk), batch_size)]
    rng.shuffle(out)
    return out


def _pad(windows: list[list[int]], pad_id: int):
    import torch

    width = max(map(len, windows))
    ids = torch.full((len(windows), width), pad_id, dtype=torch.long)
    mask = torch.zeros((len(windows), width), dtype=torch.long)
    for r, w in enumerate(windows):
        ids[r, :len(w)] = torch.tensor(w)
        mask[r, :len(w)] = 1
    return ids, mask


def _truncated_ids(clf, texts: list[str]) -> tuple[list[list[int]], int]:
    """Token ids cut to one window, and how many statements were cut."""
    cls_id, sep_id, unk_id = clf.special_ids.start, clf.special_ids.end, clf.special_ids.unknown
    body = clf.max_length - 2
    encoded = clf.tokenizer.encode_batch(texts, add_special_tokens=False)
    ids = [[cls_id, *(e.ids[:body] or [unk_id]), sep_id] for e in encoded]
    return ids, sum(len(e.ids) > body for e in encoded)


def train(data, args: TrainingArguments | None = None, *, eval_data=None, out: str | Path | None = None,
          model=None, text_column: str = "text", level_column: str = "level", progress: bool = True,
          encoding: str = "utf-8"):
    """Fine-tune ``model`` (default: a fresh head on ``args.base``, all-MiniLM-L6-v2 unless set) and return the best
    :class:`~tonecls.classifier.ToneClassifier` by validation QWK (early stopping).

    If ``out`` is given, the model folder is written there with ``training_args.json`` and
    ``metrics.json`` (training history and the final validation metrics) and a model card.
    ``encoding``: of CSV/JSON data files (default UTF-8).
    """
    import torch
    from tqdm.auto import tqdm

    from .classifier import ToneClassifier, Encoded
    from .encoder import bert_settings
    from .metrics import quadratic_weighted_kappa

    args = args or TrainingArguments()
    rng = random.Random(args.seed)
    torch.manual_seed(args.seed)
    threads = torch.get_num_threads()
    if args.num_threads:
        torch.set_num_threads(args.num_threads)

    train_data, eval_set = load_training_data(data, eval_data, text_column=text_column, level_column=level_column,
                                              weight_column=args.weight_column, pair_column=args.pair_column,
                                              seed=args.seed, encoding=encoding)
    if args.max_train_samples and len(train_data) > args.max_train_samples:
        train_data = train_data.subset(sorted(rng.sample(range(len(train_data)), args.max_train_samples)))
    eval_set = eval_set.subset(np.flatnonzero(eval_set.exact))
    if len(eval_set) > args.max_eval_samples:
        eval_set = eval_set.subset(sorted(rng.sample(range(len(eval_set)), args.max_eval_samples)))
    if len(train_data) == 0 or len(eval_set) == 0:
        raise ValueError(f"Need labelled rows to train and evaluate on; got {len(train_data)} train, {len(eval_set)} eval.")

    if model is None and args.init_seed is not None:
        torch.manual_seed(args.init_seed)
    if model is not None and model.base and model.base.get("name") != args.base:
        raise ValueError(f"The model is built on {model.base.get('name')!r}, but args.base is {args.base!r}: set "
                         f"TrainingArguments(base={model.base.get('name')!r}) (training_args.json records it).")
    clf = model if model is not None else ToneClassifier.from_base(args.base, pooling=args.pooling,
                                                                   max_length=args.max_length)
    if model is None and args.init_seed is not None:
        torch.manual_seed(args.seed)
    positions = bert_settings(clf.network.encoder_config)["max_position_embeddings"]
    if not clf.stride < args.max_length - 2 or args.max_length > positions:
        raise ValueError(f"max_length {args.max_length} must exceed the model's stride + 2 ({clf.stride + 2}) and "
                         f"fit its {positions} positions.")
    if getattr(clf, "backend", "torch") != "torch":
        raise ValueError(f"Train a model loaded with backend='torch', not {clf.backend!r}.")
    if clf.calibrator is not None:
        warnings.warn("The model's calibrator no longer fits the retrained weights and was dropped; "
                      "calibrate again on held-out data (tonecls calibrate).", stacklevel=2)
        clf.calibrator = None
    clf.max_length = args.max_length
    clf.network = net = clf.network.with_implementation("transformers")
    if args.freeze_word_embeddings:
        net.encoder.embeddings.word_embeddings.weight.requires_grad_(False)
    layers = net.encoder.encoder.layer
    if not 0 <= args.freeze_layers <= len(layers):
        raise ValueError(f"freeze_layers must be in [0, {len(layers)}], got {args.freeze_layers}.")
    if args.freeze_layers:
        # Frozen bottom layers need no backward pass: about a third less compute per step for 3 of 6.
        for module in (net.encoder.embeddings, *layers[:args.freeze_layers]):
            module.requires_grad_(False)

    class_weights = None
    if args.class_weighting == "balanced":
        counts = np.bincount(train_data.low[train_data.exact], minlength=NUM_LEVELS).astype(np.float64)
        w = np.where(counts > 0, counts.sum() / (NUM_LEVELS * np.maximum(counts, 1)), 0.0)
        class_weights = torch.tensor(w / w[counts > 0].mean(), dtype=torch.float32)

    ids, truncated = _truncated_ids(clf, train_data.texts)
    pair_of = {}  # row -> token ids of its paired statement
    if train_data.pairs is not None:
        paired = [i for i, t in enumerate(train_data.pairs) if t is not None]
        pair_of = dict(zip(paired, _truncated_ids(clf, [train_data.pairs[i] for i in paired])[0]))
    if truncated:
        warnings.warn(f"{truncated} training statements are longer than max_length={args.max_length} tokens and were "
                      "cut to it for training (scoring never truncates: it reads windows).", stacklevel=2)
    steps_per_epoch = math.ceil(len(ids) / args.batch_size)
    total = args.max_steps or math.ceil(steps_per_epoch * args.epochs)
    head = [p for n, p in net.named_parameters() if n.startswith("head.") and p.requires_grad]
    body = [p for n, p in net.named_parameters() if not n.startswith("head.") and p.requires_grad]
    optimizer = torch.optim.AdamW([{"params": body, "lr": args.learning_rate},
                                   {"params": head, "lr": args.head_learning_rate}], weight_decay=args.weight_decay)
    warmup = max(1, int(args.warmup_ratio * total))
    scheduler = torch.optim.lr_scheduler.LambdaLR(
        optimizer, lambda s: min((s + 1) / warmup, max(0.0, (total - s) / max(1, total - warmup))))

    eval_ids, _ = _truncated_ids(clf, eval_set.texts)

    def evaluate() -> dict:
        net.eval()
        logits = clf.window_logits(Encoded(eval_ids, list(range(len(eval_ids)))), batch_size=64)
        net.train()
        pred = logits.argmax(1)
        return {"qwk": quadratic_weighted_kappa(eval_set.low, pred), "accuracy": float((pred == eval_set.low).mean())}

    # (average, parameter) pairs of the trained weights, when an exponential moving average is kept
    averaged = [(p.detach().clone(), p) for p in net.parameters() if p.requires_grad] if args.ema_decay else []

    def swap_average() -> None:
        """Exchange the network's trained weights with their moving average (call twice to undo)."""
        with torch.no_grad():
            for avg, p in averaged:
                held = p.detach().clone()
                p.copy_(avg)
                avg.copy_(held)

    history, best, best_state, bad = [], -np.inf, None, 0
    step, started = 0, time.time()
    bar = tqdm(total=total, desc="training", disable=not progress, unit="step")
    net.train()
    lengths = [len(w) for w in ids]
    stop = False
    while step < total and not stop:
        for batch in _batches(lengths, args.batch_size, rng):
            paired = [r for r, i in enumerate(batch) if i in pair_of]  # positions in the batch with a pair
            input_ids, mask = _pad([ids[i] for i in batch] + [pair_of[batch[r]] for r in paired], clf.special_ids.padding)
            every = net(input_ids, mask)
            logits = every[:len(batch)]
            loss = ordinal_loss(logits, torch.from_numpy(train_data.low[batch]), torch.from_numpy(train_data.high[batch]),
                                torch.from_numpy(train_data.exact[batch]),
                                torch.tensor(train_data.weight[batch], dtype=torch.float32),
                                objective=args.objective, emd_weight=args.emd_weight, class_weights=class_weights)
            if paired and args.consistency_weight:
                loss = loss + args.consistency_weight * consistency_loss(logits[paired], every[len(batch):])
            loss.backward()
            torch.nn.utils.clip_grad_norm_(net.parameters(), 1.0)
            optimizer.step()
            if averaged:
                decay = min(args.ema_decay, (1 + step) / (10 + step))
                with torch.no_grad():
                    for avg, p in averaged:
                        avg.lerp_(p.detach(), 1.0 - decay)
            scheduler.step()
            optimizer.zero_grad(set_to_none=True)
            step += 1
            bar.update(1)
            bar.set_postfix(loss=f"{loss.item():.3f}")
            if step % args.eval_every == 0 or step == total:
                metrics = {"step": step, "loss": float(loss.item()), "seconds": round(time.time() - started, 1), **evaluate()}
                if averaged:
                    raw = metrics["qwk"]
                    swap_average()  # the network holds the average until the next swap
                    metrics = {**metrics, **evaluate(), "qwk_raw": raw}
                history.append(metrics)
                if progress:
                    bar.write(json.dumps(metrics))
                if metrics["qwk"] > best:
                    best, bad = metrics["qwk"], 0
                    best_state = {k: v.detach().clone() for k, v in net.state_dict().items()}
                else:
                    bad += 1
                    if bad >= args.patience and step >= args.min_steps:
                        stop = True
                if averaged:
                    swap_average()
            if step >= total or stop:
                break
    bar.close()
    if best_state is not None:
        net.load_state_dict(best_state)
    clf.network = net.with_implementation("compact").eval()
    torch.set_num_threads(threads)
    clf.training_summary_ = {
        "train_examples": len(train_data), "truncated_examples": truncated, "eval_examples": len(eval_set), "steps": step,
        "best_eval_qwk": float(best), "seconds": round(time.time() - started, 1), "history": history,
    }
    if out is not None:
        save_trained(clf, out, args)
    return clf


def save_trained(clf, out, args: TrainingArguments, *, delta_from_base: bool = False, dtype: str = "float32") -> Path:
    """Write the model folder plus ``training_args.json`` and ``metrics.json``."""
    out = Path(out)
    clf.save_pretrained(out, delta_from_base=delta_from_base, dtype=dtype)
    (out / "training_args.json").write_text(args.to_json() + "\n")
    metrics_file = out / "metrics.json"
    metrics = json.loads(metrics_file.read_text()) if metrics_file.exists() else {}
    metrics["training"] = getattr(clf, "training_summary_", {})
    metrics_file.write_text(json.dumps(metrics, indent=2) + "\n")
    from .modelcard import write_model_card

    write_model_card(out)
    return out
