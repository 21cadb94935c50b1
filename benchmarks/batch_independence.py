"""What batch independence costs: int8 throughput batched (scores depend on the batch) vs row by row.

    OMP_NUM_THREADS=2 .venv/bin/python benchmarks/batch_independence.py models/tonecls-base --n 1000 --runs 3

Same model, texts (``--n`` real sentences of 20–60 words from the shared corpora) and threads
(``--threads``, default 2). For each int8 backend (``--backends``, default onnx-int8) it times
``window_logits`` (tokenised beforehand; length-sorted batches of 64) with the old batched execution
(``apply_backend(..., independent=False)``) and with row-independent execution (the default), runs
interleaved, medians of ``--runs``. It also reports how far each statement's score moves between
batches of 64 and batches of 1 (the batch dependence that row-independent execution removes) and
the share of levels equal to fp32 (ONNX Runtime fp32).
"""

from __future__ import annotations

import argparse
import statistics
import sys
import time
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(Path(__file__).resolve().parent))


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("model")
    ap.add_argument("--n", type=int, default=1000)
    ap.add_argument("--runs", type=int, default=3)
    ap.add_argument("--threads", type=int, default=2)
    ap.add_argument("--backends", default="onnx-int8")
    args = ap.parse_args(argv)

    import torch

    torch.set_num_threads(args.threads)
    from _common import sentences

    from tonecls.classifier import ToneClassifier
    from tonecls.backends import apply_backend, runtime_versions
    from tonecls.scale import score_from_probabilities

    texts = sentences(args.n)
    ref = apply_backend(ToneClassifier.from_pretrained(args.model), "onnx", threads=args.threads)
    enc = ref.encode(texts)
    ref_levels = ref.calibrated_probabilities(ref.window_logits(enc)).argmax(1)
    paths = {}
    for backend in args.backends.split(","):
        for independent in (False, True):
            clf = apply_backend(ToneClassifier.from_pretrained(args.model), backend, guard=0.0, threads=args.threads,
                                independent=independent)
            clf.window_logits(type(enc)(enc.windows[:64], enc.owner[:64]))  # warm-up
            paths[clf.backend] = clf
    rates = {name: [] for name in paths}
    logits = {}
    for _ in range(args.runs):
        for name, clf in paths.items():
            t = time.perf_counter()
            logits[name] = clf.window_logits(enc, batch_size=64)
            rates[name].append(len(enc.windows) / (time.perf_counter() - t))
    print(f"{args.model}: {len(texts)} statements ({len(enc.windows)} windows), {args.threads} threads, "
          f"median of {args.runs} runs; {runtime_versions()}")
    print("backend                      windows/s   levels = fp32   max |score(batch 64) - score(batch 1)|")
    for name, clf in paths.items():
        single = clf.window_logits(enc, batch_size=1)
        s64 = score_from_probabilities(clf.calibrated_probabilities(logits[name]))
        s1 = score_from_probabilities(clf.calibrated_probabilities(single))
        agree = np.mean(clf.calibrated_probabilities(logits[name]).argmax(1) == ref_levels)
        print(f"{name:<28} {statistics.median(rates[name]):9.0f}   {agree:13.2%}   {np.abs(s64 - s1).max():.4f}  "
              f"(runs: {', '.join(f'{r:.0f}' for r in rates[name])})")
    return 0


if __name__ == "__main__":
    sys.exit(main())
