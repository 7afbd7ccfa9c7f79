"""SQLite, DuckDB and a real PostgreSQL server, each loaded with GeoQuery: the adapters' own guards
(sqlglot's check bypassed), the catalogs, result comparison across engines, and bad input."""

from __future__ import annotations

import json
import shutil
import sqlite3
import subprocess
import tempfile
from collections.abc import Iterator
from pathlib import Path

import pytest

from symgen.databases.base import engine_of, open_database, public_spec, spec_name, transpile
from symgen.errors import SymgenError
from symgen.tasks.sql.task import SqlTask, has_order_by, result_key
from symgen.verify import Candidate, MinVotes, verify
from tests.conftest import (
    NOPERM_USER,
    OTHER_PASSWORD,
    PARTIAL_USER,
    RO_PASSWORD,
    RO_USER,
    SYMGEN,
    Engine,
    pg_digest,
)
from tests.pg_cluster import Cluster

TEXAS_RIVERS = "SELECT river.river_name FROM river WHERE river.traverse = 'texas'"

# Statements a generator could emit that must change nothing. {tmp} is a scratch directory that
# must stay empty: a file there means SQL reached the file system or ran a program.
WRITES = [
    "DELETE FROM river",
    "UPDATE state SET population = 0",
    "INSERT INTO state (state_name) VALUES ('atlantis')",
    "CREATE TABLE evil (a INT)",
    "CREATE TEMP TABLE evil AS SELECT * FROM state",
    "DROP TABLE state",
    "ALTER TABLE state ADD COLUMN evil INT",
    "COPY (SELECT 1) TO PROGRAM 'touch {tmp}/pwned'",
    "COPY state TO '{tmp}/state.csv'",
    "SET ROLE postgres",
    "SET default_transaction_read_only = off",
    "SELECT 1; DELETE FROM river",
    "COMMIT; DELETE FROM river",
    "ROLLBACK; DELETE FROM river",
    "WITH gone AS (DELETE FROM river RETURNING *) SELECT count(*) FROM gone",
    "SELECT set_config('transaction_read_only', 'off', true), "
    "query_to_xml('DELETE FROM river RETURNING 1', true, true, '')",
    "SELECT lo_export(lo_from_bytea(0, 'x'::bytea), '{tmp}/pwned')",
    "SELECT set_config('role', 'postgres', false)",
    "ALTER ROLE symgen_ro SUPERUSER",
    "GRANT ALL ON state TO PUBLIC",
    "ATTACH '{tmp}/evil.db' AS evil",
    "EXPORT DATABASE '{tmp}/export'",
    "CHECKPOINT",
    "INSTALL httpfs",
    "SET enable_external_access = true",
    "PRAGMA writable_schema = 1",
    "VACUUM",
]


@pytest.fixture()
def scratch() -> Iterator[Path]:
    """An empty directory the PostgreSQL server's OS user could write into (so tests can fail)."""
    path = Path(tempfile.mkdtemp(prefix="symgen-scratch-"))
    path.chmod(0o777)
    yield path
    shutil.rmtree(path, ignore_errors=True)


def _unchanged_after(engine: Engine, spec: str, tmp: Path, statements: list[str]) -> None:
    before = engine.digest()
    with open_database(spec, timeout_s=1.0, row_cap=1000) as db:
        for sql in statements:
            run = db.execute(sql.format(tmp=tmp))
            assert run.rows is None and run.error, f"{engine.name} ran {sql!r}: {run}"
            assert db.execute("SELECT count(*) FROM river").rows == ((149,),), sql
        if engine.name == "postgres":  # no SET survived: the session is still read-only
            row = db.execute("SELECT current_setting('default_transaction_read_only')").rows
            assert row == (("on",),)
    assert engine.digest() == before
    assert list(tmp.iterdir()) == [], f"{engine.name}: SQL wrote {list(tmp.iterdir())}"


def test_hostile_sql_changes_nothing_even_without_sqlglot(engine: Engine, scratch: Path) -> None:
    _unchanged_after(engine, engine.spec, scratch, WRITES)


