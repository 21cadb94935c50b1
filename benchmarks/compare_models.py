"""Two or more model folders side by side on the splits that count: future-test (the headline; also its
round-1 statements alone, the headline set before round 3 enlarged it), the gold test split and the behavioural suite, each with its stored calibrator.

    python benchmarks/compare_models.py OLD_MODEL models/tonecls-base

(An earlier default model: ``git archive <commit> models/tonecls-base | tar -x -C /tmp/old``.)
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path[:0] = [str(ROOT), str(ROOT / "training"), str(ROOT / "benchmarks")]

import train_default as recipe  # noqa: E402
from behaviour import run_suite  # noqa: E402

from tonecls.classifier import ToneClassifier  # noqa: E402


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("models", nargs="+")
    args = p.parse_args()
    _, future_test = recipe.load_future()
    _, _, gold_test = recipe.load_gold()
    for folder in args.models:
        clf = ToneClassifier.from_pretrained(folder)
        suite = run_suite(clf)
        row = {"model": folder, "future-test": recipe.measure(clf, future_test),
               "future-test, round 1 only": recipe.measure(clf, [r for r in future_test if r["round"] == 1]),
               "gold test": recipe.measure(clf, gold_test),
               "behavioural pass rate": suite["pass_rate"],
               "by category": {r["category"]: r["pass rate"] for r in suite["rows"]}}
        print(json.dumps(row), flush=True)


if __name__ == "__main__":
    main()
