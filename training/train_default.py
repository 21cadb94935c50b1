"""The recipe that builds ``models/tonecls-base``: human-quality labels in, a model that transfers out.

    python training/train_default.py --run "+ counterfactual edits" --seed 42 --threads 1   # one training run
    python training/train_default.py                                                     # every run, then the model

Runs go to ``--runs/<slug>-seed<S>[-ema<D>]-min<N>`` (no ``-min`` part for ``--min-steps 0``, the recipe
before ``MIN_STEPS``) and are reused when their training arguments (data sha256
included) match, so the runs can be trained in parallel first (one process per run, ``--threads 1``)
and the plain command then only assembles, calibrates, measures and writes the card.

Data roles (no statement has two):

* **training**, human-quality labels only: the gold set's ``dev`` split and round 3 (two blind
  ratings + adjudication), silver round 1 and silver round 2 (one blind rating each, every batch
  measured on hidden gold statements: natural draw, shortcut words, active learning, structure
  forms, recent years (five draws), active rounds 3 to 5), the
  counterfactual edits (rated blind), the anchor set (written from the scale), and half of
  keep-it-local as level ranges (verbal conflict = 2-4, cooperation = 0-1);
* **choosing**: ``future-dev`` (early stopping, the data configuration, soup or single run, the
  calibrator);
* **reporting only**: ``future-test`` (the headline), the gold ``test`` split, the behavioural
  suite (``benchmarks/behaviour``) and the other half of keep-it-local.

Nothing from the future period (White House from July 2024, UN debate 2021-2022) is trained on, and
a training statement whose text equals a future, gold test or suite statement is dropped
(``training_rows``; ``tests/test_datasets.py`` checks both). No rule here looks at the motivating
"card" remark: it is reported per run.

The data ablation (``ABLATION``) adds one source at a time; ``FINAL`` is the data configuration with the
highest future-dev QWK averaged over the seeds among runs of one ``comparison`` (the same future-dev and the
same early-stopping floor; a row after it is an experiment that has not beaten it yet), trained
with three seeds that share the head's initial weights, and the shipped model is their uniform weight
average (a "model soup") when its future-dev QWK is at least the seeds' mean, else the seed with the
best future-dev QWK; it replaces the model already in ``--out`` only when it is better on future-dev
beyond chance (``replaces``: a paired bootstrap of documents; every decision is kept in
``training/replacements.jsonl``), and a data configuration becomes ``FINAL`` only with a model that does
so. The shipped model can therefore come from an earlier recipe that the churn rule kept (``--min-steps 0``
rebuilds one of the recipe before ``MIN_STEPS`` from its runs), or from this recipe with another encoder:
since the night of 2026-12-07 it is the soup of three runs on multilingual-e5-small
(``training/e5/train_e5.py --data FINAL --ship``, which calls :func:`ship`); the plain command builds the
all-MiniLM-L6-v2 model of ``FINAL``, which replaces it only under the same churn rule. Every finished run
adds its future-dev row to ``training/ablation.jsonl``; the plain command trains only the final seeds it
lacks and reports the ablation from that record
(``--ablation`` trains the ablation rows it lacks too, about an hour each on two CPU cores).
"""

from __future__ import annotations

import argparse
import csv
import hashlib
import json
import re
import shutil
import sys
import time
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "training"))
sys.path.insert(0, str(ROOT / "benchmarks"))

from tonecls._files import sha256_file  # noqa: E402
from tonecls.bases import DEFAULT_BASE  # noqa: E402
from tonecls.bundle import AUTO_METHODS, fit_calibration, save_calibration  # noqa: E402
from tonecls.classifier import ToneClassifier  # noqa: E402
from tonecls.evaluation import evaluate_predictions, write_report  # noqa: E402
from tonecls.metrics import bootstrap_qwk, ordinal_metrics, quadratic_weighted_kappa  # noqa: E402
from tonecls.scale import score_from_probabilities  # noqa: E402
from tonecls.training import TrainingArguments, save_trained, train  # noqa: E402

TRAINING = ROOT / "training"
GOLD = TRAINING / "gold" / "gold.jsonl"
GOLD_ROUND3 = TRAINING / "gold" / "gold_round3.jsonl"
ANCHORS = TRAINING / "anchors" / "anchors.jsonl"
SILVER = TRAINING / "silver" / "silver.jsonl"
SILVER2 = TRAINING / "silver2" / "silver2.jsonl"
EDITS = TRAINING / "counterfactual" / "edits.jsonl"
FUTURE = TRAINING / "future" / "future.jsonl"
ABLATION_RECORD = TRAINING / "ablation.jsonl"
# Runs of the same data with another training recipe (``--ema``, ``--min-steps`` other than MIN_STEPS and 0):
# kept apart from the ablation (which holds both stopping rules, MIN_STEPS and 0, apart by ``comparison``).
RECIPE_RECORD = TRAINING / "recipe_experiments.jsonl"
SUITE = ROOT / "benchmarks" / "behaviour" / "suite.jsonl"
KIL = ROOT.parent / "shared" / "data" / "keep-it-local" / "en_annotations_quad_multiclass.tsv"
MOTIVATING = {
    "card": "Japan's $1.13 trillion of U.S. Treasury holdings exists as a card in our negotiations.",
    "monitor": "We will continue to monitor the situation closely and remain in close communication with our partners.",
    "reserves": "We will keep managing our reserves prudently.",
}
# Human-quality sources of each data configuration, in the order the ablation adds them: after
# "previous data" (half the gold dev split), each row is the one before it plus one source.
ABLATION = {"previous data": ("gold dev-fit", "silver 1", "anchors", "keep-it-local"),
            "+ all gold dev": ("gold dev", "gold round 3", "silver 1", "anchors", "keep-it-local")}
