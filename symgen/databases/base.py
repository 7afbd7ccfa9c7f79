"""One small interface over the databases SymGen reads: SQLite, DuckDB and PostgreSQL.

`open_database(spec)` picks the adapter from the spec: a `postgresql://` (or `postgres://`) URL,
a DuckDB file (`.duckdb`/`.ddb`, or DuckDB's file header), else a SQLite file. Every adapter
executes generated SQL read-only by construction (see each module) with a timeout, a row cap and
bounded memory (`symgen.config.SQL_MEMORY_LIMIT`), refuses text over `SQL_MAX_CHARS` unread, and
reports the sqlglot dialect its SQL is written in.
Candidates run in a bounded child process (`symgen.databases.worker`), because an engine's
own limits do not bound everything.
"""

from __future__ import annotations

import hashlib
import re
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any, Protocol, TypeVar
from urllib.parse import unquote, urlsplit, urlunsplit

from symgen.config import SQL_MAX_CHARS, SQL_MEMORY_LIMIT
from symgen.errors import MissingResource

if TYPE_CHECKING:
    from symgen.databases.worker import WorkerPool

DIALECT_NAMES = {"sqlite": "SQLite", "duckdb": "DuckDB", "postgres": "PostgreSQL"}
_DUCKDB_SUFFIXES = (".duckdb", ".ddb")
_URL = re.compile(r"^(postgres|postgresql)://", re.IGNORECASE)


@dataclass(frozen=True)
class Column:
    name: str
    type: str


@dataclass(frozen=True)
class Table:
    name: str
    columns: tuple[Column, ...]
    rows: tuple[tuple[Any, ...], ...] = field(default=())  # a few sample rows


@dataclass(frozen=True)
class Execution:
    """Outcome of running one query: `rows` on success, else `error` names the failure class."""

    rows: tuple[tuple[Any, ...], ...] | None
    # "timeout" | "row_cap" | "denied" | "out_of_memory" | "too_long" | "error: <engine message>"
    error: str | None = None
    seconds: float = 0.0


class Database(Protocol):
    """A database opened so that no statement run through `execute` can change it."""

    spec: str  # what the user passed (a path or a URL; may hold a password: never print it)
    dialect: str  # sqlglot dialect: "sqlite" | "duckdb" | "postgres"
    timeout_s: float
    row_cap: int
    memory_limit: int  # bytes a query's working memory may grow by
    warnings: list[str]  # tables or columns that could not be read, said once

    @property
    def name(self) -> str:
        """Short name pairs refer to (`"db": "geography"`): the file stem or the database name."""
        ...

    def tables(self, sample_rows: int = 3) -> tuple[Table, ...]:
        """Readable tables with typed columns and a few sample rows (cached)."""
        ...

    def text_values(self, per_column: int = 5000) -> list[tuple[str, str, str]]:
        """Distinct short text values as (table, column, value): the index for value hints."""
        ...

    def execute(self, sql: str) -> Execution:
        """Run untrusted SQL read-only, with the timeout, row cap and memory bound; never raises."""
        ...

    def fingerprint(self) -> str:
        """Changes when the data may have changed (file hash; schema hash for a server)."""
        ...

    def close(self) -> None: ...

    def __enter__(self) -> Database: ...

    def __exit__(self, *exc: object) -> None: ...


_A = TypeVar("_A", bound="Adapter")


def quote_ident(identifier: str) -> str:
    return '"' + identifier.replace('"', '""') + '"'


class Adapter:
    """Plumbing the adapters share: closing, `with`, and the value index over text columns."""

    _conn: Any
    warnings: list[str]
    text_types: tuple[str, ...] = ()  # lower-case prefixes of the engine's text column types

    def close(self) -> None:
        """The query workers (those started), then the adapter's own connection."""
        worker: WorkerPool | None = getattr(self, "_worker", None)  # unset while __init__ checks
        if worker is not None:
            worker.close()
        self._conn.close()

    def __enter__(self: _A) -> _A:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def tables(self, sample_rows: int = 3) -> tuple[Table, ...]:
        raise NotImplementedError

    def _distinct_text(self, table_ref: str, column: str, limit: int) -> list[tuple[Any, ...]]:
        """`SELECT DISTINCT` short text values of one column (engine-specific)."""
        raise NotImplementedError

    def text_values(
        self, per_column: int = 5000, budget_s: float = 30.0
    ) -> list[tuple[str, str, str]]:
        out: list[tuple[str, str, str]] = []
        deadline = time.monotonic() + budget_s
        for table in self.tables():
            ref = ".".join(quote_ident(p) for p in table.name.split(".", 1))
            for col in table.columns:
                if not col.type.lower().startswith(self.text_types):
                    continue
                if time.monotonic() > deadline:
                    self.warnings.append(
                        f"value index stopped after {budget_s:.0f} s at {table.name}.{col.name}: "
                        "value hints cover the tables read so far"
                    )
                    return out
                rows = self._distinct_text(ref, quote_ident(col.name), per_column)
                out.extend((table.name, col.name, r[0]) for r in rows)
        return out