def test_superuser_url_is_refused_and_changes_nothing(pg: Cluster) -> None:
    """A superuser session can always get its power back from SQL (`set_config('role', 'none',
    true)` inside a query `ts_stat()` runs), so SymGen refuses it and says how to make a
    reader, without printing the password."""
    before = pg_digest(pg)
    url = pg.url("geography", "postgres", "symgen-super")
    with pytest.raises(SymgenError, match="role postgres is a superuser") as err:
        open_database(url)
    message = str(err.value)
    assert "CREATE ROLE symgen_ro" in message and "GRANT SELECT ON ALL TABLES" in message
    assert f"--db postgresql://symgen_ro@127.0.0.1:{pg.port}/geography" in message
    assert "symgen-super" not in message and "\n" not in message
    assert pg_digest(pg) == before


@pytest.mark.parametrize(
    "sql",
    [
        "DELETE FROM river",
        "UPDATE state SET population = 0",
        "CREATE TABLE evil (a INT)",
        "COPY (SELECT 1) TO PROGRAM 'touch /tmp/symgen-pwned'",
        "SET ROLE postgres",
    ],
)
def test_generated_writes_lose_the_vote_and_change_nothing(
    engine: Engine, sql: str, scratch: Path
) -> None:
    before = engine.digest()
    task = SqlTask(open_database(engine.spec, timeout_s=1.0))
    sql = sql.replace("/tmp/symgen-pwned", str(scratch / "pwned"))
    v = verify(task, [Candidate(sql, 0.0)] * 3 + [Candidate(TEXAS_RIVERS, -1.0)], MinVotes(1))
    assert v.program == TEXAS_RIVERS and sum(v.failures.values()) == 3
    assert engine.digest() == before
    assert list(scratch.iterdir()) == []


def test_the_safety_checks_can_fail(pg: Cluster, scratch: Path) -> None:
    """Controls: outside SymGen, a superuser's COPY … TO PROGRAM does create the file the tests
    look for, and the PostgreSQL digest does notice a write."""
    import psycopg

    before = pg_digest(pg)
    with psycopg.connect(pg.socket_url("geography"), autocommit=True) as conn:
        # `cat` reads the row: a program that exits unread races the server's write (EPIPE)
        conn.execute(f"COPY (SELECT 1) TO PROGRAM 'cat > {scratch}/pwned'".encode())
        assert (scratch / "pwned").exists()
        conn.execute("UPDATE state SET population = population + 1 WHERE state_name = 'texas'")
        try:
            assert pg_digest(pg) != before
        finally:
            conn.execute("UPDATE state SET population = population - 1 WHERE state_name = 'texas'")
    assert pg_digest(pg) == before


def test_catalogs_agree(engine: Engine, geo_dir: Path) -> None:
    from symgen.tasks.sql.model_input import DbKnowledge

    reference = DbKnowledge.load(geo_dir / "geography.sqlite")
    here = DbKnowledge.load(engine.spec)
    assert here.name == "geography" and here.dialect == engine.name
    assert engine_of(engine.spec) == engine.name
    assert here.schema == reference.schema  # the task model reads the same input on every engine
    assert here.columns == reference.columns
    with open_database(engine.spec) as db:
        river = next(t for t in db.tables() if t.name == "river")
        assert [c.name for c in river.columns] == [
            "river_name",
            "length",
            "country_name",
            "traverse",
        ]
        assert len(river.rows) == 3
        assert ("state", "state_name", "texas") in db.text_values()


# Gold queries whose answer legitimately differs: LIMIT 1 over a tie (261, 262), and SQLite's
# `x IN ((SELECT ...))`, which compares with the subquery's first row only (258).
ENGINE_DEPENDENT = {258, 261, 262}


