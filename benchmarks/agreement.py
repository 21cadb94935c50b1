"""Agreement of the fast backends with the fp32 reference, and the record that ``backend="auto"`` reads.

    .venv/bin/python benchmarks/agreement.py models/tonecls-base --data training/gold/gold.jsonl:dev \
        --data training/future/future.jsonl:future-dev --save --to-model-folder   # writes MODEL/fast.json

The guard is chosen on dev splits (above: gold dev and future-dev); measure the chosen setting on
test splits with ``benchmarks/int8_recipes.py``, never choose on them.

For each backend (onnx fp32, torch dynamic int8, ONNX Runtime per-channel int8; the head always
fp32) it scores the labelled statements once, window by window, and computes, for every guard
``g`` in ``--guards``, the levels that the guarded backend gives (windows whose two top levels
are within ``g`` in log-probability are re-run in fp32) and their agreement with torch fp32:
the share of statements with the identical level, the share of windows re-run, the largest
change in ``score``, and accuracy / QWK against the labels when the file has them. The
recommended setting is the fastest backend with the smallest guard whose agreement is at least
``--min-agreement`` (default 0.995, a margin over the 99 % target for a test split of a few
hundred statements); it is then run for real as a check. ``--save`` writes the record.

``--smooth ALPHA`` quantises the smoothed network for onnx-int8 (:mod:`tonecls.smoothing`; choose
ALPHA on dev sets with ``benchmarks/int8_recipes.py``): the activation maxima of ``--calibration``
*training* statements (``PATH:N``, the first N; ``PATH``, all) are written beside the record
(``int8-smoothing.safetensors``) when it is saved, and the record names them with their sha256.
"""

from __future__ import annotations

import argparse
import json
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

GUARDS = (0.0, 0.05, 0.1, 0.15, 0.2, 0.25, 0.3, 0.4, 0.5, 0.75, 1.0, 1.5, 2.0, 3.0)
SPEED_ORDER = ("onnx-int8", "int8")  # fastest first (benchmarks/README.md)


def read_labelled(path: Path, split: str | None, text_field: str, level_field: str):
    from tonecls.scale import level_from_label

    texts, levels = [], []
    opener = __import__("gzip").open if path.name.endswith(".gz") else open
    with opener(path, "rt", encoding="utf-8") as f:
        for line in f:
            if not line.strip():
                continue
            rec = json.loads(line)
            if split is not None and rec.get("split") != split:
                continue
            text = rec.get(text_field)
            if not isinstance(text, str) or not text.strip():
                continue
            texts.append(text)
            value = rec.get(level_field)
            try:
                levels.append(level_from_label(value) if value is not None else -1)
            except ValueError:
                levels.append(-1)
    return texts, np.asarray(levels)


def statement_levels(clf, enc, window_logits, n):
    from tonecls.scale import score_from_probabilities

    logits, _ = clf.aggregate_windows(enc, window_logits, n)
    probs = clf.calibrated_probabilities(logits)
    return probs.argmax(axis=1), score_from_probabilities(probs)


def guarded_windows(clf, fast, reference, guard):
    if guard <= 0:
        return fast, 0.0
    with np.errstate(divide="ignore"):
        logp = np.sort(np.log(clf.calibrated_probabilities(fast)), axis=1)
    redo = (logp[:, -1] - logp[:, -2]) < guard
    out = fast.copy()
    out[redo] = reference[redo]
    return out, float(redo.mean())


