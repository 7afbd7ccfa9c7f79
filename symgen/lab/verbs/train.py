"""`symgen lab train`: `symgen train` with distillation from finished runs on the same data
(`--teacher`). Measured and not adopted (docs/decisions.md): the student did not reach its
teachers' ensemble beyond training noise."""

from __future__ import annotations

import argparse
from typing import Any

from symgen.cli import train


def add_parser(sub: Any, common: argparse.ArgumentParser) -> None:
    tr = sub.add_parser(
        "train",
        parents=[common],
        help="`symgen train` distilling finished runs' mean predictions into the new model",
    )
    train.add_arguments(tr)
    tr.add_argument(
        "--teacher",
        action="append",
        required=True,
        help="a finished `symgen train` run on the same data (repeatable): distil their mean "
        "predictions into this model (one model's speed, aiming at the ensemble's accuracy)",
    )
    tr.add_argument(
        "--distill-weight",
        type=float,
        default=0.5,
        help="share of the loss on the teachers' soft targets (default 0.5)",
    )
    tr.add_argument(
        "--distill-temperature",
        type=float,
        default=2.0,
        help="softmax temperature of teachers and student (default 2)",
    )
    tr.set_defaults(func=run, outputs=[("out", "dir")])


def run(args: argparse.Namespace) -> int:
    from symgen.lab.teachers import TeacherLoss

    loss = TeacherLoss(args.teacher, args.distill_weight, args.distill_temperature)
    return train.run(args, extra_loss=loss)
