"""Faithfulness and cost of phrase explanations, measured as ERASER does, on the gold test split.

    OMP_NUM_THREADS=1 python benchmarks/explain_faithfulness.py --model models/tonecls-base \\
        --json artifacts/explain-faithfulness.json

For every gold test statement ``x`` and every way of ranking its phrases, the top ``k`` (1, 2, 3)
phrases ``r_k`` are removed (``x \\ r_k``) or kept alone (``r_k``), and scored by the model:

- comprehensiveness ``p_y(x) - p_y(x \\ r_k)`` (ERASER; ``y`` the predicted level, calibrated
  probabilities): higher is better, removing the phrases takes the prediction away;
- sufficiency ``p_y(x) - p_y(r_k)``: lower is better, the phrases alone keep it;
- the same in levels: ``|E(x) - E(x \\ r_k)|`` (higher is better) and ``|E(x) - E(r_k)|``
  (lower is better), ``E`` the expected level 0-4.

Each number is averaged over k = 1, 2, 3 (ERASER's AOPC) and over statements. Rankings:

- ``occlusion``: :meth:`ToneClassifier.explain` (leave one phrase out), the library default;
- ``occlusion-pair``: the mean of leaving a phrase out and adding it alone (2x the passes);
- ``integrated-gradients``: integrated gradients on the word embeddings (baseline: [PAD]
  embeddings, ``--ig-steps`` steps, target the uncalibrated expected level), token attributions
  summed per phrase;
- ``random``: the same phrases in a random order (seeded);
- ``lexicon``: the labeling lexicon's matched markers (``tonecls.labeling.lexicon_matches``,
  negated and reported ones excluded), strongest level first (``|level - 2|``); a statement
  with fewer than ``k`` markers loses only those it has.

Time: ``--timing N`` explains N statements one at a time on one thread (after a warm-up) and
prints the median and p95 ms per statement for each method.
"""

from __future__ import annotations

import argparse
import json
import os
import random
import statistics
import sys
import time
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "training"))

KS = (1, 2, 3)


def gold_test() -> list[dict]:
    from train_default import load_gold

    return load_gold()[2]


def integrated_gradients(clf, texts, spans_of, steps: int = 16) -> list[list[tuple[int, int]]]:
    """Phrase spans ranked by |IG attribution| (sum over each phrase's tokens)."""
    import torch

    net = clf.network
    emb = net.encoder.embeddings.word_embeddings
    cls_id, sep_id, pad_id = clf.special_ids.start, clf.special_ids.end, clf.special_ids.padding
    out = []
    alphas = torch.linspace(1.0 / steps, 1.0, steps)  # right Riemann sum
    for text, spans in zip(texts, spans_of):
        enc = clf.tokenizer.encode(text, add_special_tokens=False)
        ids = [cls_id, *enc.ids[:clf.max_length - 2], sep_id]
        offsets = [(0, 0), *enc.offsets[:clf.max_length - 2], (0, 0)]
        input_ids = torch.tensor([ids] * steps)
        mask = torch.ones_like(input_ids)
        with torch.no_grad():
            x = emb(torch.tensor(ids))
            base = emb(torch.tensor([cls_id] + [pad_id] * (len(ids) - 2) + [sep_id]))
        path = (base + alphas[:, None, None] * (x - base)).requires_grad_(True)
        handle = emb.register_forward_hook(lambda module, inp, output: path)
        try:
            logits = net(input_ids, mask)
        finally:
            handle.remove()
        p = torch.softmax(logits.double(), dim=-1)
        level = p @ torch.arange(p.shape[-1], dtype=torch.float64)
        (grad,) = torch.autograd.grad(level.sum(), path)
        attr = ((x - base) * grad.mean(0)).sum(-1).detach().numpy()
        phrase_attr = []
        for a, b in spans:
            phrase_attr.append(sum(v for v, (s, e) in zip(attr, offsets) if e > s and s >= a and e <= b))
        out.append([spans[j] for j in np.argsort(-np.abs(phrase_attr), kind="stable")])
    return out


def rankings(clf, texts, methods, seed: int, ig_steps: int) -> dict[str, list[list[tuple[int, int]]]]:
    from tonecls.explanation import phrase_spans
    from tonecls.labeling.lexicon import lexicon_matches

    out = {}
    for method in methods:
        if method in ("occlusion", "occlusion-pair"):
            out[method] = [[(p.start, p.end) for p in e.phrases] for e in clf.explain(texts, method=method)]
        elif method == "integrated-gradients":
            out[method] = integrated_gradients(clf, texts, [phrase_spans(t) for t in texts], ig_steps)
        elif method == "random":
            rng = random.Random(seed)
            out[method] = [rng.sample(s, len(s)) for s in (phrase_spans(t) for t in texts)]
        elif method == "lexicon":
            ranked = []
            for t in texts:
                found = sorted(lexicon_matches(t), key=lambda m: (-abs(m[3] - 2), m[0]))
                spans: list[tuple[int, int]] = []
                for a, b, _, _ in found:  # overlapping markers count once
                    if all(b <= s or a >= e for s, e in spans):
                        spans.append((a, b))
                ranked.append(spans)
            out[method] = ranked
    return out


