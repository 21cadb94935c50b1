"""Scoring cost of one base encoder against another: model folders side by side, same texts, same process.

    OMP_WAIT_POLICY=PASSIVE .venv/bin/python benchmarks/encoders.py models/tonecls-base \
        artifacts/runs-e5/soup-recent-years-5 --n 1000 --runs 3 --threads 2

For each folder: the time to load it (``ToneClassifier.from_pretrained``, the base rebuilt from its
package included), and the statements/s of ``predict_proba`` (torch fp32, batch 64: tokenising,
windows, the network, calibration) on ``--n`` sentences of the held-out future period
(``_common.future_sentences``). Runs are interleaved (run 1 of every folder, then run 2, ...) so that
load from other processes falls on all alike; the table gives medians and each folder's ratio to the
first. Every folder is loaded into the same process, so no memory figure is given here
(``benchmarks/memory.py`` measures a process per model).
"""

from __future__ import annotations

import argparse
import json
import statistics
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
sys.path.insert(0, str(Path(__file__).resolve().parent))


def main() -> None:
    import torch

    from _common import future_sentences
    from tonecls import ToneClassifier
    from tonecls.bases import named_base

    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("models", nargs="+", help="model folders; the first is the reference of the ratios")
    ap.add_argument("--n", type=int, default=1000)
    ap.add_argument("--runs", type=int, default=3)
    ap.add_argument("--threads", type=int, default=2)
    ap.add_argument("--json", help="write the results here")
    args = ap.parse_args()
    torch.set_num_threads(args.threads)
    texts = future_sentences(args.n)

    loaded, load_s = {}, {}
    for folder in args.models:
        started = time.perf_counter()
        loaded[folder] = ToneClassifier.from_pretrained(folder, multilingual=False)
        load_s[folder] = time.perf_counter() - started
        loaded[folder].predict_proba(texts[:64])  # warm-up
    rates = {folder: [] for folder in args.models}
    for _ in range(args.runs):
        for folder, clf in loaded.items():
            started = time.perf_counter()
            clf.predict_proba(texts)
            rates[folder].append(len(texts) / (time.perf_counter() - started))

    rows = []
    for folder in args.models:
        config = json.loads((Path(folder) / "config.json").read_text())
        rows.append({"model": folder, "base": (named_base(config) or {}).get("name", "stored in the folder"),
                     "layers": config["encoder"]["num_hidden_layers"], "load s": round(load_s[folder], 2),
                     "statements/s": round(statistics.median(rates[folder]), 1)})
    reference = rows[0]["statements/s"]
    print(f"{len(texts)} future-period sentences, {args.runs} interleaved runs, {args.threads} threads, torch fp32\n")
    print("| model | base | layers | load (s) | statements/s | × first |\n|---|---|---|---|---|---|")
    for r in rows:
        r["ratio to first"] = round(r["statements/s"] / reference, 2)
        print(f"| `{r['model']}` | {r['base']} | {r['layers']} | {r['load s']} | {r['statements/s']} | {r['ratio to first']} |")
    if args.json:
        Path(args.json).write_text(json.dumps({"n": len(texts), "runs": args.runs, "threads": args.threads,
                                               "rows": rows}, indent=2) + "\n")


if __name__ == "__main__":
    main()
