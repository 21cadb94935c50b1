"""The ``tonecls`` command.

    tonecls score "We will take all necessary measures."      # one statement
    tonecls score archive.parquet -o scored.parquet           # a whole archive
    tonecls label statements.jsonl.gz -o corpus/              # weak labels → DatasetDict
    tonecls train --data corpus/ --out my-model/
    tonecls calibrate my-model/ --data dev.jsonl
    tonecls evaluate my-model/ --data test.jsonl
    tonecls shifts scored.parquet --actor-column actor --date-column date -o shifts/

Each subcommand has an ``_add_<name>`` function that declares its arguments and a
``_run_<name>`` function that does the work through the library.
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path


# ---------------------------------------------------------------------------- score
def _add_score(sub) -> None:
    p = sub.add_parser("score", help="score a statement, or an archive file/folder with -o")
    p.add_argument("input", help="a statement in quotes, or a CSV / JSONL(.gz) / Parquet file or datasets folder")
    p.add_argument("-o", "--output", help="output file for archive scoring")
    p.add_argument("--model", help="model folder (default: models/tonecls-base or $TONECLS_MODEL)")
    p.add_argument("--json", action="store_true", help="print JSON instead of a table")
    p.add_argument("--batch-size", type=int, default=64)


def _run_score(args) -> int:
    from .classifier import ToneClassifier, load_default

    if args.output is None:
        clf = ToneClassifier.from_pretrained(args.model) if args.model else load_default()
        result = clf.score(args.input, batch_size=args.batch_size)
        if args.json:
            print(json.dumps(result.to_dict(), indent=2))
        else:
            print(f"{result.label} (level {result.level}, score {result.score:.3f})")
            for label, p in zip(clf.labels, result.probabilities):
                print(f"  {label:<16} {p:6.3f}  {'#' * round(p * 40)}")
        return 0
    from .bulk import run_cli

    return run_cli(args)


# ---------------------------------------------------------------------------- entry point
COMMANDS = {"score": (_add_score, _run_score)}


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="tonecls", description="Tone of official statements, cautious → confrontational.")
    from . import __version__

    parser.add_argument("--version", action="version", version=f"tonecls {__version__}")
    sub = parser.add_subparsers(dest="command", required=True)
    for add, _ in COMMANDS.values():
        add(sub)
    return parser


def main(argv: list[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    try:
        return COMMANDS[args.command][1](args)
    except (ValueError, FileNotFoundError, KeyError) as err:
        print(f"tonecls {args.command}: error: {err}", file=sys.stderr)
        return 2


if __name__ == "__main__":
    sys.exit(main())
