"""`symgen lab augment`: `symgen augment` plus direction flips ('largest'/max → 'smallest'/min).
Measured and not adopted (docs/decisions.md): no gain beyond training noise."""

from __future__ import annotations

import argparse
from typing import Any

from symgen.cli import augment
from symgen.errors import SymgenError


def add_parser(sub: Any, common: argparse.ArgumentParser) -> None:
    au = sub.add_parser(
        "augment",
        parents=[common],
        help="`symgen augment` that also adds each SQL pair asking for the other end",
    )
    augment.add_arguments(au)
    au.add_argument(
        "--flip",
        action=argparse.BooleanOptionalAction,
        default=False,
        help="also each pair asking for the other end: 'largest'/max → 'smallest'/min, when "
        "the question has one superlative and the SQL one direction that agree",
    )
    au.set_defaults(func=run, outputs=[("out", "file")])


def run(args: argparse.Namespace) -> int:
    from symgen.lab.direction_flip import with_flips

    if not args.flip:
        return augment.run(args)
    if args.task != "sql":
        raise SymgenError("--flip applies to SQL pairs (superlatives), not --task bash")
    return augment.run(args, augment_sql=with_flips)
