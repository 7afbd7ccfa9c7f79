"""`symgen complete`: SQL or code for one request from an exported model."""

from __future__ import annotations

import argparse
from typing import Any

from symgen.cli.common import (
    DB_HELP,
    add_decoding,
    err,
    guide,
    warn,
)
from symgen.errors import SymgenError
from symgen.tasks.registry import task_for


def add_parser(sub: Any, common: argparse.ArgumentParser) -> None:
    co = sub.add_parser(
        "complete", parents=[common], help="SQL or code for one request from an exported model"
    )
    co.add_argument("--model", required=True)
    co.add_argument("--db", default=None, help=DB_HELP + " (SQL models)")
    add_decoding(co)
    co.add_argument("--int8", action=argparse.BooleanOptionalAction, default=None)
    co.add_argument("question")
    co.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    from symgen.engine.model import TaskModel
    from symgen.tasks.sql.model_input import DbKnowledge

    model = TaskModel(args.model, int8=args.int8)
    if not task_for(model.task).needs_database:
        result = model.suggest_code(args.question, beams=args.beams, decode=args.decode)
    elif not args.db:
        raise SymgenError(f"{args.model} is a {model.task} model: pass --db")
    else:
        db = DbKnowledge.load(args.db)
        warn(db.warnings)
        result = model.suggest(
            db,
            args.question,
            beams=args.beams,
            decode=args.decode,
            prefer=guide(args, db.spec),
            ground_literals=args.ground_literals,
        )
    print(result.sql)
    if not result.valid:
        err(f"no beam passed the schema check ({result.problem})")
        return 1
    return 0
