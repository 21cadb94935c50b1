"""``tonecls score -o``: :func:`run_cli`."""

from __future__ import annotations

import json
from dataclasses import asdict

from .local import score_archive


def run_cli(args) -> int:
    summary = score_archive(
        args.input, args.output, model=args.model, backend=args.backend,
        text_column=getattr(args, "text_column", "text"), split=getattr(args, "split", None),
        segment=getattr(args, "segment", False), interval=getattr(args, "interval", False),
        workers=getattr(args, "workers", 1), threads=getattr(args, "threads", None),
        chunk_size=getattr(args, "chunk_size", 4096), batch_size=args.batch_size, guard=getattr(args, "guard", None),
        progress=not getattr(args, "no_progress", False), resume=not getattr(args, "restart", False),
        overwrite=getattr(args, "overwrite", False), keep_parts=getattr(args, "keep_parts", False),
        engine=getattr(args, "engine", "local"), encoding=getattr(args, "encoding", "utf-8"),
        explain=getattr(args, "explain", 0) or 0)
    if getattr(args, "json", False):
        print(json.dumps(asdict(summary), indent=2))
    else:
        print(summary)
    return 0
