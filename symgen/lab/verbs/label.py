"""`symgen lab label`: pseudo-labels from agreeing task models (measured, not adopted)."""

from __future__ import annotations

import argparse
from pathlib import Path
from typing import Any

from symgen.cli.common import (
    DB_HELP,
    ORT_THREADS_HELP,
    add_decoding,
    guide,
    require_records,
    warn,
)
from symgen.errors import SymgenError


def add_parser(sub: Any, common: argparse.ArgumentParser) -> None:
    la = sub.add_parser(
        "label",
        parents=[common],
        help="answer unlabelled questions with trained task models, keeping the answers they "
        "all agree on (same rows) as pairs: a transfer set for `symgen lab train --teacher`",
    )
    la.add_argument(
        "--model", action="append", required=True, help="exported SQL model dir (twice or more)"
    )
    la.add_argument("--db", required=True, help=DB_HELP)
    la.add_argument(
        "--questions", action="append", required=True, help="JSONL with a question per line"
    )
    la.add_argument(
        "--exclude", action="append", help="pairs whose questions to skip (the training data)"
    )
    la.add_argument("--out", required=True, help="kept pairs (+ .rejected.jsonl); resumes")
    add_decoding(la)
    la.add_argument("--int8", action=argparse.BooleanOptionalAction, default=None)
    la.add_argument("--threads", type=int, default=None, help=ORT_THREADS_HELP)
    la.add_argument("--quiet", action="store_true")
    la.set_defaults(func=run, outputs=[("out", "file")])


def run(args: argparse.Namespace) -> int:
    from symgen.databases.base import open_database
    from symgen.engine.model import TaskModel
    from symgen.lab.pseudo_label import label_questions, model_answerer, unlabelled_questions
    from symgen.tasks.sql.model_input import DbKnowledge

    if any(Path(args.out).resolve() == Path(p).resolve() for p in args.questions):
        raise SymgenError(f"--out {args.out} is one of the --questions files: choose a new path")
    for path in args.questions:
        require_records(path, "questions")
    knowledge = DbKnowledge.load(args.db)
    warn(knowledge.warnings)
    models = [TaskModel(m, int8=args.int8, threads=args.threads) for m in args.model]
    for path, model in zip(args.model, models, strict=True):
        if model.task != "sql":
            raise SymgenError(f"{path} is a {model.task} model; symgen label answers SQL questions")
    decoding = {
        "beams": args.beams,
        "decode": args.decode,
        "prefer": guide(args, knowledge.spec),
        "ground_literals": args.ground_literals,
    }
    questions, covered = unlabelled_questions(args.questions, args.exclude or ())
    with open_database(args.db, timeout_s=5.0) as db:
        stats = label_questions(
            questions,
            [model_answerer(m, knowledge, **decoding) for m in models],
            db,
            args.out,
            db_name=knowledge.name,
            model_names=[m.name for m in models],
            progress=not args.quiet,
        )
    print(
        f"{len(questions)} questions ({covered} repeats or covered by --exclude skipped): "
        f"{stats.kept} labelled -> {args.out}; rejected {dict(stats.rejected)}; "
        f"{stats.skipped_seen} done by an earlier run"
    )
    return 0
