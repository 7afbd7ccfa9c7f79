"""Read-only DuckDB adapter: schema and sample rows from DuckDB's catalog, guarded execution.

Guards, each enough on its own against writes to the file: the file is opened `read_only`;
DuckDB's own parser must find exactly one SELECT statement (no PRAGMA, CALL, CREATE TEMP, SET,
ATTACH, COPY); it runs inside a transaction that is always rolled back; external access
(files, extensions, ATTACH, COPY TO) is disabled and the configuration locked so SQL cannot turn
it back on. A timer interrupts a query at the timeout and `fetchmany` applies the row cap.
"""

from __future__ import annotations

import contextlib
import threading
import time
from pathlib import Path
from typing import Any

from symgen.database import Adapter, Column, Execution, Table, file_fingerprint
from symgen.database import quote_ident as _quote
from symgen.errors import MissingResource, SymgenError


class DuckDatabase(Adapter):
    """A DuckDB file opened so that no statement can change it."""

    dialect = "duckdb"
    text_types = ("varchar", "text", "string", "char", "bpchar")

    def __init__(self, path: str | Path, *, timeout_s: float = 2.0, row_cap: int = 10_000) -> None:
        try:
            import duckdb
        except ImportError:  # pragma: no cover - depends on the install
            raise MissingResource(
                "DuckDB support needs the duckdb package: pip install 'symgen[db]'"
            ) from None
        self._duckdb = duckdb
        self.path = Path(path)
        self.spec = str(path)
        self.timeout_s = timeout_s
        self.row_cap = row_cap
        self.warnings: list[str] = []
        if not self.path.is_file():
            raise MissingResource(f"{self.path}: DuckDB file not found")
        try:
            self._conn = duckdb.connect(
                str(self.path),
                read_only=True,
                config={"enable_external_access": False, "lock_configuration": True},
            )
        except duckdb.Error as exc:
            raise SymgenError(f"{self.path}: cannot open as a DuckDB database: {exc}") from None
        self._lock = threading.Lock()
        self._schema: tuple[Table, ...] | None = None

    @property
    def name(self) -> str:
        return self.path.stem

    def fingerprint(self) -> str:
        return file_fingerprint(self.path)

    def _trusted(self, sql: str, params: list[Any] | None = None) -> list[tuple[Any, ...]]:
        with self._lock:
            return [tuple(r) for r in self._conn.execute(sql, params).fetchall()]

    def tables(self, sample_rows: int = 3) -> tuple[Table, ...]:
        if self._schema is not None:
            return self._schema
        rows = self._trusted(
            "SELECT schema_name, table_name, column_name, data_type FROM duckdb_columns() "
            "WHERE database_name = current_database() AND NOT internal "
            "ORDER BY schema_name, table_name, column_index"
        )
        by_table: dict[tuple[str, str], list[Column]] = {}
        for schema, table, column, dtype in rows:
            by_table.setdefault((schema, table), []).append(Column(column, str(dtype).lower()))
        tables = []
        for (schema, table), cols in sorted(by_table.items(), key=lambda kv: kv[0][1]):
            name = table if schema == "main" else f"{schema}.{table}"
            ref = _quote(table) if schema == "main" else f"{_quote(schema)}.{_quote(table)}"
            try:
                sample = self._trusted(f"SELECT * FROM {ref} LIMIT {int(sample_rows)}")
            except self._duckdb.Error as exc:
                self.warnings.append(f"{name}: sample rows unreadable ({exc}); schema only")
                sample = []
            tables.append(Table(name, tuple(cols), tuple(sample)))
        self._schema = tuple(tables)
        return self._schema

    def _distinct_text(self, table_ref: str, column: str, limit: int) -> list[tuple[Any, ...]]:
        return self._trusted(
            f"SELECT DISTINCT {column} FROM {table_ref} "
            f"WHERE length({column}) BETWEEN 2 AND 60 LIMIT {int(limit)}"
        )

    def execute(self, sql: str) -> Execution:
        start = time.monotonic()
        duckdb = self._duckdb
        try:
            statements = duckdb.extract_statements(sql)
        except duckdb.Error as exc:
            return Execution(None, f"error: {exc}", time.monotonic() - start)
        if len(statements) != 1 or statements[0].type != duckdb.StatementType.SELECT:
            return Execution(None, "denied", time.monotonic() - start)
        with self._lock:
            timer = threading.Timer(self.timeout_s, self._conn.interrupt)
            try:
                self._conn.begin()
                timer.start()
                cur = self._conn.execute(sql)
                rows = cur.fetchmany(self.row_cap + 1)
                if len(rows) > self.row_cap:
                    return Execution(None, "row_cap", time.monotonic() - start)
                return Execution(tuple(tuple(r) for r in rows), None, time.monotonic() - start)
            except duckdb.InterruptException:
                return Execution(None, "timeout", time.monotonic() - start)
            except (duckdb.PermissionException, duckdb.InvalidInputException) as exc:
                msg = str(exc)
                denied = "read-only" in msg or "disabled" in msg or "locked" in msg
                return Execution(
                    None, "denied" if denied else f"error: {msg}", time.monotonic() - start
                )
            except duckdb.Error as exc:
                return Execution(None, f"error: {exc}", time.monotonic() - start)
            finally:
                timer.cancel()
                with contextlib.suppress(duckdb.Error):
                    self._conn.rollback()
