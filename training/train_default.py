"""The recipe that builds ``models/tonecls-base``, and the experiments behind its choices.

    python training/build_corpus.py --out artifacts/corpus          # weak-labelled corpus (issue 2)
    python training/train_default.py --threads 1 --silver-repeat 2 --anchor-repeat 10 --runs artifacts/runs-a10
                                            # every configuration, then the default model (as shipped)

To use two cores, train configurations in parallel first (``--config NAME``, one process each,
``--threads 1``); the plain command then reuses every run whose settings match.

Data roles (no statement is used for two of them):

* weak-labelled corpus (``train`` split): training;
* gold ``dev`` split (human labels), halved by document: ``dev-fit`` may be added to training,
  ``dev-hold`` chooses the experiment, stops training early and fits the calibrator;
* gold ``test`` split: only the final numbers, reported for every experiment (a dev statement
  whose text is also a test statement, from a document published twice, is used for nothing);
* silver set (``training/silver``, one blind rating per statement, documents of no gold round):
  training, in the configurations that name it;
* anchor set (``training/anchors``, written from the scale): training, where named;
* keep-it-local (verbal conflict vs verbal cooperation), halved by sentence hash: ``kil-aux``
  may join training as level *ranges* (conflict = levels 2-4, cooperation = levels 0-1),
  ``kil-eval`` gives the external ROC AUC.

Every configuration (``CONFIGS``) trains on the same weak sample into ``--runs/<name>`` and
reports dev-hold / test / keep-it-local numbers and the motivating cases; the run with the best
dev-hold QWK among those that meet the motivating cases becomes the default model, calibrated on
dev-hold and measured on gold test. Everything goes to the model's
``metrics.json``, from which the model card is generated.
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

from tonecls.calibration import fit_calibration  # noqa: E402
from tonecls.classifier import ToneClassifier  # noqa: E402
from tonecls.evaluation import evaluate_predictions, ordinal_metrics, write_report  # noqa: E402
from tonecls.scale import score_from_probabilities  # noqa: E402
from tonecls.training import TrainingArguments, save_trained, train  # noqa: E402

GOLD = ROOT / "training" / "gold" / "gold.jsonl"
GOLD_ROUND3 = ROOT / "training" / "gold" / "gold_round3.jsonl"
ANCHORS = ROOT / "training" / "anchors" / "anchors.jsonl"
SILVER = ROOT / "training" / "silver" / "silver.jsonl"
KIL = ROOT.parent / "shared" / "data" / "keep-it-local" / "en_annotations_quad_multiclass.tsv"
MOTIVATING = {
    "card": ("Japan's $1.13 trillion of U.S. Treasury holdings exists as a card in our negotiations.", 3),
    "monitor": ("We will continue to monitor the situation closely and remain in close communication with our partners.", 1),
}
CONFIGS = {
    "weak, cross-entropy": dict(objective="cross_entropy", gold=False, kil=False),
    "weak, ordinal": dict(objective="ordinal", gold=False, kil=False),
    "weak + gold dev-fit, ordinal": dict(objective="ordinal", gold=True, kil=False),
    "weak + gold dev-fit + keep-it-local, ordinal": dict(objective="ordinal", gold=True, kil=True),
    "weak + gold dev-fit + keep-it-local + anchors, ordinal": dict(objective="ordinal", gold=True, kil=True, anchors=True),
    "weak + gold dev-fit + silver + keep-it-local + anchors, ordinal": dict(objective="ordinal", gold=True, kil=True,
                                                                          anchors=True, silver=True),
    "gold dev-fit + silver + keep-it-local + anchors, ordinal": dict(objective="ordinal", gold=True, kil=True,
                                                                   anchors=True, silver=True, weak=False),
}


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


def load_gold():
    rows = read_jsonl(GOLD)
    test = [r for r in rows if r["split"] == "test"]
    dev = not_in([r for r in rows if r["split"] == "dev"], test)
    return [r for r in dev if _half(r["doc_id"]) == 0], [r for r in dev if _half(r["doc_id"]) == 1], test


def load_kil():
    with open(KIL, encoding="utf-8", newline="") as f:
        rows = [r for r in csv.DictReader(f, delimiter="\t", quoting=csv.QUOTE_NONE) if r["QuadClass"] in ("3", "4")]
    rows = [{"text": r["en"].strip(), "conflict": int(r["QuadClass"] == "3")} for r in rows if r["en"].strip()]
    return [r for r in rows if _half(r["text"]) == 0], [r for r in rows if _half(r["text"]) == 1]


def relabel(train, aggregator: str, no_marker: str):
    """Weak labels again with another aggregator of the same labeling functions; abstentions dropped."""
    from tonecls.labeling.pipeline import WeakLabeler

    labeler = WeakLabeler(aggregator=aggregator, no_marker=no_marker)
    texts = list(train["text"])
    votes = labeler.votes(texts)
    level, _ = labeler.fit(texts, votes).predict(texts, votes)
    keep = np.flatnonzero(level >= 0)
    print(f"relabelled {len(train)} statements with {aggregator}: kept {len(keep)}, per level "
          f"{np.bincount(level[keep], minlength=5).tolist()}", flush=True)
    return train.select(keep).remove_columns("level").add_column("level", level[keep].tolist())


def training_set(corpus, config, dev_fit, kil_aux, n, seed, aggregator=None, no_marker="measured"):
    import datasets

    train = corpus["train"]
    if not config.get("weak", True):
        train = train.select([])
    elif n and len(train) > n:
        train = train.shuffle(seed=seed).select(range(n))
    if aggregator and len(train):
        train = relabel(train, aggregator, no_marker)
    columns = {"text": list(train["text"]), "level_low": list(train["level"]), "level_high": list(train["level"])}

    def add(texts, low, high):
        columns["text"] += texts
        columns["level_low"] += low
        columns["level_high"] += high

    # Human-labelled and written-out statements are scarcer and better: repeat them so they weigh in,
    # in rounds of (gold dev-fit, silver, anchors); silver and anchors may have repeats of their own.
    repeat = config.get("gold_repeat", 5)
    groups = [(dev_fit if config["gold"] else [], repeat),
              (read_jsonl(SILVER) if config.get("silver") else [], config.get("silver_repeat") or repeat),
              (read_jsonl(ANCHORS) if config.get("anchors") else [], config.get("anchor_repeat") or repeat)]
    for round_ in range(max(n for _, n in groups)):
        rows = [r for group, n in groups if round_ < n for r in group]
        add([r["text"] for r in rows], [r["level"] for r in rows], [r["level"] for r in rows])
    if config["kil"]:
        add([r["text"] for r in kil_aux], [2 if r["conflict"] else 0 for r in kil_aux],
            [4 if r["conflict"] else 1 for r in kil_aux])
    return datasets.Dataset.from_dict(columns)


def measure(clf, dev_hold, test, kil_eval, calibrator=None) -> dict:
    from sklearn.metrics import roc_auc_score

    out = {}
    for name, rows in (("dev_hold", dev_hold), ("gold_test", test)):
        logits = clf.predict_logits([r["text"] for r in rows])
        probs = calibrator.transform(logits) if calibrator is not None else clf.calibrated_probabilities(logits)
        out[name] = {k: round(v, 4) for k, v in ordinal_metrics([r["level"] for r in rows], probs).items()}
    probs = clf.predict_proba([r["text"] for r in kil_eval])
    out["kil_auc"] = round(float(roc_auc_score([r["conflict"] for r in kil_eval], score_from_probabilities(probs))), 4)
    return out


def slug(config_name: str) -> str:
    return re.sub(r"[^a-z0-9]+", "-", config_name.lower()).strip("-")


def data_fingerprint(corpus_dir, round3: bool = False, silver: bool = False) -> dict:
    """sha256 (16 hex digits) of every data file a run reads, so a run is reused only on the same data."""
    from tonecls.encoder import sha256_file

    # The files the split's state.json names, not caches or temporary files of a run in parallel.
    split = Path(corpus_dir, "train")
    state = json.loads((split / "state.json").read_text())
    corpus = sorted(split / f["filename"] for f in state["_data_files"])
    digest = hashlib.sha256("".join(sha256_file(p) for p in corpus).encode()).hexdigest()
    files = ((("gold", GOLD), ("anchors", ANCHORS), ("keep-it-local", KIL))
             + ((("gold round 3", GOLD_ROUND3),) if round3 else ()) + ((("silver", SILVER),) if silver else ()))
    return {"corpus train": digest[:16], **{name: sha256_file(path)[:16] for name, path in files}}


def weak_samples(config_name: str, args) -> int:
    return args.samples if CONFIGS[config_name].get("weak", True) else 0


def uses_round3(config_name: str, args) -> bool:
    return bool(args.gold_round3 and CONFIGS[config_name]["gold"])


def training_arguments(config_name: str, args) -> TrainingArguments:
    return TrainingArguments(objective=CONFIGS[config_name]["objective"], epochs=args.epochs, max_train_samples=None,
                             batch_size=16, class_weighting=args.class_weighting, freeze_layers=args.freeze_layers, num_threads=args.threads,
                             eval_every=args.eval_every, patience=3, seed=args.seed, max_length=128,
                             extra={"config": config_name, "weak_samples": weak_samples(config_name, args), "gold_repeat": args.gold_repeat,
                                    "relabel": args.relabel, "no_marker": args.no_marker,
                                    "data_sha256": data_fingerprint(args.corpus, uses_round3(config_name, args),
                                                                   CONFIGS[config_name].get("silver", False))}
                             | ({"gold_round3": True} if uses_round3(config_name, args) else {})
                             | ({"silver_repeat": args.silver_repeat}
                                if args.silver_repeat and CONFIGS[config_name].get("silver") else {})
                             | ({"anchor_repeat": args.anchor_repeat}
                                if args.anchor_repeat and CONFIGS[config_name].get("anchors") else {}))


def run(config_name, corpus, dev_fit, dev_hold, test, kil_aux, kil_eval, args) -> Path:
    """Train one configuration into ``<runs>/<slug>`` and record its experiment row there."""
    config = CONFIGS[config_name] | {"gold_repeat": args.gold_repeat, "silver_repeat": args.silver_repeat,
                                     "anchor_repeat": args.anchor_repeat}
    targs = training_arguments(config_name, args)
    if uses_round3(config_name, args):
        dev_fit = dev_fit + not_in(read_jsonl(GOLD_ROUND3), test)
    data = training_set(corpus, config, dev_fit, kil_aux, args.samples, args.seed, args.relabel, args.no_marker)
    eval_data = __import__("datasets").Dataset.from_list([{"text": r["text"], "level": r["level"]} for r in dev_hold])
    started = time.time()
    clf = train(data, targs, eval_data=eval_data, progress=not args.quiet)
    minutes = round((time.time() - started) / 60, 1)
    clf.name, clf.calibrator = "tonecls-base", None
    folder = Path(args.runs) / slug(config_name)
    save_trained(clf, folder, targs, delta_from_base=True, dtype="float16")
    # Measured on the model as stored (fp16 delta), reloaded, before any calibration.
    stored = ToneClassifier.from_pretrained(folder)
    result = measure(stored, dev_hold, test, kil_eval)
    row = {"configuration": config_name, "weak samples": weak_samples(config_name, args), "steps": clf.training_summary_["steps"],
           "minutes": minutes, "dev-hold QWK": result["dev_hold"]["qwk"], "test QWK": result["gold_test"]["qwk"],
           "test Spearman": result["gold_test"]["spearman"], "test macro-F1": result["gold_test"]["macro_f1"],
           "keep-it-local AUC": result["kil_auc"], **motivating_cases(stored)}
    metrics = json.loads((folder / "metrics.json").read_text())
    (folder / "metrics.json").write_text(json.dumps(metrics | {"experiment": row}, indent=2) + "\n")
    print(json.dumps(row), flush=True)
    return folder


def motivating_cases(clf) -> dict:
    """Level of each motivating case, and whether all meet their requirement."""
    levels = {k: clf.score(text).level for k, (text, _) in MOTIVATING.items()}
    met = levels["card"] >= MOTIVATING["card"][1] and levels["monitor"] <= MOTIVATING["monitor"][1]
    return {"card level": levels["card"], "monitor level": levels["monitor"], "cases met": met}


def finished_run(config_name: str, args) -> dict | None:
    """The experiment row of an earlier run of this configuration with the same settings, if any."""
    folder = Path(args.runs) / slug(config_name)
    try:
        metrics = json.loads((folder / "metrics.json").read_text())
        stored = json.loads((folder / "training_args.json").read_text())
    except FileNotFoundError:
        return None
    same = stored == json.loads(training_arguments(config_name, args).to_json())
    return metrics.get("experiment") if same else None


def main() -> None:
    import datasets

    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--corpus", default=str(ROOT / "artifacts" / "corpus"))
    parser.add_argument("--out", default=str(ROOT / "models" / "tonecls-base"))
    parser.add_argument("--runs", default=str(ROOT / "artifacts" / "runs"), help="one model folder per configuration")
    parser.add_argument("--config", choices=list(CONFIGS),
                        help="train only this configuration into --runs (to run configurations in parallel)")
    parser.add_argument("--samples", type=int, default=3000, help="weak-labelled statements sampled for training")
    parser.add_argument("--eval-every", type=int, default=150)
    parser.add_argument("--seed", type=int, default=42)
    parser.add_argument("--epochs", type=float, default=3.0)
    parser.add_argument("--gold-repeat", type=int, default=5,
                        help="times the gold dev-fit half (and by default the silver and anchor sets) is repeated")
    parser.add_argument("--silver-repeat", type=int,
                        help="times the silver set is repeated (default: as often as the gold dev-fit half)")
    parser.add_argument("--anchor-repeat", type=int,
                        help="times the anchor set is repeated (default: as often as the gold dev-fit half)")
    parser.add_argument("--class-weighting", default="none", choices=("balanced", "none"),
                        help="loss weights per level: balanced, or none (the training data's own frequencies)")
    parser.add_argument("--gold-round3", action="store_true",
                        help="add gold round 3 (training/gold/gold_round3.jsonl, dev only) to the human labels trained on")
    parser.add_argument("--relabel", default="majority", choices=("majority", "strongest", "label_model"),
                        help="re-aggregate the sampled weak labels with this aggregator before training")
    parser.add_argument("--no-marker", default="measured", choices=("measured", "cue", "abstain"),
                        help="when relabelling, statements no labeling function votes on: measured (as in "
                             "docs/weak-labels.md), measured only with a cue, or dropped")
    parser.add_argument("--freeze-layers", type=int, default=0, help="keep the lowest N encoder layers at the base weights")
    parser.add_argument("--threads", type=int, help="torch threads (default: torch's choice)")
    parser.add_argument("--evaluate-only", action="store_true",
                        help="recalibrate and re-measure the model already in --out, and regenerate its card")
    parser.add_argument("--compare-runs", nargs="*", default=[], metavar="DIR",
                        help="other --runs folders (other settings) whose runs go into the card's settings table")
    parser.add_argument("--quiet", action="store_true")
    args = parser.parse_args()

    dev_fit, dev_hold, test = load_gold()
    kil_aux, kil_eval = load_kil()
    print(f"gold dev-fit {len(dev_fit)}, dev-hold {len(dev_hold)}, test {len(test)}; "
          f"keep-it-local aux {len(kil_aux)}, eval {len(kil_eval)}", flush=True)
    if args.evaluate_only:
        evaluate_and_describe(Path(args.out), dev_hold, test, kil_eval, args)
        return
    corpus = datasets.load_from_disk(args.corpus)
    if args.config:
        run(args.config, corpus, dev_fit, dev_hold, test, kil_aux, kil_eval, args)
        return
    experiments = []
    for name in CONFIGS:
        row = finished_run(name, args)
        if row is None:
            run(name, corpus, dev_fit, dev_hold, test, kil_aux, kil_eval, args)
            row = finished_run(name, args)
        experiments.append(row)
    # The motivating cases are requirements of the product, not test data: a model that misses them
    # is chosen only if every configuration does.
    chosen = max(experiments, key=lambda r: (r["cases met"], r["dev-hold QWK"]))["configuration"]
    print(f"final configuration: {chosen}", flush=True)

    out = Path(args.out)
    out.mkdir(parents=True, exist_ok=True)
    for f in ("config.json", "model.safetensors", "training_args.json"):
        shutil.copy2(Path(args.runs) / slug(chosen) / f, out / f)
    metrics = json.loads((Path(args.runs) / slug(chosen) / "metrics.json").read_text())
    metrics.pop("experiment")
    metrics.update({
        "experiments": experiments,
        "experiments_description": f"Each configuration with weak labels trained on the same {args.samples} weak-labelled "
                                   "statements (same seed), early-stopped on gold dev-hold QWK; the default model is the one with "
                                   "the best dev-hold QWK among those that meet both motivating cases (card at least "
                                   "assertive, monitor at most measured). Only configurations with the anchor set meet "
                                   "the card case, and the anchor set names leverage as 'a card' in several level-4 "
                                   "statements: the rule picks the anchors, it does not test them. Test numbers are "
                                   "reported, not used for choosing.",
        "final": {"configuration": chosen},
    })
    if args.compare_runs:
        metrics["settings_tried"] = settings_table(args.compare_runs)
        metrics["settings_description"] = (
            "The configurations under other training settings, each trained by `python training/train_default.py "
            "--config NAME` with the settings shown (the default model's are in `training_args.json`). The silver set "
            "repeated as often as the gold dev-fit half (5x) raised dev-hold QWK but lost both motivating cases (the card "
            "remark `measured`, the monitor sentence `assertive`); repeated 2x (one rating per statement weighs less than "
            "an adjudicated gold label) kept them in one configuration, and anchors 10x raised its dev-hold QWK. Settings "
            "were chosen like the configuration: best dev-hold QWK among runs that meet the motivating cases. The seed was "
            "fixed at 42 beforehand; the seed-1 rows show what a seed changes: test QWK by up to 0.04, and the card case, "
            "which every model splits between `measured` and `confrontational`, is met by no seed-1 run (by seed 42 only "
            "without weak labels). "
            "Earlier settings (class weighting, 1 epoch, gold 10x, 1,500 weak statements, gold round 3) were compared on "
            "the previous corpus build; that table is in this card's history (commit f1b7fba).")
    (out / "metrics.json").write_text(json.dumps(metrics, indent=2) + "\n")
    evaluate_and_describe(out, dev_hold, test, kil_eval, args)


def settings_table(run_dirs) -> list[dict]:
    """One row per finished run in ``run_dirs``: its settings and its experiment numbers."""
    rows = []
    for d in run_dirs:
        if not Path(d).is_dir():
            print(f"--compare-runs: no folder {d}; train its runs with --config NAME --runs {d} first", flush=True)
    for folder in sorted(p for d in run_dirs if Path(d).is_dir() for p in Path(d).iterdir() if (p / "metrics.json").is_file()):
        row = json.loads((folder / "metrics.json").read_text()).get("experiment")
        targs = json.loads((folder / "training_args.json").read_text())
        if row:
            if "cases met" not in row:  # runs recorded before the cases were
                row.update(motivating_cases(ToneClassifier.from_pretrained(folder)))
            rows.append({"configuration": row["configuration"], "class weighting": targs["class_weighting"],
                         "epochs": targs["epochs"], "gold repeat": targs["extra"]["gold_repeat"],
                         "weak samples": targs["extra"]["weak_samples"], "seed": targs["seed"],
                         "gold round 3": bool(targs["extra"].get("gold_round3")),
                         "silver repeat": (targs["extra"].get("silver_repeat") or targs["extra"]["gold_repeat"]
                                           if CONFIGS[row["configuration"]].get("silver") else None),
                         "anchor repeat": (targs["extra"].get("anchor_repeat") or targs["extra"]["gold_repeat"]
                                           if CONFIGS[row["configuration"]].get("anchors") else None),
                         **{k: row.get(k) for k in ("steps", "dev-hold QWK", "test QWK", "card level", "monitor level", "cases met")}})
    return rows


def weak_baseline(test) -> dict:
    """The weak labeler the model learned from (majority vote of the labeling functions) on gold test."""
    from tonecls.evaluation import quadratic_weighted_kappa
    from tonecls.labeling.pipeline import WeakLabeler

    texts, y = [r["text"] for r in test], np.asarray([r["level"] for r in test])
    labeler = WeakLabeler(aggregator="majority")
    votes = labeler.votes(texts)
    level, _ = labeler.fit(texts, votes).predict(texts, votes)
    covered = level >= 0
    return {"coverage": round(float(covered.mean()), 4),
            "qwk_all_abstained_as_measured": round(quadratic_weighted_kappa(y, np.where(covered, level, 1)), 4),
            "qwk_covered_only": round(quadratic_weighted_kappa(y[covered], level[covered]), 4)}


def describe_training_data(chosen: str, targs: dict) -> str:
    """The model card's paragraph on what the chosen configuration trained on."""
    config, extra = CONFIGS[chosen], targs["extra"]
    parts = []
    if config.get("weak", True):
        parts.append(f"{extra['weak_samples']} statements sampled from the weak-labelled corpus of the UN General Debate "
                     "(1990-2022) and White House (2021-2025) (`training/build_corpus.py`, which excludes every document "
                     f"of the gold set), their labels re-aggregated by the labeling functions' `{extra['relabel']}` "
                     f"aggregator (docs/weak-labels.md), statements no function votes on: `{extra['no_marker']}`")
    labelled = ["the gold dev-fit half (human labels)"] if config["gold"] else []
    if extra.get("gold_round3"):
        labelled.append(f"gold round 3 ({len(read_jsonl(GOLD_ROUND3))} more human-labelled dev statements, "
                        "training/gold/README.md)")
    if config.get("silver"):
        quality = json.loads((SILVER.parent / "quality.json").read_text())["all annotators vs gold"]
        labelled.append(f"the silver set ({len(read_jsonl(SILVER))} statements from training documents, one blind "
                        f"rating each, QWK {quality['qwk']:.2f} against gold on {quality['n']} hidden gold statements; "
                        "training/silver/README.md)")
    if config.get("anchors"):
        labelled.append(f"the anchor set (training/anchors: {len(read_jsonl(ANCHORS))} statements written from the "
                        "scale's markers; it names leverage as 'a card we hold' in several level-4 statements, so the "
                        "'card' case below is not an independent test)")
    if labelled:
        parts.append(", ".join(labelled) + f", each repeated {extra['gold_repeat']}x")
    if config["kil"]:
        parts.append("half of keep-it-local as level ranges (verbal conflict = levels 2-4, verbal cooperation = 0-1)")
    return (f"Configuration `{chosen}`: " + "; ".join(parts) + f". {targs['epochs']:g} epoch(s) at most. Early "
            "stopping and calibration use the gold dev-hold half; dev statements that repeat a test statement are "
            "dropped.")


