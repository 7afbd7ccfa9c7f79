"""SQL as a symbolic language: post-processing, read-only checks, normalisation, result equality."""

from __future__ import annotations

import datetime as dt
import json
import math
import re
from collections.abc import Hashable, Sequence
from decimal import Decimal
from typing import Any

import sqlglot
from sqlglot import exp
from sqlglot.errors import ParseError, TokenError

from symgen.databases.base import Database, too_long
from symgen.tasks.base import Outcome
from symgen.tasks.sql.smells import smell

STOP: tuple[str, ...] = (";", "\n\n", "--")
ANSWER_PREFIX = "SELECT"

# Node types that can change state or reach outside the query; any of them anywhere is rejected.
_FORBIDDEN = tuple(
    getattr(exp, name)
    for name in (
        "Insert",
        "Update",
        "Delete",
        "Merge",
        "Create",
        "Drop",
        "Alter",
        "AlterTable",
        "TruncateTable",
        "Command",
        "Pragma",
        "Attach",
        "Detach",
        "Set",
        "Transaction",
        "Commit",
        "Rollback",
        "Use",
        "Copy",
        "LoadData",
        "Grant",
        "Revoke",
    )
    if hasattr(exp, name)
)

# Functions with effects outside the query's (rolled-back, read-only) transaction, or that read
# files or other databases: server admin (pg_terminate_backend, pg_reload_conf, ...), large
# objects, dblink, set_config, sequences, file readers, SQLite extensions.
_UNSAFE_FUNCTION = re.compile(
    r"^(pg_|lo_|dblink|set_config$|load_extension$|query_to_xml|cursor_to_xml|"
    r"read_(csv|json|parquet|text|blob)|glob$|sqlite_|readfile$|writefile$|"
    r"nextval$|setval$|txid_)",
    re.IGNORECASE,
)


def postprocess(completion: str, prefix: str = ANSWER_PREFIX) -> str:
    """Cut a continuation at the first stop sequence and restore the prompt's `SELECT` prefix."""
    text = completion
    for stop in STOP:
        idx = text.find(stop)
        if idx >= 0:
            text = text[:idx]
    text = " ".join(text.split())
    if prefix and not text.upper().startswith(prefix.upper()):
        text = f"{prefix} {text}".strip()
    return text + ";" if text else ""


def parse(sql: str, dialect: str = "sqlite") -> exp.Expr | None:
    if too_long(sql):  # parsing is what a huge text exhausts (SQL_MAX_CHARS)
        return None
    try:
        trees = [t for t in sqlglot.parse(sql, read=dialect) if t is not None]
    except (ParseError, TokenError, ValueError, RecursionError):
        return None
    return trees[0] if len(trees) == 1 else None


def static_check(sql: str, dialect: str = "sqlite") -> str | None:
    """Reject anything that is not exactly one read-only query, before it reaches a database."""
    found = checked_tree(sql, dialect)
    return found if isinstance(found, str) else None


def checked_tree(sql: str, dialect: str = "sqlite") -> exp.Expr | str:
    """The one read-only query `sql` parses to, or why it is not one (`static_check`'s reason);
    one parse for callers that go on to inspect the tree."""
    if not sql.strip():
        return "empty"
    if too_long(sql):
        return "too_long"
    try:
        trees = [t for t in sqlglot.parse(sql, read=dialect) if t is not None]
    except (ParseError, TokenError, ValueError, RecursionError):
        return "syntax"
    if len(trees) != 1:
        return "multiple_statements" if trees else "empty"
    tree = trees[0]
    if any(isinstance(node, _FORBIDDEN) for node in tree.walk()):
        return "not_read_only"
    if not isinstance(tree, exp.Query):
        return "not_read_only"
    for func in tree.find_all(exp.Func):
        name = func.sql_name() if not isinstance(func, exp.Anonymous) else func.name
        if _UNSAFE_FUNCTION.match(name or ""):
            return "unsafe_function"
    return tree


def normalise(sql: str, dialect: str = "sqlite") -> str:
    """Canonical text for dedup and exact match: sqlglot's rendering with identifiers lowercased."""
    tree = parse(sql, dialect)
    if tree is None:
        return " ".join(sql.lower().rstrip(";").split())
    return tree.sql(dialect=dialect, normalize=True, comments=False).lower()


def has_order_by(sql: str, dialect: str = "sqlite") -> bool:
    """True when the outermost query orders its rows, so row order is part of the answer."""
    tree = parse(sql, dialect)
    return tree is not None and tree.args.get("order") is not None


