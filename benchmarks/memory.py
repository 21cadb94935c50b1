"""Peak memory (RSS) of bulk scoring as the archive grows.

    .venv/bin/python benchmarks/memory.py --model tiny --rows 1000000          # the tiny test model, 1M rows
    .venv/bin/python benchmarks/memory.py --model artifacts/proxy-model --rows 100000

Generates (once, cached under ``artifacts/``) a synthetic archive of ``--rows`` rows made of
real sentences (8–60 words, cycled) from the shared statement corpora, with ``id``, ``actor``,
``date`` and ``text`` columns, as Parquet (``--format jsonl`` for JSON Lines). Then runs
``tonecls score ARCHIVE -o OUT.parquet`` in a fresh process and samples the resident memory of
that process and its children every 0.5 s, against rows done (read from the parts folder),
and reports the peak (``VmHWM`` of the process tree), RSS at 10/50/100 % of the rows, and the
slope of RSS against rows between 10 % and 100 % (flat memory: a slope near zero).
``--model tiny`` uses the committed fixture ``tests/fixtures/tiny-model``.
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(Path(__file__).resolve().parent))


def make_archive(rows: int, fmt: str, seed: int = 0) -> Path:
    import pyarrow as pa
    import pyarrow.parquet as pq

    from _common import sentences

    path = ROOT / "artifacts" / f"synthetic-{rows}.{'parquet' if fmt == 'parquet' else 'jsonl'}"
    if path.exists():
        return path
    path.parent.mkdir(parents=True, exist_ok=True)
    pool = sentences(20000, seed=seed, min_words=8, max_words=60)
    actors = ["JPN", "USA", "CHN", "DEU", "FRA", "BRA", "IND", "RUS", "GBR", "ZAF"]
    tmp = path.with_suffix(".tmp")
    block = 50000
    writer = pq.ParquetWriter(tmp, pa.schema([("id", pa.string()), ("actor", pa.string()), ("date", pa.string()),
                                              ("text", pa.string())])) if fmt == "parquet" else open(tmp, "w")
    for start in range(0, rows, block):
        idx = range(start, min(rows, start + block))
        cols = {"id": [f"s{i:07d}" for i in idx], "actor": [actors[i % 10] for i in idx],
                "date": [f"{1990 + i % 33}-{1 + i % 12:02d}-{1 + i % 28:02d}" for i in idx],
                "text": [pool[(i * 7919) % len(pool)] for i in idx]}
        if fmt == "parquet":
            writer.write_table(pa.table(cols))
        else:
            for i in range(len(cols["id"])):
                writer.write(json.dumps({k: cols[k][i] for k in cols}) + "\n")
    writer.close()
    os.replace(tmp, path)
    return path


def tree_rss_kb(pid: int) -> tuple[int, int]:
    """(current RSS, peak RSS) in kB of ``pid`` and all its descendants."""
    rss = hwm = 0
    todo = [pid]
    while todo:
        p = todo.pop()
        try:
            status = Path(f"/proc/{p}/status").read_text()
            for line in status.splitlines():
                if line.startswith("VmRSS:"):
                    rss += int(line.split()[1])
                elif line.startswith("VmHWM:"):
                    hwm += int(line.split()[1])
            todo += [int(c) for t in Path(f"/proc/{p}/task").iterdir()
                     for c in (t / "children").read_text().split()]
        except (FileNotFoundError, ProcessLookupError, PermissionError):
            continue
    return rss, hwm


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--model", default="tiny", help="model folder, or 'tiny' for the test fixture")
    ap.add_argument("--rows", type=int, default=1_000_000)
    ap.add_argument("--format", default="parquet", choices=["parquet", "jsonl"])
    ap.add_argument("--backend", default="auto")
    ap.add_argument("--workers", type=int, default=1)
    ap.add_argument("--chunk-size", type=int, default=4096)
    ap.add_argument("--json", help="write the results here")
    args = ap.parse_args(argv)

    model = ROOT / "tests" / "fixtures" / "tiny-model" if args.model == "tiny" else Path(args.model)
    t = time.time()
    archive = make_archive(args.rows, args.format)
    print(f"archive {archive} ({archive.stat().st_size / 1e6:.0f} MB, made/found in {time.time() - t:.0f} s); "
          f"load average {os.getloadavg()[0]:.2f}", flush=True)
    out = ROOT / "artifacts" / f"memory-out-{args.rows}.parquet"
    for p in (out, Path(str(out) + ".errors.jsonl"), Path(str(out) + ".meta.json")):
        p.unlink(missing_ok=True)
    parts = Path(str(out) + ".parts")
    if parts.exists():
        import shutil

        shutil.rmtree(parts)
    cmd = [sys.executable, "-m", "tonecls.cli", "score", str(archive), "-o", str(out), "--model", str(model),
           "--backend", args.backend, "--workers", str(args.workers), "--chunk-size", str(args.chunk_size),
           "--no-progress"]
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    t0 = time.time()
    proc = subprocess.Popen(cmd, env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
    samples = []  # (seconds, rows done, rss kB)
    peak = 0
    while proc.poll() is None:
        rss, hwm = tree_rss_kb(proc.pid)
        peak = max(peak, hwm, rss)
        done = len(list(parts.glob("part-*.parquet"))) * args.chunk_size if parts.exists() else 0
        samples.append((time.time() - t0, min(done, args.rows), rss))
        time.sleep(0.5)
    output = proc.stdout.read()
    if proc.returncode:
        print(output)
        raise SystemExit(f"scoring failed ({proc.returncode})")
    seconds = time.time() - t0
    print(output.strip())
    import numpy as np

    s = np.array(samples, dtype=float)
    scoring = s[(s[:, 1] > 0.1 * args.rows)]

    def at(frac):
        rows = s[s[:, 1] >= frac * args.rows]
        return rows[0, 2] / 1024 if len(rows) else float("nan")

    slope = float(np.polyfit(scoring[:, 1], scoring[:, 2], 1)[0] * 100_000 / 1024) if len(scoring) > 3 else float("nan")
    result = {"model": str(model), "rows": args.rows, "format": args.format, "backend": args.backend,
              "workers": args.workers, "seconds": seconds, "rows_per_s": args.rows / seconds,
              "peak_rss_mb": peak / 1024, "rss_mb_at": {"10%": at(0.1), "50%": at(0.5), "100%": at(1.0)},
              "slope_mb_per_100k_rows": slope, "max_sampled_rss_mb": float(s[:, 2].max() / 1024),
              "load_average_end": os.getloadavg()[0]}
    print(json.dumps(result, indent=2))
    if args.json:
        Path(args.json).write_text(json.dumps(result, indent=2) + "\n")
    return 0


if __name__ == "__main__":
    sys.exit(main())
