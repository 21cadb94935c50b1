"""The behavioural suite: minimal pairs by category, pass rate per category.

    python benchmarks/behaviour.py [MODEL_FOLDER] [--json] [--failures]

``behaviour/suite.jsonl`` holds pairs ``a`` / ``b`` that differ in a few words (a negation, a
condition, reported speech, a trade measure framed as punishment, ...), written by one annotator
session and rated blind by two others; each statement's level is the raters' (adjudicated where
they differed; ``behaviour/README.md``). A pair **passes** when

* each statement's predicted level is within one level of its rated level, and
* the pair moves the right way: if the rated levels differ, the model's score moves in the same
  direction by at least a quarter of a level (0.0625 on the 0-1 score); if they are equal, the
  scores differ by less than half a level (0.125).

``exact`` is the stricter share of pairs whose two predicted levels both equal the rated ones.
The suite is a test: nothing is trained or chosen on it (training drops any statement whose text
is in it).
"""

from __future__ import annotations

import argparse
import json
import sys
from collections import defaultdict
from pathlib import Path

HERE = Path(__file__).resolve().parent
SUITE = HERE / "behaviour" / "suite.jsonl"
MOVE, SAME = 0.0625, 0.125
DESCRIPTION = ("Minimal pairs written from the scale and rated blind by two annotators (benchmarks/behaviour/README.md). "
               "A pair passes when both predicted levels are within one of the rated levels and the score moves the "
               "right way (by at least a quarter level when the rated levels differ, by less than half a level when "
               "they are equal); `exact`: both predicted levels equal the rated ones. `python benchmarks/behaviour.py`.")


def load_suite(path: Path = SUITE) -> list[dict]:
    with open(path, encoding="utf-8") as f:
        return [json.loads(line) for line in f if line.strip()]


def judge(case: dict, a, b) -> dict:
    """Whether one pair passes, given the model's :class:`~tonecls.ToneScore` of ``a`` and ``b``."""
    want = case["level_b"] - case["level_a"]
    moved = b.score - a.score
    direction = moved >= MOVE if want > 0 else moved <= -MOVE if want < 0 else abs(moved) < SAME
    near = abs(a.level - case["level_a"]) <= 1 and abs(b.level - case["level_b"]) <= 1
    return {"pass": bool(direction and near), "exact": a.level == case["level_a"] and b.level == case["level_b"],
            "levels": [a.level, b.level], "scores": [round(a.score, 3), round(b.score, 3)]}


def run_suite(clf, cases: list[dict] | None = None) -> dict:
    """Pass rates per category and overall for the classifier ``clf``."""
    cases = load_suite() if cases is None else cases
    scores = clf.score([t for c in cases for t in (c["a"], c["b"])])
    by_category = defaultdict(list)
    results = []
    for i, case in enumerate(cases):
        verdict = judge(case, scores[2 * i], scores[2 * i + 1])
        by_category[case["category"]].append(verdict)
        results.append({**case, **verdict})
    rows = [{"category": cat, "pairs": len(v), "pass rate": round(sum(x["pass"] for x in v) / len(v), 3),
             "exact": round(sum(x["exact"] for x in v) / len(v), 3)} for cat, v in sorted(by_category.items())]
    return {"pass_rate": round(sum(r["pass"] for r in results) / len(results), 4),
            "exact": round(sum(r["exact"] for r in results) / len(results), 4),
            "min_category": min(r["pass rate"] for r in rows), "rows": rows, "results": results,
            "description": DESCRIPTION}


def main() -> None:
    root = HERE.parent
    sys.path.insert(0, str(root))
    from tonecls.classifier import ToneClassifier

    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("model", nargs="?", default=str(root / "models" / "tonecls-base"))
    parser.add_argument("--json", action="store_true")
    parser.add_argument("--failures", action="store_true", help="list the failing pairs")
    args = parser.parse_args()
    report = run_suite(ToneClassifier.from_pretrained(args.model))
    if args.json:
        print(json.dumps({k: v for k, v in report.items() if k != "results"}, indent=2))
        return
    for r in report["rows"]:
        print(f"{r['category']:<12} {r['pairs']:>3} pairs  pass {r['pass rate']:.0%}  exact {r['exact']:.0%}")
    print(f"{'all':<12} {len(report['results']):>3} pairs  pass {report['pass_rate']:.0%}  exact {report['exact']:.0%}")
    if args.failures:
        for r in report["results"]:
            if not r["pass"]:
                print(f"\n{r['case_id']}: rated {r['level_a']}/{r['level_b']}, model {r['levels']} {r['scores']}\n"
                      f"  a: {r['a']}\n  b: {r['b']}")


if __name__ == "__main__":
    main()
