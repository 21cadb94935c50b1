"""Draw the candidate statements of the gold set from the shared corpora.

Reproducible (fixed seed): ``python training/gold/sample_gold.py --out gold_candidates.jsonl``.

Sampling: documents are drawn from every year of both corpora; each document gives at most
two statements. Because confrontational statements are rare, candidates are enriched with a
crude keyword bucket (never shown to annotators): equal numbers are drawn from five buckets
of increasingly strong wording, so every level appears often enough to be measured.
"""

from __future__ import annotations

import argparse
import gzip
import json
import random
import re
from collections import defaultdict
from pathlib import Path

DATA = Path(__file__).resolve().parents[3] / "shared" / "data" / "statements"
FILES = ("un-general-debate-1990-2022.jsonl.gz", "white-house-2021-2025.jsonl.gz")

# Crude enrichment buckets; the strongest matching bucket wins. Not labels.
BUCKETS = [
    ("threat", r"\b(will pay|heavy price|countermeasures|retaliat\w*|ultimatum|play(ing)? with fire|"
               r"consequences|sanction\w*|military action|force if|tariffs? on|leverage|aggressor\w*|"
               r"criminal regime|terrorist state|lies|liars?|puppet)\b"),
    ("demand", r"\b(must|demand\w*|will not (accept|tolerate|allow)|bears? (full )?responsibility|"
               r"all necessary measures|warn\w*|insist\w*|cannot be tolerated|no longer)\b"),
    ("criticism", r"\b(concern\w*|oppose\w*|condemn\w*|regret\w*|unacceptable|deplor\w*|reject\w*|"
                  r"violat\w*|urge\w*|disappoint\w*)\b"),
    ("warm", r"\b(thank\w*|congratulat\w*|welcome\w*|grateful|gratitude|friendship|partnership|"
             r"hope|dialogue|appreciat\w*|restraint)\b"),
    ("plain", r""),
]
# Round 2: the first 688 candidates held too few assertive/confrontational statements
# (annotator A: 36 and 6), so a supplement is drawn from statements with hostile wording only.
HOSTILE = (r"\b(will pay|pay (a|the) (heavy )?price|severe costs?|impose costs|countermeasures|retaliat\w*|"
           r"ultimatum|play(ing)? with fire|will (respond|not hesitate|not stand|not tolerate|not allow|be held "
           r"accountable|defend)|hold \w+ accountable|bears? (full )?responsibility|all necessary measures|"
           r"aggressor|war crim\w*|butcher\w*|barbar\w*|imperialis\w*|regime|liars?|puppet|thugs?|dictator\w*|"
           r"warmonger\w*|evil|zionist|blackmail|sanctions? (on|against)|tariffs? on|threaten\w* (us|our)|"
           r"must (stop|end|withdraw|cease)|consequences for|we (will|shall) never)\b")
SENTENCE = re.compile(r"(?<!\bMr\.)(?<!\bMs\.)(?<!\bDr\.)(?<!\bSt\.)(?<!\bNo\.)(?:(?<=[.!?])|(?<=[.!?][\"”’)]))\s+(?=[A-Z“\"])")


def sentences(text: str):
    # Some UN speeches are hard-wrapped: a line that does not end a sentence continues it.
    text = re.sub(r"(?<![.!?:;\"”])\n(?=[a-z(“\"0-9])", " ", text)
    text = re.sub(r"\[([^\]]*)\]\([^)]*\)", r"\1", text).replace("**", "").replace("\\", "")
    for paragraph in text.split("\n"):
        for s in SENTENCE.split(paragraph.strip()):
            s = " ".join(s.split())
            n = len(s.split())
            if 8 <= n <= 60 and s[:1].isupper() and "â" not in s and s[-1:] in ".!?\"”" and not s.startswith(("Q ", "Q.", "MR.", "MS.")):
                yield s


def bucket_of(s: str) -> str:
    for name, pattern in BUCKETS:
        if not pattern or re.search(pattern, s, flags=re.I):
            return name
    return "plain"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--out", required=True)
    parser.add_argument("--per-bucket", type=int, default=150)
    parser.add_argument("--seed", type=int, default=13)
    parser.add_argument("--supplement", metavar="CANDIDATES",
                        help="draw the round-2 supplement of hostile wording, avoiding these candidates' documents")
    parser.add_argument("--exclude", nargs="*", default=[], metavar="CANDIDATES",
                        help="stratified draw (as round 1) from documents not in these candidate files (round 3)")
    parser.add_argument("--prefix", help="gold_id prefix (default: g, or s for the supplement)")
    args = parser.parse_args()
    rng = random.Random(args.seed)

    pools: dict[str, list[dict]] = defaultdict(list)
    for name in FILES:
        with gzip.open(DATA / name, "rt", encoding="utf-8") as f:
            docs = [json.loads(line) for line in f]
        by_year = defaultdict(list)
        for d in docs:
            by_year[d["date"][:4]].append(d)
        excluded = {json.loads(line)["doc_id"] for path in args.exclude for line in open(path, encoding="utf-8")}
        for year, year_docs in sorted(by_year.items()):
            year_docs = [d for d in year_docs if d["id"] not in excluded]
            k = len(year_docs) if args.supplement else min(len(year_docs), 40)
            for d in rng.sample(year_docs, k):
                for s in sentences(d["text"]):
                    pools[bucket_of(s)].append(
                        {"doc_id": d["id"], "source": d["source"], "actor": d["actor"],
                         "date": d["date"], "text": s}
                    )

    chosen, per_doc = [], defaultdict(int)
    if args.supplement:
        taken_docs = {json.loads(line)["doc_id"] for line in open(args.supplement, encoding="utf-8")}
        hits = {}
        for c in (c for p in pools.values() for c in p if c["doc_id"] not in taken_docs):
            n = len(set(m.group(0).lower() for m in re.finditer(HOSTILE, c["text"], flags=re.I)))
            if n:
                hits[(c["doc_id"], c["text"])] = (n, c)
        pool = [c for _, (n, c) in sorted(hits.items())]
        rng.shuffle(pool)
        # Sentences with several distinct hostile markers first.
        pool.sort(key=lambda c: -min(hits[(c["doc_id"], c["text"])][0], 2))
        taken = {"un": 0, "wh": 0}
        for c in pool:
            corpus = "un" if c["source"] == "un-general-debate" else "wh"
            if per_doc[c["doc_id"]] < 2 and taken[corpus] < args.per_bucket // 2:
                per_doc[c["doc_id"]] += 1
                taken[corpus] += 1
                chosen.append(c)
        prefix = "s"
    else:
        prefix = "g"
    for name, _ in BUCKETS if not args.supplement else []:
        pool = pools[name]
        rng.shuffle(pool)
        # Half from each corpus where possible, so neither register dominates a bucket.
        taken = {"un": 0, "wh": 0}
        for c in pool:
            corpus = "un" if c["source"] == "un-general-debate" else "wh"
            if taken[corpus] >= args.per_bucket // 2 or per_doc[c["doc_id"]] >= 2:
                continue
            taken[corpus] += 1
            per_doc[c["doc_id"]] += 1
            chosen.append(c)
            if sum(taken.values()) >= args.per_bucket:
                break
    rng.shuffle(chosen)
    prefix = args.prefix or prefix
    with open(args.out, "w", encoding="utf-8") as f:
        for i, c in enumerate(chosen):
            f.write(json.dumps({"gold_id": f"{prefix}{i:04d}", **c}, ensure_ascii=False) + "\n")
    print(f"wrote {len(chosen)} candidates to {args.out}")


if __name__ == "__main__":
    main()
