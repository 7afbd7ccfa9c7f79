"""`symgen db-copy`: a SQLite database copied into DuckDB or PostgreSQL."""

from __future__ import annotations

import argparse
from pathlib import Path
from typing import Any

from symgen.cli.common import (
    open_db,
)
from symgen.errors import SymgenError


def add_parser(sub: Any, common: argparse.ArgumentParser) -> None:
    cp = sub.add_parser(
        "db-copy",
        parents=[common],
        help="copy a SQLite database into a new .duckdb file or a PostgreSQL database",
    )
    cp.add_argument("source", help="SQLite file")
    cp.add_argument("dest", help="new .duckdb file, or postgresql:// URL of an empty database")
    cp.set_defaults(func=run, outputs=[("dest", "file")])


def run(args: argparse.Namespace) -> int:
    from symgen.databases.base import engine_of, is_url, public_spec
    from symgen.databases.copy import copy_sqlite

    if engine_of(args.source) != "sqlite":
        raise SymgenError(f"{args.source}: db-copy reads a SQLite file")
    with open_db(args.source):  # missing, not SQLite, corrupt: said before anything is created
        pass
    if not is_url(args.dest):
        Path(args.dest).parent.mkdir(parents=True, exist_ok=True)
    counts = copy_sqlite(args.source, args.dest)
    print(
        f"copied {len(counts)} tables, {sum(counts.values())} rows "
        f"from {args.source} into {public_spec(args.dest)}"
    )
    return 0