for _name, _source in (
    ("+ silver 2 natural", "silver 2 natural"),
    ("+ shortcut words", "silver 2 shortcut"),
    ("+ active learning", "silver 2 active"),
    ("+ counterfactual edits", "counterfactual edits"),
    ("+ structure forms", "silver 2 structure"),
    ("+ recent years", "silver 2 recent"),
    ("+ active round 3", "silver 2 active 3"),
    ("+ active round 4 (recent)", "silver 2 active 4"),
    ("+ structure forms 2", "silver 2 structure 2"),
    ("+ recent years 2", "silver 2 recent 2"),
    ("+ recent years 3", "silver 2 recent 3"),
    ("+ counterfactual edits 3", "counterfactual edits 3"),
    ("+ recent years 4", "silver 2 recent 4"),
    ("+ structure forms 3", "silver 2 structure 3"),
    ("+ counterfactual edits 4", "counterfactual edits 4"),
    ("+ active round 5 (recent)", "silver 2 active 5"),
    ("+ recent years 5", "silver 2 recent 5"),
    ("+ recent years 6", "silver 2 recent 6"),
    ("+ spoken register", "silver 2 spoken"),
    ("+ written register", "silver 2 written"),
    ("+ recent years 7", "silver 2 recent 7"),
    ("+ spoken register 2", "silver 2 spoken 2"),
    ("+ written register 2", "silver 2 written 2"),
    ("+ spoken register 3", "silver 2 spoken 3"),
    ("+ written register 3", "silver 2 written 3"),
    ("+ counterfactual edits 5", "counterfactual edits 5"),
    ("+ trade register", "silver 2 trade"),
    ("+ trade register 2", "silver 2 trade 2"),
    ("+ counterfactual edits 6", "counterfactual edits 6"),
    ("+ active round 6 (recent)", "silver 2 active 6"),
    ("+ counterfactual edits 7", "counterfactual edits 7"),
):
    ABLATION[_name] = (*list(ABLATION.values())[-1], _source)
# The recipe that ships. A row after it is an experiment, measured on seed 42 first; it is a candidate when
# its future-dev QWK averaged over SEEDS is higher than FINAL's in the same comparison (``seeds_mean``: one
# seed's future-dev QWK moves by 0.004-0.03 between seeds, as much as most data additions change it), and
# becomes FINAL when the model built from it passes the churn rule (``replaces``) against the shipped one.
FINAL = "+ written register 2"
SEEDS = (42, 1, 7)
INIT_SEED = 42          # the head's initial weights, shared by the seeds so their weights can be averaged
# The ablation table's columns: the choosing split's numbers and what the run cost (a final-recipe row also
# holds its reporting numbers, which go in the seed table instead).
EXPERIMENT_COLUMNS = ("data", "seed", "min_steps", "future-dev statements", "future-dev QWK", "future-dev QWK, mean of seeds", "training rows", "steps",
                      "minutes", "future-dev Spearman", "future-dev macro-F1", "data_sha256")
# A new model replaces the shipped one only when it is better on future-dev beyond chance: in at least
# CHURN_P of CHURN_DRAWS paired resamples of future-dev's documents its QWK (most probable level,
# uncalibrated) is higher than the shipped model's (``replaces``). Fixed on 2026-12-07, before the next
# comparison, because the rule before it ("higher future-dev QWK") shipped a model on a 0.004 difference
# that the test splits then reversed. Every decision goes to REPLACEMENTS. (The candidate's checkpoint and
# soup were chosen on the same future-dev, so P leans its way; the rule is a floor, not a test.)
CHURN_P = 0.95
CHURN_DRAWS = 2000
REPLACEMENTS = TRAINING / "replacements.jsonl"
PATIENCE = 3            # evaluations without a better future-dev QWK before a run stops
# ... but never before this step (two of the three epochs). Adopted on 2026-12-07 after a recipe experiment
# with the three seeds of "+ recent years 2", then FINAL (future-dev 0.658 / 0.662 / 0.643, mean 0.654, against 0.619 / 0.626 / 0.618 without it:
# early stopping had ended runs on evaluations that move 0.02-0.04 apart). Rows compare only with rows of
# the same floor (``comparison``).
MIN_STEPS = 3000
RUN_DEFAULTS = {"epochs": 3.0, "eval_every": 200, "ema": 0.0, "min_steps": MIN_STEPS}  # a recipe run's settings
GOLD_REPEAT = 2         # adjudicated double ratings weigh twice a single rating


def _half(key: str) -> int:
    return int(hashlib.sha256(key.encode()).hexdigest(), 16) % 2


def read_jsonl(path) -> list[dict]:
    with open(path, encoding="utf-8") as f:
        return [json.loads(line) for line in f if line.strip()]


def normalized(text: str) -> str:
    return " ".join(text.lower().split())


def not_in(rows, others) -> list[dict]:
    """``rows`` less any statement whose text is also one of ``others``.

    The same sentence can sit in two documents (a White House release re-published under another
    id), so splitting by document alone lets a few test statements into dev and gold round 3.
    """
    texts = {normalized(r["text"]) for r in others}
    return [r for r in rows if normalized(r["text"]) not in texts]


def in_future(row: dict) -> bool:
    from annotation import in_future as future_period

    return bool(row.get("source")) and future_period(row["source"], str(row.get("date") or ""))


def load_gold():
    """(dev-fit, dev-hold, test) of ``gold.jsonl``: dev halved by document, dev statements that repeat a test one dropped."""
    rows = read_jsonl(GOLD)
    test = [r for r in rows if r["split"] == "test"]
    dev = not_in([r for r in rows if r["split"] == "dev"], test)
    return [r for r in dev if _half(r["doc_id"]) == 0], [r for r in dev if _half(r["doc_id"]) == 1], test


