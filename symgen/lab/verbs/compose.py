"""`symgen lab compose`: nested SQL pairs from verified ones (measured, not adopted)."""

from __future__ import annotations

import argparse
import json
from pathlib import Path
from typing import Any

from symgen.cli.common import (
    DB_HELP,
    add_generator,
    open_gen,
)


def add_parser(sub: Any, common: argparse.ArgumentParser) -> None:
    cm = sub.add_parser(
        "compose",
        parents=[common],
        help="nested SQL pairs from verified ones: one pair's answer replaces a value another "
        "pair's question names, or narrows its superlative; the LLM joins the two questions",
    )
    cm.add_argument("--db", required=True, help="the database the pairs run on: " + DB_HELP)
    cm.add_argument("--seeds", required=True, help="the seed pairs (also composed)")
    cm.add_argument(
        "--pairs", action="append", default=[], help="verified pairs JSONL (repeatable)"
    )
    cm.add_argument("--out", required=True, help="composed pairs JSONL (rerun to resume)")
    cm.add_argument("--questions", type=int, default=100, help="composed pairs to keep")
    cm.add_argument(
        "--kind",
        choices=("replace", "restrict", "both"),
        default="replace",
        help="replace: an answer stands in for a value the outer question names ('the "
        "population of the states the mississippi runs through'); restrict: a whole-table "
        "superlative over only the rows an answer names ('the largest state bordering texas')",
    )
    add_generator(cm)
    cm.add_argument("--quiet", action="store_true", help="no progress bar")
    cm.set_defaults(func=run, outputs=[("out", "file")])


def run(args: argparse.Namespace) -> int:
    from symgen.dataset import open_input
    from symgen.lab.compose import KINDS
    from symgen.lab.compose_run import run_compose

    for path in [args.seeds, *args.pairs]:
        open_input(path).close()
    outcome = run_compose(
        db_path=args.db,
        seeds_path=Path(args.seeds),
        pairs_paths=[Path(p) for p in args.pairs],
        out_path=Path(args.out),
        open_gen=open_gen(args),
        n_questions=args.questions,
        seed=args.seed,
        progress=not args.quiet,
        kinds=KINDS if args.kind == "both" else (args.kind,),
    )
    print(f"{json.dumps(dict(outcome))} -> {args.out}")
    return 0