def test_all_geoquery_dev_answers_agree_across_engines(engine: Engine, geo_dir: Path) -> None:
    """Decimals, big integers, NULLs and floats from each engine compare equal to SQLite's."""
    items = [json.loads(x) for x in (geo_dir / "dev.jsonl").read_text().splitlines()]
    differ = []
    with (
        open_database(geo_dir / "geography.sqlite", timeout_s=5) as ref,
        open_database(engine.spec, timeout_s=5) as db,
    ):
        for i, item in enumerate(items):
            want = ref.execute(item["query"]).rows
            sql = transpile(item["query"], "sqlite", db.dialect)
            assert sql is not None and want is not None
            got = db.execute(sql).rows
            assert got is not None, (i, sql)
            ordered = has_order_by(sql, db.dialect)
            if result_key(want, ordered) != result_key(got, ordered):
                differ.append(i)
    assert set(differ) <= ENGINE_DEPENDENT, differ


# ---- bad input ---------------------------------------------------------------------------------
def test_unreachable_server_says_so(pg: Cluster) -> None:
    url = f"postgresql://{RO_USER}:{RO_PASSWORD}@127.0.0.1:1/geography"
    with pytest.raises(SymgenError, match=r"cannot connect to .*refused.*server running") as err:
        open_database(url)
    assert RO_PASSWORD not in str(err.value)


def test_wrong_password_says_so_without_printing_it(pg: Cluster) -> None:
    url = pg.url("geography", RO_USER, "not-the-password")
    with pytest.raises(SymgenError, match="password authentication failed") as err:
        open_database(url)
    assert "not-the-password" not in str(err.value)
    assert public_spec(url) == f"postgresql://{RO_USER}@127.0.0.1:{pg.port}/geography"
    assert spec_name(url) == "geography"


def test_missing_database_and_permissions(pg: Cluster) -> None:
    with pytest.raises(SymgenError, match="does not exist"):
        open_database(pg.url("nosuchdb", RO_USER, RO_PASSWORD))
    with (
        open_database(pg.url("geography", NOPERM_USER, OTHER_PASSWORD)) as db,
        pytest.raises(SymgenError, match=r"can read no table \(7 exist; GRANT SELECT"),
    ):
        db.tables()
    with open_database(pg.url("geography", PARTIAL_USER, OTHER_PASSWORD)) as db:
        assert [t.name for t in db.tables()] == ["river", "state"]  # the run goes on with these
        assert any("may not SELECT 5 table(s)" in w and "city" in w for w in db.warnings)
        assert db.execute("SELECT count(*) FROM city").error == "denied"


def test_exotic_column_types(pg: Cluster, tmp_path: Path) -> None:
    import duckdb
    import psycopg

    from symgen.tasks.sql.model_input import DbKnowledge

    with psycopg.connect(pg.socket_url("postgres"), autocommit=True) as conn:
        conn.execute("CREATE DATABASE exotic")
    with psycopg.connect(pg.socket_url("exotic"), autocommit=True) as conn:
        conn.execute("CREATE TYPE mood AS ENUM ('sad', 'happy')")
        conn.execute(
            "CREATE TABLE odd (id serial, price numeric(10,2), born date, at timestamptz, "
            "span interval, tags text[], doc jsonb, blob bytea, uid uuid, feeling mood, "
            "spot point, addr inet, words tsvector, r int4range, note text)"
        )
        conn.execute(
            "INSERT INTO odd (price, born, at, span, tags, doc, blob, uid, feeling, spot, addr, "
            "words, r, note) VALUES (9.99, '2020-02-29', now(), '1 day', '{a,b}', "
            "'{\"k\": [1, 2]}', 'xyz', gen_random_uuid(), 'happy', '(1,2)', '10.0.0.1', "
            "'the fox', '[1,5)', 'texas'), (NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, "
            "NULL, NULL, NULL, NULL, NULL, NULL)"
        )
    reader = pg.create_reader("exotic", "exotic_ro", OTHER_PASSWORD)  # never the superuser
    knowledge = DbKnowledge.load(reader)
    assert "odd: id, price, born, at, span, tags, doc" in knowledge.schema
    with open_database(reader) as db:
        run = db.execute("SELECT * FROM odd ORDER BY id")
        assert run.rows is not None and len(run.rows) == 2
        key = result_key(run.rows, ordered=True)
        hash(key)
        assert "2020-02-29" in repr(key) and "9.99" in repr(key)
    path = tmp_path / "odd.duckdb"
    with duckdb.connect(str(path)) as conn:
        conn.execute(
            "CREATE TABLE odd AS SELECT 1.5::DECIMAL(4,2) AS d, [1, 2] AS l, {'a': 1} AS s, "
            "MAP {'k': 'v'} AS m, DATE '2020-01-01' AS day, 170141183460469231731687303715884105727::HUGEINT AS h, "
            "NULL::VARCHAR AS n, uuid() AS u"
        )
    with open_database(path) as db:
        assert [c.name for c in db.tables()[0].columns] == [
            "d",
            "l",
            "s",
            "m",
            "day",
            "h",
            "n",
            "u",
        ]
        run = db.execute("SELECT * FROM odd")
        assert run.rows is not None
        hash(result_key(run.rows, ordered=False))


