"""Read-only SQLite adapter: schema, sample rows and guarded execution of generated SQL.

Generated SQL is untrusted. Three independent guards keep the user's database intact: the file
is opened `mode=ro`, `PRAGMA query_only` is on, and an authorizer denies every action except
reading and calling the functions an answer needs (`symgen.databases.functions.SQLITE_ALLOWED`: no
ATTACH, PRAGMA, writes, temp tables, load_extension or fts3_tokenizer).

Bounds: a progress handler enforces the timeout between steps; no value may exceed
SQL_VALUE_BYTES (SQLITE_LIMIT_LENGTH: `randomblob(1e9)` had taken 24.7 s and 6.9 GB in one step);
SQLite's heap may grow by `memory_limit` while a candidate runs (`sqlite3_hard_heap_limit64`,
through ctypes on the library `_sqlite3` links), so a blow-up fails at once as out_of_memory;
rows are read one at a time up to the row cap and the result's bytes
(`symgen.databases.worker.take_rows`). One call can still run long between two steps without allocating
(`printf('%.*c', 1e9, 'x')` took 6.5 s, and instr, replace and trim are quadratic in their
arguments), so candidates run in a `symgen.databases.worker.Worker` child, killed past the timeout, with
its data segment capped too. There the heap limit, which is process-wide, bounds only the
candidate; in-process (`isolated=False`) it is set to (heap in use + memory_limit) while a
candidate runs and restored after, one candidate at a time per process, so it holds whatever
else the process holds (SymGen's other SQLite use, catalogue reads and db-copy, needs a few MB).

Opening checks the file is whole: the header's page count against the file's size, and
`PRAGMA quick_check` on files up to QUICK_CHECK_MAX_BYTES (about 12 ms per MB: 0.3 ms on
GeoQuery, 0.1-0.2 s on Spider's largest file, 8 MB), so a corrupt or truncated file is one
SymgenError naming it rather than a traceback or a run that silently keeps nothing.
"""

from __future__ import annotations

import contextlib
import ctypes
import sqlite3
import struct
import threading
import time
from collections.abc import Callable, Iterator, Sequence
from pathlib import Path
from typing import Any

from symgen.config import SQL_MEMORY_LIMIT, SQL_VALUE_BYTES
from symgen.databases.base import (
    Adapter,
    Column,
    Execution,
    Table,
    file_fingerprint,
    too_long,
)
from symgen.databases.base import quote_ident as _quote
from symgen.databases.functions import sqlite_function_allowed
from symgen.databases.worker import WorkerPool, result_cap, take_rows
from symgen.errors import MissingResource, SymgenError

__all__ = ["Column", "Execution", "ReadOnlyDatabase", "Table"]

_SQLITE_MAGIC = b"SQLite format 3\x00"
QUICK_CHECK_MAX_BYTES = 256 * 2**20  # above, only the size check: quick_check would take > 3 s

# Authorizer actions a read-only query legitimately needs (functions: see _authorize).
_ALLOWED_ACTIONS = {
    sqlite3.SQLITE_SELECT,
    sqlite3.SQLITE_READ,
    getattr(sqlite3, "SQLITE_RECURSIVE", 33),
}
_LIMIT_LENGTH = getattr(sqlite3, "SQLITE_LIMIT_LENGTH", 0)

_HeapApi = tuple[Callable[[int], int], Callable[[int], int], Callable[[], int]]


def _heap_api() -> _HeapApi | None:
    """(hard limit, soft limit, memory used) from the SQLite library this Python's sqlite3
    module uses, or None where it has none (SQLite < 3.31)."""
    import _sqlite3

    try:
        lib = ctypes.CDLL(getattr(_sqlite3, "__file__", None))
        hard, soft, used = (
            lib.sqlite3_hard_heap_limit64,
            lib.sqlite3_soft_heap_limit64,
            lib.sqlite3_memory_used,
        )
    except (OSError, AttributeError):
        return None
    for func in (hard, soft):
        func.restype, func.argtypes = ctypes.c_int64, [ctypes.c_int64]
    used.restype, used.argtypes = ctypes.c_int64, []
    return hard, soft, used


_HEAP = _heap_api()
_HEAP_LOCK = threading.Lock()


@contextlib.contextmanager
def _heap_growth(limit: int) -> Iterator[None]:
    """SQLite's heap may grow by `limit` bytes inside the block (process-wide: one block runs
    at a time); the limits in force before are restored after."""
    if _HEAP is None:
        yield
        return
    hard, soft, used = _HEAP
    with _HEAP_LOCK:
        old_hard, old_soft = hard(-1), soft(-1)
        ceiling = used() + limit
        hard(min(old_hard, ceiling) if old_hard > 0 else ceiling)
        try:
            yield
        finally:
            hard(old_hard)
            soft(old_soft)  # setting the hard limit lowered the soft one


def _truncated(path: Path) -> str | None:
    """Why the header says the file is cut short, or None. The page count at offset 28 is
    valid when the version-valid-for number (offset 92) equals the change counter (24)."""
    with path.open("rb") as fh:
        header = fh.read(100)
    if len(header) < 100:
        return f"{len(header)} bytes, shorter than a SQLite header"
    page_size = struct.unpack(">H", header[16:18])[0]
    page_size = 65536 if page_size == 1 else page_size
    pages = struct.unpack(">I", header[28:32])[0]
    size = path.stat().st_size
    if header[24:28] == header[92:96] and size < pages * page_size:
        return f"{size} bytes, but its header counts {pages} pages of {page_size}"
    return None


