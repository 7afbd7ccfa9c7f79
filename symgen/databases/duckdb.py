"""Read-only DuckDB adapter: schema and sample rows from DuckDB's catalog, guarded execution.

Guards, each enough on its own against writes to the file: the file is opened `read_only`;
DuckDB's own parser must find exactly one SELECT statement (no PRAGMA, CALL, CREATE TEMP, SET,
ATTACH, COPY); it runs inside a transaction that is always rolled back; external access
(files, extensions, ATTACH, COPY TO) is disabled and the configuration locked so SQL cannot turn
it back on.

Bounds: `memory_limit`, one thread and no temporary directory (DuckDB would otherwise spill
into `<file>.tmp/` beside the user's database) are set on the connection and locked. DuckDB's
limit covers its buffer manager only: a scalar `repeat('x', 1e9)` or `range(3e8)` reached 2 GB
and 14.6 GB under a 512 MB limit, and ignored the interrupt for up to 110 s. So candidates run
in a `symgen.databases.worker.Worker` child whose data segment may grow by the memory limit plus twice
the result cap: there such a call fails at once (DuckDB's "Out of Memory Error: ... bad
allocation") and the child is killed if it overruns the timeout. A timer interrupts a query at
the timeout; rows are read up to the row cap and the result's bytes. Opening compares the
file's size with the blocks DuckDB's header counts, so a truncated file is a SymgenError.
"""

from __future__ import annotations

import contextlib
import itertools
import threading
import time
from pathlib import Path
from typing import Any

from symgen.config import SQL_MEMORY_LIMIT
from symgen.databases.base import (
    Adapter,
    Column,
    Execution,
    Table,
    file_fingerprint,
    too_long,
)
from symgen.databases.base import quote_ident as _quote
from symgen.databases.worker import WorkerPool, result_cap, take_rows
from symgen.errors import MissingResource, SymgenError


def connection_config(memory_limit: int) -> dict[str, Any]:
    """Settings every connection opens with; `lock_configuration` keeps SQL from changing them."""
    return {
        "enable_external_access": False,
        "memory_limit": f"{max(1, memory_limit // 1024)}KiB",
        "threads": 1,  # one core per query: candidates run one at a time anyway
        "temp_directory": "",  # nothing spilled next to the user's file
        "lock_configuration": True,
    }


class DuckDatabase(Adapter):
    """A DuckDB file opened so that no statement can change it."""

    dialect = "duckdb"
    text_types = ("varchar", "text", "string", "char", "bpchar")

    def __init__(
        self,
        path: str | Path,
        *,
        timeout_s: float = 2.0,
        row_cap: int = 10_000,
        memory_limit: int = SQL_MEMORY_LIMIT,
        isolated: bool = True,
    ) -> None:
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
        self.memory_limit = memory_limit
        self.warnings: list[str] = []
        if not self.path.is_file():
            raise MissingResource(f"{self.path}: DuckDB file not found")
        try:
            self._conn = duckdb.connect(
                str(self.path), read_only=True, config=connection_config(memory_limit)
            )
        except duckdb.Error as exc:
            raise SymgenError(f"{self.path}: cannot open as a DuckDB database: {exc}") from None
        self._lock = threading.Lock()
        self._schema: tuple[Table, ...] | None = None
        self._check_intact()
        limits = {"timeout_s": timeout_s, "row_cap": row_cap, "memory_limit": memory_limit}
        self._worker = (
            WorkerPool(
                (__name__, "DuckDatabase", (str(self.path),), {**limits, "isolated": False}),
                memory_limit,
            )
            if isolated
            else None
        )

    def _check_intact(self) -> None:
        """SymgenError when the file is shorter than the blocks its header counts."""
        rows = self._trusted(
            "SELECT block_size, total_blocks FROM pragma_database_size() "
            "WHERE database_name = current_database()"
        )
        size = self.path.stat().st_size
        if rows and size < rows[0][0] * rows[0][1]:
            self.close()
            raise SymgenError(
                f"{self.path}: truncated DuckDB database ({size} bytes, but its header counts "
                f"{rows[0][1]} blocks of {rows[0][0]}); restore it"
            )

    @property
    def name(self) -> str:
        return self.path.stem

    def fingerprint(self) -> str:
        return file_fingerprint(self.path)

    def _trusted(self, sql: str, params: list[Any] | None = None) -> list[tuple[Any, ...]]:
        """Our own catalogue queries; a file that cannot be read is a SymgenError naming it."""
        with self._lock:
            try:
                return [tuple(r) for r in self._conn.execute(sql, params).fetchall()]
            except self._duckdb.Error as exc:
                raise SymgenError(f"{self.path}: cannot read the DuckDB database ({exc})") from None

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
            except SymgenError as exc:
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
        if too_long(sql):
            return Execution(None, "too_long")
        if self._worker is None:
            return self.run_here(sql)
        return self._worker.run(sql, self.timeout_s)  # a pool: concurrent callers run in parallel

    def run_here(self, sql: str) -> Execution:
        """Run a candidate on this process's connection (the worker's side)."""
        start = time.monotonic()
        duckdb = self._duckdb
        with self._lock:
            try:
                statements = self._conn.extract_statements(sql)
            except duckdb.Error as exc:
                return Execution(None, f"error: {exc}", time.monotonic() - start)
            if len(statements) != 1 or statements[0].type != duckdb.StatementType.SELECT:
                return Execution(None, "denied", time.monotonic() - start)
            timer = threading.Timer(self.timeout_s, self._conn.interrupt)
            try:
                self._conn.begin()
                timer.start()
                cur = self._conn.execute(sql)
                batches = iter(lambda: cur.fetchmany(1024), [])
                got = take_rows(
                    itertools.chain.from_iterable(batches),
                    self.row_cap,
                    result_cap(self.memory_limit),
                )
                if isinstance(got, str):
                    return Execution(None, got, time.monotonic() - start)
                return Execution(got, None, time.monotonic() - start)
            except duckdb.InterruptException:
                return Execution(None, "timeout", time.monotonic() - start)
            except (duckdb.OutOfMemoryException, MemoryError):
                return Execution(None, "out_of_memory", time.monotonic() - start)
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
