"""Cheap experiments on the training data and objective: linear probes on frozen embeddings.

    python training/probe_experiments.py --corpus artifacts/corpus --out training/probe_experiments.json

Fine-tuning the encoder costs about a second a step on 2 CPU cores, too much to repeat per
configuration. Here the base encoder (all-MiniLM-L6-v2, mean pooling) embeds every statement
once, and a linear 5-level head is trained per configuration with the library's own loss
(`tonecls.training.ordinal_loss`): the same data roles as `train_default.py`, a fraction of the
cost. It ranks data configurations and objectives; it does not predict the fine-tuned numbers.
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "training"))

from train_default import CONFIGS, load_gold, load_kil  # noqa: E402

from tonecls.evaluation import ordinal_metrics  # noqa: E402
from tonecls.scale import score_from_probabilities  # noqa: E402
from tonecls.training import ordinal_loss  # noqa: E402


def embed(clf, texts, batch_size=64):
    import torch

    enc = clf.encode(texts)
    first = np.searchsorted(np.asarray(enc.owner), np.arange(len(texts)))
    windows = [enc.windows[i] for i in first]
    out = np.empty((len(texts), clf.network.head.in_features), dtype=np.float32)
    order = np.argsort([len(w) for w in windows])
    with torch.inference_mode():
        for s in range(0, len(order), batch_size):
            idx = order[s:s + batch_size]
            width = max(len(windows[j]) for j in idx)
            ids = torch.zeros((len(idx), width), dtype=torch.long)
            mask = torch.zeros((len(idx), width), dtype=torch.long)
            for r, j in enumerate(idx):
                ids[r, :len(windows[j])] = torch.tensor(windows[j])
                mask[r, :len(windows[j])] = 1
            hidden = clf.network.encoder(input_ids=ids, attention_mask=mask).last_hidden_state
            m = mask.unsqueeze(-1).float()
            out[idx] = ((hidden * m).sum(1) / m.sum(1)).numpy()
    return out


def fit_head(x, low, high, objective, epochs=300, seed=0):
    import torch

    torch.manual_seed(seed)
    x, low, high = torch.from_numpy(x), torch.from_numpy(low), torch.from_numpy(high)
    exact = low == high
    counts = np.bincount(low[exact].numpy(), minlength=5).astype(np.float64)
    w = counts.sum() / (5 * np.maximum(counts, 1))
    class_weights = torch.tensor(w / w.mean(), dtype=torch.float32)
    head = torch.nn.Linear(x.shape[1], 5)
    opt = torch.optim.Adam(head.parameters(), lr=1e-2, weight_decay=1e-4)
    for _ in range(epochs):
        opt.zero_grad()
        loss = ordinal_loss(head(x), low, high, exact, torch.ones(len(x)), objective=objective, emd_weight=1.0,
                            class_weights=class_weights)
        loss.backward()
        opt.step()
    return head


def main() -> None:
    import datasets
    import torch
    from sklearn.metrics import roc_auc_score

    from tonecls.classifier import ToneClassifier

    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--corpus", default=str(ROOT / "artifacts" / "corpus"))
    parser.add_argument("--samples", type=int, default=6000)
    parser.add_argument("--seed", type=int, default=42)
    parser.add_argument("--out", default=str(ROOT / "training" / "probe_experiments.json"))
    args = parser.parse_args()

    started = time.time()
    train = datasets.load_from_disk(args.corpus)["train"].shuffle(seed=args.seed).select(range(args.samples))
    dev_fit, dev_hold, test = load_gold()
    kil_aux, kil_eval = load_kil()
    clf = ToneClassifier.from_base()
    texts = {"weak": train["text"], "dev_fit": [r["text"] for r in dev_fit], "dev_hold": [r["text"] for r in dev_hold],
             "test": [r["text"] for r in test], "kil_aux": [r["text"] for r in kil_aux],
             "kil_eval": [r["text"] for r in kil_eval]}
    x = {k: embed(clf, v) for k, v in texts.items()}
    weak = np.asarray(train["level"])
    rows = []
    for name, config in CONFIGS.items():
        parts = [(x["weak"], weak, weak)]
        if config["gold"]:
            y = np.asarray([r["level"] for r in dev_fit])
            parts += [(x["dev_fit"], y, y)] * 5
        if config["kil"]:
            c = np.asarray([r["conflict"] for r in kil_aux])
            parts.append((x["kil_aux"], np.where(c == 1, 2, 0), np.where(c == 1, 4, 1)))
        head = fit_head(np.concatenate([p[0] for p in parts]), np.concatenate([p[1] for p in parts]),
                        np.concatenate([p[2] for p in parts]), config["objective"], seed=args.seed)
        with torch.no_grad():
            prob = {k: torch.softmax(head(torch.from_numpy(x[k])), -1).numpy() for k in ("dev_hold", "test", "kil_eval")}
        hold = ordinal_metrics([r["level"] for r in dev_hold], prob["dev_hold"])
        tst = ordinal_metrics([r["level"] for r in test], prob["test"])
        auc = roc_auc_score([r["conflict"] for r in kil_eval], score_from_probabilities(prob["kil_eval"]))
        rows.append({"configuration": name, "weak samples": args.samples, "dev-hold QWK": round(hold["qwk"], 3),
                     "test QWK": round(tst["qwk"], 3), "test Spearman": round(tst["spearman"], 3),
                     "test macro-F1": round(tst["macro_f1"], 3), "keep-it-local AUC": round(float(auc), 3)})
        print(json.dumps(rows[-1]), flush=True)
    result = {"description": __doc__.split("\n\n")[1].replace("\n", " "), "command": "python training/probe_experiments.py "
              + " ".join(sys.argv[1:]), "seconds": round(time.time() - started), "rows": rows}
    Path(args.out).write_text(json.dumps(result, indent=2) + "\n")


if __name__ == "__main__":
    main()
