"""`symgen ask`: one question answered by the LLM directly (the baseline the model must beat)."""

from __future__ import annotations

import argparse
from typing import Any

from symgen.cli.common import (
    DB_HELP,
    add_generator,
    err,
    open_gen,
    warn,
)


def add_parser(sub: Any, common: argparse.ArgumentParser) -> None:
    ask = sub.add_parser(
        "ask", parents=[common], help="answer one question with the LLM directly (the baseline)"
    )
    ask.add_argument("--db", required=True, help=DB_HELP)
    ask.add_argument("--seeds", required=True)
    ask.add_argument("--seed-dialect", default=None, help="SQL dialect of the seeds")
    ask.add_argument(
        "--samples", type=int, default=1, help="1 = greedy; K > 1 = self-consistency vote"
    )
    ask.add_argument("question")
    add_generator(ask)
    ask.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    from symgen.dataset import read_pairs
    from symgen.generate.answer import answer
    from symgen.tasks.sql.context import build_context
    from symgen.verify import MinVotes

    ctx = build_context(args.db, read_pairs(args.seeds), seed_dialect=args.seed_dialect)
    warn(ctx.notes)
    generator = open_gen(args)()
    try:
        verdict, cands = answer(
            generator,
            ctx,
            args.question,
            samples=args.samples,
            temperature=0.8,
            min_votes=MinVotes(1),
            seed=args.seed,
        )
    finally:
        generator.close()
    if verdict.program is None:
        err(f"no candidate ran: {verdict.failures}")
        for c in cands[:3]:
            err(f"  candidate: {c.program}")
        return 1
    print(verdict.program)
    if args.samples > 1:
        err(f"votes {verdict.votes}/{verdict.n_samples}, groups {verdict.group_sizes}")
    return 0
