"""Read-only PostgreSQL adapter: schema and sample rows from pg_catalog, guarded execution.

Guards, each independent of sqlglot's check:
  * every query runs in a `READ ONLY` transaction (also the session default) that is always
    rolled back, so even a superuser URL cannot write, and a `SET` inside it is undone;
  * it runs as a server-side cursor (`DECLARE … CURSOR FOR <sql>`) through the extended query
    protocol: exactly one statement, and PostgreSQL accepts only a SELECT/VALUES query there
    (no COPY … TO PROGRAM, SET ROLE, DDL, or data-modifying WITH);
  * `statement_timeout` (SET LOCAL) stops slow queries and the cursor fetches at most row_cap+1
    rows, so a huge result never crosses the wire.
A superuser could still reach outside the database from inside a SELECT (`lo_export` writes
server files, `pg_terminate_backend`, `set_config('role', …)`), so a superuser session drops to
the predefined `pg_read_all_data` role and refuses any query naming such functions; a role with
SELECT-only grants is the recommended set-up. Passwords are never printed (`public_spec`).
"""

from __future__ import annotations

import contextlib
import re
import threading
import time
from typing import Any

from symgen.database import (
    Adapter,
    Column,
    Execution,
    Table,
    public_spec,
    schema_fingerprint,
    spec_name,
)
from symgen.database import quote_ident as _quote
from symgen.errors import MissingResource, SymgenError

# Refused outright in superuser sessions, wherever they appear (even quoted or in a string).
_SUPERUSER_DENY = re.compile(r"(lo_|pg_|set_config|dblink|u&|xml|\$)", re.IGNORECASE)
_HINTS = {
    "password authentication failed": "check the user and password (URL, PGPASSWORD or ~/.pgpass)",
    "Connection refused": "is the server running and listening on that host and port?",
    "does not exist": "check the database and user names in the URL",
    "timeout expired": "the server did not answer; check the host, port and firewall",
    "No such file or directory": "no server socket there; is the server running?",
}


def _first_line(exc: BaseException) -> str:
    text = " ".join(str(exc).split("\n")[:2]).strip()
    return " ".join(text.split())


