"""`symgen train`: a task model on verified pairs (CPU, resumable)."""

from __future__ import annotations

import argparse
from typing import TYPE_CHECKING, Any

from symgen.cli.common import (
    DB_HELP,
    add_task,
    open_db,
    require_records,
    warn,
)
from symgen.errors import SymgenError

if TYPE_CHECKING:
    from symgen.train.loss import ExtraLoss


def add_parser(sub: Any, common: argparse.ArgumentParser) -> None:
    tr = sub.add_parser(
        "train", parents=[common], help="train a task model on verified pairs (CPU, resumable)"
    )
    add_arguments(tr)
    tr.set_defaults(func=run, outputs=[("out", "dir")])


def add_arguments(tr: argparse.ArgumentParser) -> None:
    """The verb's options, also the base of `symgen lab train` (which adds teachers)."""
    from symgen.train.models import ARCHS  # torch-free: the names `--arch` accepts, not a copy

    tr.add_argument("--data", required=True, action="append", help="pairs JSONL (repeatable)")
    add_task(tr)
    tr.add_argument(
        "--db", action="append", help="database(s) the pairs use (--task sql): " + DB_HELP
    )
    tr.add_argument("--out", required=True, help="run directory (rerun to resume)")
    tr.add_argument("--arch", default="tiny", help=f"{', '.join(ARCHS)} (default tiny)")
    tr.add_argument("--epochs", type=int, default=None)
    tr.add_argument("--max-steps", type=int, default=None)
    tr.add_argument("--max-minutes", type=float, default=None, help="time budget")
    tr.add_argument("--batch-size", type=int, default=None)
    tr.add_argument("--lr", type=float, default=None)
    tr.add_argument("--seed", type=int, default=0)
    tr.add_argument(
        "--dropout", type=float, default=0.0, help="residual dropout in training (default 0)"
    )
    tr.add_argument(
        "--label-smoothing",
        type=float,
        default=None,
        help="share of each target token's probability spread over the vocabulary "
        "(default: 0.1 for bash, 0 for sql and python; measured)",
    )
    tr.add_argument(
        "--placeholders",
        action=argparse.BooleanOptionalAction,
        default=None,
        help="bash: the model reads and writes placeholders for the paths, globs, file names, "
        "numbers and quoted text the request names; the engine fills them in (default: on for "
        "bash; measured)",
    )
    tr.add_argument(
        "--ema-decay",
        type=float,
        default=None,
        help="keep a moving average of the weights as the model (e.g. 0.999; the last step's "
        "weights go to OUT/hf-last)",
    )
    tr.add_argument("--threads", type=int, default=None)
    tr.add_argument("--quiet", action="store_true")


def run(args: argparse.Namespace, extra_loss: ExtraLoss | None = None) -> int:
    """`extra_loss`: added to the training loss (the lab's distillation from teachers)."""
    from symgen.progress import bar as progress_bar
    from symgen.tasks.registry import task_for
    from symgen.train.loop import TrainConfig, train

    for path in args.data:  # before the run directory is made
        require_records(path, "pairs")
    for spec in args.db or []:
        with open_db(spec):
            pass
    cfg = TrainConfig(
        arch=args.arch,
        epochs=args.epochs,
        max_steps=args.max_steps,
        max_minutes=args.max_minutes,
        batch_size=args.batch_size,
        lr=args.lr,
        seed=args.seed,
        threads=args.threads,
        dropout=args.dropout,
        ema_decay=args.ema_decay,
        label_smoothing=args.label_smoothing,  # None: the task's default, resolved by train()
        placeholders=args.placeholders,
    )
    with progress_bar(desc=f"train {args.arch}", unit="step", disable=args.quiet) as bar:

        def progress(step: int, total: int, loss: float) -> None:
            bar.total = total
            bar.update(step - bar.n)
            bar.set_postfix(loss=f"{loss:.3f}")

        if task_for(args.task).needs_database and not args.db:
            raise SymgenError(f"--task {args.task} needs --db (the SQLite file(s) the pairs use)")
        meta = train(
            args.data,
            args.db or [],
            args.out,
            cfg,
            progress=progress,
            task=args.task,
            extra_loss=extra_loss,
        )
    skipped = meta.get("skipped") or {}
    if skipped.get("count"):
        warn(
            [f"skipped {skipped['count']} pairs whose SQL fails the schema check or its database:"]
            + [f"  {s}" for s in skipped["first"][:5]]
        )
    print(
        f"trained {meta['identity']['arch']['name']} ({meta['params'] / 1e6:.1f}M params) on "
        f"{meta['examples']} pairs: {meta['steps']} steps, {meta['train_minutes']} min, "
        f"loss {meta['final_loss']:.3f} -> {args.out}"
    )
    return 0
