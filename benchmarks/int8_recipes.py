"""Which int8 recipe agrees with fp32 without a guard? Agreement and speed of each, side by side.

    OMP_NUM_THREADS=2 .venv/bin/python benchmarks/int8_recipes.py models/tonecls-base --json artifacts/int8-recipes.json

Every recipe quantises the same fp32 ONNX graph of the model (the head always stays fp32) and runs
each window alone on single-threaded ONNX Runtime sessions, two windows at a time (as the library
does, so that a statement's numbers never depend on its neighbours). For each recipe and each text
set it reports the share of statements whose level equals torch fp32's and the largest change in
``score``; the rate is windows per second over all sets (interleaved runs, median of ``--runs``).

Text sets: the gold dev split and future-dev (for choosing a guard), the gold test split, the
future test split and ``--n`` unlabelled sentences of the held-out future period of the shared
corpora (White House from July 2024, UN General Debate 2021-2022; no model was trained on them)
for reporting. The static recipe is calibrated on ``--calibration`` *training* statements
(silver 1), never on these sets.

The guard (:mod:`tonecls.backends`) re-runs in fp32 the windows whose two top levels are within
``g`` in log-probability. For every recipe the smallest ``g`` of :data:`GUARDS` that keeps >= 99 %
of levels on *both dev sets* is chosen; the report gives that guard's agreement on the test sets,
the share of windows it re-runs, and the rate it implies,
``1 / (1 / int8 rate + re-run share / fp32 rate)``.

Recipes:
``dynamic``              the library's recipe: per-channel int8 weights, activations quantised per
                         tensor at run time (ONNX Runtime ``quantize_dynamic``)
``dynamic-7bit``         the same with ``reduce_range`` (7-bit weights: no int16 saturation in the
                         u8 x s8 kernels of CPUs without VNNI)
``dynamic-keep-ffn-out`` ``dynamic`` with every layer's FFN output projection (``output.dense``) in fp32
``dynamic-keep-last``    ``dynamic`` with the last encoder layer in fp32
``static``               static (calibrated) activation scales, per-channel weights, QDQ format
``nbits8-bN``            ``MatMulNBits`` 8-bit weights in blocks of N along the input, int8
                         compute with activations quantised per row and block (``accuracy_level=4``)
``smooth-aNN``           ``dynamic`` on the smoothed network (:mod:`tonecls.smoothing`, alpha = NN / 100,
                         activation maxima from the ``--calibration`` training statements)
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

GUARDS = (0.0, 0.05, 0.1, 0.15, 0.2, 0.25, 0.3, 0.4, 0.5, 0.75, 1.0)
TARGET = 0.99
RECIPES = ("dynamic", "dynamic-7bit", "dynamic-keep-ffn-out", "dynamic-keep-last", "static", "nbits8-b32",
           "nbits8-b128", "smooth-a50", "smooth-a65", "smooth-a80", "smooth-a90", "smooth-a100")


def head_nodes(model) -> list[str]:
    names = [n.name for n in model.graph.node if n.op_type in ("MatMul", "Gemm") and n.name.startswith("/head/")]
    return names + [f"{n}_MatMul" for n in names]


def build(recipe: str, fp32: Path, out: Path, calibration: list[np.ndarray], network=None) -> Path:
    import onnx
    from onnxruntime.quantization import QuantType, quantize_dynamic

    path = out / f"{recipe}.onnx"
    if path.is_file():
        return path
    if recipe.startswith("smooth"):
        import torch

        from tonecls import graphs, smoothing

        maxima = smoothing.activation_maxima(network, [torch.from_numpy(w) for w in calibration])
        net = smoothing.smoothed(network, maxima, alpha=int(recipe.split("-a")[1]) / 100)
        fp32 = graphs._export(net, out / f"{recipe}-fp32.onnx")
        recipe = "dynamic"
    model = onnx.load(str(fp32))
    keep = head_nodes(model)
    matmuls = [n.name for n in model.graph.node if n.op_type in ("MatMul", "Gemm")]
    if recipe.startswith("dynamic"):
        if recipe == "dynamic-keep-ffn-out":
            keep += [m for m in matmuls if "/output/dense/" in m and "/attention/" not in m]
        if recipe == "dynamic-keep-last":
            last = max(int(m.split("layer.")[1].split("/")[0]) for m in matmuls if "layer." in m)
            keep += [m for m in matmuls if f"layer.{last}/" in m]
        quantize_dynamic(str(fp32), str(path), per_channel=True, reduce_range=recipe == "dynamic-7bit",
                         weight_type=QuantType.QInt8, op_types_to_quantize=["MatMul", "Gemm"], nodes_to_exclude=keep)
    elif recipe == "static":
        from onnxruntime.quantization import CalibrationDataReader, QuantFormat, quantize_static

        class Reader(CalibrationDataReader):
            def __init__(self):
                self.rows = iter(calibration)

            def get_next(self):
                ids = next(self.rows, None)
                if ids is None:
                    return None
                return {"input_ids": ids[None, :], "attention_mask": np.ones_like(ids)[None, :]}

        quantize_static(str(fp32), str(path), Reader(), quant_format=QuantFormat.QDQ, per_channel=True,
                        activation_type=QuantType.QUInt8, weight_type=QuantType.QInt8,
                        op_types_to_quantize=["MatMul", "Gemm"], nodes_to_exclude=keep)
    elif recipe.startswith("nbits8"):
        from onnxruntime.quantization.matmul_nbits_quantizer import MatMulNBitsQuantizer

        block = int(recipe.split("-b")[1])
        q = MatMulNBitsQuantizer(model, bits=8, block_size=block, is_symmetric=True, accuracy_level=4,
                                 nodes_to_exclude=keep)
        q.process()
        q.model.save_model_to_file(str(path), False)
    else:
        raise ValueError(recipe)
    return path


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("model")
    ap.add_argument("--n", type=int, default=2000, help="unlabelled future-period sentences")
    ap.add_argument("--calibration", type=int, default=300)
    ap.add_argument("--recipes", default=",".join(RECIPES))
    ap.add_argument("--runs", type=int, default=3)
    ap.add_argument("--threads", type=int, default=2)
    ap.add_argument("--work", default=str(ROOT / "artifacts" / "int8-recipes"))
    ap.add_argument("--json")
    args = ap.parse_args(argv)

    import torch

    torch.set_num_threads(args.threads)
    from _common import agreement_sets
    from agreement import guarded_windows

    from tonecls import backends
    from tonecls.classifier import ToneClassifier
    from tonecls.scale import score_from_probabilities

    clf = ToneClassifier.from_pretrained(args.model)
    sets = agreement_sets(args.n)
    choosing, reporting = ("gold dev", "future dev"), ("gold test", "future test", "future sentences")
    words = {k: float(np.mean([len(t.split()) for t in v])) for k, v in sets.items()}
    encs = {k: clf.encode(v) for k, v in sets.items()}
    silver = [json.loads(line)["text"] for line in open(ROOT / "training/silver/silver.jsonl", encoding="utf-8")]
    calib = [np.asarray(w, dtype=np.int64) for w in clf.encode(silver[:args.calibration]).windows]

    def levels(name, window_logits):
        logits, _ = clf.aggregate_windows(encs[name], window_logits, len(sets[name]))
        p = clf.calibrated_probabilities(logits)
        return p.argmax(axis=1), score_from_probabilities(p)

    reference = {k: levels(k, clf.window_logits(e)) for k, e in encs.items()}
    work = Path(args.work) / f"{backends.weights_key(clf)[:16]}-calibration{args.calibration}"
    work.mkdir(parents=True, exist_ok=True)
    fp32 = backends.export_onnx(clf)
    recipes = args.recipes.split(",")
    runners = {"fp32 (ONNX)": backends.ort_forward(fp32, args.threads)}
    for r in recipes:
        t = time.perf_counter()
        runners[r] = backends.ort_int8_forward(build(r, fp32, work, calib, clf.network), args.threads)
        print(f"built {r} in {time.perf_counter() - t:.1f} s", flush=True)

    def run_all(forward):
        out = {}
        for k, e in encs.items():
            out[k] = clf.window_logits(e) if forward is None else _window_logits(clf, e, forward)
        return out

    times: dict[str, list[float]] = {name: [] for name in runners}
    logits: dict[str, dict] = {}
    for _ in range(args.runs):
        for name, forward in runners.items():
            t = time.perf_counter()
            logits[name] = run_all(forward)
            times[name].append(time.perf_counter() - t)
    n_windows = sum(len(e.windows) for e in encs.values())
    report = {"model": args.model, "cpu": backends.cpu_kind(), "runtime": backends.runtime_versions(),
              "threads": args.threads, "windows": n_windows, "statements": {k: len(v) for k, v in sets.items()},
              "mean_words": words, "recipes": {}}
    fp32_rate = n_windows / statistics.median(times["fp32 (ONNX)"])
    print(f"\n{n_windows} windows, CPU {report['cpu']}; mean words: " + ", ".join(f"{k} {v:.1f}" for k, v in words.items()))
    print(f"{'recipe':22s} {'win/s':>6s} {'unguarded (test sets)':>24s}  guard  re-run  {'guarded (test sets)':>24s} "
          f"implied win/s  max|Δscore|")
    for name in runners:
        rate = n_windows / statistics.median(times[name])
        by_guard = []
        for g in (GUARDS if name in recipes else (0.0,)):
            per, rerun, total = {}, 0, 0
            for k in sets:
                mixed, share = guarded_windows(clf, logits[name][k], logits["fp32 (ONNX)"][k], g)
                rerun, total = rerun + share * len(mixed), total + len(mixed)
                lv, sc = levels(k, mixed)
                per[k] = {"agreement": float(np.mean(lv == reference[k][0])), "changed": int(np.sum(lv != reference[k][0])),
                          "max_abs_score_change": float(np.max(np.abs(sc - reference[k][1]))),
                          "mean_abs_score_change": float(np.mean(np.abs(sc - reference[k][1])))}
            share = rerun / total
            by_guard.append({"guard": g, "rerun_fraction": share, "implied_rate": 1 / (1 / rate + share / fp32_rate),
                             "sets": per})
        ok = [r for r in by_guard if all(r["sets"][k]["agreement"] >= TARGET for k in choosing)]
        chosen = ok[0] if ok else None
        report["recipes"][name] = {"windows_per_s": rate, "runs_s": times[name], "by_guard": by_guard,
                                   "chosen_guard": None if chosen is None else chosen["guard"]}
        unguarded = " ".join(f"{by_guard[0]['sets'][k]['agreement']:7.2%}" for k in reporting)
        if chosen is None:
            print(f"{name:22s} {rate:6.1f} {unguarded:>24s}  none reaches {TARGET:.0%} on the dev sets")
            continue
        guarded = " ".join(f"{chosen['sets'][k]['agreement']:7.2%}" for k in reporting)
        worst = max(chosen["sets"][k]["max_abs_score_change"] for k in reporting)
        print(f"{name:22s} {rate:6.1f} {unguarded:>24s}  {chosen['guard']:5.2f} {chosen['rerun_fraction']:6.1%}  "
              f"{guarded:>24s} {chosen['implied_rate']:13.1f}  {worst:.3f}", flush=True)
    if args.json:
        Path(args.json).write_text(json.dumps(report, indent=2) + "\n")
    return 0


def _window_logits(clf, enc, forward):
    from tonecls.backends import Runner

    saved = clf.runner
    clf.runner = Runner(forward, "experiment")
    try:
        return clf.window_logits(enc)
    finally:
        clf.runner = saved


if __name__ == "__main__":
    raise SystemExit(main())
