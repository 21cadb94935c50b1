"""Build the weakly labelled training corpus from the shared statement corpora.

    python training/build_corpus.py --out artifacts/corpus

Runs :func:`tonecls.labeling.pipeline.label_file` over ``../shared/data/statements/*.jsonl.gz``
(relative to the repository root), excluding every document of the gold set
(``training/gold/candidates*.jsonl``), and saves a ``DatasetDict`` (train / validation / test) with
its dataset card. Reproducible: fixed seed, deterministic label model.
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

DATA = ROOT.parent / "shared" / "data" / "statements"
GOLD = sorted((ROOT / "training" / "gold").glob("candidates*.jsonl"))


def gold_documents(paths=GOLD) -> set[str]:
    docs = set()
    for p in paths:
        with open(p, encoding="utf-8") as f:
            docs.update(json.loads(line)["doc_id"] for line in f if line.strip())
    return docs


def main(argv=None) -> int:
    from tonecls.labeling.pipeline import DEFAULTS, label_file

    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--out", default=str(ROOT / "artifacts" / "corpus"))
    p.add_argument("--data", default=str(DATA), help="folder of *.jsonl.gz statement corpora")
    p.add_argument("--aggregator", default=DEFAULTS["aggregator"], choices=["label_model", "majority", "strongest"])
    p.add_argument("--no-marker", default=DEFAULTS["no_marker"], choices=["abstain", "cue", "measured"])
    p.add_argument("--threshold", type=float, default=0.0)
    p.add_argument("--cap-per-level", type=int, default=15000, help="train rows per level at most")
    p.add_argument("--min-per-level", type=int, default=2000,
                   help="repeat rows of rarer levels in train up to this floor (marked duplicate=True)")
    p.add_argument("--max-eval-rows", type=int, default=10000, help="validation/test rows at most")
    p.add_argument("--num-proc", type=int, default=2)
    p.add_argument("--seed", type=int, default=0)
    args = p.parse_args(argv)

    inputs = sorted(Path(args.data).glob("*.jsonl.gz"))
    if not inputs:
        print(f"no *.jsonl.gz under {args.data}", file=sys.stderr)
        return 2
    excluded = gold_documents()
    print(f"excluding {len(excluded)} gold documents from {[p.name for p in GOLD]}")
    t0 = time.time()
    dd = label_file(inputs, args.out, aggregator=args.aggregator, no_marker=args.no_marker, threshold=args.threshold, exclude_docs=excluded,
                    cap_per_level=args.cap_per_level, min_per_level=args.min_per_level, max_eval_rows=args.max_eval_rows, seed=args.seed,
                    num_proc=args.num_proc)
    from tonecls.labeling.columns import column_list

    leaked = excluded & set(d for split in dd.values() for d in column_list(split, "doc_id"))
    if leaked:
        raise SystemExit(f"gold documents leaked into the corpus: {sorted(leaked)[:5]}")
    print(f"done in {time.time() - t0:.0f}s")
    return 0


if __name__ == "__main__":
    sys.exit(main())
