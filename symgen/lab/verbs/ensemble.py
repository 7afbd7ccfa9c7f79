"""`symgen lab ensemble`: one model averaging several exported ones (measured, not adopted)."""

from __future__ import annotations

import argparse
from typing import Any


def add_parser(sub: Any, common: argparse.ArgumentParser) -> None:
    en = sub.add_parser(
        "ensemble",
        parents=[common],
        help="one model from several exported ones trained on the same data (e.g. other "
        "--seed): decoding averages their next-token probabilities",
    )
    en.add_argument(
        "--model", action="append", required=True, help="exported model dir (twice or more)"
    )
    en.add_argument("--out", required=True, help="ensemble model directory")
    en.add_argument("--name", default=None)
    en.set_defaults(func=run, outputs=[("out", "dir")])


def run(args: argparse.Namespace) -> int:
    from symgen.lab.ensemble import make_ensemble

    manifest = make_ensemble(args.model, args.out, name=args.name)
    print(
        f"ensemble of {len(manifest['ensemble'])} models in {args.out}: "
        f"{manifest['params']:,} parameters, {manifest['mb_on_disk']} MB"
    )
    return 0