def _norm_value(value: Any) -> Hashable:
    """One comparable form per value, whatever the engine returned.

    Numbers by value (int, float, Decimal alike: SQLite's REAL average equals PostgreSQL's
    NUMERIC one to 6 decimals); dates and times as SQLite stores them (ISO text, space
    separator); NULL stays None; arrays/structs/JSON become tuples/canonical JSON text.
    """
    if value is None or isinstance(value, str):
        return value
    if isinstance(value, bool):
        return int(value)
    if isinstance(value, (int, float, Decimal)):
        try:
            as_float = float(value)
        except (OverflowError, ValueError):
            return str(value)
        if math.isnan(as_float):
            return "NaN"
        if math.isinf(as_float):
            return "inf" if as_float > 0 else "-inf"
        return round(as_float, 6)
    if isinstance(value, (bytes, bytearray, memoryview)):
        return bytes(value).hex()
    if isinstance(value, dt.datetime):
        return value.isoformat(sep=" ")
    if isinstance(value, (dt.date, dt.time)):
        return value.isoformat()
    if isinstance(value, dt.timedelta):
        return round(value.total_seconds(), 6)
    if isinstance(value, (list, tuple)):
        return tuple(_norm_value(v) for v in value)
    if isinstance(value, dict):
        return json.dumps(value, sort_keys=True, default=str)
    try:
        hash(value)
    except TypeError:
        return str(value)
    return str(value)  # UUID, IP addresses, ranges, intervals, ...


def result_key(rows: Sequence[Sequence[Any]], ordered: bool) -> Hashable:
    """Hashable identity of a result: a multiset of rows, or a list when order matters.

    Numbers compare by value (1 == 1.0), so `COUNT(*)` and `SUM(1)` agree.
    """
    norm = [tuple(_norm_value(v) for v in row) for row in rows]
    if ordered and len(norm) > 1:
        return ("list", tuple(norm))
    return ("bag", tuple(sorted(norm, key=repr)))


def results_match(
    gold: Sequence[Sequence[Any]], pred: Sequence[Sequence[Any]], ordered: bool
) -> bool:
    """Execution-accuracy comparison; `ordered` comes from the gold query's ORDER BY."""
    return result_key(gold, ordered) == result_key(pred, ordered)


def is_empty_result(rows: Sequence[Sequence[Any]]) -> bool:
    """No rows, or only NULLs: what most wrong filters return, so it should not win a vote."""
    return all(v is None for row in rows for v in row)


_WS = re.compile(r"\s+")


class SqlTask:
    """SQL against one read-only database, for the agreement verifier."""

    name = "sql"
    answer_prefix = ANSWER_PREFIX
    stop: tuple[str, ...] = STOP
    needs_database = True  # the model reads the schema; pairs name their database
    supports_placeholders = False  # values are copied from the question, checked on the database
    label_smoothing = 0.0  # 0.1 cost 4.3 dev / 3.6 held-out points on GeoQuery (config.py)
    vote_defaults: tuple[int, str] | None = None
    expected_outputs: float | None = None
    needs_tests = False

    @staticmethod
    def canonical(program: str) -> str:
        return " ".join(program.split())

    def __init__(self, db: Database, *, allow_empty: bool = False) -> None:
        self.db = db
        self.dialect = db.dialect
        self.allow_empty = allow_empty

    def postprocess(self, completion: str) -> str:
        return postprocess(completion, self.answer_prefix)

    def static_check(self, program: str) -> str | None:
        """Read-only, one query, and no smell (`symgen.tasks.sql.smells`): a smelly majority must
        not win the vote (the 0.5B's `SELECT city_name ... GROUP BY state_name` for "the
        largest city" agreed with itself 3 of 8 times)."""
        reason = static_check(program, self.dialect)
        if reason is not None:
            return reason
        tree = parse(program, self.dialect)
        found = smell(tree) if tree is not None else ("syntax", "")
        return found[0] if found else None

    def dedup_key(self, program: str) -> str:
        return normalise(program, self.dialect)

    def execute(self, program: str) -> Outcome:
        run = self.db.execute(program)
        if run.rows is None:
            failure = run.error or "error"
            return Outcome(failure="runtime_error" if failure.startswith("error") else failure)
        if not self.allow_empty and is_empty_result(run.rows):
            return Outcome(failure="empty_result")
        return Outcome(key=result_key(run.rows, has_order_by(program, self.dialect)))
