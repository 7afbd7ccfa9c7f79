"""Composed pairs (`symgen.lab.compose`): domains, SQL composition and the fusion check on the real
GeoQuery DB, and `symgen lab compose` end to end with the real 0.5B generator."""

from __future__ import annotations

import itertools
import json
import random
from pathlib import Path

import pytest

from symgen.databases.sqlite import ReadOnlyDatabase
from symgen.dataset import read_pairs
from symgen.lab.compose import (
    KINDS,
    Composition,
    compose_sql,
    compositions,
    domain,
    fuse_prompt,
    fusion_rejection,
    restrict_prompt,
    restrict_sql,
    restriction_target,
)
from symgen.lab.compose_run import _refusal
from symgen.tasks.sql.context import SqlContext, build_context
from tests.e2e.test_generate_e2e import cli, run_cli

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
LARGEST = (
    "what is the largest state",
    "SELECT state.state_name FROM state WHERE state.area=(SELECT max(state.area) FROM state);",
)
BORDERS_TEXAS = (
    "which states border texas",
    "SELECT border_info.border FROM border_info WHERE border_info.state_name='texas';",
)
RIVER_LENGTH = (
    "how long is the ohio river",
    "SELECT river.length FROM river WHERE river.river_name='ohio';",
)


@pytest.fixture(scope="module")
def ctx(geo_dir: Path) -> SqlContext:
    return build_context(geo_dir / "geography.sqlite", read_pairs(geo_dir / "seed_10.jsonl"))


def seed_pairs(geo_dir: Path) -> list[tuple[str, str]]:
    return [(p.question, p.query) for p in read_pairs(geo_dir / "seed_10.jsonl")]


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


def test_a_restriction_is_the_nested_superlative(ctx: SqlContext) -> None:
    """ "the largest state bordering texas", built from "the largest state" and "which states
    border texas", answers what GeoQuery's gold SQL for it (train split) answers."""
    f = ctx.facts
    assert restriction_target(f, LARGEST[1]) == ("state.state_name", "state.state_name")
    assert restriction_target(f, SMALLEST[1].replace("=(", " = ( ")) is not None
    assert restriction_target(f, LONGEST[1]) is None  # already filtered: a replacement's part
    assert restriction_target(f, POPULATION[1]) is None
    whole_river = (
        "SELECT river.river_name FROM river WHERE river.length="
        "(SELECT max(river.length) FROM river);"
    )
    assert restriction_target(f, whole_river) is None  # river names repeat per state
    sql = restrict_sql(LARGEST[1], "state.state_name", BORDERS_TEXAS[1])
    gold = (
        "SELECT state.state_name FROM state WHERE state.state_name IN(SELECT border_info.border "
        "FROM border_info WHERE border_info.state_name='texas') AND state.area=(SELECT "
        "max(state.area) FROM state WHERE state.state_name IN(SELECT border_info.border FROM "
        "border_info WHERE border_info.state_name='texas'));"
    )
    assert sql == gold
    assert rows(ctx, sql) == [("new mexico",)] != rows(ctx, LARGEST[1])
    with pytest.raises(ValueError, match="not a whole-table superlative"):
        restrict_sql(POPULATION[1], "state.state_name", BORDERS_TEXAS[1])


def test_restrictions_take_lists_from_other_tables(ctx: SqlContext) -> None:
    pairs = [LARGEST, SMALLEST, BORDERS_TEXAS, THROUGH, POPULATION, LONGEST]
    made = list(
        itertools.islice(compositions(ctx.facts, pairs, random.Random(0), ("restrict",)), 50)
    )
    assert {(c.outer_question, c.inner_question) for c in made} == {
        (LARGEST[0], BORDERS_TEXAS[0]),
        (LARGEST[0], THROUGH[0]),
        (SMALLEST[0], BORDERS_TEXAS[0]),
        (SMALLEST[0], THROUGH[0]),
    }  # never "the largest state" among "the smallest state": a list from its own table
    assert (
        len(made) == 4 and {c.kind for c in made} == {"restrict"} and not any(c.value for c in made)
    )
    for c in made:
        assert rows(ctx, c.sql) and c.sql.count(f"IN({c.inner_sql.rstrip(';')})") == 2
    both = list(itertools.islice(compositions(ctx.facts, pairs, random.Random(0), KINDS), 50))
    assert {c.kind for c in both} == {"replace", "restrict"}
    replaced = list(itertools.islice(compositions(ctx.facts, pairs, random.Random(0)), 50))
    assert {c.kind for c in replaced} == {"replace"}  # the default is unchanged


