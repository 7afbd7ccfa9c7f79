"""Numbers a pair's SQL compares with must be said in its question or be the users' convention:
data-driven cases, then the rule inside `symgen generate` (scripted answers, real GeoQuery DB)."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from symgen.config import AnswerGenConfig, QuestionGenConfig, VerifyConfig
from symgen.dataset import read_jsonl, write_jsonl
from symgen.generate.run import run_generate
from symgen.tasks.sql.number_grounding import (
    compared_numbers,
    conventions,
    stated_numbers,
    unstated_numbers,
)
from tests.unit.generate.test_paraphrase import Scripted


@pytest.mark.parametrize(
    ("question", "numbers"),
    [
        ("what is the capital of wisconsin", []),
        ("which states have a population over 2 million ?", [2e6]),
        ("states with fewer than a million people", [1e6]),
        ("cities with more than 100,000 people", [1e5]),
        ("a state with 1.5 million people", [1.5e6]),
        ("the three largest states", [3]),
        ("rivers longer than 500 km in texas", [500]),
        ("what is a river", []),  # a bare "a" is no number
        ("mountains above 14000 feet and below twenty thousand", [14000, 20000]),
    ],
)
def test_stated_numbers(question: str, numbers: list[float]) -> None:
    assert stated_numbers(question) == frozenset(numbers)


@pytest.mark.parametrize(
    ("sql", "found"),
    [
        ("SELECT a FROM t WHERE city.population>150000", [("city.population", 150000)]),
        ("SELECT a FROM t WHERE 5 < t.a AND length >= 3.5", [("t.a", 5), ("length", 3.5)]),
        ("SELECT a FROM t WHERE name = 'route 66' LIMIT 3", []),  # quoted, not compared
        ("SELECT count(*) FROM t WHERE x.y <> -1", [("x.y", -1)]),
    ],
)
def test_compared_numbers(sql: str, found: list[tuple[str, float]]) -> None:
    assert compared_numbers(sql) == found


SEEDS = [
    ("what are the major cities in delaware", "SELECT c FROM city WHERE city.population>150000"),
    ("which states are over 100000 square miles", "SELECT s FROM state WHERE state.area>100000"),
]


@pytest.mark.parametrize(
    ("question", "sql", "unstated"),
    [
        # a filter the question never asks for: the 1.5B's own data (GeoQuery, program-first)
        (
            "what is the capital of wisconsin",
            "SELECT state.capital FROM state WHERE state.state_name='wisconsin' AND "
            "state.area<70000",
            ["state.area 70000"],
        ),
        # "major" means what the user's seed says, not another threshold
        ("what are the major cities in ohio", "SELECT c FROM city WHERE population>150000", []),
        (
            "what are the major cities in ohio",
            "SELECT c FROM city WHERE city.population>100000",
            ["city.population 100000"],
        ),
        # a number stated one way or another
        ("states with over 2 million people", "SELECT s FROM state WHERE population>2000000", []),
        ("states over 100,000 square km", "SELECT s FROM state WHERE state.area>100000", []),
        ("highest points above sea level", "SELECT h FROM highlow WHERE elevation>0", []),
        # the seed stated its area number: no convention, so the generated one must state it too
        (
            "what are the big states",
            "SELECT s FROM state WHERE state.area>100000",
            ["state.area 100000"],
        ),
    ],
)
def test_unstated_numbers(question: str, sql: str, unstated: list[str]) -> None:
    assert conventions(SEEDS) == {("population", 150000)}
    assert unstated_numbers(sql, question, conventions(SEEDS)) == unstated


def test_generate_refuses_agreed_pairs_with_an_unstated_number(
    geo_dir: Path, tmp_path: Path
) -> None:
    """Both rewrites reproduce their pair's result (the condition changes nothing), so the vote
    keeps both; the one whose question never says 70000 is refused as `unstated_number`."""
    smuggled = (
        "SELECT state.capital FROM state WHERE state.state_name='wisconsin' AND state.area<70000;"
    )
    stated = "SELECT state.state_name FROM state WHERE state.population>10000000;"
    pairs = tmp_path / "pairs.jsonl"
    write_jsonl(
        pairs,
        [
            {"question": "what is the capital of wisconsin", "query": smuggled},
            {"question": "which states have more than 10 million people", "query": stated},
        ],
    )
    gen = Scripted(
        [
            ["which city is the capital of wisconsin"],  # the rewrites first, then the answers
            ["which states have a population over 10 million"],
            [smuggled.removeprefix("SELECT")] * 2,
            [stated.removeprefix("SELECT")] * 2,
        ]
    )
    out = tmp_path / "para.jsonl"
    stats = run_generate(
        db_path=geo_dir / "geography.sqlite",
        seeds_path=geo_dir / "seed_10.jsonl",
        out_path=out,
        open_gen=lambda: gen,
        n_questions=2,
        qcfg=QuestionGenConfig(source="paraphrases", paraphrases_per_pair=1),
        acfg=AnswerGenConfig(samples=2),
        vcfg=VerifyConfig(min_votes="1"),
        progress=False,
        log=lambda _m: None,
        paraphrase_from=pairs,
    )
    assert [r["question"] for r in read_jsonl(out)] == [
        "which states have a population over 10 million"
    ]
    (refused,) = read_jsonl(tmp_path / "para.rejected.jsonl")
    assert refused["reason"] == "unstated_number" and refused["unstated"] == ["state.area 70000"]
    assert stats.kept == 1 and stats.failures["unstated_number"] == 1
    run = json.loads((tmp_path / "para.run.json").read_text())
    assert run["stats"]["rejected"] == 1
