"""Throughput (statements/s) of tonecls's scoring paths against ``transformers.pipeline``.

    OMP_WAIT_POLICY=PASSIVE OMP_NUM_THREADS=2 .venv/bin/python benchmarks/throughput.py models/tonecls-base \
        --n 2000 --runs 3 --paths pipeline,pipeline-b64,torch,score,cli

Same model, same texts, same process, same threads (``--threads``, default 2). ``--texts future``
(default) takes ``--n`` sentences of the held-out future period (White House from July 2024, UN
General Debate 2021-2022; benchmarks/_common.py); ``--texts corpus`` takes sentences of 20-60
words from the whole corpora (the earlier tables). Runs are interleaved (run 1 of every path,
then run 2, ...) so that load from other processes falls on all paths alike; the table gives the
median of ``--runs`` runs, the ratio to the pipeline with its defaults, and the share of levels
equal to torch fp32's.

What is compared. The pipeline gets the *same network*: a ``BertForSequenceClassification``
whose encoder and classifier hold the ToneClassifier's weights, with ``forward`` overridden to
use the model's mean pooling instead of BERT's CLS pooler (a stock
``BertForSequenceClassification`` would apply an untrained pooler); it runs through
``pipeline("text-classification", model=..., tokenizer=...)`` with the pipeline's defaults
(batch size 1, so no padding; softmax; top label) or ``batch_size=64``. tonecls's paths all include
tokenising, windowing and calibration: ``torch`` / ``onnx`` / ``onnx-int8`` / ``auto`` are
``ToneClassifier.predict_proba`` on that backend; ``score`` is ``tonecls.score(list)`` (the default
model on the default backend, as a user calls it); ``bulk-*`` is ``score_archive`` end to end on
a Parquet file of the same texts (reading, scoring, writing parts, assembling); ``cli`` is the whole
``tonecls score in.parquet -o out.parquet`` process, start-up included (Python, imports, loading).
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(Path(__file__).resolve().parent))


def hf_pipeline(clf, threads: int):
    """``pipeline("text-classification")`` over a BertForSequenceClassification that holds
    ``clf``'s weights and pools like ``clf``."""
    import torch
    from transformers import BertConfig, BertForSequenceClassification, PreTrainedTokenizerFast, pipeline
    from transformers.modeling_outputs import SequenceClassifierOutput

    net = clf.network
    config = BertConfig.from_dict(net.encoder_config)
    config.num_labels = len(clf.labels)
    config.id2label = dict(enumerate(clf.labels))
    config.label2id = {v: k for k, v in config.id2label.items()}

    class MeanPooledBert(BertForSequenceClassification):
        pooling = net.pooling

        def forward(self, input_ids=None, attention_mask=None, token_type_ids=None, **kwargs):
            hidden = self.bert(input_ids=input_ids, attention_mask=attention_mask,
                               token_type_ids=token_type_ids).last_hidden_state
            if self.pooling == "cls":
                pooled = hidden[:, 0]
            else:
                mask = attention_mask.unsqueeze(-1).to(hidden.dtype)
                pooled = (hidden * mask).sum(1) / mask.sum(1).clamp(min=1.0)
            return SequenceClassifierOutput(logits=self.classifier(self.dropout(pooled)))

    model = MeanPooledBert(config)
    missing, unexpected = model.bert.load_state_dict(net.encoder.state_dict(), strict=False)
    assert not unexpected and all(k.startswith("pooler.") for k in missing), (missing, unexpected)
    model.classifier.load_state_dict(net.head.state_dict())
    model.eval()
    # The model's own tokenizer, made to add the start and end tokens as a transformers pipeline expects.
    from tokenizers import Tokenizer
    from tokenizers.processors import TemplateProcessing

    from tonecls.classifier import SpecialIds

    ids = SpecialIds.of(clf.tokenizer)
    backend = Tokenizer.from_str(clf.tokenizer.to_str())
    start, end, pad, unk = (backend.id_to_token(i) for i in ids)
    backend.post_processor = TemplateProcessing(single=f"{start} $A {end}", special_tokens=[(start, ids.start), (end, ids.end)])
    tokenizer = PreTrainedTokenizerFast(tokenizer_object=backend, unk_token=unk, pad_token=pad, cls_token=start,
                                        sep_token=end, model_max_length=clf.max_length)
    torch.set_num_threads(threads)
    from transformers.utils import logging as hf_logging

    hf_logging.set_verbosity(hf_logging.CRITICAL)  # "MeanPooledBert is not supported ...": it is a Bert
    return pipeline("text-classification", model=model, tokenizer=tokenizer, device=-1)


