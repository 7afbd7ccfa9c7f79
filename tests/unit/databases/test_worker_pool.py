"""`WorkerPool`: concurrent callers of one adapter run their queries in separate children."""

from __future__ import annotations

import sqlite3
import threading
from pathlib import Path

from symgen.databases.sqlite import ReadOnlyDatabase

# about half a second of SQLite work, in one statement
SLOW = "WITH RECURSIVE c(x) AS (SELECT 1 UNION ALL SELECT x + 1 FROM c WHERE x < 600000) SELECT count(*) FROM c"


def _db(tmp_path: Path) -> Path:
    path = tmp_path / "t.sqlite"
    with sqlite3.connect(path) as conn:
        conn.execute("CREATE TABLE t (a INTEGER)")
        conn.executemany("INSERT INTO t VALUES (?)", [(i,) for i in range(10)])
    return path


def test_a_serial_caller_starts_one_child(tmp_path: Path) -> None:
    with ReadOnlyDatabase(_db(tmp_path)) as db:
        for _ in range(5):
            assert db.execute("SELECT count(*) FROM t").rows == ((10,),)
        assert db._worker is not None and db._worker.started == 1


def test_concurrent_callers_get_a_child_each_and_the_same_answers(tmp_path: Path) -> None:
    with ReadOnlyDatabase(_db(tmp_path), timeout_s=20) as db:
        barrier, results = threading.Barrier(2), []

        def call() -> None:
            barrier.wait()
            results.append(db.execute(SLOW).rows)

        threads = [threading.Thread(target=call) for _ in range(2)]
        for t in threads:
            t.start()
        for t in threads:
            t.join()
        assert results == [((600000,),), ((600000,),)]
        assert db._worker is not None and db._worker.started == 2
        assert db.execute("SELECT count(*) FROM t").rows == ((10,),)  # an idle child is reused
        assert db._worker.started == 2
