"""Composed pairs (`symgen.compose`): domains, SQL composition and the fusion check on the real
GeoQuery DB, and `symgen compose` end to end with the real 0.5B generator."""

from __future__ import annotations

import itertools
import json
import random
from pathlib import Path

import pytest

from symgen.compose import (
    Composition,
    compose_sql,
    compositions,
    domain,
    fuse_prompt,
    fusion_rejection,
)
from symgen.dataset import read_pairs
from symgen.pipeline import SqlContext, build_context
from symgen.sqlite_db import ReadOnlyDatabase
from tests.test_generate_e2e import cli, run_cli

POPULATION = (
    "what is the population of montana",
    "SELECT state.population FROM state WHERE state.state_name='montana';",
)
THROUGH = (
    "which states does the mississippi run through",
    "SELECT river.traverse FROM river WHERE river.river_name='mississippi';",
)
LONGEST = (
    "what is the longest river that flows through colorado",
    "SELECT river.river_name FROM river WHERE river.traverse='colorado' AND river.length="
    "(SELECT max(river.length) FROM river WHERE river.traverse='colorado');",
)
SMALLEST = (
    "what is the smallest state",
    "SELECT state.state_name FROM state WHERE state.area=(SELECT min(state.area) FROM state);",
)
RIVER_LENGTH = (
    "how long is the ohio river",
    "SELECT river.length FROM river WHERE river.river_name='ohio';",
)


@pytest.fixture(scope="module")
def ctx(geo_dir: Path) -> SqlContext:
    return build_context(geo_dir / "geography.sqlite", read_pairs(geo_dir / "seed_10.jsonl"))


def rows(ctx: SqlContext, sql: str) -> list[tuple[object, ...]]:
    run = ctx.db.execute(sql)
    assert run.rows is not None, (sql, run.error)
    return sorted(run.rows, key=repr)


def test_domains_follow_the_values(ctx: SqlContext) -> None:
    f = ctx.facts
    state = ("state", "state_name")
    assert domain(f, "river", "traverse") == state  # holds state names under another name
    assert domain(f, "border_info", "border") == state
    assert domain(f, "highlow", "state_name") == state  # keyed by state: the state's own table
    assert domain(f, "state", "state_name") == state
    assert domain(f, "river", "river_name") is None  # repeats per state: no table of rivers
    assert domain(f, "river", "length") is None


def test_composed_sql_is_the_nested_question(ctx: SqlContext) -> None:
    """ "the populations of the states the mississippi runs through", built from its parts,
    answers what GeoQuery's own gold SQL for that question answers."""
    sql = compose_sql(POPULATION[1], "state.state_name", "montana", THROUGH[1])
    gold = (
        "SELECT state.population FROM state WHERE state.state_name IN(SELECT river.traverse "
        "FROM river WHERE river.river_name='mississippi');"
    )
    assert rows(ctx, sql) == rows(ctx, gold) and len(rows(ctx, gold)) == 10
    # every occurrence of the filter is replaced, inside the subquery too
    twice = compose_sql(LONGEST[1], "river.traverse", "colorado", SMALLEST[1])
    assert "colorado" not in twice and twice.count("IN(SELECT state.state_name") == 2
    assert rows(ctx, twice) == [("potomac",)]  # the seed "longest river in the smallest state"


def test_only_parts_of_the_same_kind_are_composed(ctx: SqlContext) -> None:
    pairs = [POPULATION, THROUGH, LONGEST, SMALLEST, RIVER_LENGTH]
    made = list(itertools.islice(compositions(ctx.facts, pairs, random.Random(0)), 50))
    got = {(c.outer_question, c.inner_question) for c in made}
    assert got == {
        (POPULATION[0], THROUGH[0]),
        (POPULATION[0], SMALLEST[0]),
        (LONGEST[0], THROUGH[0]),
        (LONGEST[0], SMALLEST[0]),
    }  # a state filter takes state answers only: never a river's length
    assert len(made) == 4  # each once, then the draws stop
    for c in made:
        assert rows(ctx, c.sql)


