"""Build a *proxy* fine-tuned model for the speed/agreement benchmarks while the real default
model (models/tonecls-base) does not exist yet.

The proxy is all-MiniLM-L6-v2 with a mean-pooling 5-way head, fine-tuned (whole encoder) for a
few hundred steps on real sentences from the shared statement corpora, labelled by a crude
keyword rule (the gold sampler's enrichment buckets: warm→cautious, plain→measured,
criticism→firm, demand→assertive, threat→confrontational). The labels are *not* tone
judgements; the point is a head whose logits have realistic margins, so that quantisation
agreement is measured on something closer to a trained model than a random head (on a random
head every level flip is a near-tie, and agreement says nothing).

    .venv/bin/python benchmarks/proxy_model.py --out artifacts/proxy-model --steps 300

Writes the model folder and ``<out>/../proxy-labelled.jsonl`` (held-out sentences with
``text``, ``level`` and ``split``="test"), the input format of ``benchmarks/agreement.py``.
"""

from __future__ import annotations

import argparse
import json
import random
import re
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
from _common import base_classifier, sentences  # noqa: E402
from tonecls.training import _pad, _truncated_ids  # noqa: E402

BUCKETS = [  # strongest first; the same wording classes as training/gold/sample_gold.py
    (4, r"\b(will pay|heavy price|countermeasures|retaliat\w*|ultimatum|play(ing)? with fire|consequences|sanction\w*|"
        r"military action|force if|tariffs? on|leverage|aggressor\w*|criminal regime|terrorist state|lies|liars?|puppet)\b"),
    (3, r"\b(must|demand\w*|will not (accept|tolerate|allow)|bears? (full )?responsibility|all necessary measures|"
        r"warn\w*|insist\w*|cannot be tolerated|no longer)\b"),
    (2, r"\b(concern\w*|oppose\w*|condemn\w*|regret\w*|unacceptable|deplor\w*|reject\w*|violat\w*|urge\w*|disappoint\w*)\b"),
    (0, r"\b(thank\w*|congratulat\w*|welcome\w*|grateful|gratitude|friendship|partnership|hope|dialogue|appreciat\w*|restraint)\b"),
]


def keyword_level(s: str) -> int:
    for level, pattern in BUCKETS:
        if re.search(pattern, s, flags=re.I):
            return level
    return 1


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--out", default="artifacts/proxy-model")
    ap.add_argument("--steps", type=int, default=300)
    ap.add_argument("--batch-size", type=int, default=16)
    ap.add_argument("--test", type=int, default=2000, help="held-out sentences written for the agreement check")
    ap.add_argument("--threads", type=int, default=2)
    ap.add_argument("--seed", type=int, default=0)
    args = ap.parse_args(argv)

    import numpy as np
    import torch

    torch.set_num_threads(args.threads)
    texts = sentences(args.steps * args.batch_size + args.test, seed=args.seed + 1, min_words=8, max_words=60)
    rng = random.Random(args.seed)
    rng.shuffle(texts)
    test, train = texts[:args.test], texts[args.test:]
    levels = [keyword_level(s) for s in train]
    # balance: oversample rare levels so every level is learned
    by = {k: [i for i, y in enumerate(levels) if y == k] for k in range(5)}
    print("train level counts", {k: len(v) for k, v in by.items()}, flush=True)
    clf = base_classifier(args.seed)
    clf.name = "proxy-keyword-minilm"
    net = clf.network.train()
    opt = torch.optim.AdamW(net.parameters(), lr=5e-5, weight_decay=0.01)
    t0 = time.time()
    for step in range(args.steps):
        idx = [rng.choice(by[k]) for k in rng.choices(range(5), k=args.batch_size) if by[k]]
        ids, mask = _pad(_truncated_ids(clf, [train[i] for i in idx])[0], clf.special_ids.padding)
        y = torch.tensor([levels[i] for i in idx])
        loss = torch.nn.functional.cross_entropy(net(ids, mask), y)
        opt.zero_grad()
        loss.backward()
        opt.step()
        if step % 25 == 0 or step == args.steps - 1:
            print(f"step {step} loss {loss.item():.3f} ({time.time() - t0:.0f}s)", flush=True)
    net.eval()
    out = clf.save_pretrained(args.out)
    labelled = Path(args.out).parent / "proxy-labelled.jsonl"
    with open(labelled, "w") as f:
        for s in test:
            f.write(json.dumps({"text": s, "level": keyword_level(s), "split": "test"}) + "\n")
    pred = clf.predict_proba(test[:500]).argmax(1)
    acc = float(np.mean(pred == np.array([keyword_level(s) for s in test[:500]])))
    print(f"wrote {out} and {labelled}; keyword-label accuracy on 500 held-out: {acc:.3f}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
