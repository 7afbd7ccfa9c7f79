"""Copy a SQLite database into DuckDB or PostgreSQL (tables, mapped column types, rows).

Used by the tests and benchmarks to run the same GeoQuery data on all three engines, and by
`symgen db-copy` to try SymGen's PostgreSQL/DuckDB support on an existing SQLite file. This is
the one place SymGen writes to a database, so it takes a separate, writable connection.
"""

from __future__ import annotations

import sqlite3
from pathlib import Path
from typing import Any

from symgen.databases.base import engine_of, public_spec
from symgen.errors import SymgenError


def target_type(sqlite_type: str, engine: str) -> str:
    """The column type for a SQLite declared type, by SQLite's affinity rules."""
    t = sqlite_type.lower()
    if "int" in t:
        return "BIGINT"
    if any(k in t for k in ("char", "clob", "text")):
        return "TEXT"
    if any(k in t for k in ("real", "floa", "doub")):
        return "DOUBLE PRECISION" if engine == "postgres" else "DOUBLE"
    if any(k in t for k in ("dec", "num")):
        return "NUMERIC"
    if "blob" in t:
        return "BYTEA" if engine == "postgres" else "BLOB"
    return "TEXT"  # no declared type: SQLite stores anything; text keeps it


def _cast(value: Any, kind: str) -> Any:
    if value is None:
        return None
    try:
        if kind == "BIGINT":
            return int(value)
        if kind in ("DOUBLE", "DOUBLE PRECISION", "NUMERIC"):
            return float(value)
    except (TypeError, ValueError):
        return None
    if kind == "TEXT" and not isinstance(value, str):
        return value.decode(errors="replace") if isinstance(value, bytes) else str(value)
    return value


def _q(name: str) -> str:
    return '"' + name.replace('"', '""') + '"'


def read_sqlite(src: str | Path) -> list[tuple[str, list[tuple[str, str]], list[tuple[Any, ...]]]]:
    conn = sqlite3.connect(f"{Path(src).resolve().as_uri()}?mode=ro", uri=True)
    try:
        names = [
            r[0]
            for r in conn.execute(
                "SELECT name FROM sqlite_master WHERE type='table' AND name NOT LIKE 'sqlite_%' "
                "ORDER BY name"
            )
        ]
        out = []
        for name in names:
            cols = [(r[1], r[2] or "") for r in conn.execute(f"PRAGMA table_info({_q(name)})")]
            rows = [tuple(r) for r in conn.execute(f"SELECT * FROM {_q(name)}")]
            out.append((name, cols, rows))
        return out
    finally:
        conn.close()


def copy_sqlite(src: str | Path, dest: str | Path) -> dict[str, int]:
    """Create every table of SQLite `src` in `dest` (a new .duckdb file or an existing, empty
    PostgreSQL database URL) and copy its rows; returns rows per table."""
    engine = engine_of(dest)
    if engine == "sqlite":
        raise SymgenError(f"{dest}: copy into a .duckdb file or a postgresql:// URL")
    tables = read_sqlite(src)
    counts: dict[str, int] = {}
    if engine == "duckdb":
        import duckdb

        if Path(dest).exists():
            raise SymgenError(f"{dest} exists; copy into a new DuckDB file")
        with duckdb.connect(str(dest)) as conn:
            for name, cols, rows in tables:
                kinds = [target_type(t, engine) for _, t in cols]
                conn.execute(_create(name, cols, kinds))
                data = [[_cast(v, k) for v, k in zip(r, kinds, strict=True)] for r in rows]
                row_marks = "(" + ", ".join("?" for _ in cols) + ")"
                for i in range(0, len(data), 200):  # multi-row INSERTs: executemany is slow
                    chunk = data[i : i + 200]
                    marks = ", ".join(row_marks for _ in chunk)
                    conn.execute(
                        f"INSERT INTO {_q(name)} VALUES {marks}", [v for r in chunk for v in r]
                    )
                counts[name] = len(rows)
        return counts
    import psycopg

    try:
        pconn = psycopg.connect(str(dest), connect_timeout=10)
    except psycopg.Error as exc:
        raise SymgenError(f"cannot connect to {public_spec(dest)}: {exc}") from None
    with pconn, pconn.cursor() as pcur:
        for name, cols, rows in tables:
            kinds = [target_type(t, engine) for _, t in cols]
            pcur.execute(_create(name, cols, kinds).encode())
            col_list = ", ".join(_q(c) for c, _ in cols)
            with pcur.copy(f"COPY {_q(name)} ({col_list}) FROM STDIN".encode()) as copy:
                for r in rows:
                    copy.write_row([_cast(v, k) for v, k in zip(r, kinds, strict=True)])
            counts[name] = len(rows)
    return counts


def _create(name: str, cols: list[tuple[str, str]], kinds: list[str]) -> str:
    body = ", ".join(f"{_q(c)} {k}" for (c, _), k in zip(cols, kinds, strict=True))
    return f"CREATE TABLE {_q(name)} ({body})"