def test_files_that_are_not_databases(tmp_path: Path) -> None:
    with pytest.raises(SymgenError, match="database not found"):
        open_database(tmp_path / "nope.duckdb")
    junk = tmp_path / "junk.duckdb"
    junk.write_text("hello")
    with pytest.raises(SymgenError, match="cannot open as a DuckDB database"):
        open_database(junk)


# ---- the command line and the editor server take the same --db forms ---------------------------
def test_cli_verify_and_db_copy_on_postgres_and_duckdb(
    pg: Cluster, geo_dir: Path, tmp_path: Path
) -> None:
    cands = tmp_path / "cands.jsonl"
    cands.write_text(
        json.dumps(
            {
                "question": "rivers in texas",
                "candidates": [{"query": TEXAS_RIVERS}, {"query": "DELETE FROM river"}],
            }
        )
        + "\n"
    )
    duck = tmp_path / "geography.duckdb"
    copied = subprocess.run(
        [*SYMGEN, "db-copy", str(geo_dir / "geography.sqlite"), str(duck)],
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert copied.returncode == 0 and "7 tables, 937 rows" in copied.stdout, copied.stderr
    for spec in (pg.url("geography", RO_USER, RO_PASSWORD), str(duck)):
        out = tmp_path / "out.jsonl"
        done = subprocess.run(
            [
                *SYMGEN,
                "verify",
                "--db",
                spec,
                "--candidates",
                str(cands),
                "--out",
                str(out),
                "--min-votes",
                "1",
            ],
            capture_output=True,
            text=True,
            timeout=120,
        )
        assert done.returncode == 0, done.stderr
        row = json.loads(out.read_text())
        assert row["db"] == "geography" and row["query"] == TEXAS_RIVERS
        assert row["failures"] == {"not_read_only": 1}
    bad = subprocess.run(
        [
            *SYMGEN,
            "verify",
            "--db",
            pg.url("geography", RO_USER, "wrong-pw"),
            "--candidates",
            str(cands),
            "--out",
            str(tmp_path / "x.jsonl"),
        ],
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert bad.returncode == 3 and "password authentication failed" in bad.stderr
    assert "Traceback" not in bad.stderr and "wrong-pw" not in bad.stderr


def test_server_settings_take_a_postgres_url(pg: Cluster, tmp_path: Path) -> None:
    from symgen_server.completer import Completer, format_sql
    from symgen_server.settings import parse_settings

    settings, problems = parse_settings(
        {"symgen": {"database": pg.url("geography", RO_USER, RO_PASSWORD)}}
    )
    assert not problems
    completer = Completer()
    found = completer.configure(settings, tmp_path)
    assert completer.db is not None and completer.db.dialect == "postgres"
    assert all("model" in p for p in found)  # only the (absent) model is missing
    assert completer.status()["database"] == f"postgresql://{RO_USER}@127.0.0.1:{pg.port}/geography"
    assert format_sql("select a from t where b ilike 'x%'", "oneline", "postgres") == (
        "SELECT a FROM t WHERE b ILIKE 'x%';"
    )
    bad, _ = parse_settings({"database": pg.url("geography", RO_USER, "nope")}, settings)
    problems = completer.configure(bad, tmp_path)
    assert completer.db is None
    assert any("password authentication failed" in p for p in problems)
    assert not any("nope" in p.split("failed")[0] for p in problems)


# ---- dialects: seeds, prompt ------------------------------------------------------------------
def test_sqlite_seeds_are_transpiled_for_postgres_and_said_so(pg: Cluster) -> None:
    from symgen.dataset import Pair
    from symgen.tasks.sql.context import build_context

    seeds = [
        Pair(
            "longest river in texas",
            "SELECT IFNULL(max(length), 0) FROM river WHERE traverse = 'texas'",
            "s1",
        ),
        Pair("rivers in texas", TEXAS_RIVERS, "s2"),
        Pair("broken", "SELECT nosuch FROM river", "s3"),
    ]
    ctx = build_context(pg.url("geography", RO_USER, RO_PASSWORD), seeds)
    assert [d.query for d in ctx.demos][1] == TEXAS_RIVERS  # runs as written: kept as is
    assert "COALESCE" in ctx.demos[0].query
    assert any("seed s1 transpiled from SQLite to PostgreSQL" in n for n in ctx.notes)
    assert [p.id for p, _ in ctx.skipped_seeds] == ["s3"]
    prompt = ctx.prompt("how long is the colorado")
    assert "Using valid PostgreSQL" in prompt and "CREATE TABLE river (river_name text" in prompt


def test_big_schemas_stay_within_budget(tmp_path: Path) -> None:
    """300 tables: the task model's input and the LLM prompt show the relevant tables only."""
    from symgen.dataset import Pair
    from symgen.tasks.sql.context import PROMPT_SCHEMA_BUDGET, build_context
    from symgen.tasks.sql.model_input import TASK_SCHEMA_BUDGET, DbKnowledge

    path = tmp_path / "wide.sqlite"
    conn = sqlite3.connect(path)
    conn.executescript(
        "BEGIN;"
        + "".join(
            f"CREATE TABLE t{i:03d}_stuff (id INT, label{i} TEXT, amount{i} REAL);"
            for i in range(300)
        )
        + "CREATE TABLE river (river_name TEXT, length INT, traverse TEXT);"
        + "INSERT INTO river VALUES ('rio grande', 3000, 'texas'); COMMIT;"
    )
    conn.close()
    knowledge = DbKnowledge.load(path)
    assert len(knowledge.schema) > 5 * TASK_SCHEMA_BUDGET
    part = knowledge.schema_for("how long is the longest river in texas")
    assert len(part) <= TASK_SCHEMA_BUDGET and "river: river_name, length, traverse" in part
    assert "t123_stuff" in knowledge.schema_for("what is the amount123 of t123 stuff")
    ctx = build_context(
        path, [Pair("rivers in texas", "SELECT river_name FROM river WHERE traverse = 'texas'")]
    )
    prompt = ctx.prompt("which river is the longest")
    assert "CREATE TABLE river" in prompt
    assert len(prompt) < PROMPT_SCHEMA_BUDGET + 2000
    assert any("exceeds the prompt budget" in n for n in ctx.notes)


def test_prompt_spells_names_in_the_dialect() -> None:
    from symgen.databases.base import Column, Table
    from symgen.tasks.sql.knowledge import schema_ddl

    table = Table("sales.Orders", (Column("Order Id", "integer"), Column("amount", "numeric")))
    assert schema_ddl([table], dialect="postgres") == (
        'CREATE TABLE sales."Orders" ("Order Id" integer, amount numeric);'
    )
    plain = Table("Orders", (Column("amount", "real"),))
    assert schema_ddl([plain]) == "CREATE TABLE Orders (amount real);"  # SQLite: no case folding


def test_server_jobs_pass_the_password_by_environment_not_argv() -> None:
    import asyncio
    import sys

    from symgen_server.jobs import run_job

    url = "postgresql://app:s3cr%40t@db.example:5432/geo"
    show = "import os, sys; print(sys.argv[1], os.environ.get('PGPASSWORD'))"
    result = asyncio.run(run_job([sys.executable, "-c", show, url], lambda _: None, lambda: False))
    assert result.ok and result.log_tail == ["postgresql://app@db.example:5432/geo s3cr@t"]
