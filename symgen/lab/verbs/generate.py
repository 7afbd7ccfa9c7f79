"""`symgen lab generate`: `symgen generate` with the reviewer (coder-reviewer reranking) as the
answer step. Measured and not adopted (benchmarks/reports/reviewer.md): kept pairs' precision
rose from 58.4% to 75.2% on GeoQuery train, but a task model on its data scored inside the
training spread of one on the vote's (28.0% vs 26.1%)."""

from __future__ import annotations

import argparse
from typing import Any

from symgen.cli import generate
from symgen.config import REVIEWER_MIN_VOTES
from symgen.errors import SymgenError
from symgen.lab.reviewer import MIN_PMI


def add_parser(sub: Any, common: argparse.ArgumentParser) -> None:
    gen = sub.add_parser(
        "generate",
        parents=[common],
        help="`symgen generate` whose answers the LLM reviews: the answer under which it reads "
        "the question back likeliest, kept only if the program explains the question",
    )
    generate.add_arguments(gen)
    gen.add_argument(
        "--reviewer",
        action=argparse.BooleanOptionalAction,
        default=True,
        help="review the answers (default on; --no-reviewer is `symgen generate`)",
    )
    gen.add_argument(
        "--min-pmi",
        type=float,
        default=MIN_PMI,
        help="log p(question | program) - log p(question) needed "
        f"(default {MIN_PMI}; --min-votes defaults to {REVIEWER_MIN_VOTES})",
    )
    gen.set_defaults(func=run, outputs=[("out", "file")])


def run(args: argparse.Namespace) -> int:
    from symgen.lab.reviewer import ReviewedAnswerer

    if not args.reviewer:
        return generate.run(args)
    if args.questions_from != "llm" or args.task != "sql":
        raise SymgenError(
            "--reviewer is for --task sql with LLM questions (program-first pairs are already "
            "checked against their program)"
        )
    return generate.run(args, answerer=ReviewedAnswerer(args.min_pmi))