def test_a_restriction_needs_a_list_and_a_new_answer(ctx: SqlContext) -> None:
    def restriction(inner: tuple[str, str], outer: tuple[str, str] = LARGEST) -> Composition:
        sql = restrict_sql(outer[1], "state.state_name", inner[1])
        return Composition(*outer, *inner, "state.state_name", "", sql, "restrict")

    assert _refusal(ctx, restriction(BORDERS_TEXAS), set(), 200) is None
    one = (
        "what state is dallas in",
        "SELECT city.state_name FROM city WHERE city.city_name='dallas';",
    )
    assert _refusal(ctx, restriction(one), set(), 200) == "restricted_to_one"
    # a list that holds the whole table's largest state (alaska has mountains) answers what
    # the outer pair already did
    mountains = (
        "which states have a mountain",
        "SELECT mountain.state_name FROM mountain;",
    )
    assert _refusal(ctx, restriction(mountains), set(), 200) == "same_result"


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


def test_the_restriction_prompt_and_check() -> None:
    sql = restrict_sql(LARGEST[1], "state.state_name", BORDERS_TEXAS[1])
    c = Composition(*LARGEST, *BORDERS_TEXAS, "state.state_name", "", sql, "restrict")
    assert restrict_prompt(c.outer_question, c.inner_question).endswith(
        "-- Question: what is the largest state\n"
        "-- Asked only about the answers to: which states border texas\n-- Combined:"
    )
    assert fusion_rejection("what is the largest state that borders texas", c, 2, 40) is None
    assert fusion_rejection("what is the largest state", c, 2, 40) == "fusion_lost_value"
    assert fusion_rejection("which states border texas", c, 2, 40) == "fusion_dropped_words"


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
            "lab",
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


@pytest.mark.llm
def test_symgen_compose_restrict_end_to_end(geo_dir: Path, tmp_path: Path) -> None:
    """`--kind restrict` with the real 0.5B: each kept pair is a superlative narrowed to another
    pair's list, asked in one question that keeps both questions' words and names."""
    pairs = tmp_path / "pairs.jsonl"
    pairs.write_text(
        "".join(
            json.dumps({"question": q, "query": s}) + "\n"
            for q, s in [LARGEST, SMALLEST, BORDERS_TEXAS, THROUGH, POPULATION]
        )
    )
    out = tmp_path / "restricted.jsonl"
    args = ["--db", str(geo_dir / "geography.sqlite"), "--seeds", str(geo_dir / "seed_10.jsonl")]
    args += ["--pairs", str(pairs), "--out", str(out), "--questions", "4", "--threads", "2"]
    run = run_cli(cli("lab", "compose", *args, "--kind", "restrict", "--quiet"))
    assert run.returncode == 0, run.stderr
    tried = [json.loads(line) for line in out.with_name("restricted.tried.jsonl").open()]
    # the four (superlative, list) pairs of the seeds' and these pairs' parts were each decided
    assert len(tried) >= 4 and all(json.loads(t["key"])[-1] == "restrict" for t in tried)
    kept = [json.loads(line) for line in out.read_text().splitlines()]
    assert len(kept) == sum(t["outcome"] == "kept" for t in tried)
    known = dict([LARGEST, SMALLEST, BORDERS_TEXAS, THROUGH, POPULATION, *seed_pairs(geo_dir)])
    with ReadOnlyDatabase(geo_dir / "geography.sqlite") as db:
        for r in kept:
            assert r["restricted"] == "state.state_name" and "replaced" not in r
            sql = restrict_sql(known[r["outer"]], "state.state_name", known[r["inner"]])
            assert r["query"] == sql and len(db.execute(sql).rows or []) >= 1
            c = Composition(r["outer"], "", r["inner"], "", "state.state_name", "", sql, "restrict")
            assert fusion_rejection(r["question"], c, 2, 40) is None, r
    run_json = json.loads(out.with_name("restricted.run.json").read_text())
    assert run_json["identity"]["kinds"] == "restrict"