def load_kil():
    """keep-it-local's verbal conflict (1) / cooperation (0) sentences, halved by sentence: (aux, eval)."""
    with open(KIL, encoding="utf-8", newline="") as f:
        rows = [r for r in csv.DictReader(f, delimiter="\t", quoting=csv.QUOTE_NONE) if r["QuadClass"] in ("3", "4")]
    rows = [{"text": r["en"].strip(), "conflict": int(r["QuadClass"] == "3")} for r in rows if r["en"].strip()]
    return [r for r in rows if _half(r["text"]) == 0], [r for r in rows if _half(r["text"]) == 1]


def load_future():
    rows = read_jsonl(FUTURE)
    return [r for r in rows if r["split"] == "future-dev"], [r for r in rows if r["split"] == "future-test"]


def _silver2(strand: str):
    return lambda: [r for r in read_jsonl(SILVER2) if r["strand"] == strand]


def _exact(rows):
    return [{"text": r["text"], "level_low": r["level"], "level_high": r["level"]} for r in rows]


# Corpus statements (each with its source and date, so the future period can be dropped), by source name.
SOURCE_ROWS = {"gold dev-fit": lambda: load_gold()[0], "gold dev": lambda: load_gold()[0] + load_gold()[1],
               "gold round 3": lambda: read_jsonl(GOLD_ROUND3), "silver 1": lambda: read_jsonl(SILVER),
               "silver 2 natural": _silver2("natural"), "silver 2 shortcut": _silver2("shortcut"),
               "silver 2 active": lambda: _silver2("active1")() + _silver2("active2")(),
               "silver 2 structure": _silver2("structure"), "silver 2 recent": _silver2("recent"),
               "silver 2 active 3": _silver2("active3"), "silver 2 active 4": _silver2("active4"),
               "silver 2 structure 2": _silver2("structure2"), "silver 2 recent 2": _silver2("recent2"),
               "silver 2 recent 3": _silver2("recent3"), "silver 2 recent 4": _silver2("recent4"),
               "silver 2 structure 3": _silver2("structure3"), "silver 2 active 5": _silver2("active5"),
               "silver 2 recent 5": _silver2("recent5"), "silver 2 recent 6": _silver2("recent6"),
               "silver 2 spoken": _silver2("spoken"), "silver 2 written": _silver2("written"),
               "silver 2 recent 7": _silver2("recent7"), "silver 2 spoken 2": _silver2("spoken2"),
               "silver 2 written 2": _silver2("written2"), "silver 2 spoken 3": _silver2("spoken3"),
               "silver 2 written 3": _silver2("written3"), "silver 2 trade": _silver2("trade"),
               "silver 2 trade 2": _silver2("trade2"), "silver 2 active 6": _silver2("active6")}
# Sources written for the project (no corpus date), already as training rows.
WRITTEN_SOURCES = {
    "counterfactual edits": lambda: _exact([r for r in read_jsonl(EDITS) if r["round"] in (1, 2)]),
    "counterfactual edits 3": lambda: _exact([r for r in read_jsonl(EDITS) if r["round"] == 3]),
    "counterfactual edits 4": lambda: _exact([r for r in read_jsonl(EDITS) if r["round"] == 4]),
    "counterfactual edits 5": lambda: _exact([r for r in read_jsonl(EDITS) if r["round"] == 5]),
    "counterfactual edits 6": lambda: _exact([r for r in read_jsonl(EDITS) if r["round"] == 6]),
    "counterfactual edits 7": lambda: _exact([r for r in read_jsonl(EDITS) if r["round"] == 7]),
    "anchors": lambda: _exact(read_jsonl(ANCHORS)),
    "keep-it-local": lambda: [{"text": r["text"], "level_low": 2 if r["conflict"] else 0,
                               "level_high": 4 if r["conflict"] else 1} for r in load_kil()[0]],
}


def held_out_texts() -> set[str]:
    """Texts that must never be trained on: the future set (every statement drawn for it, its candidate
    files, rated yet or not), the gold test split, the behavioural suite."""
    rows = [r for path in sorted(FUTURE.parent.glob("candidates*.jsonl")) for r in read_jsonl(path)] + load_gold()[2]
    if SUITE.is_file():
        rows += [{"text": t} for case in read_jsonl(SUITE) for t in (case["a"], case["b"])]
    return {normalized(r["text"]) for r in rows}


def training_rows(sources) -> list[dict]:
    """Training rows (``text``, ``level_low``, ``level_high``, ``source``) of ``sources``: the future period and
    held-out texts left out, gold repeated ``GOLD_REPEAT`` times."""
    held = held_out_texts()
    out = []
    for name in sources:
        if name in SOURCE_ROWS:  # corpus statements carry a source and date: drop the future period
            rows = _exact([r for r in SOURCE_ROWS[name]() if not in_future(r)])
        else:
            rows = WRITTEN_SOURCES[name]()
        rows = [r for r in rows if normalized(r["text"]) not in held]
        repeat = GOLD_REPEAT if name.startswith("gold") else 1
        out += [{**r, "source": name} for _ in range(repeat) for r in rows]
    return out


def slug(name: str) -> str:
    return re.sub(r"[^a-z0-9]+", "-", name.lower()).strip("-")


def data_fingerprint(sources, rows=None) -> str:
    """sha256 of the training rows' content (of ``sources``, or ``rows`` already read), so a run is reused
    only on the same data."""
    rows = training_rows(sources) if rows is None else rows
    return hashlib.sha256(json.dumps(rows, sort_keys=True).encode()).hexdigest()[:16]


def dev_fingerprint(future_dev) -> str:
    """sha256 of the choosing split's statements and levels: early stopping reads it, so it is part of a run."""
    return hashlib.sha256(json.dumps([[r["text"], r["level"]] for r in future_dev]).encode()).hexdigest()[:16]


