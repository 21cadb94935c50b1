"""Several local processes: workers started with *spawn*, each loading the model once."""

from __future__ import annotations

import os
import time

from .model import model_folder, score_texts, trim_heap


_WORKER: dict = {}


def _worker_init(model_dir: str, backend_options: dict, threads: int, queue, spec: dict | None = None) -> None:
    os.environ.setdefault("OMP_NUM_THREADS", str(threads))
    os.environ.setdefault("MKL_NUM_THREADS", str(threads))
    if spec is not None:  # ONNX Runtime backends: no torch in this process
        from ..classifier import classifier_from_spec

        _WORKER.update(clf=classifier_from_spec(spec, threads), queue=queue)
        return
    import torch

    torch.set_num_threads(threads)
    from ..classifier import ToneClassifier
    from ..backends import apply_backend, runner_options

    clf = ToneClassifier.from_pretrained(model_dir)
    opts = runner_options(backend_options)
    apply_backend(clf, backend_options["backend"], threads=threads, **opts)
    _WORKER.update(clf=clf, queue=queue)


def _worker_score(index: int, texts: list[str], batch_size: int):
    queue = _WORKER["queue"]
    last = [0.0]

    def progress(done, total):
        now = time.monotonic()
        if done == total or now - last[0] > 0.2:
            last[0] = now
            queue.put((index, done, total))

    logits, counts = score_texts(_WORKER["clf"], texts, batch_size, progress)
    trim_heap()
    return index, logits, counts


def run_pool(clf, reader, done, workers, threads, batch_size, prepare, finish, credit, folder) -> int:
    import multiprocessing as mp
    import queue as queue_mod
    from concurrent.futures import FIRST_COMPLETED, ProcessPoolExecutor, wait

    from ..start import ort_worker_spec

    spec = ort_worker_spec(clf)
    model_dir = model_folder(clf, folder / "model") if spec is None else None
    ctx = mp.get_context("spawn")
    progress_q = ctx.Queue()
    n_chunks = 0
    inflight: dict = {}
    pending: dict[int, tuple] = {}

    def drain_progress():
        while True:
            try:
                k, d, t = progress_q.get_nowait()
            except queue_mod.Empty:
                return
            if k in pending:
                credit(k, pending[k][0].n_rows, d, t)

    def collect(block: bool):
        if not inflight:
            return
        finished, _ = wait(list(inflight), timeout=0.2 if block else 0, return_when=FIRST_COMPLETED)
        drain_progress()
        for fut in finished:
            k = inflight.pop(fut)
            _, logits, counts = fut.result()
            chunk, table, errors = pending.pop(k)
            finish(chunk, table, errors, logits, counts)

    with ProcessPoolExecutor(max_workers=workers, mp_context=ctx, initializer=_worker_init,
                             initargs=(str(model_dir), clf.backend_options, threads, progress_q, spec)) as pool:
        for chunk in reader.chunks(skip=set(done)):
            n_chunks += 1
            if chunk.table is None:
                continue
            table, errors, texts = prepare(chunk)
            if not texts:
                finish(chunk, table, errors, None, None)
                continue
            pending[chunk.index] = (chunk, table, errors)
            inflight[pool.submit(_worker_score, chunk.index, texts, batch_size)] = chunk.index
            while len(inflight) > workers:
                collect(block=True)
        while inflight:
            collect(block=True)
    return n_chunks