def load_avg() -> str:
    try:
        return " ".join(Path("/proc/loadavg").read_text().split()[:3])
    except OSError:
        return "?"


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("model", help="model folder")
    ap.add_argument("--n", type=int, default=2000)
    ap.add_argument("--runs", type=int, default=3)
    ap.add_argument("--threads", type=int, default=2)
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--paths", default="pipeline,pipeline-b64,torch,onnx,onnx-int8,auto,score,bulk-auto,cli")
    ap.add_argument("--texts", default="future", choices=["future", "corpus"])
    ap.add_argument("--json", help="write the results here")
    args = ap.parse_args(argv)

    import torch

    torch.set_num_threads(args.threads)
    from _common import future_sentences, sentences

    from tonecls.bulk import score_archive
    from tonecls.classifier import ToneClassifier
    from tonecls.backends import apply_backend

    texts = future_sentences(args.n, seed=args.seed) if args.texts == "future" else sentences(args.n, seed=args.seed)
    words = [len(t.split()) for t in texts]
    print(f"{len(texts)} {args.texts} sentences, {min(words)}-{max(words)} words (mean {statistics.mean(words):.1f}); "
          f"threads {args.threads}; model {args.model}; load average before: {load_avg()}", flush=True)
    paths = args.paths.split(",")
    clfs = {}
    for p in paths:
        if p in ("torch", "onnx", "int8", "onnx-int8", "auto"):
            clfs[p] = apply_backend(ToneClassifier.from_pretrained(args.model), p, threads=args.threads)
    ref = ToneClassifier.from_pretrained(args.model)
    ref_levels = ref.predict_proba(texts).argmax(1)
    pipe = hf_pipeline(ref, args.threads) if any(p.startswith("pipeline") for p in paths) else None
    tmp = Path(tempfile.mkdtemp(prefix="tonecls-bench-"))
    import pyarrow as pa
    import pyarrow.parquet as pq

    pq.write_table(pa.table({"id": list(range(len(texts))), "text": texts}), tmp / "in.parquet")

    def run(path: str, k: int):
        t = time.perf_counter()
        if path == "pipeline":
            out = pipe(texts)
            levels = np.array([ref.labels.index(o["label"]) for o in out])
        elif path == "pipeline-b64":
            out = pipe(texts, batch_size=64)
            levels = np.array([ref.labels.index(o["label"]) for o in out])
        elif path == "score":
            levels = np.array([r.level for r in tonecls.score(texts)])
        elif path == "cli":
            levels = run_cli(tmp / "in.parquet", tmp / f"out-cli-{k}.parquet")
        elif path.startswith("bulk"):
            workers = 2 if path.endswith("w2") else 1
            out_path = tmp / f"out-{path}-{k}.parquet"
            score_archive(tmp / "in.parquet", out_path, model=args.model, backend="auto", workers=workers,
                          threads=max(1, args.threads // workers), progress=False, log=lambda m: None)
            levels = pq.read_table(out_path).column("level").to_numpy()
        else:
            levels = clfs[path].predict_proba(texts).argmax(1)
        return time.perf_counter() - t, levels

    import subprocess

    import tonecls

    script = Path(sys.executable).with_name("tonecls")
    cli = [str(script)] if script.is_file() else [sys.executable, "-c", "import sys; from tonecls.cli import main; sys.exit(main())"]
    def run_cli(source: Path, out_path: Path):
        env = dict(os.environ, OMP_NUM_THREADS=str(args.threads))
        subprocess.run(cli + ["score", str(source), "-o", str(out_path), "--model", args.model, "--threads",
                              str(args.threads), "--no-progress"], check=True, env=env, stdout=subprocess.DEVNULL)
        return pq.read_table(out_path).column("level").to_numpy()

    pq.write_table(pa.table({"id": list(range(8)), "text": texts[:8]}), tmp / "warm.parquet")
    for p in paths:  # warm-up (and ONNX export / quantisation into the cache) outside the timing
        if p == "cli":
            run_cli(tmp / "warm.parquet", tmp / "warm-out.parquet")
        elif p == "score":
            tonecls.score(texts[:64])
        elif p.startswith("pipeline"):
            pipe(texts[:8])
        elif p in clfs:
            clfs[p].predict_proba(texts[:64])
    times: dict[str, list[float]] = {p: [] for p in paths}
    agreement: dict[str, float] = {}
    for k in range(args.runs):
        for p in paths:
            dt, levels = run(p, k)
            times[p].append(dt)
            agreement[p] = float(np.mean(levels == ref_levels))
            print(f"run {k + 1} {p:14s} {len(texts) / dt:7.1f}/s  (load {load_avg()})", flush=True)
    base = statistics.median(times["pipeline"]) if "pipeline" in times else None
    print(f"\nmedian of {args.runs} runs, {len(texts)} statements, {args.threads} threads; load average after: "
          f"{load_avg()}")
    print(f"{'path':38s} {'statements/s':>12s} {'vs pipeline':>11s} {'same level as fp32':>19s}")
    names = {"pipeline": "transformers.pipeline, defaults", "pipeline-b64": "transformers.pipeline, batch_size=64",
             "torch": "tonecls torch fp32 (sorted batches)", "onnx": "tonecls onnx fp32",
             "int8": "tonecls torch int8, no guard", "onnx-int8": "tonecls onnx-int8, no guard",
             "auto": f"tonecls auto = {clfs['auto'].backend if 'auto' in clfs else 'auto'}",
             "score": f"tonecls.score(list) ({tonecls.classifier.load_default().backend})",
             "cli": "`tonecls score` CLI, whole process",
             "bulk-auto": "score_archive auto, 1 process", "bulk-auto-w2": "score_archive auto, 2 workers x 1 thread"}
    results = {}
    for p in paths:
        med = statistics.median(times[p])
        rate = len(texts) / med
        ratio = (base / med) if base else float("nan")
        results[p] = {"name": names.get(p, p), "rate": rate, "ratio": ratio, "agreement": agreement[p],
                      "runs_s": times[p]}
        print(f"{names.get(p, p):38s} {rate:12.1f} {ratio:10.2f}x {agreement[p]:18.2%}")
    if args.json:
        from tonecls.backends import cpu_kind

        Path(args.json).write_text(json.dumps({"n": len(texts), "texts": args.texts, "mean_words": statistics.mean(words),
                                               "threads": args.threads, "model": args.model, "cpu": cpu_kind(),
                                               "results": results, "load_after": load_avg()}, indent=2) + "\n")
    import shutil

    shutil.rmtree(tmp, ignore_errors=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