def measure(clf, texts, ranked: dict) -> dict:
    from tonecls.explanation import only, score_any, without
    from tonecls.scale import MAX_LEVEL

    full = score_any(clf, texts)
    y = [r.level for r in full]
    p_full = np.array([r.probabilities[k] for r, k in zip(full, y)])
    e_full = np.array([r.score for r in full]) * MAX_LEVEL
    words = np.array([len(t.split()) for t in texts])
    results = {}
    for method, spans_of in ranked.items():
        per_k = {}
        for k in KS:
            top = [s[:k] for s in spans_of]
            removed = score_any(clf, [without(t, s) for t, s in zip(texts, top)])
            kept = score_any(clf, [only(t, s) for t, s in zip(texts, top)])
            p_rm = np.array([r.probabilities[j] for r, j in zip(removed, y)])
            p_kp = np.array([r.probabilities[j] for r, j in zip(kept, y)])
            e_rm = np.array([r.score for r in removed]) * MAX_LEVEL
            e_kp = np.array([r.score for r in kept]) * MAX_LEVEL
            share = np.array([sum(len(t[a:b].split()) for a, b in s) for t, s in zip(texts, top)]) / words
            per_k[k] = {"comprehensiveness": p_full - p_rm, "sufficiency": p_full - p_kp,
                        "comp_levels": np.abs(e_full - e_rm), "suff_levels": np.abs(e_full - e_kp),
                        "words_share": share, "label_flip": np.array([r.level != j for r, j in zip(removed, y)])}
        results[method] = per_k
    return results


def summarise(results: dict, subset: np.ndarray | None = None) -> dict:
    table = {}
    for method, per_k in results.items():
        row = {}
        for key in ("comprehensiveness", "sufficiency", "comp_levels", "suff_levels", "words_share", "label_flip"):
            vals = [per_k[k][key] if subset is None else per_k[k][key][subset] for k in KS]
            row[key] = round(float(np.mean([v.mean() for v in vals])), 4)
            row[f"{key}_by_k"] = [round(float(v.mean()), 4) for v in vals]
        table[method] = row
    return table


def timing(clf, texts, methods, n: int) -> dict:
    out = {}
    for method in methods:
        if method not in ("occlusion", "occlusion-pair", "integrated-gradients"):
            continue
        from tonecls.explanation import phrase_spans

        run = (lambda t: clf.explain(t, method=method)) if method != "integrated-gradients" else \
            (lambda t: integrated_gradients(clf, [t], [phrase_spans(t)]))
        for t in texts[:5]:
            run(t)  # warm-up
        times = []
        for t in texts[:n]:
            start = time.perf_counter()
            run(t)
            times.append(1000 * (time.perf_counter() - start))
        words = [len(t.split()) for t in texts[:n]]
        by_words = {}
        for lo, hi in ((1, 20), (21, 40), (41, 10**6)):
            sel = [x for x, w in zip(times, words) if lo <= w <= hi]
            if sel:
                by_words[f"{lo}-{hi if hi < 10**6 else ''} words"] = {"n": len(sel), "median_ms": round(statistics.median(sel), 1)}
        times.sort()
        out[method] = {"n": len(times), "median_ms": round(statistics.median(times), 1),
                       "p95_ms": round(times[int(0.95 * (len(times) - 1))], 1), "mean_ms": round(float(np.mean(times)), 1),
                       "median_words": float(np.median(words)), "by_words": by_words}
    return out


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--model", default=str(ROOT / "models" / "tonecls-base"))
    parser.add_argument("--methods", default="occlusion,occlusion-pair,integrated-gradients,random,lexicon")
    parser.add_argument("--limit", type=int, default=None, help="first N gold test statements only")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--ig-steps", type=int, default=16)
    parser.add_argument("--threads", type=int, default=1)
    parser.add_argument("--timing", type=int, default=100, help="statements timed one by one per method (0: none)")
    parser.add_argument("--json", help="write the results here too")
    parser.add_argument("--backend", default="torch", help="how the network runs (tonecls.backends); default torch fp32")
    parser.add_argument("--timing-only", action="store_true", help="skip the faithfulness measurement")
    args = parser.parse_args()

    import torch

    from tonecls.classifier import ToneClassifier

    torch.set_num_threads(args.threads)
    clf = ToneClassifier.from_pretrained(args.model, backend=args.backend)
    rows = gold_test()[:args.limit]
    texts = [r["text"] for r in rows]
    methods = args.methods.split(",")
    if args.timing_only:
        report = {"model": args.model, "backend": clf.backend, "threads": args.threads,
                  "timing_one_thread": timing(clf, texts, methods, args.timing), "load_average": os.getloadavg()}
        print(json.dumps(report, indent=2))
        return
    start = time.perf_counter()
    ranked = rankings(clf, texts, methods, args.seed, args.ig_steps)
    results = measure(clf, texts, ranked)
    from tonecls.labeling.lexicon import lexicon_matches

    has_marker = np.array([bool(lexicon_matches(t)) for t in texts])
    report = {
        "model": args.model, "metrics_json_mtime": time.strftime(
            "%Y-%m-%d %H:%M:%S", time.gmtime(os.path.getmtime(Path(args.model) / "metrics.json"))),
        "n": len(texts), "n_with_lexicon_marker": int(has_marker.sum()),
        "n_multi_window": int(sum(r.windows > 1 for r in clf.score(texts))),
        "mean_phrases": round(float(np.mean([len(s) for s in ranked[methods[0]]])), 2),
        "all": summarise(results), "with_lexicon_marker": summarise(results, has_marker),
        "measure_s": round(time.perf_counter() - start, 1),
        "timing_one_thread": timing(clf, texts, methods, args.timing) if args.timing else {},
        "backend": clf.backend, "threads": args.threads, "load_average": os.getloadavg(),
    }
    text = json.dumps(report, indent=2)
    print(text)
    if args.json:
        Path(args.json).parent.mkdir(parents=True, exist_ok=True)
        Path(args.json).write_text(text + "\n")


if __name__ == "__main__":
    main()