def training_arguments(name: str, seed: int, args, future_dev) -> TrainingArguments:
    return TrainingArguments(objective="ordinal", epochs=args.epochs, batch_size=16, class_weighting="none",
                             num_threads=args.threads, eval_every=args.eval_every, patience=PATIENCE, seed=seed,
                             ema_decay=args.ema, min_steps=args.min_steps,
                             init_seed=INIT_SEED, max_length=128,
                             extra={"data": name, "sources": list(ABLATION[name]), "gold_repeat": GOLD_REPEAT,
                                    "data_sha256": data_fingerprint(ABLATION[name]),
                                    "future_dev_sha256": dev_fingerprint(future_dev)})


def experiment(args) -> bool:
    """Whether the run departs from the recipe (``--ema``, ``--min-steps`` other than ``MIN_STEPS`` and 0, the
    rule before it, whose rows are in the ablation too): its row goes to ``RECIPE_RECORD``."""
    return bool(args.ema) or args.min_steps not in (0, MIN_STEPS)


def run_folder(name: str, seed: int, args) -> Path:
    return Path(args.runs) / (f"{slug(name)}-seed{seed}{f'-ema{args.ema:g}' if args.ema else ''}"
                              f"{f'-min{args.min_steps}' if args.min_steps else ''}")


# --------------------------------------------------------------------------- measuring
def probabilities(clf, rows, calibrator=None):
    logits = clf.predict_logits([r["text"] for r in rows])
    return calibrator.transform(logits) if calibrator is not None else clf.calibrated_probabilities(logits)


def measure(clf, rows, calibrator=None) -> dict:
    m = ordinal_metrics([r["level"] for r in rows], probabilities(clf, rows, calibrator))
    return {k: round(float(v), 4) for k, v in m.items()}


def cases(clf) -> dict:
    return {k: clf.score(text).label for k, text in MOTIVATING.items()}


def behaviour(clf) -> dict:
    from behaviour import run_suite

    return run_suite(clf)


def _comparable(training_args: dict) -> dict:
    """Training arguments (an argument added since a run was stored at its default) without the thread
    count, which changes speed, not what is learned."""
    defaults = json.loads(TrainingArguments().to_json())
    return {k: v for k, v in (defaults | training_args).items() if k != "num_threads"}


def report(clf, future_test, gold_test) -> dict:
    """A run's reporting numbers, never used to choose: future test, gold test, behavioural suite, motivating cases."""
    ft = measure(clf, future_test)
    return {"future-test statements": len(future_test), "future-test QWK": ft["qwk"], "future-test Spearman": ft["spearman"],
            "gold test QWK": measure(clf, gold_test)["qwk"], "behavioural pass rate": behaviour(clf)["pass_rate"],
            **{f"{k} case": v for k, v in cases(clf).items()}}


def reported(row: dict, future_test) -> bool:
    """Whether ``row`` holds :func:`report`'s numbers on this ``future_test`` (round 3 enlarged it on 2026-12-08;
    rows reported before then carry no count and are reported again)."""
    return "future-test QWK" in row and row.get("future-test statements") == len(future_test)


def _add_report(folder: Path, row: dict, future_test) -> dict:
    """``row`` with the run's reporting numbers (measured on the stored run), kept in its metrics.json."""
    row = row | report(ToneClassifier.from_pretrained(folder), future_test, load_gold()[2])
    metrics = json.loads((folder / "metrics.json").read_text())
    (folder / "metrics.json").write_text(json.dumps(metrics | {"run": row}, indent=2) + "\n")
    return row


def run(name: str, seed: int, future_dev, args, future_test=None) -> dict:
    """Train one run (or reuse it) and return its row: future-dev numbers (the choosing split), and
    for the final recipe (``future_test`` given) the reporting numbers of :func:`report` too."""
    folder = run_folder(name, seed, args)
    targs = training_arguments(name, seed, args, future_dev)
    path = RECIPE_RECORD if experiment(args) else ABLATION_RECORD
    try:
        same = _comparable(json.loads((folder / "training_args.json").read_text())) == _comparable(json.loads(targs.to_json()))
        row = json.loads((folder / "metrics.json").read_text()).get("run") if same else None
    except FileNotFoundError:
        row = None
    if row:
        if args.ema:
            row |= average_vs_raw(json.loads((folder / "metrics.json").read_text())["training"]["history"])
        if future_test is not None and not reported(row, future_test):
            row = _add_report(folder, row, future_test)
        recorded = read_jsonl(path) if path.is_file() else []
        if not any(r.items() >= (row | {"data_sha256": targs.extra["data_sha256"]}).items() for r in recorded):
            record(row | {"data_sha256": targs.extra["data_sha256"]}, path)
        return row
    import datasets

    data = datasets.Dataset.from_list(training_rows(ABLATION[name]))
    eval_data = datasets.Dataset.from_list([{"text": r["text"], "level": r["level"]} for r in future_dev])
    started = time.time()
    clf = train(data, targs, eval_data=eval_data, progress=not args.quiet)
    clf.name, clf.calibrator = "tonecls-base", None
    save_trained(clf, folder, targs, delta_from_base=True, dtype="float16")
    stored = ToneClassifier.from_pretrained(folder)  # measured as stored (fp16 delta), uncalibrated
    dev = measure(stored, future_dev)
    row = {"data": name, "seed": seed, **({"ema_decay": args.ema} if args.ema else {}),
           "min_steps": args.min_steps,
           "training rows": len(data), "steps": clf.training_summary_["steps"],
           "minutes": round((time.time() - started) / 60, 1), "future-dev statements": len(future_dev),
           "future_dev_sha256": targs.extra["future_dev_sha256"], "future-dev QWK": dev["qwk"],
           "future-dev Spearman": dev["spearman"], "future-dev macro-F1": dev["macro_f1"],
           **(average_vs_raw(clf.training_summary_["history"]) if args.ema else {})}
    metrics = json.loads((folder / "metrics.json").read_text())
    (folder / "metrics.json").write_text(json.dumps(metrics | {"run": row}, indent=2) + "\n")
    if future_test is not None:
        row = _add_report(folder, row, future_test)
    record(row | {"data_sha256": targs.extra["data_sha256"], "finished_at": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime())},
           path)
    print(json.dumps(row), flush=True)
    return row