class ReadOnlyDatabase(Adapter):
    """A SQLite file opened so that no statement can change it."""

    dialect = "sqlite"

    def __init__(
        self,
        path: str | Path,
        *,
        timeout_s: float = 2.0,
        row_cap: int = 10_000,
        memory_limit: int = SQL_MEMORY_LIMIT,
        isolated: bool = True,
        check_file: bool = True,
    ) -> None:
        """`isolated`: run candidates in a Worker; `check_file`: the open-time integrity check
        (a worker skips it: the adapter that started it has just run it)."""
        self.path = Path(path)
        self.spec = str(path)
        self.warnings: list[str] = []
        self.timeout_s = timeout_s
        self.row_cap = row_cap
        self.memory_limit = memory_limit
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
        if check_file:
            self._check_intact()
        if _HEAP is None or _HEAP[2]() <= 0:  # no API, or memory statistics compiled out
            self.warnings.append(
                f"SQLite {sqlite3.sqlite_version} has no usable heap limit: a query's memory is "
                "bounded by its worker process, per value and per result only"
            )
        limits = {"timeout_s": timeout_s, "row_cap": row_cap, "memory_limit": memory_limit}
        self._worker = (
            WorkerPool(
                (
                    __name__,
                    "ReadOnlyDatabase",
                    (str(path),),
                    {**limits, "isolated": False, "check_file": False},
                ),
                memory_limit,
            )
            if isolated
            else None
        )

    def _check_intact(self) -> None:
        """SymgenError naming the file when it is truncated or quick_check finds it corrupt."""
        short = _truncated(self.path)
        if short is not None:
            self.close()
            raise SymgenError(f"{self.path}: truncated SQLite database ({short}); restore it")
        if self.path.stat().st_size > QUICK_CHECK_MAX_BYTES:
            return
        try:
            verdict = self._trusted("PRAGMA quick_check(1)")
        except SymgenError:
            self.close()
            raise
        if verdict != [("ok",)]:
            self.close()
            found = str(verdict[0][0] if verdict else "no answer").replace("\n", " ")
            raise SymgenError(f"{self.path}: corrupt SQLite database (quick_check: {found})")

    @property
    def name(self) -> str:
        return self.path.stem

    def fingerprint(self) -> str:
        return file_fingerprint(self.path)

    @staticmethod
    def _authorize(action: int, _arg1: Any, arg2: Any, *_rest: Any) -> int:
        """Reads, and calls of allowed functions (for SQLITE_FUNCTION `arg2` is the name)."""
        if action in _ALLOWED_ACTIONS:
            return sqlite3.SQLITE_OK
        if action == sqlite3.SQLITE_FUNCTION and sqlite_function_allowed(arg2):
            return sqlite3.SQLITE_OK
        return sqlite3.SQLITE_DENY

    def _check_deadline(self) -> int:
        return 1 if self._deadline and time.monotonic() > self._deadline else 0

    def _trusted(self, sql: str, params: Sequence[Any] = ()) -> list[tuple[Any, ...]]:
        """Our own catalogue queries (PRAGMA needs to bypass the authorizer); a file that
        cannot be read is a SymgenError naming it, not a traceback."""
        self._conn.set_authorizer(None)
        try:
            return list(self._conn.execute(sql, params))
        except sqlite3.DatabaseError as exc:
            raise SymgenError(
                f"{self.path}: cannot read the SQLite database ({exc}): corrupt or truncated?"
            ) from None
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

    @contextlib.contextmanager
    def _value_cap(self) -> Iterator[None]:
        """No string or blob longer than SQL_VALUE_BYTES while a candidate runs (our catalogue
        reads keep SQLite's default). Connection.setlimit is Python 3.11+."""
        setlimit = getattr(self._conn, "setlimit", None)
        if setlimit is None:
            yield
            return
        old = setlimit(_LIMIT_LENGTH, min(SQL_VALUE_BYTES, self.memory_limit))
        try:
            yield
        finally:
            setlimit(_LIMIT_LENGTH, old)

    def execute(self, sql: str) -> Execution:
        """Run untrusted SQL with the guards on; never raises for a bad query."""
        if too_long(sql):
            return Execution(None, "too_long")
        if self._worker is None:
            return self.run_here(sql)
        return self._worker.run(sql, self.timeout_s)  # a pool: concurrent callers run in parallel

    def run_here(self, sql: str) -> Execution:
        """Run a candidate on this process's connection (the worker's side)."""
        start = time.monotonic()
        self._deadline = start + self.timeout_s
        try:
            with self._value_cap(), _heap_growth(self.memory_limit):
                got = take_rows(
                    self._conn.execute(sql), self.row_cap, result_cap(self.memory_limit)
                )
            if isinstance(got, str):
                return Execution(None, got, time.monotonic() - start)
            return Execution(got, None, time.monotonic() - start)
        except MemoryError:  # SQLITE_NOMEM: the heap limit
            return Execution(None, "out_of_memory", time.monotonic() - start)
        except sqlite3.DatabaseError as exc:
            return Execution(None, _failure(str(exc)), time.monotonic() - start)
        except (sqlite3.Warning, ValueError, OverflowError) as exc:  # e.g. two statements
            return Execution(None, f"error: {exc}", time.monotonic() - start)
        finally:
            self._deadline = 0.0
            if self._conn.in_transaction:
                self._conn.rollback()


def _failure(msg: str) -> str:
    """The failure class of a SQLite error message."""
    if "interrupted" in msg:
        return "timeout"
    if "not authorized" in msg or "authorization denied" in msg or "prohibited" in msg:
        return "denied"
    if "readonly" in msg:
        return "denied"
    if "too big" in msg or "out of memory" in msg:  # SQLITE_TOOBIG: the value cap
        return "out_of_memory"
    return f"error: {msg}"
