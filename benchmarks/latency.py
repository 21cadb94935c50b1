"""Latency of `tonecls.score` on one statement: first call in a fresh process, and warm calls.

    python benchmarks/latency.py [--model models/tonecls-base] [--runs 3] [--warm 200]

First call = interpreter already up, then ``import tonecls`` + load the default model +
score one statement, timed inside a fresh ``python -c`` process (median of ``--runs``
processes; a first process fills the cache of exported graphs and of the torch-free start
and is not counted). Warm = median and p95 of ``--warm`` further single-statement calls in one
process. The output names the backend (``backends.DEFAULT_BACKEND``) and whether torch was
imported. Targets (issue 15): first call ≤ 1.5 s, warm ≤ 5 ms.
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import time

STATEMENTS = [
    "We will continue to monitor the situation closely and remain in close communication with our partners.",
    "Japan's $1.13 trillion of U.S. Treasury holdings exists as a card in our negotiations.",
    "We strongly condemn the attack and call for restraint.",
    "The two sides discussed trade, investment and climate cooperation.",
]

FIRST_CALL = """
import json, sys, time
t = time.perf_counter()
import tonecls
tonecls.score("We hope the talks will resume soon.")
dt = time.perf_counter() - t
print(json.dumps({"s": dt, "backend": tonecls.classifier.load_default().backend, "torch": "torch" in sys.modules}))
"""


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--model", help="model folder (default: the default model)")
    parser.add_argument("--runs", type=int, default=3)
    parser.add_argument("--warm", type=int, default=200)
    args = parser.parse_args()
    env = dict(os.environ)
    if args.model:
        env["TONECLS_MODEL"] = args.model

    runs = [json.loads(subprocess.run([sys.executable, "-c", FIRST_CALL], env=env, capture_output=True, text=True,
                                      check=True).stdout) for _ in range(args.runs + 1)][1:]
    first = [r["s"] for r in runs]

    if args.model:
        os.environ["TONECLS_MODEL"] = args.model
    import tonecls

    tonecls.score(STATEMENTS[0])
    warm = []
    for i in range(args.warm):
        t = time.perf_counter()
        tonecls.score(STATEMENTS[i % len(STATEMENTS)])
        warm.append(time.perf_counter() - t)
    warm.sort()
    result = {
        "first_call_s_median": round(statistics.median(first), 3), "first_call_s_runs": [round(x, 3) for x in first],
        "warm_ms_median": round(1000 * statistics.median(warm), 2), "warm_ms_p95": round(1000 * warm[int(0.95 * len(warm))], 2),
        "backend": runs[-1]["backend"], "torch_imported_by_first_call": runs[-1]["torch"],
        "cpu_count": os.cpu_count(), "load_average": os.getloadavg(),
    }
    print(json.dumps(result, indent=2))


if __name__ == "__main__":
    main()
