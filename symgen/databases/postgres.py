"""Read-only PostgreSQL adapter: schema and sample rows from pg_catalog, guarded execution.

The role: SymGen connects only as a role that is not a superuser, cannot become one (no
membership in a superuser role), cannot create roles and holds none of the server-file roles
(pg_read_server_files, pg_write_server_files, pg_execute_server_program); any other URL is
refused with the commands that create such a role. A superuser session cannot drop its power
for good: `set_config('role', 'none', true)`, reachable from SQL that `ts_stat()` runs from a
string, returned a probe to superuser and it read /etc/passwd.

Guards on each candidate, each independent of sqlglot's check in `symgen.tasks.sql.task`:
  * its function calls, parsed with sqlglot, must avoid `symgen.databases.functions`' deny-list
    (SQL given as text, session or server state, files, other servers); unparseable is refused;
  * it runs in a `READ ONLY` transaction (also the session default) that is always rolled back,
    as a server-side cursor (`DECLARE … CURSOR FOR <sql>`) through the extended query protocol:
    exactly one statement, and PostgreSQL accepts only a SELECT/VALUES query there (no COPY …
    TO PROGRAM, SET ROLE, DDL, or data-modifying WITH);
  * `statement_timeout` (SET LOCAL) stops slow queries and the cursor fetches at most row_cap+1
    rows, in a `symgen.databases.worker.Worker` child whose data segment is capped, because libpq holds a
    whole row in memory (a 500 MB value cost the client 1.5 GB). The server's own memory is its
    work_mem; `temp_file_limit` is superuser-only (default unlimited), so a sort's temporary
    files are bounded by the timeout unless the administrator sets it for the role.
Passwords are never printed (`public_spec`).
"""

from __future__ import annotations

import contextlib
import threading
import time
from typing import Any
from urllib.parse import urlsplit, urlunsplit

from symgen.config import SQL_MEMORY_LIMIT
from symgen.databases.base import (
    Adapter,
    Column,
    Execution,
    Table,
    public_spec,
    schema_fingerprint,
    spec_name,
    too_long,
)
from symgen.databases.base import quote_ident as _quote
from symgen.databases.functions import called_functions, postgres_denied
from symgen.databases.worker import WorkerPool, result_cap, take_rows
from symgen.errors import MissingResource, SymgenError

_HINTS = {
    "password authentication failed": "check the user and password (URL, PGPASSWORD or ~/.pgpass)",
    "Connection refused": "is the server running and listening on that host and port?",
    "does not exist": "check the database and user names in the URL",
    "timeout expired": "the server did not answer; check the host, port and firewall",
    "No such file or directory": "no server socket there; is the server running?",
}
# Predefined roles that reach the server's files or programs from SQL.
_FILE_ROLES = ("pg_read_server_files", "pg_write_server_files", "pg_execute_server_program")
# What a role may do beyond reading, asked of every name the session answers to.
_POWERS = """
SELECT r.rolname, r.rolsuper, r.rolcreaterole,
       ARRAY(SELECT s.rolname FROM pg_roles s
             WHERE s.oid <> r.oid AND pg_has_role(r.oid, s.oid, 'MEMBER')
               AND (s.rolsuper OR s.rolname = ANY(%s)))
FROM pg_roles r WHERE r.rolname = ANY(%s)
"""
# SQLSTATEs of a query that outgrew the server's memory or limits
_RESOURCE_STATES = {"53200", "53400", "54000"}
# How the cursor refuses what is not one query (besides a syntax error at its first word)
_NOT_A_QUERY = ("cannot insert multiple commands", "must not contain data-modifying statements")


def _not_a_query(exc: Any, cursor: str) -> bool:
    """True when PostgreSQL refused the text as a cursor's query: a statement other than a
    query (the syntax error is at its first character), several, or a writing WITH."""
    if any(text in str(exc) for text in _NOT_A_QUERY):
        return True
    first = len(f'DECLARE "{cursor}" CURSOR FOR ') + 1
    return bool(exc.sqlstate == "42601" and exc.diag.statement_position == str(first))


def _first_line(exc: BaseException) -> str:
    text = " ".join(str(exc).split("\n")[:2]).strip()
    return " ".join(text.split())


def _role_problem(rows: list[tuple[Any, ...]]) -> str | None:
    """What makes the session's role unfit to run generated SQL, or None."""
    for name, superuser, createrole, powers in rows:
        if superuser:
            return f"role {name} is a superuser"
        if powers:
            return f"role {name} can act as {', '.join(powers)}"
        if createrole:
            return f"role {name} may create roles (and grant itself more)"
    return None