def average_vs_raw(history: list[dict]) -> dict:
    """What a weight-average run's evaluations say about the raw weights of the same run (their training is
    the same: the average only watches), within this run's evaluations: the best raw future-dev QWK up to
    where the raw weights' own early stopping (``PATIENCE``) would have stopped, that step (or the run's
    last), and the mean change from one evaluation to the next of either curve."""
    raw, avg = np.array([h["qwk_raw"] for h in history]), np.array([h["qwk"] for h in history])
    best, bad, stop = -np.inf, 0, len(raw)
    for i, q in enumerate(raw):
        best, bad = (q, 0) if q > best else (best, bad + 1)
        if bad >= PATIENCE:
            stop = i + 1
            break
    return {"raw weights: best future-dev QWK before their own stop": round(float(raw[:stop].max()), 4),
            "raw weights: their stop or the run's end (steps)": history[stop - 1]["step"],
            "mean eval-to-eval change, average": round(float(np.abs(np.diff(avg)).mean()), 4),
            "mean eval-to-eval change, raw": round(float(np.abs(np.diff(raw)).mean()), 4)}


def record(row: dict, path: Path = ABLATION_RECORD) -> None:
    """Add a finished run's row to ``path`` (replacing an earlier row of the same data, seed, recipe and future-dev)."""
    def key(r):
        return r["data"], r["seed"], r.get("ema_decay"), r.get("min_steps", 0), r["future_dev_sha256"]

    earlier = read_jsonl(path) if path.is_file() else []
    # a reused run's row, completed with its report, keeps the time its training finished
    row = {"finished_at": r["finished_at"] for r in earlier if key(r) == key(row) and "finished_at" in r} | row
    rows = [r for r in earlier if key(r) != key(row)] + [row]
    with open(path, "w", encoding="utf-8") as f:
        f.writelines(json.dumps(r) + "\n" for r in sorted(rows, key=lambda r: (list(ABLATION).index(r["data"]), r["seed"])))


def comparison(row: dict) -> tuple[str, int]:
    """What a row's future-dev QWK compares with: rows measured on the same future-dev (round 2 enlarged it)
    and trained with the same early-stopping floor (``min_steps``)."""
    return row["future_dev_sha256"], row.get("min_steps", 0)


def recorded_ablation() -> list[dict]:
    """The seed-42 rows of each data configuration in ``training/ablation.jsonl`` (in ``ABLATION`` order; one
    per :func:`comparison`), with the future-dev QWK averaged over ``SEEDS`` where every seed was trained in
    that comparison."""
    rows = read_jsonl(ABLATION_RECORD) if ABLATION_RECORD.is_file() else []
    out = []
    for group in dict.fromkeys(map(comparison, sorted(rows, key=lambda r: (r["future-dev statements"], r.get("min_steps", 0))))):
        means = seeds_mean(rows, group)
        out += [r | ({"future-dev QWK, mean of seeds": means[name]} if name in means else {})
                for name in ABLATION for r in rows
                if r["data"] == name and r["seed"] == SEEDS[0] and comparison(r) == group]
    return out


def seeds_mean(rows: list[dict], group: tuple[str, int]) -> dict[str, float]:
    """Mean future-dev QWK over ``SEEDS`` of each data configuration whose rows hold every seed in one
    :func:`comparison` ``group`` (QWKs on different future-dev sets, or of runs stopped by different rules,
    do not compare)."""
    by = {(r["data"], r["seed"]): r["future-dev QWK"] for r in rows if comparison(r) == group}
    return {name: round(float(np.mean([by[name, s] for s in SEEDS])), 4)
            for name in ABLATION if all((name, s) in by for s in SEEDS)}


def soup(folders, out: Path) -> Path:
    """The uniform average of the runs' weights (same architecture, same head initialisation)."""
    import torch

    models = [ToneClassifier.from_pretrained(f) for f in folders]
    states = [m.network.state_dict() for m in models]
    # A tensor no seed changed (frozen word embeddings, integer buffers) is kept as it is: a float mean of
    # equal tensors can differ from them by rounding, and the delta file would then store it.
    avg = {k: states[0][k] if all(torch.equal(states[0][k], s[k]) for s in states[1:])
           else torch.stack([s[k].float() for s in states]).mean(0) for k in states[0]}
    clf = models[0]
    clf.network.load_state_dict(avg)
    clf.name, clf.calibrator = "tonecls-base", None
    targs = TrainingArguments.from_json((Path(folders[0]) / "training_args.json").read_text())
    targs.base = clf.base["name"]
    targs.extra = {**targs.extra, "soup_of_seeds": [json.loads((Path(f) / "training_args.json").read_text())["seed"]
                                                    for f in folders]}
    return save_trained(clf, out, targs, delta_from_base=True, dtype="float16")


def same_tensors(a: Path, b: Path) -> bool:
    """Whether two safetensors files hold the same tensors (names, dtypes, values), whatever their metadata:
    files saved before ``save_pretrained`` wrote a single metadata key can differ in sha256 for the same tensors."""
    import torch
    from safetensors.torch import load_file

    x, y = load_file(str(a)), load_file(str(b))
    return x.keys() == y.keys() and all(x[k].dtype == y[k].dtype and torch.equal(x[k], y[k]) for k in x)


def stored_as(folder: Path, dtype: str) -> Path:
    """``folder``'s model saved again with ``ToneClassifier.save_pretrained``'s ``dtype``, beside it in
    ``<folder>-<dtype>``, with its training record (``training_args.json``, ``metrics.json``)."""
    folder = Path(folder)
    stage = folder.with_name(f"{folder.name}-{dtype}")
    save_trained(ToneClassifier.from_pretrained(folder), stage,
                 TrainingArguments.from_json((folder / "training_args.json").read_text()), dtype=dtype)
    shutil.copy2(folder / "metrics.json", stage / "metrics.json")
    return stage


