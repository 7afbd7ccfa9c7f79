"""What the verbs share: messages, output and database checks before any work, common options."""

from __future__ import annotations

import argparse
import contextlib
import os
import sys
from collections.abc import Callable, Iterator, Sequence
from pathlib import Path
from typing import Any

from symgen.config import GROUNDING, VerifyConfig
from symgen.errors import SymgenError
from symgen.tasks.registry import task_for, tasks_with


def err(msg: str) -> None:
    print(f"symgen: {msg}", file=sys.stderr)


def warn(messages: Sequence[str]) -> None:
    for msg in messages:
        err(f"note: {msg}")


def writable_problem(path: Path, kind: str) -> str | None:
    """Why `path` cannot be written as a `kind` ("file" or "dir"), or None; creates nothing, so
    a refused command leaves no empty directory behind."""
    if path.exists():
        if kind == "file" and path.is_dir():
            return "is a directory; pass a file path"
        if kind == "dir" and not path.is_dir():
            return "is a file; pass a directory (a new one, or one this command wrote)"
        if not os.access(path, os.W_OK | (os.X_OK if kind == "dir" else 0)):
            return "permission denied; pass a path you can write"
        return None
    parent = path.parent
    while not parent.exists() and parent != parent.parent:
        parent = parent.parent
    if not parent.is_dir():
        return f"cannot be created: {parent} is a file, not a directory"
    if not os.access(parent, os.W_OK | os.X_OK):
        return f"cannot be created: permission denied in {parent}; pass a path you can write"
    return None


def check_outputs(args: argparse.Namespace) -> None:
    """Every output path the verb declares (`outputs` default: (dest, kind) pairs) is writable,
    so an hour of work is never lost to a typo in --out."""
    from symgen.databases.base import is_url

    for dest, kind in getattr(args, "outputs", ()):
        value = getattr(args, dest, None)
        if not value or is_url(value):
            continue
        why = writable_problem(Path(value), kind)
        if why is not None:
            flag = "--" + dest.replace("_", "-") if dest != "dest" else "DEST"
            raise SymgenError(f"{flag} {value}: {why}")


def db_identity(spec: str | Path) -> str:
    """The database as a run's identity records it (absolute path, or URL without password)."""
    from symgen.databases.base import is_url, public_spec

    return public_spec(spec) if is_url(spec) else str(Path(spec).resolve())


def is_db_error(exc: BaseException) -> bool:
    """An error from a database driver (sqlite3, duckdb, psycopg): the database is at fault."""
    return type(exc).__module__.split(".")[0] in (
        "sqlite3",
        "_sqlite3",
        "duckdb",
        "_duckdb",
        "psycopg",
    )


def db_error_message(specs: Sequence[str], exc: BaseException) -> str:
    """One line naming the database(s) a driver error came from and what to do."""
    from symgen.databases.base import public_spec

    where = ", ".join(public_spec(s) for s in specs) or "the database"
    why = " ".join(str(exc).split()) or type(exc).__name__
    return (
        f"{where}: cannot read the database ({why}); if the file is corrupt or truncated, "
        "restore a good copy"
    )


def db_specs(args: argparse.Namespace) -> list[str]:
    """The databases a command line names (--db once or repeated, --db-dir, db-copy's source)."""
    found: list[str] = []
    for dest in ("db", "db_dir", "source"):
        value = getattr(args, dest, None)
        found += [str(v) for v in value] if isinstance(value, list) else [str(value)] * bool(value)
    return found


def require_records(path: str | Path, what: str = "records") -> None:
    """An input a verb cannot do without holds at least one record (reads up to the first):
    an empty file is a wrong path or a failed earlier step, not a job with nothing to do."""
    from symgen.dataset import iter_jsonl

    if next(iter_jsonl(path), None) is None:
        raise SymgenError(f"{path}: no {what} (an empty file?); each line is one JSON object")


@contextlib.contextmanager
def open_db(spec: str, **kw: Any) -> Iterator[Any]:
    """`open_database` with its catalogue read at once: a corrupt or truncated file fails here,
    naming the file, instead of as every candidate's execution error later."""
    from symgen.databases.base import open_database

    with open_database(spec, **kw) as db:
        try:
            db.tables()
        except Exception as exc:
            if not is_db_error(exc):
                raise
            raise SymgenError(db_error_message([spec], exc)) from None
        yield db