def evaluate_and_describe(out: Path, dev_hold, test, kil_eval, args) -> None:
    """Calibrate the stored model on dev-hold, measure it on gold test and keep-it-local, write the card."""
    # Measured on the model as stored (fp16 delta), reloaded from disk.
    clf = ToneClassifier.from_pretrained(out)
    clf.calibrator = None
    chosen = json.loads((out / "metrics.json").read_text())["final"]["configuration"]
    targs = json.loads((out / "training_args.json").read_text())
    dev_logits = clf.predict_logits([r["text"] for r in dev_hold])
    calibrator = fit_calibration(dev_logits, [r["level"] for r in dev_hold], method="temperature",
                                 conformal_alpha=0.1, seed=args.seed)
    clf.calibrator = calibrator
    (out / "calibration.json").write_text(json.dumps(calibrator.to_dict(), indent=2) + "\n")

    test_logits = clf.predict_logits([r["text"] for r in test])
    report = evaluate_predictions([r["level"] for r in test], test_logits, calibrator)
    write_report(report, out / "evaluation", title="tonecls-base on the gold test split")
    final = measure(clf, dev_hold, test, kil_eval, calibrator)
    baseline = weak_baseline(test)
    cases = {k: clf.score(text).to_dict() | {"text": text, "required": f"level >= {lvl}" if k == "card" else f"level <= {lvl}"}
             for k, (text, lvl) in MOTIVATING.items()}
    u, c = report["uncalibrated"], report["calibrated"]
    metrics = json.loads((out / "metrics.json").read_text())
    metrics.update({
        "evaluation": {
            "gold test": {
                "description": f"Human-labelled gold test split ({report['n']} statements, never trained on or tuned on); "
                               "`python training/train_default.py` wrote these numbers. On a set this size, sampling "
                               "noise alone gives perfectly calibrated probabilities like the calibrated ones a top-label "
                               f"ECE of {report['ece_if_calibrated']['mean']:.3f} on average and up to "
                               f"{report['ece_if_calibrated']['q95']:.3f} in 95 % of draws (`ece_consistency`).",
                "rows": [{"probabilities": name, "QWK": m["qwk"], "Spearman": m["spearman"], "macro-F1": m["macro_f1"],
                          "accuracy": m["accuracy"], "MAE": m["mae"], "ECE": m["ece"], "adaptive ECE": m["ece_equal_mass"],
                          "Brier": m["brier"], "NLL": m["nll"], "RPS": m["rps"]}
                         for name, m in (("uncalibrated", u), ("temperature-calibrated", c))],
                "figure": "evaluation/reliability.png",
            },
            "weak labeler": {"description": "The weak labeler the training labels came from (majority vote of the "
                                            "labeling functions) on the same gold test split, for comparison; "
                                            "abstentions count as measured in the first QWK.",
                             "QWK (all)": baseline["qwk_all_abstained_as_measured"],
                             "QWK (covered only)": baseline["qwk_covered_only"], "coverage": baseline["coverage"],
                             "model QWK minus weak QWK (all)": round(final["gold_test"]["qwk"]
                                                                     - baseline["qwk_all_abstained_as_measured"], 4)},
            "keep-it-local": {"description": "Held-out half of keep-it-local, verbal conflict (1) vs verbal cooperation (0); "
                                             "ROC AUC of the score.", "ROC AUC": final["kil_auc"], "n": len(kil_eval)},
            "conformal": report["conformal"] or {},
            "motivating cases": {"rows": [{"case": k, "text": v["text"], "label": v["label"], "score": round(v["score"], 3),
                                           "required": v["required"]} for k, v in cases.items()]},
        },
        "card": {
            "intro": "The default model of tonecls: all-MiniLM-L6-v2 fine-tuned to rate the tone of official and "
                     "diplomatic statements, with temperature-calibrated probabilities and 90 % conformal level intervals.",
            "data": describe_training_data(chosen, targs),
            "limitations": "English only; trained on statements of two registers (UN speeches, White House releases), "
                           "so wording far from them (press agencies of other ministries, social media) may score "
                           "differently; the gold and silver sets are enriched for hostile wording and annotated by "
                           "AI-agent annotators of the team (training/gold/README.md, training/silver/README.md). "
                           "Probabilities are often split between two distant levels (the card remark: `measured` or "
                           "`confrontational`), so another seed can flip such a statement's level. Statements over 128 "
                           "tokens are scored by windows and take the strongest window.",
            "reproduce": "python training/build_corpus.py --out artifacts/corpus\n"
                         "python training/train_default.py " + " ".join(a for a in sys.argv[1:] if a != "--evaluate-only"),
        },
        "final": {"configuration": chosen, **final, "weak_labeler": baseline},
    })
    (out / "metrics.json").write_text(json.dumps(metrics, indent=2) + "\n")
    from tonecls.modelcard import write_model_card

    write_model_card(out)
    print(json.dumps(metrics["final"], indent=2))


if __name__ == "__main__":
    main()
