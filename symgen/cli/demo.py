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
    demo.add_argument("--out-dir", default=".symgen/demo", help="the build directory")
    demo.add_argument(
        "--budget",
        default="17m",
        help="the build's budget (default %(default)s; the comparison takes ~3 more minutes)",
    )
    demo.add_argument("--recipe", default=None, help="a build recipe (default: the shipped one)")
    demo.add_argument("--compare", type=int, default=100, help="dev questions to compare on")
    demo.add_argument(
        "--no-install",
        action="store_true",
        help="do not install the model in ./.symgen/models/ (where the editor server looks)",
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
    from symgen.build.plan import parse_budget
    from symgen.cli.build import generator_name

    return run_demo(
        data=args.data,
        out_dir=Path(args.out_dir),
        generator=generator_name(args.generator),
        threads=args.threads,
        budget=parse_budget(args.budget),
        recipe=Path(args.recipe) if args.recipe else None,
        compare=args.compare,
        workspace=None if args.no_install else Path("."),
    )
