"""Read-only SQLite adapter: schema, sample rows and guarded execution of generated SQL.

Generated SQL is untrusted. Three independent guards keep the user's database intact:
the file is opened `mode=ro`, `PRAGMA query_only` is on, and an authorizer denies every
action except reading (no ATTACH, no PRAGMA, no writes, no temp tables). A progress handler
enforces a wall-clock timeout and `fetchmany` a row cap.
"""

from __future__ import annotations

import sqlite3
import time
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from symgen.database import Adapter, Column, Execution, Table, file_fingerprint
from symgen.database import quote_ident as _quote
from symgen.errors import MissingResource, SymgenError

__all__ = ["Column", "Execution", "ReadOnlyDatabase", "Table"]

_SQLITE_MAGIC = b"SQLite format 3\x00"

# Authorizer actions a read-only query legitimately needs.
_ALLOWED_ACTIONS = {
    sqlite3.SQLITE_SELECT,
    sqlite3.SQLITE_READ,
    sqlite3.SQLITE_FUNCTION,
    getattr(sqlite3, "SQLITE_RECURSIVE", 33),
}


class ReadOnlyDatabase(Adapter):
    """A SQLite file opened so that no statement can change it."""

    dialect = "sqlite"

    def __init__(self, path: str | Path, *, timeout_s: float = 2.0, row_cap: int = 10_000) -> None:
        self.path = Path(path)
        self.spec = str(path)
        self.warnings: list[str] = []
        self.timeout_s = timeout_s
        self.row_cap = row_cap
        if not self.path.is_file():
            raise MissingResource(
                f"{self.path}: database not found; pass --db with the path of a SQLite file"
            )
        with self.path.open("rb") as fh:
            if fh.read(16) != _SQLITE_MAGIC:
                raise SymgenError(f"{self.path}: not a SQLite database (bad file header)")
        uri = f"{self.path.resolve().as_uri()}?mode=ro"
        self._conn = sqlite3.connect(uri, uri=True, check_same_thread=False)
        self._conn.execute("PRAGMA query_only = 1")
        self._conn.set_authorizer(self._authorize)
        self._deadline = 0.0
        self._conn.set_progress_handler(self._check_deadline, 1000)
        self._schema: tuple[Table, ...] | None = None

    @property
    def name(self) -> str:
        return self.path.stem

    def fingerprint(self) -> str:
        return file_fingerprint(self.path)

    @staticmethod
    def _authorize(action: int, *_args: Any) -> int:
        return sqlite3.SQLITE_OK if action in _ALLOWED_ACTIONS else sqlite3.SQLITE_DENY

    def _check_deadline(self) -> int:
        return 1 if self._deadline and time.monotonic() > self._deadline else 0

    def _trusted(self, sql: str, params: Sequence[Any] = ()) -> list[tuple[Any, ...]]:
        """Our own catalogue queries (PRAGMA needs to bypass the authorizer)."""
        self._conn.set_authorizer(None)
        try:
            return list(self._conn.execute(sql, params))
        finally:
            self._conn.set_authorizer(self._authorize)

    def tables(self, sample_rows: int = 3) -> tuple[Table, ...]:
        """Tables with typed columns and the first `sample_rows` rows (cached)."""
        if self._schema is None:
            names = [
                r[0]
                for r in self._trusted(
                    "SELECT name FROM sqlite_master WHERE type='table' "
                    "AND name NOT LIKE 'sqlite_%' ORDER BY name"
                )
            ]
            tables = []
            for name in names:
                cols = tuple(
                    Column(r[1], (r[2] or "").lower())
                    for r in self._trusted(f"PRAGMA table_info({_quote(name)})")
                )
                rows = tuple(
                    tuple(r)
                    for r in self._trusted(f"SELECT * FROM {_quote(name)} LIMIT {int(sample_rows)}")
                )
                tables.append(Table(name, cols, rows))
            self._schema = tuple(tables)
        return self._schema

    def text_values(
        self, per_column: int = 5000, budget_s: float = 30.0
    ) -> list[tuple[str, str, str]]:
        """Distinct short text values as (table, column, value): the index for question hints
        (a local file: no time budget needed)."""
        out: list[tuple[str, str, str]] = []
        for table in self.tables():
            for col in table.columns:
                if col.type and not any(t in col.type for t in ("char", "text", "clob", "varchar")):
                    continue
                rows = self._trusted(
                    f"SELECT DISTINCT {_quote(col.name)} FROM {_quote(table.name)} "
                    f"WHERE typeof({_quote(col.name)}) = 'text' "
                    f"AND length({_quote(col.name)}) BETWEEN 2 AND 60 LIMIT {int(per_column)}"
                )
                out.extend((table.name, col.name, r[0]) for r in rows)
        return out

    def execute(self, sql: str) -> Execution:
        """Run untrusted SQL with the guards on; never raises for a bad query."""
        start = time.monotonic()
        self._deadline = start + self.timeout_s
        try:
            cur = self._conn.execute(sql)
            rows = cur.fetchmany(self.row_cap + 1)
            if len(rows) > self.row_cap:
                return Execution(None, "row_cap", time.monotonic() - start)
            return Execution(tuple(tuple(r) for r in rows), None, time.monotonic() - start)
        except sqlite3.DatabaseError as exc:
            msg = str(exc)
            if "interrupted" in msg:
                err = "timeout"
            elif "not authorized" in msg or "prohibited" in msg or "readonly" in msg:
                err = "denied"
            else:
                err = f"error: {msg}"
            return Execution(None, err, time.monotonic() - start)
        except (sqlite3.Warning, ValueError, OverflowError) as exc:  # e.g. two statements
            return Execution(None, f"error: {exc}", time.monotonic() - start)
        finally:
            self._deadline = 0.0
            if self._conn.in_transaction:
                self._conn.rollback()
