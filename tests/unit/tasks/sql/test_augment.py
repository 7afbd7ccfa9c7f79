"""Value-swap augmentation: which literals are swappable (data-driven), and real runs on GeoQuery."""

from __future__ import annotations

import hashlib
import json
import subprocess
from pathlib import Path
from typing import Any

import pytest

from symgen.databases.base import open_database
from symgen.dataset import read_jsonl
from symgen.tasks.sql.augment import Slot, string_slots, substitute, with_augmented
from tests.conftest import SYMGEN

COLUMNS = {
    "state": {"state_name", "population", "capital"},
    "city": {"city_name", "state_name", "population"},
    "river": {"river_name", "traverse", "length"},
}

# (question, sql, expected slots as "table.column=value")
SLOT_CASES = [
    (
        "what is the population of texas",
        "SELECT state.population FROM state WHERE state.state_name='texas';",
        ["state.state_name=texas"],
    ),
    (  # alias resolved; the literal is also in a subquery (one slot)
        "longest river in new york",
        "SELECT r.river_name FROM river AS r WHERE r.traverse='new york' AND r.length="
        "(SELECT max(length) FROM river WHERE traverse='new york');",
        ["river.traverse=new york"],
    ),
    (  # value not named by the question: nothing to swap
        "what is the capital of the largest state",
        "SELECT capital FROM state WHERE state_name='alaska';",
        [],
    ),
    (  # unqualified column owned by two tables of the query: ambiguous, left alone
        "cities in texas with a population",
        "SELECT city_name FROM city JOIN state ON city.state_name = state.state_name "
        "WHERE state_name='texas';",
        [],
    ),
    (  # numbers and LIKE patterns are not swapped
        "cities with more than 150000 people",
        "SELECT city_name FROM city WHERE population > 150000;",
        [],
    ),
    ("not sql at all", "SELEC nothing", []),
    (  # whole words only: 'york' is not named by 'yorkshire'
        "rivers in yorkshire",
        "SELECT river_name FROM river WHERE traverse='york';",
        [],
    ),
]


@pytest.mark.parametrize(("question", "sql", "expected"), SLOT_CASES)
def test_string_slots(question: str, sql: str, expected: list[str]) -> None:
    got = [f"{s.table}.{s.column}={s.value}" for s in string_slots(sql, question, COLUMNS)]
    assert got == expected


def test_substitute_both_sides_and_refuses_ambiguity() -> None:
    sql = "SELECT x FROM river WHERE traverse='texas' AND length=(SELECT max(length) FROM river WHERE traverse='texas')"
    slot = Slot("river", "traverse", "texas")
    q2, s2 = substitute("longest river in Texas", sql, slot, "ohio") or ("", "")
    assert q2 == "longest river in ohio"
    assert s2.count("'ohio'") == 2 and "texas" not in s2
    assert substitute("rivers in texas", "SELECT 1 WHERE a='texas'", slot, "texas") is None
    # the new value is already named by the question, or already in the query
    assert substitute("ohio or texas", "SELECT 1 WHERE a='texas'", slot, "ohio") is None
    assert substitute("texas", "SELECT 1 WHERE a='texas' OR b='ohio'", slot, "ohio") is None
    # quotes in values stay valid SQL
    q3, s3 = substitute("in texas", "SELECT 1 WHERE a='texas'", slot, "o'hare") or ("", "")
    assert s3 == "SELECT 1 WHERE a='o''hare'" and q3 == "in o'hare"


def test_augment_real_geoquery_pairs_execute_and_keep_provenance(geo_db: Path) -> None:
    before = hashlib.sha256(geo_db.read_bytes()).hexdigest()
    records: list[dict[str, Any]] = [
        {
            "question": "what is the population of texas",
            "query": "SELECT state.population FROM state WHERE state.state_name='texas';",
            "votes": 7,
        },
        {"question": "how many states are there", "query": "SELECT count(*) FROM state;"},
    ]
    with open_database(geo_db) as db:
        out, stats = with_augmented(records, db, per_pair=5, seed=1)
        assert out[:2] == records and stats.pairs == 2 and stats.with_slots == 1
        new = out[2:]
        assert len(new) == 5 == stats.written
        for rec in new:
            assert rec["augmented_from"] == "what is the population of texas"
            assert rec["slot"] == "state.state_name" and rec["votes"] == 7
            state = rec["question"].removeprefix("what is the population of ")
            assert state != "texas" and f"'{state}'" in rec["query"]
            run = db.execute(rec["query"])
            assert run.rows and run.rows[0][0] is not None  # executed, non-empty
        assert len({r["question"] for r in out}) == len(out)  # no duplicates
        again, _ = with_augmented(records, db, per_pair=5, seed=1)
        assert again == out  # deterministic for a seed
    assert hashlib.sha256(geo_db.read_bytes()).hexdigest() == before


def test_augment_cli(geo_dir: Path, geo_db: Path, tmp_path: Path) -> None:
    out = tmp_path / "aug.jsonl"
    seeds = geo_dir / "seed_10.jsonl"
    cmd = [*SYMGEN, "augment", "--data", str(seeds), "--db", str(geo_db), "--out", str(out)]
    run = subprocess.run([*cmd, "--per-pair", "3"], capture_output=True, text=True, check=False)
    assert run.returncode == 0, run.stderr
    rows = read_jsonl(out)
    n_seeds = len(read_jsonl(seeds))
    assert len(rows) > n_seeds and all("augmented_from" in r for r in rows[n_seeds:])
    assert "value-swapped pairs" in run.stdout

    bad = tmp_path / "bad.jsonl"
    bad.write_text(json.dumps({"question": "q", "query": "SELECT 1"}) + "\n{oops\n")
    run = subprocess.run(
        [*SYMGEN, "augment", "--data", str(bad), "--db", str(geo_db), "--out", str(tmp_path / "x")],
        capture_output=True,
        text=True,
        check=False,
    )
    assert run.returncode == 2 and f"{bad}:2" in run.stderr
    assert not (tmp_path / "x").exists()
