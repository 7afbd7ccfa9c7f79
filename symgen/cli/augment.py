"""`symgen augment`: more verified pairs by value (SQL) or argument (Bash) swaps, no LLM."""

from __future__ import annotations

import argparse
from pathlib import Path
from typing import TYPE_CHECKING, Any

from symgen.cli.common import (
    DB_HELP,
    open_db,
    require_records,
)
from symgen.errors import SymgenError

if TYPE_CHECKING:
    from symgen.tasks.sql.augment import AugmentSql


def add_parser(sub: Any, common: argparse.ArgumentParser) -> None:
    au = sub.add_parser(
        "augment",
        parents=[common],
        help="more verified pairs by swapping values (SQL) or arguments (Bash) the question "
        "names (no LLM)",
    )
    add_arguments(au)
    au.set_defaults(func=run, outputs=[("out", "file")])


def add_arguments(au: argparse.ArgumentParser) -> None:
    """The verb's options, also the base of `symgen lab augment` (which adds flips)."""
    au.add_argument("--data", required=True, help="verified pairs JSONL (question, query|command)")
    au.add_argument("--task", choices=tuple(AUGMENTERS), default="sql")
    au.add_argument("--db", default=None, help="sql: the database the pairs run on: " + DB_HELP)
    au.add_argument("--out", required=True, help="originals + augmented pairs (new file)")
    au.add_argument("--per-pair", type=int, default=4, help="at most this many per pair")
    au.add_argument("--seed", type=int, default=0)
    au.add_argument(
        "--values",
        choices=("data", "invented", "mixed"),
        default="data",
        help="bash: a swap's new argument is one seen in the data, one invented in its shape "
        "(for generated data, whose values repeat), or either at random",
    )


def run(args: argparse.Namespace, augment_sql: AugmentSql | None = None) -> int:
    """`augment_sql`: replaces the SQL value swaps (the lab's direction flips add to them)."""
    if Path(args.out).resolve() == Path(args.data).resolve():
        raise SymgenError(f"--out {args.out} is the input file: choose a new path")
    require_records(args.data, "pairs")
    if augment_sql is not None:
        return augment_sql_pairs(args, augment_sql)
    return AUGMENTERS[args.task](args)


def augment_sql_pairs(args: argparse.Namespace, augment_sql: AugmentSql | None = None) -> int:
    from symgen.dataset import read_jsonl, write_jsonl

    if not args.db:
        raise SymgenError("--db is required to augment SQL pairs (each swap is executed on it)")
    from symgen.tasks.sql.augment import with_augmented

    records = read_jsonl(args.data, required=("question", "query"))
    with open_db(args.db) as db:
        out, stats = (augment_sql or with_augmented)(
            records, db, per_pair=args.per_pair, seed=args.seed
        )
    write_jsonl(args.out, out)
    print(
        f"{len(records)} pairs{stats.extra()} ({stats.with_slots} with swappable values) + "
        f"{stats.written} value-swapped pairs, each executed non-empty -> {args.out}; "
        f"skipped {dict(stats.rejected)}"
    )
    return 0


def augment_bash(args: argparse.Namespace) -> int:
    from symgen.dataset import read_jsonl, write_jsonl
    from symgen.tasks.bash.augment import with_augmented_bash
    from symgen.tasks.code import read_code_seeds

    read_code_seeds(args.data)  # line-numbered errors for a malformed or incomplete line
    records = read_jsonl(args.data)  # written back unchanged, the swaps after them
    out, stats = with_augmented_bash(
        records, per_pair=args.per_pair, seed=args.seed, values=args.values
    )
    write_jsonl(args.out, out)
    print(
        f"{len(records)} pairs ({stats.with_slots} with arguments the request names) + "
        f"{stats.written} argument-swapped pairs, each parsed and safety-checked -> {args.out}; "
        f"skipped {dict(stats.rejected)}"
    )
    return 0


# each task's augmentation (`--task`): value swaps executed on the database, argument swaps
AUGMENTERS = {"sql": augment_sql_pairs, "bash": augment_bash}