def is_url(spec: str | Path) -> bool:
    return bool(_URL.match(str(spec)))


def engine_of(spec: str | Path) -> str:
    """The dialect a spec names, without opening it."""
    if is_url(spec):
        return "postgres"
    path = Path(spec)
    if path.suffix.lower() in _DUCKDB_SUFFIXES:
        return "duckdb"
    try:
        with path.open("rb") as fh:
            if fh.read(12)[8:12] == b"DUCK":
                return "duckdb"
    except OSError:
        pass
    return "sqlite"


def public_spec(spec: str | Path) -> str:
    """The spec with any password removed: safe to print, log and write into manifests."""
    text = str(spec)
    if not is_url(text):
        return text
    parts = urlsplit(text)
    if parts.password is None:
        return text
    host = parts.hostname or ""
    if ":" in host:
        host = f"[{host}]"
    netloc = f"{parts.username}@{host}" if parts.username else host
    if parts.port:
        netloc += f":{parts.port}"
    return urlunsplit((parts.scheme, netloc, parts.path, parts.query, parts.fragment))


def url_password(spec: str | Path) -> str | None:
    """The password a postgresql:// URL carries (decoded), or None."""
    if not is_url(spec):
        return None
    password = urlsplit(str(spec)).password
    return unquote(password) if password is not None else None


def spec_name(spec: str | Path) -> str:
    """`geography` for `…/geography.sqlite`, `geo.duckdb` and `postgresql://h/geography`."""
    if is_url(spec):
        return unquote(urlsplit(str(spec)).path.lstrip("/")) or "postgres"
    return Path(spec).stem


def open_database(
    spec: str | Path,
    *,
    timeout_s: float = 2.0,
    row_cap: int = 10_000,
    memory_limit: int = SQL_MEMORY_LIMIT,
) -> Database:
    """Open `spec` read-only with the right adapter; errors say what to fix."""
    engine = engine_of(spec)
    limits: dict[str, Any] = {
        "timeout_s": timeout_s,
        "row_cap": row_cap,
        "memory_limit": memory_limit,
    }
    if engine == "postgres":
        from symgen.databases.postgres import PostgresDatabase

        return PostgresDatabase(str(spec), **limits)
    if not Path(spec).is_file():
        raise MissingResource(
            f"{spec}: database not found; pass --db with a SQLite or DuckDB file, "
            "or a postgresql://user@host:port/dbname URL"
        )
    if engine == "duckdb":
        from symgen.databases.duckdb import DuckDatabase

        return DuckDatabase(spec, **limits)
    from symgen.databases.sqlite import ReadOnlyDatabase

    return ReadOnlyDatabase(spec, **limits)


def file_fingerprint(path: Path) -> str:
    h = hashlib.sha256()
    with path.open("rb") as fh:
        for block in iter(lambda: fh.read(1 << 20), b""):
            h.update(block)
    return h.hexdigest()[:16]


def schema_fingerprint(tables: tuple[Table, ...]) -> str:
    text = ";".join(
        f"{t.name}({','.join(f'{c.name} {c.type}' for c in t.columns)})" for t in tables
    )
    return hashlib.sha256(text.encode()).hexdigest()[:16]


def too_long(sql: str) -> bool:
    """Refused before any parser reads it: parsing is what a huge text exhausts."""
    return len(sql) > SQL_MAX_CHARS


def transpile(sql: str, read: str, write: str) -> str | None:
    """`sql` rewritten from dialect `read` to `write` (one statement), or None if it cannot be."""
    if read == write:
        return sql
    if too_long(sql):
        return None
    import sqlglot
    from sqlglot.errors import ParseError, TokenError

    try:
        out = sqlglot.transpile(sql, read=read, write=write)
    except (ParseError, TokenError, ValueError, RecursionError):
        return None
    return out[0] if len(out) == 1 else None