def quality(pred, gold):
    mask = gold >= 0
    if not mask.any():
        return {}
    from sklearn.metrics import cohen_kappa_score

    return {"accuracy": float(np.mean(pred[mask] == gold[mask])),
            "qwk": float(cohen_kappa_score(gold[mask], pred[mask], weights="quadratic", labels=list(range(5))))}


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("model", help="model folder")
    ap.add_argument("--data", required=True, action="append",
                    help="labelled JSONL(.gz): text, level, split; PATH:SPLIT takes that split (repeatable)")
    ap.add_argument("--split", default="dev", help="split of a --data without :SPLIT ('' for all rows)")
    ap.add_argument("--text-field", default="text")
    ap.add_argument("--level-field", default="level")
    ap.add_argument("--backends", default="onnx,int8,onnx-int8")
    ap.add_argument("--guards", default=",".join(map(str, GUARDS)))
    ap.add_argument("--min-agreement", type=float, default=0.995)
    ap.add_argument("--threads", type=int, default=2)
    ap.add_argument("--limit", type=int, default=None, help="use the first N rows only")
    ap.add_argument("--save", action="store_true", help="write the record (cache dir, or --to-model-folder)")
    ap.add_argument("--to-model-folder", action="store_true", help="write MODEL/fast.json")
    ap.add_argument("--json", help="also write the full report here")
    ap.add_argument("--smooth", type=float, default=None, metavar="ALPHA",
                    help="onnx-int8 quantises the smoothed network (tonecls.smoothing) with this alpha")
    ap.add_argument("--calibration", default="training/silver/silver.jsonl:300", metavar="PATH:N",
                    help="training statements (JSONL, field text) whose first N give the activation maxima for --smooth")
    args = ap.parse_args(argv)

    import torch

    torch.set_num_threads(args.threads)
    from tonecls.classifier import ToneClassifier
    from tonecls.backends import apply_backend, cache_dir, save_agreement_record, weights_key

    texts, gold, parts = [], [], []
    for item in args.data:
        path, _, split = item.partition(":")
        split = split or args.split or None
        t, g = read_labelled(Path(path), split, args.text_field, args.level_field)
        if not t:
            raise SystemExit(f"{path}: no rows with split={split!r}")
        texts, gold, parts = texts + t, np.concatenate([gold, g]).astype(int), parts + [f"{path} split={split!r}"]
    if args.limit:
        texts, gold = texts[:args.limit], gold[:args.limit]
    data_name = " + ".join(parts)
    ref = ToneClassifier.from_pretrained(args.model)
    enc = ref.encode(texts)
    n = len(texts)
    ref.window_logits(type(enc)(enc.windows[:64], enc.owner[:64]))  # warm-up
    t = time.perf_counter()
    w_torch = ref.window_logits(enc)
    timings = {"torch": time.perf_counter() - t}
    ref_levels, ref_scores = statement_levels(ref, enc, w_torch, n)
    print(f"{args.model}: {n} statements ({len(enc.windows)} windows) from {data_name}; "
          f"reference torch fp32 {n / timings['torch']:.0f}/s")
    guards = [float(g) for g in args.guards.split(",")]
    smoothing = None
    if args.smooth is not None:
        from tonecls.smoothing import activation_maxima, save_maxima

        path, sep, count = args.calibration.rpartition(":")
        if not sep or not count.isdigit():
            path, count = args.calibration, None
        with open(path, encoding="utf-8") as f:
            calibration = [json.loads(line)["text"] for line in f if line.strip()][:int(count) if count else None]
        maxima = activation_maxima(ref.network, [torch.tensor(w) for w in ref.encode(calibration).windows])
        # Measured from a private copy; the file beside the record is written only with the record (--save).
        file = Path(tempfile.mkdtemp(prefix="tonecls-smoothing-")) / "int8-smoothing.safetensors"
        smoothing = {"alpha": args.smooth, "file": str(file), "sha256": save_maxima(maxima, file)}
        print(f"smoothing alpha {args.smooth}: activation maxima of {len(calibration)} statements of {path}")
    results: dict = {"torch": {"agreement": 1.0, **quality(ref_levels, gold)}}
    windows: dict = {}
    for backend in args.backends.split(","):
        clf = ToneClassifier.from_pretrained(args.model)
        apply_backend(clf, backend, guard=0.0, threads=args.threads,
                      smoothing=smoothing if backend == "onnx-int8" else None)
        clf.window_logits(type(enc)(enc.windows[:64], enc.owner[:64]))  # warm-up
        t = time.perf_counter()
        windows[backend] = clf.window_logits(enc)
        timings[backend] = time.perf_counter() - t
    # each int8 backend's guard re-runs in its own fp32 engine: torch for int8, ORT fp32 for onnx-int8
    fp32_of = {"int8": w_torch, "onnx-int8": windows.get("onnx", w_torch)}
    for backend, w in windows.items():
        rows = []
        for g in (guards if backend in fp32_of else [0.0]):
            mixed, rerun = guarded_windows(ref, w, fp32_of.get(backend, w_torch), g)
            levels, scores = statement_levels(ref, enc, mixed, n)
            rows.append({"guard": g, "agreement": float(np.mean(levels == ref_levels)), "rerun_fraction": rerun,
                         "changed": int(np.sum(levels != ref_levels)),
                         "max_abs_score_change": float(np.max(np.abs(scores - ref_scores))),
                         "mean_abs_score_change": float(np.mean(np.abs(scores - ref_scores))), **quality(levels, gold)})
        results[backend] = {"rate_unguarded": n / timings[backend], "by_guard": rows}
        print(f"\n{backend}: {n / timings[backend]:.0f} statements/s unguarded "
              f"(torch fp32 {n / timings['torch']:.0f}/s, same run)")
        print("  guard  agreement  changed  rerun   mean|Δscore| max|Δscore|" + ("  accuracy  qwk" if rows[0].get("qwk") is not None else ""))
        for r in rows:
            q = f"  {r['accuracy']:.3f}    {r['qwk']:.3f}" if "qwk" in r else ""
            print(f"  {r['guard']:5.2f}  {r['agreement']:.4f}   {r['changed']:5d}   {r['rerun_fraction']:.3f}  "
                  f"{r['mean_abs_score_change']:.4f}       {r['max_abs_score_change']:.4f}{q}")

    recommended = None
    for backend in SPEED_ORDER:
        if backend not in results:
            continue
        ok = [r for r in results[backend]["by_guard"] if r["agreement"] >= args.min_agreement]
        if ok:
            best = min(ok, key=lambda r: r["guard"])
            recommended = {"backend": backend, "guard": best["guard"], "agreement": best["agreement"],
                           "rerun_fraction": best["rerun_fraction"], "exclude": ["head"]}
            if smoothing and backend == "onnx-int8":
                name = ("int8-smoothing.safetensors" if args.to_model_folder else
                        f"{weights_key(ref)[:32]}-int8-smoothing.safetensors")  # beside the record
                recommended["smoothing"] = {"alpha": args.smooth, "file": name, "sha256": smoothing["sha256"],
                                            "calibration": args.calibration}
            break
    if recommended is None and "onnx" in results:
        recommended = {"backend": "onnx", "guard": 0.0, "agreement": results["onnx"]["by_guard"][0]["agreement"],
                       "rerun_fraction": 0.0, "exclude": ["head"]}
    if recommended:  # run the recommended setting for real: the simulation must hold
        clf = ToneClassifier.from_pretrained(args.model)
        apply_backend(clf, recommended["backend"], guard=recommended["guard"], threads=args.threads,
                      smoothing=smoothing if "smoothing" in recommended else None)
        t = time.perf_counter()
        real = clf.predict_proba(texts).argmax(axis=1)
        recommended["rate"] = n / (time.perf_counter() - t)
        recommended["checked_agreement"] = float(np.mean(real == ref_levels))
        print(f"\nrecommended: {clf.backend}: agreement {recommended['checked_agreement']:.4f} (run for real), "
              f"{recommended['rate']:.0f} statements/s vs torch fp32 {n / timings['torch']:.0f}/s")
    record = {"created": time.strftime("%Y-%m-%dT%H:%M:%S"), "model": str(args.model),
              "data": f"{data_name} n={n}", "reference": "torch fp32",
              "min_agreement": args.min_agreement, "threads": args.threads, "results": results,
              "recommended": recommended}
    if args.json:
        Path(args.json).write_text(json.dumps(record, indent=2) + "\n")
    if args.save:
        if recommended and "smoothing" in recommended:  # the maxima first: the record names them by sha256
            folder = Path(args.model) if args.to_model_folder else cache_dir() / "agreement"
            if save_maxima(maxima, folder / recommended["smoothing"]["file"]) != smoothing["sha256"]:
                raise SystemExit("the maxima written beside the record differ from the ones measured; record not saved")
        path = save_agreement_record(ref, record, to_model_folder=args.to_model_folder)
        print(f"record written to {path}: backend='auto' now uses {recommended and recommended['backend']}"
              f"{'+guard' + format(recommended['guard'], 'g') if recommended and recommended['guard'] else ''}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
