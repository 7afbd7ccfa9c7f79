"""Informative prompt pieces: schema rendering, value hints, cache-friendly layout."""

from __future__ import annotations

from pathlib import Path

import pytest

from symgen.config import AnswerGenConfig
from symgen.dataset import read_pairs
from symgen.tasks.sql.context import build_context
from symgen.tasks.sql.knowledge import ValueIndex, hint_line
from symgen.tasks.sql.prompt import Demo, answer_prefix_text, describe_prompt, result_line


def test_schema_and_demos_in_prompt(geo_dir: Path) -> None:
    ctx = build_context(geo_dir / "geography.sqlite", read_pairs(geo_dir / "seed_10.jsonl"))
    prompt = ctx.prompt("which rivers run through texas")
    assert (
        "CREATE TABLE river (river_name text, length int, country_name varchar(3), traverse text);"
        in prompt
    )
    assert "3 example rows:" in prompt
    assert prompt.count("-- Question:") == 11 and prompt.endswith("\nSELECT")
    assert "-- Values:" not in prompt  # hints are opt-in: they measured worse (see AnswerGenConfig)


def test_value_hints_when_enabled(geo_dir: Path) -> None:
    seeds = read_pairs(geo_dir / "seed_10.jsonl")
    ctx = build_context(geo_dir / "geography.sqlite", seeds, AnswerGenConfig(value_hints=True))
    prompt = ctx.prompt("which rivers run through texas")
    # the question names rivers, so the river column is listed first
    assert "-- Values: 'texas' in river.traverse" in prompt


def test_shared_prefix_is_identical_across_questions(geo_dir: Path) -> None:
    """Prefix KV reuse only works if everything but the tail is byte-identical."""
    ctx = build_context(geo_dir / "geography.sqlite", read_pairs(geo_dir / "seed_10.jsonl"))
    prefix = answer_prefix_text(ctx.schema, ctx.demos)
    a, b = ctx.prompt("how long is the rio grande"), ctx.prompt("what is the capital of ohio")
    assert a.startswith(prefix) and b.startswith(prefix)
    assert len(a) - len(prefix) < 200


def test_value_index_prefers_longest_phrase() -> None:
    index = ValueIndex.build(
        [
            ("city", "city_name", "new york"),
            ("state", "state_name", "new york"),
            ("city", "city_name", "york"),
            ("state", "state_name", "the"),
        ]
    )
    hits = index.match("population of new york city")
    assert ("city", "city_name", "york") not in hits  # its words are taken by the longer match
    assert (
        hint_line(hits, "population of new york city")
        == "-- Values: 'new york' in city.city_name, state.state_name"
    )
    assert index.match("the population") == []  # stop words are not values
    assert hint_line([], "") == ""


@pytest.mark.parametrize(
    ("rows", "line"),
    [
        ([], "(no rows)"),
        ([("texas",)], "texas"),
        ([(786700.0,)], "786700"),  # a whole float reads as the integer it is
        ([(2.5,), (None,)], "2.5; NULL"),
        ([("new  york", 7)], "new york, 7"),
        ([(s,) for s in "abcdefg"], "a; b; c; d; e; ... (7 rows)"),
        ([("x" * 50,)], "x" * 37 + "..."),  # a long text value cannot flood the prompt
    ],
)
def test_result_line(rows: list[tuple[object, ...]], line: str) -> None:
    assert result_line(rows) == line


def test_describe_prompt_shows_results_only_when_asked() -> None:
    demos = [Demo("capital of ohio", "SELECT capital FROM state WHERE state_name='ohio'")]
    plain = describe_prompt("SCHEMA", demos, "SELECT 1")
    assert "-- Result:" not in plain and plain.endswith("-- SQL: SELECT 1\n-- Question:")
    shown = describe_prompt("SCHEMA", demos, "SELECT 1", ["columbus"], "1")
    assert "SELECT capital FROM state WHERE state_name='ohio'\n-- Result: columbus\n" in shown
    assert shown.endswith("-- SQL: SELECT 1\n-- Result: 1\n-- Question:")
    with pytest.raises(ValueError, match="1 results for 2"):
        describe_prompt("SCHEMA", demos * 2, "SELECT 1", ["columbus"], "1")


def test_describe_prompt_on_the_database(geo_dir: Path) -> None:
    """Program-first gen-q shows what the seeds and the program return, read from the DB: the
    states `river.traverse` holds are what tells the LLM the question asks for states."""
    ctx = build_context(geo_dir / "geography.sqlite", read_pairs(geo_dir / "seed_10.jsonl"))
    program = "SELECT river.traverse FROM river WHERE river.river_name='colorado'"
    prompt = ctx.describe_prompt(program, ctx.db.execute(program).rows)
    assert prompt.endswith("-- Result: colorado; utah; arizona; nevada; california\n-- Question:")
    assert "-- Result: lansing\n-- Question: what is the capital of michigan" in prompt
    assert prompt.count("-- Result:") == len(ctx.demos) + 1
    assert "-- Result:" not in ctx.describe_prompt(program)  # the reviewer's read-back