def test_the_fusion_check(ctx: SqlContext) -> None:
    c = Composition(
        POPULATION[0],
        POPULATION[1],
        THROUGH[0],
        THROUGH[1],
        "state.state_name",
        "montana",
        compose_sql(POPULATION[1], "state.state_name", "montana", THROUGH[1]),
    )
    prompt = fuse_prompt(c.outer_question, c.value, c.inner_question)
    assert prompt.endswith(
        '-- Question: what is the population of "montana"\n'
        "-- The quoted name is the answer to: which states does the mississippi run through\n"
        "-- Combined:"
    )
    good = "what is the population of the states the mississippi runs through"
    assert fusion_rejection(good, c, 2, 40) is None
    assert fusion_rejection("what is the population of montana", c, 2, 40) == "fusion_kept_value"
    assert fusion_rejection("what is the population of those states", c, 2, 40) == (
        "fusion_lost_value"
    )
    assert fusion_rejection("population", c, 2, 40) == "fusion_length"
    # a word of either question lost in the join changes what is asked
    assert fusion_rejection("what is the population of the mississippi", c, 2, 40) == (
        "fusion_dropped_words"
    )
    bordering = Composition(
        "what is the capital of the states bordering texas",
        "SELECT state.capital FROM state WHERE state.state_name IN(SELECT border_info.border "
        "FROM border_info WHERE border_info.state_name='texas');",
        SMALLEST[0],
        SMALLEST[1],
        "border_info.state_name",
        "texas",
        "",
    )
    assert fusion_rejection("what is the capital of the smallest state", bordering, 2, 40) == (
        "fusion_dropped_words"
    )
    assert (
        fusion_rejection(
            "what is the capital of the states bordering the smallest state", bordering, 2, 40
        )
        is None
    )


@pytest.mark.llm
def test_symgen_compose_end_to_end_and_resume(geo_dir: Path, tmp_path: Path) -> None:
    pairs = tmp_path / "pairs.jsonl"
    pairs.write_text(
        "".join(
            json.dumps({"question": q, "query": s}) + "\n"
            for q, s in [POPULATION, THROUGH, SMALLEST, RIVER_LENGTH]
        )
    )
    out = tmp_path / "composed.jsonl"

    def compose(n: int, *extra: str) -> list[str]:
        return cli(
            "compose",
            "--db",
            str(geo_dir / "geography.sqlite"),
            "--seeds",
            str(geo_dir / "seed_10.jsonl"),
            "--pairs",
            str(pairs),
            "--out",
            str(out),
            "--questions",
            str(n),
            "--threads",
            "2",
            "--quiet",
            *extra,
        )

    first = run_cli(compose(1))
    assert first.returncode == 0, first.stderr
    kept = [json.loads(line) for line in out.read_text().splitlines()]
    tried = out.with_name("composed.tried.jsonl").read_text().splitlines()
    assert len(kept) == 1
    with ReadOnlyDatabase(geo_dir / "geography.sqlite") as db:
        for r in kept:
            assert " IN(" in r["query"] and db.execute(r["query"]).rows, r
            assert r["question"] not in (r["outer"], r["inner"])
            assert r["replaced"].split("=")[1].strip("'") not in r["question"]
    # resume: the kept pairs stay, decided compositions are not asked again
    again = run_cli(compose(2))
    assert again.returncode == 0, again.stderr
    now = [json.loads(line) for line in out.read_text().splitlines()]
    assert now[:1] == kept and len(now) == 2
    later = out.with_name("composed.tried.jsonl").read_text().splitlines()
    assert later[: len(tried)] == tried
    keys = [json.loads(line)["key"] for line in later]
    assert len(keys) == len(set(keys))
    # other pairs into the same file: refused, nothing written
    pairs.write_text(pairs.read_text() + json.dumps({"question": LONGEST[0], "query": LONGEST[1]}))
    mixed = run_cli(compose(3))
    assert mixed.returncode != 0 and "use a new --out" in mixed.stderr
    assert [json.loads(line) for line in out.read_text().splitlines()] == now
