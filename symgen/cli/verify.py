"""`symgen verify`: the agreement verifier over a file of candidates (streams, resumes)."""

from __future__ import annotations

import argparse
import contextlib
from pathlib import Path
from typing import Any

from symgen.cli.common import (
    DB_HELP,
    add_task,
    db_identity,
    expected_outputs,
    open_db,
    warn,
)
from symgen.config import (
    PYTHON_EXPECTED_OUTPUTS,
    VerifyConfig,
)
from symgen.errors import SymgenError
from symgen.tasks.registry import task_for


def add_parser(sub: Any, common: argparse.ArgumentParser) -> None:
    vcfg = VerifyConfig()
    ver = sub.add_parser(
        "verify", parents=[common], help="run the agreement verifier on candidate programs"
    )
    add_task(ver)
    ver.add_argument("--db", default=None, help=DB_HELP + " (--task sql)")
    ver.add_argument(
        "--candidates",
        required=True,
        help='JSONL: {"question", "candidates": [{"query", "logprob"}]} (+ "tests" for python)',
    )
    ver.add_argument(
        "--out",
        required=True,
        help="kept pairs, appended as they are verified (+ .rejected.jsonl, .run.json); a rerun "
        "with the same inputs resumes",
    )
    ver.add_argument("--min-votes", default=vcfg.min_votes)
    ver.add_argument(
        "--expected-outputs",
        type=float,
        default=None,
        help="python: share of a row's `outputs` (or its asserts' literals) the vote's winner "
        f"must reproduce (default {PYTHON_EXPECTED_OUTPUTS}; 0: the vote alone)",
    )
    ver.add_argument("--allow-empty", action="store_true")
    ver.add_argument(
        "--seeds",
        default=None,
        help="(--task sql) the users' seed pairs: numbers they compare with unstated ('major' "
        "cities → population > 150000) are conventions; any other number a kept SQL compares "
        "with must be stated in its question (refused as unstated_number either way)",
    )
    ver.add_argument("--quiet", action="store_true", help="no progress bar")
    ver.set_defaults(func=run, outputs=[("out", "file")])


def run(args: argparse.Namespace) -> int:
    """Stream the candidates, appending each verdict as it is reached: a crash costs the
    question in flight, and a rerun with the same inputs goes on where the last one stopped."""
    from symgen.databases.base import file_fingerprint
    from symgen.tasks.code_judge import code_judge
    from symgen.tasks.sql.judge import sql_judge
    from symgen.verify import MinVotes
    from symgen.verify_candidates import check_candidates, verify_stream

    min_votes = MinVotes.parse(args.min_votes)
    share = expected_outputs(args)
    uses_db = task_for(args.task).needs_database
    if uses_db and not args.db:
        raise SymgenError(f"--task {args.task} needs --db")
    total, candidates_sha = check_candidates(Path(args.candidates), args.task, args.quiet)
    identity: dict[str, Any] = {
        "task": args.task,
        "candidates_sha": candidates_sha,
        "min_votes": str(args.min_votes),
        "allow_empty": args.allow_empty,
        "expected_outputs": share,
    }
    with contextlib.ExitStack() as stack:
        if uses_db:
            db = stack.enter_context(open_db(args.db))
            warn(db.warnings)
            judge = sql_judge(
                db, args.seeds, args.allow_empty, min_votes
            )  # reads --seeds: a bad one fails here
            identity |= {"db": db_identity(args.db), "db_sha": db.fingerprint()}
            identity["seeds_sha"] = file_fingerprint(Path(args.seeds)) if args.seeds else None
        else:
            judge = code_judge(args.task, min_votes, share)
        kept, unstated = verify_stream(
            Path(args.candidates),
            Path(args.out),
            identity,
            total,
            judge,
            quiet=args.quiet,
            notes=warn,
        )
    print(f"{kept} of {total} questions kept in {args.out}")
    if unstated:
        print(f"{unstated} agreed but refused: their SQL compares with a number never stated")
    return 0
