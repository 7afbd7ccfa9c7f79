"""Hostile SQL on all three engines, from tests/fixtures/hostile/sql.tsv (one case per line): each
adapter's own guards (sqlglot's check bypassed) give the outcome the fixture names, leave the
database and a scratch directory unchanged, and the cases that allocate run in a fresh process
whose peak memory, and its query worker's, stay within the limit. Then the guards under the
fixture's: PostgreSQL roles, the server refusing what the deny-list would, corrupt files."""

from __future__ import annotations

import datetime as dt
import json
import re
import shutil
import subprocess
import sys
import uuid
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from decimal import Decimal
from pathlib import Path

import pytest

from symgen.config import SQL_MAX_CHARS, SQL_MEMORY_LIMIT, SQL_RESULT_BYTES
from symgen.databases.base import Database, Execution, open_database
from symgen.databases.postgres import PostgresDatabase
from symgen.errors import SymgenError
from tests.conftest import (
    ENGINES,
    FIXTURES,
    OTHER_PASSWORD,
    RO_PASSWORD,
    RO_USER,
    ROOT,
    SYMGEN,
    pg_digest,
    sha256,
)
from tests.pg_cluster import Cluster

FIXTURE = FIXTURES / "hostile" / "sql.tsv"
OUTCOMES = {"ok", "denied", "timeout", "out_of_memory", "row_cap", "too_long", "error"}
MiB = 2**20
# The memory cases' limit: small, so a bound that does not hold shows, and light on the machine.
TEST_MEMORY = 128 * MiB


@dataclass(frozen=True)
class Case:
    line: int
    sql: str
    engines: tuple[str, ...]
    outcome: str


_REPEAT = re.compile(r"\{repeat:(\d+):([^}]*)\}")


