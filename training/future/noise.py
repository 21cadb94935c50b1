"""How much a model's future-dev QWK moves by chance: round 1's future-dev against the enlarged one.

    python training/future/noise.py [--model models/tonecls-base] [--draws 2000]

For each choosing set (round 1's 389 future-dev statements; all of future-dev after round 2) prints the
model's QWK and the standard deviation of its QWK over bootstrap resamples of documents (the unit the
split is drawn by), and writes them to ``training/future/noise.json``: how far a model's future-dev QWK
may sit from its QWK on another draw of the same period's documents. (Two models scored on the same set
differ by less than that by chance: their errors share statements; nor does it hold the evaluation-to-evaluation
and seed noise of training.)
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

import numpy as np

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE.parents[1]))
sys.path.insert(0, str(HERE.parent))

from annotation import read_jsonl  # noqa: E402

from tonecls.metrics import bootstrap_qwk, quadratic_weighted_kappa  # noqa: E402


def main() -> None:
    from tonecls.classifier import ToneClassifier

    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--model", default=str(HERE.parents[1] / "models" / "tonecls-base"))
    p.add_argument("--draws", type=int, default=2000)
    args = p.parse_args()
    dev = [r for r in read_jsonl(HERE / "future.jsonl") if r["split"] == "future-dev"]
    pred = ToneClassifier.from_pretrained(args.model).predict_proba([r["text"] for r in dev]).argmax(1)
    result = {"model": Path(args.model).name, "draws": args.draws}
    for name, keep in (("round 1 future-dev", [r["round"] == 1 for r in dev]), ("future-dev, rounds 1-2", [True] * len(dev))):
        idx = np.flatnonzero(keep)
        rows = [dev[i] for i in idx]
        boot = bootstrap_qwk([r["level"] for r in rows], pred[idx], groups=[r["doc_id"] for r in rows], draws=args.draws)
        result[name] = {"statements": len(rows), "documents": len({r["doc_id"] for r in rows}),
                        "assertive or above": sum(r["level"] >= 3 for r in rows),
                        "QWK": round(float(quadratic_weighted_kappa([r["level"] for r in rows], pred[idx])), 4),
                        "bootstrap sd of QWK": round(float(boot.std(ddof=1)), 4)}
    (HERE / "noise.json").write_text(json.dumps(result, indent=2) + "\n")
    print(json.dumps(result, indent=2))


if __name__ == "__main__":
    main()