def replaces(candidate: Path, shipped: Path, future_dev, draws: int = CHURN_DRAWS) -> dict:
    """The churn rule: does ``candidate`` replace ``shipped``? Both read future-dev uncalibrated (most
    probable level), and :func:`churn_decision` compares them."""
    texts = [r["text"] for r in future_dev]
    new, old = (ToneClassifier.from_pretrained(f).predict_logits(texts).argmax(1) for f in (candidate, shipped))
    new_args, shipped_args = (json.loads((Path(f) / "training_args.json").read_text()) for f in (candidate, shipped))
    return {"candidate": Path(candidate).name,
            "candidate weights": sha256_file(Path(candidate) / "model.safetensors")[:16],
            "candidate min_steps": new_args.get("min_steps", 0),
            "shipped data": shipped_args.get("extra", {}).get("data"),
            "shipped min_steps": shipped_args.get("min_steps", 0),
            "shipped weights": sha256_file(Path(shipped) / "model.safetensors")[:16],
            "future_dev_sha256": dev_fingerprint(future_dev), "future-dev statements": len(future_dev),
            **churn_decision([r["level"] for r in future_dev], new, old, [r["doc_id"] for r in future_dev], draws)}


def churn_decision(y, new, old, documents, draws: int = CHURN_DRAWS) -> dict:
    """QWK of the new and the old predictions, their difference resampled by document (paired), and
    whether the new one is higher in at least ``CHURN_P`` of the resamples."""
    diffs = bootstrap_qwk(y, new, old, groups=documents, draws=draws)
    p_better = float((diffs > 0).mean())
    return {"candidate QWK": round(quadratic_weighted_kappa(y, new), 4),
            "shipped QWK": round(quadratic_weighted_kappa(y, old), 4),
            "difference, 90% interval": [round(float(q), 4) for q in np.quantile(diffs, [0.05, 0.95])],
            "P(candidate better)": round(p_better, 4), "rule": f"P >= {CHURN_P} over {draws} document resamples",
            "replaces": p_better >= CHURN_P}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--out", default=str(ROOT / "models" / "tonecls-base"))
    parser.add_argument("--runs", default=str(ROOT / "artifacts" / "runs-transfer"))
    parser.add_argument("--run", choices=list(ABLATION), help="train only this data configuration (with --seed)")
    parser.add_argument("--seed", type=int, default=SEEDS[0])
    parser.add_argument("--epochs", type=float, default=RUN_DEFAULTS["epochs"])
    parser.add_argument("--eval-every", type=int, default=RUN_DEFAULTS["eval_every"])
    parser.add_argument("--threads", type=int, help="torch threads (default: torch's choice)")
    parser.add_argument("--ema", type=float, default=RUN_DEFAULTS["ema"],
                        help="with --run: train with this weight-average decay (TrainingArguments.ema_decay; the floor is "
                             "--min-steps, the recipe's unless given) and record the row in "
                             "training/recipe_experiments.jsonl, not the ablation")
    parser.add_argument("--min-steps", type=int, default=RUN_DEFAULTS["min_steps"],
                        help="early stopping may not stop before this step (TrainingArguments.min_steps; the recipe: "
                             "%(default)s; 0: the rule before it, which built the models until 2026-12-06); with --run, another value is an "
                             "experiment whose row goes to training/recipe_experiments.jsonl, not the ablation")
    parser.add_argument("--quiet", action="store_true")
    parser.add_argument("--ablation", action="store_true", help="also train the ablation rows the runs folder lacks")
    args = parser.parse_args()

    future_dev, future_test = load_future()
    if args.ema and not args.run:
        parser.error("--ema is an experiment: use it with --run")
    if args.run:
        run(args.run, args.seed, future_dev, args, future_test if args.run == FINAL else None)
        return
    if args.ablation:
        for name in ABLATION:
            run(name, SEEDS[0], future_dev, args)
    seeds = [run(FINAL, s, future_dev, args, future_test) for s in SEEDS]
    ship([run_folder(FINAL, s, args) for s in SEEDS], seeds, Path(args.out), Path(args.runs) / "soup", future_dev,
         future_test, data=FINAL, min_steps=args.min_steps)