def expand(sql: str, tmp: Path) -> str:
    """The statement with {tmp} and {repeat:N:text} filled in."""

    def repeat(m: re.Match[str]) -> str:
        n, text = int(m[1]), m[2]
        return (text * (n // len(text) + 1))[:n]

    return _REPEAT.sub(repeat, sql).replace("{tmp}", str(tmp))


def load_cases(path: Path = FIXTURE) -> list[Case]:
    cases = []
    for n, line in enumerate(path.read_text().splitlines(), start=1):
        if not line.strip() or line.startswith("#"):
            continue
        sql, engines, outcome = line.split("\t")
        names = tuple(ENGINES) if engines == "all" else tuple(engines.split(","))
        assert set(names) <= set(ENGINES) and outcome in OUTCOMES, f"{path}:{n}: {line!r}"
        cases.append(Case(n, sql, names, outcome))
    return cases


CASES = load_cases()


def outcome_of(run: Execution) -> str:
    if run.error is None:
        return "ok"
    return "error" if run.error.startswith("error") else run.error


@dataclass
class Target:
    """One engine's GeoQuery, opened once for the module, and how to tell it changed."""

    name: str
    spec: str
    db: Database
    digest: Callable[[], str]
    before: str


@pytest.fixture(scope="module")
def scratch_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """Where SQL that reached the file system would leave something (the server may write)."""
    path = tmp_path_factory.mktemp("hostile-scratch")
    path.chmod(0o777)
    return path


@pytest.fixture(scope="module")
def target(
    request: pytest.FixtureRequest, geo_dir: Path, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[Callable[[str], Target]]:
    made: dict[str, Target] = {}

    def get(engine: str) -> Target:
        if engine not in made:
            made[engine] = _open_target(engine, request, geo_dir, tmp_path_factory)
        return made[engine]

    yield get
    for t in made.values():
        t.db.close()


def _open_target(
    engine: str, request: pytest.FixtureRequest, geo_dir: Path, factory: pytest.TempPathFactory
) -> Target:
    if engine == "postgres":
        cluster: Cluster = request.getfixturevalue("pg")  # skips when PostgreSQL is missing
        spec = cluster.url("geography", RO_USER, RO_PASSWORD)
        digest: Callable[[], str] = lambda: pg_digest(cluster)  # noqa: E731
    else:
        path = factory.mktemp(engine) / f"geography.{engine}"
        source = geo_dir / "geography.sqlite"
        if engine == "duckdb":
            source = request.getfixturevalue("geo_duckdb_master")
        shutil.copy(source, path)
        path.chmod(0o644)
        spec, digest = str(path), lambda: sha256(path)
    db = open_database(spec, timeout_s=1.0, row_cap=1000)
    return Target(engine, spec, db, digest, digest())


def _params(memory: bool) -> list[object]:
    return [
        pytest.param(case, engine, id=f"{engine}-line{case.line}")
        for case in CASES
        for engine in case.engines
        if (case.outcome == "out_of_memory") == memory
    ]


@pytest.mark.parametrize(("case", "engine"), _params(memory=False))
def test_fixture_case(
    case: Case, engine: str, target: Callable[[str], Target], scratch_dir: Path
) -> None:
    t = target(engine)
    run = t.db.execute(expand(case.sql, scratch_dir))
    assert outcome_of(run) == case.outcome, f"{FIXTURE.name}:{case.line}: {run}"
    assert t.db.execute("SELECT count(*) FROM river").rows == ((149,),)
    assert t.digest() == t.before, f"{engine}: the database changed"
    assert list(scratch_dir.iterdir()) == [], f"{engine}: SQL wrote {list(scratch_dir.iterdir())}"


def test_fixture_covers_every_engine_and_outcome() -> None:
    """The suite cannot silently shrink: each engine meets each kind of case."""
    for engine in ENGINES:
        seen = {c.outcome for c in CASES if engine in c.engines}
        assert OUTCOMES - {"error"} <= seen, (engine, OUTCOMES - seen)
    assert all(c.outcome != "too_long" or len(expand(c.sql, Path())) > SQL_MAX_CHARS for c in CASES)


# ---- memory: the cases that allocate, in a fresh process -------------------------------------
def _drive() -> None:
    """Child side of test_memory_stays_bounded: open the spec, run the statements, report the
    outcomes and peak RSS (this process's before and after, its query workers')."""
    import resource

    from symgen.databases.sqlite import ReadOnlyDatabase

    job = json.loads(sys.stdin.read())
    limits = {"timeout_s": 5.0, "memory_limit": job["memory"]}
    db = (
        ReadOnlyDatabase(job["spec"], **limits, isolated=False)
        if job["in_process"]
        else open_database(job["spec"], **limits)
    )
    with db:
        assert db.execute("SELECT count(*) FROM river").rows == ((149,),)  # worker started
        base = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
        outcomes = [outcome_of(db.execute(sql)) for sql in job["sqls"]]
        peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
        still = db.execute("SELECT count(*) FROM river").rows
    workers = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss  # waited for on close
    print(json.dumps({"outcomes": outcomes, "base": base, "peak": peak, "workers": workers,
                      "still": still}))  # fmt: skip


@pytest.mark.parametrize(
    ("engine", "in_process"),
    [("sqlite", False), ("sqlite", True), ("duckdb", False), ("postgres", False)],
)
def test_memory_stays_bounded(
    engine: str, in_process: bool, target: Callable[[str], Target]
) -> None:
    """randomblob(1e9)-like cases fail as out_of_memory, the adapter's process hardly grows and
    its query worker's peak stays under its data-segment cap; in process, SQLite's heap limit,
    value cap and result cap alone bound the growth (the heap, Python's copy of one row, a
    result). The file is unchanged."""
    t = target(engine)
    cases = [c for c in CASES if c.outcome == "out_of_memory" and engine in c.engines]
    assert cases
    job = {"spec": t.spec, "memory": TEST_MEMORY, "sqls": [c.sql for c in cases],
           "in_process": in_process}  # fmt: skip
    proc = subprocess.run(
        [
            sys.executable,
            "-c",
            "from tests.unit.databases.test_hostile_sql import _drive; _drive()",
        ],
        input=json.dumps(job),  # the URL's password stays off the command line
        capture_output=True,
        text=True,
        timeout=300,
        cwd=ROOT,
    )
    assert proc.returncode == 0, proc.stderr[-3000:]
    got = json.loads(proc.stdout.splitlines()[-1])
    wrong = [(c.line, o) for c, o in zip(cases, got["outcomes"], strict=True) if o != c.outcome]
    assert not wrong, f"{FIXTURE.name}: (line, outcome) {wrong}"
    assert got["still"] == [[149]]
    result = min(SQL_RESULT_BYTES, TEST_MEMORY)
    grew = (got["peak"] - got["base"]) * 1024
    if in_process:
        assert grew < 2 * TEST_MEMORY + result, f"grew {grew / MiB:.0f} MiB"
    else:
        assert grew < 32 * MiB, f"grew {grew / MiB:.0f} MiB"  # replies are small
        worker_base = 160 * MiB  # Python, the engine's library, an honest query's rows
        cap = worker_base + TEST_MEMORY + 2 * result + 64 * MiB
        assert got["workers"] * 1024 < cap, f"a worker peaked at {got['workers'] >> 10} MiB"
    assert t.digest() == t.before


def test_a_worker_sends_plain_values_only() -> None:
    """A reply that would build anything but plain values is refused, not unpickled: a worker
    that hostile SQL subverted cannot run code in the adapter's process through its reply."""
    import os
    import pickle

    from symgen.databases.worker import _plain, _recv, _send

    class Evil:
        def __reduce__(self) -> tuple[object, tuple[str]]:
            return (os.system, ("true",))

    read, write = os.pipe()
    try:
        _send(write, ((_plain(uuid.uuid4()), Decimal("1.5"), dt.date(2020, 2, 29)),))
        assert isinstance(_recv(read, None)[0][0], str)
        _send(write, (Evil(),))
        with pytest.raises(pickle.UnpicklingError, match=r"worker sent a posix\.system"):
            _recv(read, None)
    finally:
        os.close(read)
        os.close(write)


def test_default_limits_are_stated() -> None:
    assert 512 * MiB == SQL_MEMORY_LIMIT and 64 * MiB == SQL_RESULT_BYTES
    assert SQL_MAX_CHARS == 64 * 1024


# ---- PostgreSQL: the role, and the server's own refusals under the deny-list ------------------
@pytest.mark.parametrize(
    ("grant", "problem"),
    [
        ("GRANT postgres TO {user}", "can act as postgres"),
        ("GRANT pg_read_server_files TO {user}", "can act as pg_read_server_files"),
        ("GRANT pg_execute_server_program TO {user}", "can act as pg_execute_server_program"),
        ("ALTER ROLE {user} CREATEROLE", "may create roles"),
    ],
)
def test_roles_that_can_reach_further_are_refused(pg: Cluster, grant: str, problem: str) -> None:
    user = "risky_" + re.sub(r"\W", "", problem.split()[-1])[:20]
    url = pg.create_reader("geography", user, OTHER_PASSWORD)
    with open_database(url) as db:  # control: a plain reader is accepted
        assert db.execute("SELECT count(*) FROM state").rows == ((51,),)
    pg.run_sql("postgres", grant.format(user=user))
    with pytest.raises(SymgenError, match=f"role {user} {problem}.*CREATE ROLE symgen_ro"):
        open_database(url)


def test_a_superuser_behind_a_startup_role_is_refused(pg: Cluster) -> None:
    """`options=-c role=symgen_ro` makes current_user a reader, but RESET ROLE goes back."""
    url = pg.url("geography", "postgres", "symgen-super") + "?options=-crole%3Dsymgen_ro"
    with pytest.raises(SymgenError, match="role postgres is a superuser"):
        open_database(url)


def _reader_session(pg: Cluster) -> PostgresDatabase:
    """The adapter's in-process connection, without the worker and the deny-list in front."""
    return PostgresDatabase(pg.url("geography", RO_USER, RO_PASSWORD), isolated=False)


@pytest.mark.parametrize(
    "sql",
    [
        "SELECT pg_read_file('/etc/passwd')",
        "SELECT * FROM pg_ls_dir('.')",
        "SELECT pg_reload_conf()",
        "SELECT * FROM ts_stat('SELECT to_tsvector(' || 'p' || 'g_read_file(''/etc/passwd''))')",
        "SELECT lo_import('/etc/passwd')",
    ],
)
def test_the_reader_role_is_refused_what_the_deny_list_refuses(pg: Cluster, sql: str) -> None:
    """Under the deny-list: as a non-superuser the server itself refuses file access."""
    db = _reader_session(pg)
    try:
        assert db.run_here(sql).error == "denied"
        assert db.execute(sql).error == "denied"
    finally:
        db.close()


def test_set_config_role_cannot_climb_above_the_reader(pg: Cluster) -> None:
    db = _reader_session(pg)
    try:
        run = db.run_here("SELECT set_config('role', 'none', true), current_user, session_user")
        assert run.rows == (("none", RO_USER, RO_USER),)
    finally:
        db.close()


def test_advisory_locks_would_outlive_the_rollback(pg: Cluster) -> None:
    """Control for the deny-list: without it a reader's advisory lock stays after the
    rollback (what the probe found); through `execute` it is refused."""
    import psycopg

    db = _reader_session(pg)
    held = "SELECT count(*) FROM pg_locks WHERE locktype = 'advisory' AND objid = 4243"
    try:
        assert db.execute("SELECT pg_advisory_lock(4243)").error == "denied"
        with psycopg.connect(pg.socket_url("geography"), autocommit=True) as admin:
            assert admin.execute(held).fetchone() == (0,)
            assert db.run_here("SELECT pg_advisory_lock(4243)").error is None
            assert admin.execute(held).fetchone() == (1,)
    finally:
        db.close()


# ---- corrupt and truncated files ----------------------------------------------------------------
def _damaged(tmp_path: Path, source: Path, how: str) -> Path:
    data = source.read_bytes()
    path = tmp_path / f"{how}{source.suffix}"
    if how == "truncated":
        path.write_bytes(data[: len(data) * 2 // 3])
    else:  # overwrite part of a page in the middle
        mid = len(data) // 2 - 5000 if source.suffix == ".sqlite" else len(data) // 2
        path.write_bytes(data[:mid] + b"\xff" * 3000 + data[mid + 3000 :])
    return path


@pytest.mark.parametrize("how", ["truncated", "corrupt"])
def test_a_damaged_sqlite_file_is_named_at_open(geo_dir: Path, tmp_path: Path, how: str) -> None:
    path = _damaged(tmp_path, geo_dir / "geography.sqlite", how)
    with pytest.raises(SymgenError, match=f"{re.escape(str(path))}: {how} SQLite database"):
        open_database(path)


def test_a_truncated_duckdb_file_is_named_at_open(geo_duckdb_master: Path, tmp_path: Path) -> None:
    path = _damaged(tmp_path, geo_duckdb_master, "truncated")
    with pytest.raises(SymgenError, match=f"{re.escape(str(path))}: truncated DuckDB database"):
        open_database(path)


def test_verify_on_a_damaged_file_exits_2_with_one_line(geo_dir: Path, tmp_path: Path) -> None:
    path = _damaged(tmp_path, geo_dir / "geography.sqlite", "truncated")
    cands = tmp_path / "cands.jsonl"
    cands.write_text(json.dumps({"question": "q", "candidates": [{"query": "SELECT 1"}]}) + "\n")
    proc = subprocess.run(
        [*SYMGEN, "verify", "--db", str(path), "--candidates", str(cands),
         "--out", str(tmp_path / "out.jsonl")],
        capture_output=True, text=True, timeout=120,
    )  # fmt: skip
    assert proc.returncode == 2, proc.stderr
    lines = proc.stderr.strip().splitlines()
    assert len(lines) == 1 and "truncated SQLite database" in lines[0], proc.stderr
    assert not (tmp_path / "out.jsonl").exists()
