"""The database adapter's own guards, with sqlglot's check bypassed: hostile SQL changes nothing."""

from __future__ import annotations

from pathlib import Path

import pytest

from symgen.databases.sqlite import ReadOnlyDatabase
from symgen.errors import MissingResource, SymgenError
from tests.conftest import sha256

HOSTILE = [
    "DROP TABLE state",
    "DELETE FROM river",
    "UPDATE state SET population = 0",
    "INSERT INTO state (state_name) VALUES ('atlantis')",
    "CREATE TABLE evil (a)",
    "CREATE TEMP TABLE evil (a)",
    "ATTACH DATABASE '{tmp}/evil.db' AS evil",
    "PRAGMA journal_mode = DELETE",
    "PRAGMA writable_schema = 1",
    "VACUUM",
    "VACUUM INTO '{tmp}/copy.db'",
    "SELECT load_extension('/tmp/x.so')",
    "BEGIN; DROP TABLE state; COMMIT",
]


@pytest.mark.parametrize("sql", HOSTILE)
def test_hostile_sql_is_refused_and_changes_nothing(geo_db: Path, tmp_path: Path, sql: str) -> None:
    before = sha256(geo_db)
    with ReadOnlyDatabase(geo_db) as db:
        run = db.execute(sql.format(tmp=tmp_path))
        assert run.rows is None and run.error
        assert db.execute("SELECT count(*) FROM state").rows == ((51,),)
    assert sha256(geo_db) == before
    assert not (tmp_path / "evil.db").exists() and not (tmp_path / "copy.db").exists()


def test_timeout_and_row_cap(geo_db: Path) -> None:
    with ReadOnlyDatabase(geo_db, timeout_s=0.2, row_cap=50) as db:
        slow = db.execute(
            "WITH RECURSIVE c(x) AS (SELECT 1 UNION ALL SELECT x+1 FROM c) SELECT max(x) FROM c"
        )
        assert slow.error == "timeout" and slow.seconds < 2
        assert db.execute("SELECT * FROM city").error == "row_cap"
        assert len(db.execute("SELECT * FROM city LIMIT 50").rows or ()) == 50


def test_schema_and_values(geo_db: Path) -> None:
    with ReadOnlyDatabase(geo_db) as db:
        tables = {t.name: t for t in db.tables()}
        assert set(tables) == {
            "border_info",
            "city",
            "highlow",
            "lake",
            "mountain",
            "river",
            "state",
        }
        assert [c.name for c in tables["river"].columns] == [
            "river_name",
            "length",
            "country_name",
            "traverse",
        ]
        assert len(tables["state"].rows) == 3
        assert ("state", "state_name", "texas") in db.text_values()


def test_missing_and_non_sqlite_files(tmp_path: Path) -> None:
    with pytest.raises(MissingResource, match="database not found"):
        ReadOnlyDatabase(tmp_path / "nope.sqlite")
    junk = tmp_path / "junk.sqlite"
    junk.write_text("hello")
    with pytest.raises(SymgenError, match="not a SQLite database"):
        ReadOnlyDatabase(junk)


def test_execution_guidance_prefers_rows_and_changes_nothing(geo_db: Path) -> None:
    """`ReturnsRows`: true only for a query that returns rows (more than the cap counts)."""
    from symgen.tasks.sql.result_check import GUIDE_ROW_CAP, ReturnsRows

    before = sha256(geo_db)
    guide = ReturnsRows(geo_db, timeout_s=0.2)
    assert guide("SELECT state_name FROM state WHERE area > 100000")
    assert not guide("SELECT state_name FROM state WHERE state_name = 'atlantis'")
    assert not guide("SELECT nope FROM state")  # an error is not preferred
    assert not guide(
        "WITH RECURSIVE c(x) AS (SELECT 1 UNION ALL SELECT x+1 FROM c) SELECT max(x) FROM c"
    )  # nor a query slower than the timeout
    assert guide(f"SELECT * FROM city, state LIMIT {GUIDE_ROW_CAP + 5}")
    for sql in HOSTILE[:4]:
        assert not guide(sql)
    guide.close()
    assert guide("SELECT 1")  # reopens after close (a server reconfiguring)
    guide.close()
    assert sha256(geo_db) == before