def ship(folders, seeds: list[dict], out: Path, soup_dir: Path, future_dev, future_test, *, data: str, min_steps: int,
         reproduce: str | None = None, base: str = DEFAULT_BASE, data_note: str = "", dtype: str | None = None) -> None:
    """The seeds' soup or the best seed (the rule in the module's docstring), put in ``out`` if it replaces
    the shipped model there (:func:`replaces`; the decision goes to ``REPLACEMENTS``), then calibrated,
    measured and described. ``seeds`` are the runs' rows (future-dev and :func:`report`'s numbers).
    ``dtype``: store the chosen weights so (:func:`stored_as`) before they are compared and shipped; ``None``
    ships the run's own file. The choice between soup and seeds, and the card's rows per seed and for the soup,
    read the runs as trained; the churn rule and everything measured on the shipped model read the stored weights."""
    ablation = recorded_ablation()
    soup_dir = soup(folders, soup_dir)
    soup_dev = measure(ToneClassifier.from_pretrained(soup_dir), future_dev)["qwk"]
    mean_dev = float(np.mean([r["future-dev QWK"] for r in seeds]))
    chosen = soup_dir if soup_dev >= mean_dev else Path(folders[int(np.argmax([r["future-dev QWK"] for r in seeds]))])
    print(f"soup future-dev QWK {soup_dev:.4f} vs seeds' mean {mean_dev:.4f}: shipping {chosen.name}", flush=True)
    if dtype is not None:  # the churn rule and the card judge the weights as they would ship
        chosen = stored_as(chosen, dtype)

    same_weights = (out / "model.safetensors").is_file() and same_tensors(out / "model.safetensors", chosen / "model.safetensors")
    if (out / "model.safetensors").is_file() and not same_weights:
        decision = {"data": data, "soup future-dev QWK": soup_dev, "seeds' mean future-dev QWK": round(mean_dev, 4),
                    **replaces(chosen, out, future_dev)}
        print(json.dumps(decision), flush=True)
        recorded = read_jsonl(REPLACEMENTS) if REPLACEMENTS.is_file() else []
        if decision not in recorded:  # the same comparison, rerun, is one decision
            with open(REPLACEMENTS, "a", encoding="utf-8") as f:
                f.write(json.dumps(decision) + "\n")
        if not decision["replaces"]:
            sys.exit(f"Kept the shipped model in {out}: {data!r} with --min-steps {min_steps} is not better on "
                     f"future-dev beyond chance (P {decision['P(candidate better)']} < {CHURN_P}). The shipped model is "
                     f"{decision['shipped data']!r} with --min-steps {decision['shipped min_steps']}.")
    out.mkdir(parents=True, exist_ok=True)
    if not same_weights:  # the same tensors keep their file (one saved before a format change differs in bytes only)
        for f in ("config.json", "model.safetensors", "training_args.json"):
            shutil.copy2(chosen / f, out / f)
        (out / "fast.json").unlink(missing_ok=True)  # an agreement record belongs to the weights it was measured on
    soup_row = {"run": soup_dir.name, "future-dev QWK": soup_dev,
                **report(ToneClassifier.from_pretrained(soup_dir), future_test, load_gold()[2])}
    per_seed = [{"run": Path(folder).name, **{k: v for k, v in r.items() if k == "future-dev QWK" or k in soup_row}}
                for folder, r in zip(folders, seeds)] + [soup_row]
    describe(out, chosen, ablation, per_seed, soup_dev, future_dev, future_test, min_steps, reproduce=reproduce, base=base,
             data_note=data_note)