def open_gen(args: argparse.Namespace):  # type: ignore[no-untyped-def]
    from symgen.generators.base import open_generator

    return lambda: open_generator(
        args.generator or "", n_threads=args.threads, concurrency=args.concurrency
    )


def add_generator(p: argparse.ArgumentParser) -> None:
    p.add_argument(
        "--generator",
        default="",
        help="registry NAME (default from models/registry.json), gguf:PATH, or "
        "openai:URL[,URL...][#model] / openai:@FILE (OpenAI-compatible endpoints, one URL a line)",
    )
    p.add_argument("--threads", type=int, default=None, help="CPU threads for llama.cpp")
    p.add_argument(
        "--concurrency",
        type=int,
        default=None,
        metavar="N",
        help="openai: requests in flight at once (default: the servers' slots, as llama-server's "
        "/props says, else 4 per endpoint); an embedded model answers one at a time",
    )
    p.add_argument("--seed", type=int, default=0, help="random seed (runs are reproducible)")


def add_task(p: argparse.ArgumentParser, default: str | None = "sql") -> None:
    p.add_argument(
        "--task",
        choices=("sql", "bash", "python"),
        default=default,
        help="the language (default sql)" if default else "check the model is of this language",
    )


def input_options() -> argparse.ArgumentParser:
    """Options every verb that reads files shares (an argparse parent)."""
    from symgen.dataset import MAX_LINE_BYTES

    common = argparse.ArgumentParser(add_help=False)
    common.add_argument(
        "--max-line-bytes",
        type=int,
        default=MAX_LINE_BYTES,
        metavar="N",
        help=f"refuse a JSONL line longer than N bytes, naming it (default {MAX_LINE_BYTES}: "
        "1 MB); it is never read whole",
    )
    return common


def add_decoding(p: argparse.ArgumentParser) -> None:
    """How `complete` and `eval` decode: the same choices the editor's settings offer."""
    p.add_argument("--beams", type=int, default=4)
    p.add_argument(
        "--decode",
        choices=("greedy-fallback", "beam"),
        default="greedy-fallback",
        help="greedy, beam search only when it fails the schema check (what the editor serves); "
        "or always the full beam search",
    )
    p.add_argument(
        "--execution-guided",
        action=argparse.BooleanOptionalAction,
        default=False,
        help="SQL: prefer the first valid beam that returns rows on the database (read-only, "
        "0.5 s timeout per candidate); default off (no measured gain, a p95 cost)",
    )
    p.add_argument(
        "--ground-literals",
        choices=GROUNDING,
        default="prefer",
        help="SQL: prefer the first valid beam whose quoted values the question contains, "
        "and decode once more constrained when none does; constrain: always mask decoding so "
        "a quoted value is a database value the question names, else a run of its words "
        "(default prefer)",
    )


def guide(args: argparse.Namespace, spec: str) -> Callable[[str], bool] | None:
    """The execution guidance `--execution-guided` asks for, on the database `spec`."""
    from symgen.tasks.sql.result_check import ReturnsRows

    return ReturnsRows(spec) if args.execution_guided else None


def same_task(wanted: str, actual: str, model: str) -> None:
    if wanted != actual:
        raise SymgenError(f"{model} is a {actual} model, not {wanted}")


def expected_outputs(args: argparse.Namespace) -> float:
    """--expected-outputs, checked: a share in [0, 1], for the tasks whose candidates predict
    test outputs (Python; its default there is every predicted output)."""
    own = task_for(args.task).expected_outputs
    if args.expected_outputs is None:
        return VerifyConfig.expected_outputs if own is None else own
    if not 0.0 <= args.expected_outputs <= 1.0 or own is None:
        able = " or ".join(tasks_with("expected_outputs"))
        raise SymgenError(f"--expected-outputs is a share in [0, 1], for --task {able}")
    return float(args.expected_outputs)


ORT_THREADS_HELP = "onnxruntime threads (default 1: faster than 2 for these models)"


DB_HELP = (
    "SQLite file, DuckDB file (.duckdb) or PostgreSQL URL (postgresql://user@host:port/dbname; "
    "password via PGPASSWORD or ~/.pgpass)"
)