class PostgresDatabase(Adapter):
    """A PostgreSQL database reached by URL, through which no statement can change anything."""

    dialect = "postgres"
    text_types = ("text", "character varying", "character", "citext", "name")

    def __init__(self, url: str, *, timeout_s: float = 2.0, row_cap: int = 10_000) -> None:
        try:
            import psycopg
        except ImportError:  # pragma: no cover - depends on the install
            raise MissingResource(
                "PostgreSQL support needs psycopg: pip install 'symgen[db]'"
            ) from None
        self._pg = psycopg
        self.spec = url
        self.timeout_s = timeout_s
        self.row_cap = row_cap
        self.warnings: list[str] = []
        self._lock = threading.Lock()
        self._schema: tuple[Table, ...] | None = None
        self._cursor_no = 0
        self.superuser = False
        self._conn = self._connect()
        self._name = self._conn.info.dbname or spec_name(url)
        if self.superuser:
            self.warnings.append(
                f"connected to {public_spec(url)} as superuser {self._conn.info.user}: queries run "
                "as pg_read_all_data, read-only; a role with only SELECT grants is safer"
            )

    def _connect(self) -> Any:
        psycopg = self._pg
        try:
            conn = psycopg.connect(
                self.spec, connect_timeout=10, autocommit=True, application_name="symgen"
            )
        except psycopg.Error as exc:
            msg = _first_line(exc)
            hint = next((h for k, h in _HINTS.items() if k in msg), "")
            raise SymgenError(
                f"cannot connect to {public_spec(self.spec)}: {msg}"
                + (f" ({hint})" if hint else ""),
                exit_code=3,
            ) from None
        ms = int(self.timeout_s * 1000)
        row = conn.execute(
            "SELECT rolsuper, EXISTS (SELECT 1 FROM pg_roles WHERE rolname = 'pg_read_all_data') "
            "FROM pg_roles WHERE rolname = current_user"
        ).fetchone()
        self.superuser = bool(row and row[0])
        if self.superuser and row and row[1]:
            conn.execute("SET ROLE pg_read_all_data")
        conn.execute("SET default_transaction_read_only = on")
        conn.execute(f"SET statement_timeout = {ms}")
        conn.execute(f"SET idle_in_transaction_session_timeout = {max(ms * 5, 10_000)}")
        conn.autocommit = False
        conn.read_only = True  # every transaction psycopg opens is BEGIN READ ONLY
        return conn

    @property
    def name(self) -> str:
        return self._name

    def fingerprint(self) -> str:
        return schema_fingerprint(self.tables())

    def _trusted(self, sql: str, params: Any = None) -> list[tuple[Any, ...]]:
        """Our own catalog queries, in a rolled-back read-only transaction too."""
        with self._lock:
            try:
                return [tuple(r) for r in self._conn.execute(sql.encode(), params).fetchall()]
            finally:
                self._conn.rollback()

    def tables(self, sample_rows: int = 3) -> tuple[Table, ...]:
        if self._schema is not None:
            return self._schema
        rels = self._trusted(
            "SELECT c.oid, n.nspname, c.relname, has_table_privilege(c.oid, 'SELECT'), "
            "n.nspname = ANY(current_schemas(false)) "
            "FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace "
            "WHERE c.relkind IN ('r', 'v', 'm', 'p', 'f') AND NOT c.relispartition "
            "AND n.nspname NOT IN ('pg_catalog', 'information_schema') "
            "AND n.nspname NOT LIKE 'pg\\_toast%' AND n.nspname NOT LIKE 'pg\\_temp%' "
            "ORDER BY c.relname, n.nspname"
        )
        cols: dict[int, list[Column]] = {}
        for oid, name, typ in self._trusted(
            "SELECT attrelid, attname, format_type(atttypid, atttypmod) FROM pg_attribute "
            "WHERE attnum > 0 AND NOT attisdropped AND attrelid = ANY(%s) ORDER BY attrelid, attnum",
            ([r[0] for r in rels],),
        ):
            cols.setdefault(oid, []).append(Column(name, typ))
        tables, no_access = [], []
        for oid, schema, rel, readable, visible in rels:
            name = rel if visible else f"{schema}.{rel}"
            if not readable:
                no_access.append(name)
                continue
            ref = _quote(rel) if visible else f"{_quote(schema)}.{_quote(rel)}"
            run = self._run(f"SELECT * FROM {ref} LIMIT {int(sample_rows)}", cap=sample_rows)
            if run.rows is None:
                self.warnings.append(f"{name}: sample rows unreadable ({run.error}); schema only")
            tables.append(Table(name, tuple(cols.get(oid, ())), run.rows or ()))
        user = self._conn.info.user
        if no_access:
            shown = ", ".join(no_access[:8]) + (" …" if len(no_access) > 8 else "")
            self.warnings.append(
                f"role {user} may not SELECT {len(no_access)} table(s), left out: {shown} "
                f"(GRANT SELECT ON … TO {user} to include them)"
            )
        if not tables:
            raise SymgenError(
                f"{public_spec(self.spec)}: role {user} can read no table"
                + (
                    f" ({len(no_access)} exist; GRANT SELECT ON ALL TABLES IN SCHEMA public TO {user})"
                    if no_access
                    else " (the database has no tables)"
                ),
                exit_code=3,
            )
        self._schema = tuple(tables)
        return self._schema

    def _distinct_text(self, table_ref: str, column: str, limit: int) -> list[tuple[Any, ...]]:
        run = self._run(
            f"SELECT DISTINCT {column}::text FROM {table_ref} "
            f"WHERE length({column}) BETWEEN 2 AND 60 LIMIT {int(limit)}",
            cap=limit,
        )
        return list(run.rows or ())

    def execute(self, sql: str) -> Execution:
        if self.superuser and _SUPERUSER_DENY.search(sql):
            return Execution(None, "denied")
        return self._run(sql, cap=self.row_cap)

    def _run(self, sql: str, cap: int) -> Execution:
        psycopg = self._pg
        errors = psycopg.errors
        start = time.monotonic()
        with self._lock:
            if self._conn.closed:
                try:
                    self._conn = self._connect()
                except SymgenError as exc:
                    return Execution(None, f"error: {exc}", time.monotonic() - start)
            self._cursor_no += 1
            try:
                self._conn.execute(f"SET LOCAL statement_timeout = {int(self.timeout_s * 1000)}")
                with self._conn.cursor(name=f"symgen_{self._cursor_no}") as cur:
                    cur.execute(sql.encode())
                    rows = cur.fetchmany(cap + 1)
                if len(rows) > cap:
                    return Execution(None, "row_cap", time.monotonic() - start)
                return Execution(tuple(tuple(r) for r in rows), None, time.monotonic() - start)
            except errors.QueryCanceled:
                return Execution(None, "timeout", time.monotonic() - start)
            except (errors.ReadOnlySqlTransaction, errors.InsufficientPrivilege):
                return Execution(None, "denied", time.monotonic() - start)
            except psycopg.Error as exc:
                return Execution(None, f"error: {_first_line(exc)}", time.monotonic() - start)
            except (ValueError, UnicodeError) as exc:  # e.g. a NUL byte in the query
                return Execution(None, f"error: {exc}", time.monotonic() - start)
            finally:
                with contextlib.suppress(psycopg.Error):
                    self._conn.rollback()
