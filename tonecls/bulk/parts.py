"""Resume parts: the run's fingerprint, the parts folder (manifest, part files, their errors) and
the assembly of the parts into the output."""

from __future__ import annotations

import json
import os
import shutil
from pathlib import Path
from typing import Sequence

from ..archive import ArchiveReader, Chunk, TableWriter, unify_schemas
from ..backends import RUNTIME_COMPARED
from .output import META_IN_FOLDER, atomic_write, errors_path


MANIFEST = "manifest.json"
FORMAT_VERSION = 1


def run_fingerprint(reader: ArchiveReader, info: dict, options: dict) -> tuple[str, dict]:
    import hashlib

    model = {k: info.get(k) for k in ("weights_key", "calibration_sha256", "backend", "smoothing_sha256", "max_length",
                                      "stride", "aggregate", "labels")}
    # the libraries that compute the numbers: parts scored on other versions are not mixed in
    model["runtime"] = {k: info["runtime"].get(k) for k in RUNTIME_COMPARED}
    content = {"format_version": FORMAT_VERSION, "input": reader.fingerprint(), "model": model, "options": options}
    return hashlib.sha256(json.dumps(content, sort_keys=True).encode()).hexdigest(), content


def fingerprint_diff(a: dict, b: dict, prefix="") -> list[str]:
    out = []
    for k in sorted(set(a) | set(b)):
        va, vb = a.get(k), b.get(k)
        if isinstance(va, dict) and isinstance(vb, dict):
            out += fingerprint_diff(va, vb, f"{prefix}{k}.")
        elif va != vb:
            out.append(f"{prefix}{k}: {va!r} then, {vb!r} now")
    return out


class Parts:
    """The parts folder: manifest, part files and their errors."""

    def __init__(self, folder: Path, fingerprint: str):
        self.folder = folder
        self.fingerprint = fingerprint

    def part(self, k: int) -> Path:
        return self.folder / f"part-{k:06d}.parquet"

    def errors(self, k: int) -> Path:
        return self.folder / f"errors-{k:06d}.jsonl"

    def scan(self) -> dict[int, dict]:
        """Finished chunks (from the parts, not the manifest) → their metadata."""
        import pyarrow.parquet as pq

        done = {}
        for tmp in self.folder.glob(".*.tmp"):
            tmp.unlink()  # a write interrupted before its rename
        for path in sorted(self.folder.glob("part-*.parquet")):
            try:
                meta = json.loads(pq.read_schema(path).metadata[b"tonecls_part"])
            except Exception:  # unreadable: cannot happen with atomic renames, but never trust it
                path.unlink()
                continue
            k = meta["chunk"]
            if meta.get("fingerprint") != self.fingerprint or path != self.part(k) or not self.errors(k).is_file():
                path.unlink()
                continue
            done[k] = meta
        return done

    def write_manifest(self, content: dict, done: dict[int, dict], complete: bool = False) -> None:
        manifest = {"fingerprint": self.fingerprint, "fingerprint_content": content, "complete": complete,
                    "chunks_done": sorted(done), "rows_done": sum(m["n_rows"] for m in done.values())}
        atomic_write(self.folder / MANIFEST, (json.dumps(manifest, indent=1) + "\n").encode())

    def write_chunk(self, chunk: Chunk, table, errors: list[dict], extra: dict) -> dict:
        import pyarrow.parquet as pq

        atomic_write(self.errors(chunk.index),
                     "".join(json.dumps(e, ensure_ascii=False) + "\n" for e in errors).encode())
        meta = {"fingerprint": self.fingerprint, "chunk": chunk.index, "first_row": chunk.first_row,
                "n_rows": chunk.n_rows, "n_scored": table.num_rows, "n_errors": len(errors), **extra}
        table = table.replace_schema_metadata({b"tonecls_part": json.dumps(meta).encode()})
        tmp = self.folder / f".{self.part(chunk.index).name}.tmp"
        with open(tmp, "wb") as f:
            pq.write_table(table, f)
            f.flush()
            os.fsync(f.fileno())
        os.replace(tmp, self.part(chunk.index))
        return meta


def assemble(parts: Parts, n_chunks: int, output: Path, fmt: str, metadata: dict, added: Sequence[str]) -> None:
    """Concatenate the parts (in order) into ``output`` and the errors into the errors file."""
    import pyarrow.parquet as pq

    errors_file = errors_path(output)
    tmp = errors_file.with_name(f".{errors_file.name}.tmp")
    with open(tmp, "wb") as f:
        for k in range(n_chunks):
            f.write(parts.errors(k).read_bytes())
        f.flush()
        os.fsync(f.fileno())
    os.replace(tmp, errors_file)

    schemas = [pq.read_schema(parts.part(k)).remove_metadata() for k in range(n_chunks)]
    nonempty = [s for k, s in enumerate(schemas) if pq.ParquetFile(parts.part(k)).metadata.num_rows]
    schema = unify_schemas(nonempty or schemas, last=list(added))
    target = output if fmt != "datasets" else parts.folder / "assembled.parquet"
    write_fmt = "parquet" if fmt == "datasets" else fmt
    tmp = target.with_name(f".tmp-{target.name}")  # keeps the suffix (.gz)
    writer = TableWriter(tmp, write_fmt, schema, metadata)
    try:
        for k in range(n_chunks):
            table = pq.ParquetFile(parts.part(k)).read()  # read_table would import pyarrow.dataset and pandas (0.5 s)
            if table.num_rows:
                writer.write(table)
    finally:
        writer.close()
    if write_fmt != "parquet":
        with open(tmp, "rb+") as f:
            os.fsync(f.fileno())
    if fmt != "datasets":
        os.replace(tmp, output)
        return
    os.replace(tmp, target)
    import datasets

    ds = datasets.Dataset.from_parquet(str(target), cache_dir=str(parts.folder / "hf-cache"))
    staging = output.with_name(f".{output.name}.tmp")
    if staging.exists():
        shutil.rmtree(staging)
    ds.save_to_disk(str(staging))
    (staging / META_IN_FOLDER).write_text(json.dumps(metadata, indent=2, default=str) + "\n")
    if output.exists():
        shutil.rmtree(output)  # checked before the run: an earlier tonecls output (tonecls_meta.json)
    os.replace(staging, output)