def describe(out: Path, chosen: Path, ablation, per_seed, soup_dev, future_dev, future_test, min_steps: int, *,
             reproduce: str | None = None, base: str = DEFAULT_BASE, data_note: str = "") -> None:
    """Calibrate the shipped weights on future-dev, measure everything, write metrics.json and the card."""
    from sklearn.metrics import roc_auc_score

    clf = ToneClassifier.from_pretrained(out)
    clf.calibrator = None
    dev_logits = clf.predict_logits([r["text"] for r in future_dev])
    calibrator = fit_calibration(dev_logits, [r["level"] for r in future_dev], method="auto",
                                 groups=[r["doc_id"] for r in future_dev], conformal_alpha=0.1, seed=0)
    calibrator.info_["data"] = "training/future/future.jsonl split future-dev"
    clf.calibrator = calibrator
    save_calibration(calibrator, out)
    _, _, gold_test = load_gold()
    _, kil_eval = load_kil()

    reports = {}
    for key, rows, title in (("future-test", future_test, "future test"), ("gold test", gold_test, "gold test")):
        report = evaluate_predictions([r["level"] for r in rows], clf.predict_logits([r["text"] for r in rows]), calibrator)
        write_report(report, out / "evaluation" / slug(key), title=f"tonecls-base on the {title} split")
        reports[key] = report
    kil_auc = round(float(roc_auc_score([r["conflict"] for r in kil_eval],
                                        score_from_probabilities(clf.predict_proba([r["text"] for r in kil_eval])))), 4)
    suite = behaviour(clf)

    seeds_only = per_seed[:-1]
    spread = {k: {"mean": round(float(np.mean([r[k] for r in seeds_only])), 4),
                  "sd": round(float(np.std([r[k] for r in seeds_only], ddof=1)), 4)}
              for k in ("future-dev QWK", "future-test QWK", "future-test Spearman", "gold test QWK", "behavioural pass rate")}

    def rows_of(report):
        u, c = report["uncalibrated"], report["calibrated"]
        return [{"probabilities": name, "QWK": m["qwk"], "Spearman": m["spearman"], "macro-F1": m["macro_f1"],
                 "accuracy": m["accuracy"], "MAE": m["mae"], "ECE": m["ece"], "adaptive ECE": m["ece_equal_mass"],
                 "Brier": m["brier"], "NLL": m["nll"], "RPS": m["rps"]}
                for name, m in (("uncalibrated", u), (f"calibrated ({calibrator.method})", c))]

    metrics = {"training": json.loads((chosen / "metrics.json").read_text()).get("training", {})}
    trained_extra = json.loads((chosen / "training_args.json").read_text())["extra"]
    ft, gt = reports["future-test"], reports["gold test"]
    metrics.update({
        "evaluation": {
            "future test": {
                "description": f"The headline: {ft['n']} statements from the latest period of the corpora (White House "
                               "July 2024 - January 2025, UN General Debate 2021-2022), drawn naturally across document "
                               "types, two blind ratings + adjudication (training/future/README.md); no document of that "
                               "period is trained on. Never used to choose anything. Sampling noise alone gives perfectly "
                               f"calibrated probabilities an ECE of {ft['ece_if_calibrated']['mean']:.3f} on average here "
                               f"(95 %: {ft['ece_if_calibrated']['q95']:.3f}).",
                "rows": rows_of(ft), "figure": "evaluation/future-test/reliability.png"},
            "gold test": {
                "description": f"The gold test split ({gt['n']} statements, enriched for hostile wording, by document; "
                               "training/gold/README.md).", "rows": rows_of(gt),
                "figure": "evaluation/gold-test/reliability.png"},
            "behavioural suite": {
                "description": suite["description"], "rows": suite["rows"]},
            "keep-it-local": {"description": "Held-out half of keep-it-local, verbal conflict (1) vs verbal "
                                             "cooperation (0); ROC AUC of the score.", "ROC AUC": kil_auc,
                              "n": len(kil_eval)},
            "conformal": ft["conformal"] or {},
            "motivating cases": {
                "description": "Reported, never used to choose: the seed remark (should be at least assertive), the "
                               "monitoring sentence (at most measured) and a calm counterpart about reserves.",
                "rows": [{"case": k, "text": t, **{f: v for f, v in clf.score(t).to_dict().items()
                                                   if f in ("label", "score")}} for k, t in MOTIVATING.items()]},
        },
        "experiments": [{k: r[k] for k in EXPERIMENT_COLUMNS if k in r} for r in ablation],
        "experiments_description": "What each data addition changed on future-dev (seed 42, same training settings within a group; the "
                                   "choosing split, so these numbers are slightly optimistic). Rows add one source each; "
                                   "from training/ablation.jsonl (the recipe on all-MiniLM-L6-v2; its runs on "
                                   "multilingual-e5-small are in training/e5/runs.jsonl), grouped by the future-dev a row was measured on "
                                   "(389 statements before round 2 enlarged it to 1,189; QWKs on different sets do not "
                                   "compare) and by the step before which early stopping may not stop (min_steps; "
                                   f"the recipe's is {MIN_STEPS} since 2026-12-07, none before). "
                                   + " ".join(sorted({f"Rows without a data_sha256: {r['note']}." for r in ablation
                                                      if r.get("note")}))
                                   + f" The shipped recipe is {FINAL!r}, the configuration with the highest future-dev QWK "
                                   f"averaged over seeds {list(SEEDS)} among those trained with every seed in the same comparison."
                                   + " Data configurations not yet measured: "
                                   + (", ".join(n for n in ABLATION if n not in {r["data"] for r in ablation}) or "none")
                                   + ".",
        "seeds": per_seed, "seed_spread": spread,
        "seeds_description": f"The full recipe with seeds {list(SEEDS)} (same initial head) and their weight average "
                             f"(soup); shipped: `{chosen.name}` (rule: the soup if its future-dev QWK "
                             f"({soup_dev:.4f}) is at least the seeds' mean, else the best seed on future-dev).",
        "final": {"run": chosen.name, "future_test": {k: ft["calibrated"][k] for k in ("qwk", "spearman", "ece")},
                  "gold_test": {k: gt["calibrated"][k] for k in ("qwk", "spearman", "ece")},
                  "behavioural_pass_rate": suite["pass_rate"], "kil_auc": kil_auc},
        "card": {
            "intro": f"The default model of tonecls: {base} fine-tuned on human-quality labels to rate the "
                     "tone of official and diplomatic statements, with probabilities calibrated on future-dev "
                     f"({calibrator.method}, chosen by out-of-fold NLL among {', '.join(AUTO_METHODS)}) and 90 % "
                     "conformal level intervals.",
            "data": " ".join(filter(None, (describe_training_data(trained_extra["data"], trained_extra.get("data_sha256")), data_note))),
            "limitations": f"The fine-tuned model ({base}) reads English; Japanese, Chinese and Russian go to the multilingual "
                           "scorer (section above: measured on translations of gold statements, not on original-language "
                           "text), any other detected language too, with the pooled calibrator and unknown quality; "
                           "explanations and bulk runs read English only. The English model was trained and tested on "
                           "two registers (UN General Debate speeches, White House "
                           "releases, remarks and briefings), so other registers (another ministry's press agency, "
                           "social media, a new administration's style) may score differently. The labels are by "
                           "AI-agent annotators of the team, measured against an adjudicated gold set. The future test "
                           "is natural: few assertive and confrontational statements, so its QWK rests mostly on the "
                           "lower three levels; the gold test covers the upper ones. Statements over 128 tokens are "
                           "scored by windows and take the strongest window.",
            "reproduce": reproduce or ("python training/train_default.py"
                                       + (f" --min-steps {min_steps}" if min_steps != MIN_STEPS else "")
                                       + "   # trains every run it lacks (see --run to parallelise)"),
        },
    })
    (out / "metrics.json").write_text(json.dumps(metrics, indent=2) + "\n")
    from tonecls.modelcard import write_model_card

    write_model_card(out)
    print(json.dumps(metrics["final"], indent=2))


def describe_training_data(data: str, trained_sha256: str | None = None) -> str:
    """The card's account of the training rows of the data configuration ``data``, counted on today's files;
    where they differ from the rows the weights were trained on (``trained_sha256``), the card says so."""
    counts = {}
    rows = training_rows(ABLATION[data])
    for r in rows:
        counts[r["source"]] = counts.get(r["source"], 0) + 1
    today = data_fingerprint(None, rows)
    changed = (f" These counts are of today's files (rows sha256 {today}); the weights were trained on rows with sha256 "
               f"{trained_sha256}: statements drawn into the future set or the test splits since then have left "
               "training.") if trained_sha256 and trained_sha256 != today else ""
    parts = [f"{name} {n:,}" + (f" ({n // GOLD_REPEAT:,} statements, {GOLD_REPEAT}x)" if name.startswith("gold") else "")
             for name, n in counts.items()]
    return ("Training rows per source: " + ", ".join(parts) + ". Gold: two blind ratings + adjudication "
            "(training/gold); silver 1 and 2: one blind rating, every batch measured against hidden gold statements "
            "(training/silver, training/silver2); counterfactual edits: minimal edits of real statements rated blind "
            "(training/counterfactual); anchors: written from the scale, without the 'card' leverage statements "
            "(training/anchors); keep-it-local: level ranges. Nothing from the future period; no text of the future "
            "set, the gold test split or the behavioural suite. Early stopping and calibration on future-dev." + changed)


if __name__ == "__main__":
    main()
