"""`symgen demo`: the whole pipeline on the bundled GeoQuery data."""

from __future__ import annotations

import argparse
from pathlib import Path
from typing import Any

from symgen.cli.common import (
    add_generator,
)
from symgen.errors import SymgenError


def add_parser(sub: Any, common: argparse.ArgumentParser) -> None:
    demo = sub.add_parser(
        "demo", parents=[common], help="run the pipeline end to end on the GeoQuery demo"
    )
    demo.add_argument(
        "--data",
        default=None,
        help="a GeoQuery data dir (default: $SYMGEN_SHARED_DATA, else the copy bundled in the package)",
    )
    demo.add_argument("--out-dir", default=".symgen/demo", help="where results go")
    demo.add_argument("--questions", type=int, default=100, help="questions to generate")
    demo.add_argument(
        "--generate-minutes",
        type=float,
        default=12.0,
        help="time budget for answering them (a slower machine answers fewer; a rerun goes on)",
    )
    demo.add_argument("--train-minutes", type=float, default=4.0)
    demo.add_argument("--compare", type=int, default=100, help="dev questions to compare on")
    demo.add_argument(
        "--augment-per-pair", type=int, default=8, help="value swaps per verified pair (0: none)"
    )
    add_generator(demo)
    demo.set_defaults(func=run, outputs=[("out_dir", "dir")])


def run(args: argparse.Namespace) -> int:
    from symgen.demo import run_demo

    if args.data and Path(args.data).is_file():  # a missing one: demo_data_dir says so (exit 3)
        raise SymgenError(
            f"--data {args.data} is a file: pass the shared data directory (with "
            "geoquery/geography.sqlite and geoquery/seed_10.jsonl)"
        )
    return run_demo(
        data=args.data,
        out_dir=Path(args.out_dir),
        questions=args.questions,
        generator=args.generator,
        threads=args.threads,
        train_minutes=args.train_minutes,
        generate_minutes=args.generate_minutes,
        compare=args.compare,
        augment_per_pair=args.augment_per_pair,
    )
