"""bf16 on CPUs with AVX-512 BF16 / AMX: agreement with fp32 and speed of torch autocast, side by side.

    OMP_NUM_THREADS=2 .venv/bin/python benchmarks/bf16.py models/tonecls-base --runs 3 --json artifacts/bf16.json

The same text sets as ``int8_recipes.py`` (gold dev, future-dev, gold test, future test and
``--n`` future-period sentences). The network runs in torch, length-sorted batches of
``--batch-size`` windows, once in fp32 and once under ``torch.autocast("cpu", dtype=torch.bfloat16)``
(matrix products in bf16, which oneDNN runs on AMX tiles where the CPU has them); runs interleaved,
median of ``--runs``. Reports windows/s and, per set, the share of statements whose level equals
fp32's and the largest change in ``score``.
"""

from __future__ import annotations

import argparse
import json
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
    ap.add_argument("--n", type=int, default=2000)
    ap.add_argument("--runs", type=int, default=3)
    ap.add_argument("--threads", type=int, default=2)
    ap.add_argument("--batch-size", type=int, default=64)
    ap.add_argument("--json")
    args = ap.parse_args(argv)

    import torch

    torch.set_num_threads(args.threads)
    from _common import agreement_sets

    from tonecls.backends import Runner, cpu_kind, runtime_versions, torch_forward
    from tonecls.classifier import ToneClassifier
    from tonecls.scale import score_from_probabilities

    clf = ToneClassifier.from_pretrained(args.model)
    sets = agreement_sets(args.n)
    encs = {k: clf.encode(v) for k, v in sets.items()}
    fp32 = torch_forward(clf.network)

    def bf16(input_ids, attention_mask):
        with torch.autocast("cpu", dtype=torch.bfloat16):
            return fp32(input_ids, attention_mask)

    runners = {"fp32": Runner(fp32, "torch"), "bf16": Runner(bf16, "torch-bf16")}
    times = {k: [] for k in runners}
    logits: dict = {}
    for _ in range(args.runs):
        for name, runner in runners.items():
            clf.runner = runner
            t = time.perf_counter()
            logits[name] = {k: clf.window_logits(e, batch_size=args.batch_size) for k, e in encs.items()}
            times[name].append(time.perf_counter() - t)
    clf.runner = None
    n_windows = sum(len(e.windows) for e in encs.values())

    def levels(k, w):
        p = clf.calibrated_probabilities(clf.aggregate_windows(encs[k], w, len(sets[k]))[0])
        return p.argmax(1), score_from_probabilities(p)

    report = {"model": args.model, "cpu": cpu_kind(), "runtime": runtime_versions(), "threads": args.threads,
              "windows": n_windows, "sets": {}}
    for name in runners:
        report[name] = {"windows_per_s": n_windows / statistics.median(times[name]), "runs_s": times[name]}
    for k in sets:
        (l0, s0), (l1, s1) = levels(k, logits["fp32"][k]), levels(k, logits["bf16"][k])
        report["sets"][k] = {"n": len(sets[k]), "agreement": float(np.mean(l0 == l1)), "changed": int(np.sum(l0 != l1)),
                             "max_abs_score_change": float(np.max(np.abs(s0 - s1))),
                             "mean_abs_score_change": float(np.mean(np.abs(s0 - s1)))}
    print(f"{n_windows} windows, CPU {report['cpu']}, {args.threads} threads, batches of {args.batch_size}: "
          f"fp32 {report['fp32']['windows_per_s']:.1f} windows/s, bf16 {report['bf16']['windows_per_s']:.1f} windows/s")
    for k, v in report["sets"].items():
        print(f"  {k:17s} same level {v['agreement']:.2%} ({v['changed']} of {v['n']} changed), "
              f"max |Δscore| {v['max_abs_score_change']:.3f}")
    if args.json:
        Path(args.json).write_text(json.dumps(report, indent=2) + "\n")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