def _setup_hint(url: str, dbname: str) -> str:
    """The commands that create a SELECT-only role for `dbname` (run once as a superuser), and
    the URL that then connects as it."""
    parts = urlsplit(public_spec(url))
    host = parts.netloc.rsplit("@", 1)[-1]
    reader = urlunsplit((parts.scheme, f"symgen_ro@{host}", parts.path, parts.query, ""))
    return (
        "SymGen runs generated SQL only as a role that may only read; as a superuser run "
        f"CREATE ROLE symgen_ro LOGIN PASSWORD '…'; GRANT CONNECT ON DATABASE {_quote(dbname)} "
        "TO symgen_ro; GRANT USAGE ON SCHEMA public TO symgen_ro; GRANT SELECT ON ALL TABLES "
        f"IN SCHEMA public TO symgen_ro; then use --db {reader}"
    )


def _failure(exc: Any, cursor: str, client: str) -> str:
    """The failure class of an error from running a candidate as `cursor`; `client` is libpq's
    own message (a row too big for the worker's memory: "cannot allocate memory for input
    buffer", and psycopg only says it "received 2 results")."""
    if exc.sqlstate in _RESOURCE_STATES:
        return "out_of_memory"
    said = f"{exc} {client}"  # a client-side failure has no SQLSTATE
    if exc.sqlstate is None and any(t in said for t in ("out of memory", "allocate memory")):
        return "out_of_memory"
    return "denied" if _not_a_query(exc, cursor) else f"error: {_first_line(exc)}"


class PostgresDatabase(Adapter):
    """A PostgreSQL database reached by URL, through which no statement can change anything."""

    dialect = "postgres"
    text_types = ("text", "character varying", "character", "citext", "name")

    def __init__(
        self,
        url: str,
        *,
        timeout_s: float = 2.0,
        row_cap: int = 10_000,
        memory_limit: int = SQL_MEMORY_LIMIT,
        isolated: bool = True,
    ) -> None:
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
        self.memory_limit = memory_limit
        self.warnings: list[str] = []
        self._lock = threading.Lock()
        self._schema: tuple[Table, ...] | None = None
        self._cursor_no = 0
        self._conn = self._connect()
        self._name = self._conn.info.dbname or spec_name(url)
        limits = {"timeout_s": timeout_s, "row_cap": row_cap, "memory_limit": memory_limit}
        self._worker = (
            WorkerPool(
                (__name__, "PostgresDatabase", (url,), {**limits, "isolated": False}), memory_limit
            )
            if isolated
            else None
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
        # the name libpq authenticated as, and the ones the session answers to (a startup
        # `options=-c role=…` changes current_user but RESET ROLE goes back)
        names = conn.execute("SELECT session_user::text, current_user::text").fetchone() or ()
        rows = conn.execute(_POWERS, (list(_FILE_ROLES), [conn.info.user, *names])).fetchall()
        problem = _role_problem(rows)
        if problem is not None:
            dbname = conn.info.dbname or spec_name(self.spec)
            conn.close()
            raise SymgenError(
                f"{public_spec(self.spec)}: {problem}; {_setup_hint(self.spec, dbname)}"
            )
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
        if too_long(sql):
            return Execution(None, "too_long")
        names = called_functions(sql, "postgres")
        if names is None or postgres_denied(names) is not None:
            return Execution(None, "denied")
        if self._worker is None:
            return self.run_here(sql)
        return self._worker.run(sql, self.timeout_s)  # a pool: concurrent callers run in parallel

    def run_here(self, sql: str) -> Execution:
        """Run a candidate on this process's connection (the worker's side)."""
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
            cursor = f"symgen_{self._cursor_no}"
            try:
                self._conn.execute(f"SET LOCAL statement_timeout = {int(self.timeout_s * 1000)}")
                with self._conn.cursor(name=cursor) as cur:
                    cur.execute(sql.encode())
                    got = take_rows(cur.fetchmany(cap + 1), cap, result_cap(self.memory_limit))
                if isinstance(got, str):
                    return Execution(None, got, time.monotonic() - start)
                return Execution(got, None, time.monotonic() - start)
            except errors.QueryCanceled:
                return Execution(None, "timeout", time.monotonic() - start)
            except (errors.ReadOnlySqlTransaction, errors.InsufficientPrivilege):
                return Execution(None, "denied", time.monotonic() - start)
            except MemoryError:
                return Execution(None, "out_of_memory", time.monotonic() - start)
            except psycopg.Error as exc:
                client = self._conn.pgconn.error_message.decode(errors="replace")
                return Execution(None, _failure(exc, cursor, client), time.monotonic() - start)
            except (ValueError, UnicodeError) as exc:  # e.g. a NUL byte in the query
                return Execution(None, f"error: {exc}", time.monotonic() - start)
            finally:
                with contextlib.suppress(psycopg.Error):
                    self._conn.rollback()
