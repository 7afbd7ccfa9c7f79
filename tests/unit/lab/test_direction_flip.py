"""Direction flips: which pairs flip and how (data-driven), and real runs on GeoQuery."""

from __future__ import annotations

import subprocess
from pathlib import Path
from typing import Any

import pytest

from symgen.databases.base import open_database
from symgen.dataset import read_jsonl, write_jsonl
from symgen.lab.direction_flip import FlipStats, flip_direction, flipped_pairs, with_flips
from symgen.tasks.sql.augment import with_augmented
from tests.conftest import SYMGEN, sha256

# (question, sql, expected (question, sql) or None)
FLIP_CASES: list[tuple[str, str, tuple[str, str] | None]] = [
    (  # max → min, in every subquery of the one direction
        "what is the largest state",
        "SELECT state.state_name FROM state WHERE state.area=(SELECT max(state.area) FROM state);",
        (
            "what is the smallest state",
            "SELECT state.state_name FROM state WHERE state.area=(SELECT min(state.area) FROM state);",
        ),
    ),
    (  # a written ASC becomes DESC, the keywords' case kept
        "which state has the lowest population density",
        "SELECT state.state_name FROM state ORDER BY state.density ASC LIMIT 1",
        (
            "which state has the highest population density",
            "SELECT state.state_name FROM state ORDER BY state.density DESC LIMIT 1",
        ),
    ),
    (  # an implied ASC is written out as DESC
        "what is the smallest city in the us",
        "select city.city_name from city order by city.population limit 1;",
        (
            "what is the largest city in the us",
            "select city.city_name from city order by city.population desc limit 1;",
        ),
    ),
    (
        "what river flows through the most states",
        "SELECT river.river_name FROM river GROUP BY river.river_name "
        "ORDER BY count(DISTINCT river.traverse) DESC LIMIT 1;",
        (
            "what river flows through the least states",
            "SELECT river.river_name FROM river GROUP BY river.river_name "
            "ORDER BY count(DISTINCT river.traverse) ASC LIMIT 1;",
        ),
    ),
    (  # the word's case follows the question, the function's the SQL
        "Biggest city in texas?",
        "SELECT city_name FROM city WHERE population=(SELECT MAX(population) FROM city "
        "WHERE state_name='texas')",
        (
            "Smallest city in texas?",
            "SELECT city_name FROM city WHERE population=(SELECT MIN(population) FROM city "
            "WHERE state_name='texas')",
        ),
    ),
    # the word names a column, not an ordering: "lowest elevation" is another column
    ("what is the highest elevation in the us", "SELECT max(highlow.highest_elevation) FROM highlow", None),
    # two superlatives: which one the SQL's direction belongs to is not known
    (
        "what is the largest city in the smallest state",
        "SELECT city.city_name FROM city WHERE city.population=(SELECT max(city.population) "
        "FROM city WHERE city.state_name=(SELECT state_name FROM state ORDER BY area LIMIT 1))",
        None,
    ),
    # the question and the SQL disagree: the pair may be wrong, copying it would spread it
    ("what is the smallest state", "SELECT state_name FROM state ORDER BY area DESC LIMIT 1", None),
    # both directions in the SQL
    ("the longest river", "SELECT max(length) - min(length) FROM river", None),
    # a bound, not a superlative
    ("states with at least 3 rivers", "SELECT traverse FROM river GROUP BY traverse ORDER BY count(*) DESC LIMIT 1", None),
    # no superlative, or no direction
    ("how many states are there", "SELECT count(*) FROM state", None),
    ("the most populous state", "SELECT state_name FROM state", None),
]  # fmt: skip


@pytest.mark.parametrize(("question", "sql", "expected"), FLIP_CASES)
def test_flip_direction(question: str, sql: str, expected: tuple[str, str] | None) -> None:
    assert flip_direction(question, sql) == expected
    if expected is not None:  # and back, to the same direction ("biggest" comes back "largest")
        again = flip_direction(*expected)
        assert again is not None and flip_direction(*again) == expected


def test_flips_on_real_geoquery_execute_and_keep_provenance(geo_db: Path) -> None:
    before = sha256(geo_db)
    records: list[dict[str, Any]] = [
        {
            "question": "which state has the lowest population density",
            "query": "SELECT state.state_name FROM state ORDER BY state.density ASC LIMIT 1;",
            "votes": 3,
        },
        {  # each flips to the other, which is asked already: neither is repeated
            "question": "which state has the largest area",
            "query": "SELECT state.state_name FROM state ORDER BY state.area DESC LIMIT 1;",
        },
        {
            "question": "which state has the smallest area",
            "query": "SELECT state.state_name FROM state ORDER BY state.area LIMIT 1;",
        },
        {  # the flipped SQL runs but returns nothing: dropped
            "question": "rivers in texas longer than the shortest river in ohio",
            "query": "SELECT river_name FROM river WHERE traverse='texas' AND length > "
            "(SELECT min(length) FROM river WHERE traverse='ohio') AND length < 0;",
        },
        {"question": "how many states are there", "query": "SELECT count(*) FROM state;"},
    ]
    with open_database(geo_db) as db:
        out, stats = with_flips(records, db, per_pair=2, seed=0)
        flips = [r for r in out if "flipped_from" in r]
        assert [r["question"] for r in flips] == ["which state has the highest population density"]
        assert flips[0]["votes"] == 3 and "DESC" in flips[0]["query"]
        assert stats.flipped == 1
        assert stats.rejected["flip_duplicate"] == 2 and stats.rejected["flip_empty_or_error"] == 1
        assert db.execute(flips[0]["query"]).rows == (("new jersey",),)
        off, off_stats = with_augmented(records, db, per_pair=2, seed=0, stats=FlipStats())
        assert off_stats.flipped == 0 and not any("flipped_from" in r for r in off)
        assert list(flipped_pairs(records[1:], db)) == []
    assert sha256(geo_db) == before


def test_augment_cli_flip(geo_dir: Path, geo_db: Path, tmp_path: Path) -> None:
    data, out = tmp_path / "pairs.jsonl", tmp_path / "out.jsonl"
    write_jsonl(
        data,
        [
            *read_jsonl(geo_dir / "seed_10.jsonl"),
            {
                "question": "what is the smallest city in the us",
                "query": "SELECT city.city_name FROM city ORDER BY city.population LIMIT 1;",
            },
        ],
    )
    cmd = [*SYMGEN, "lab", "augment", "--data", str(data), "--db", str(geo_db), "--out", str(out)]
    run = subprocess.run([*cmd, "--per-pair", "0", "--flip"], capture_output=True, text=True)
    assert run.returncode == 0, run.stderr
    rows = read_jsonl(out)
    flips = {r["question"]: r["query"] for r in rows if "flipped_from" in r}
    assert flips["what is the largest city in the us"].endswith("population DESC LIMIT 1;")
    assert "direction flips" in run.stdout
    run = subprocess.run([*cmd, "--per-pair", "0"], capture_output=True, text=True)
    assert run.returncode == 0 and not any("flipped_from" in r for r in read_jsonl(out))
