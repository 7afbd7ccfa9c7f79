"""Pure logic of the distillation side: input format, schema check, batching, LR schedule."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from symgen.databases.sqlite import ReadOnlyDatabase
from symgen.engine.checks import Beam, Completion, best_valid, greedy_fallback
from symgen.tasks.format import canonical_sql, question_text, values_text
from symgen.tasks.sql.knowledge import ValueIndex
from symgen.tasks.sql.schema_check import problem, schema_map
from symgen.train.loop import batches, lr_at
from tests.conftest import FIXTURES
from tests.fixture_files import SqlCase, params, sql_cases

SCHEMA = {  # the schema of fixtures/sql/schema_check.sql
    "state": frozenset({"state_name", "population", "area", "capital"}),
    "river": frozenset({"river_name", "length", "traverse"}),
}


SCHEMA_CASES = sql_cases(FIXTURES / "sql" / "schema_check.sql")


@pytest.mark.parametrize("case", params(SCHEMA_CASES))
def test_schema_check(case: SqlCase) -> None:
    (expected,) = case.expected
    why = None if expected == "ok" else expected
    assert problem(case.sql, SCHEMA) == why, case.where


def test_every_geoquery_gold_query_passes_the_schema_check(geo_dir: Path) -> None:
    """The check picks the first valid beam: rejecting a right query costs accuracy silently
    (13 of the 880 used derived tables, `FROM (SELECT ...) tmp1`, and were once rejected)."""
    with ReadOnlyDatabase(geo_dir / "geography.sqlite") as db:
        schema = schema_map(db.tables())
    gold = [
        json.loads(line)["query"]
        for name in ("train.jsonl", "dev.jsonl")
        for line in (geo_dir / name).read_text().splitlines()
    ]
    assert len(gold) == 880
    assert [(q, problem(q, schema)) for q in gold if problem(q, schema)] == []


def test_canonical_sql_is_one_spelling() -> None:
    a = canonical_sql("select  state.capital from state where state.state_name='texas';")
    b = canonical_sql("SELECT state.capital FROM state WHERE state.state_name = 'texas'")
    assert a == b == "SELECT state.capital FROM state WHERE state.state_name = 'texas'"


def test_question_text_names_values_the_question_mentions() -> None:
    index = ValueIndex.build([("river", "traverse", "texas"), ("state", "state_name", "texas")])
    text = question_text("Rivers  in TEXAS", index)
    assert (
        text
        == " | values: texas = river.traverse, state.state_name | question: rivers in texas | sql:"
    )
    assert values_text([]) == ""


def test_batches_are_deterministic_single_database_and_cover_everything() -> None:
    keys = [("a" if i % 3 else "b", i % 7) for i in range(100)]
    first = batches(keys, 8, epoch=0, seed=1)
    assert first == batches(keys, 8, epoch=0, seed=1)
    assert first != batches(keys, 8, epoch=1, seed=1)
    assert sorted(i for b in first for i in b) == list(range(100))
    assert all(len({keys[i][0] for i in b}) == 1 for b in first)


def test_lr_warms_up_then_anneals_by_steps_or_time() -> None:
    assert lr_at(0, 100, 0, None, 1.0, 10) == pytest.approx(0.1)
    assert lr_at(10, 100, 0, None, 1.0, 10) == pytest.approx(1.0)
    assert lr_at(100, 100, 0, None, 1.0, 10) == pytest.approx(0.1)
    # the time budget is nearly spent: anneal even though few steps were done
    assert lr_at(20, 1000, 59, 60.0, 1.0, 10) < 0.15


def _completion(sql: str, valid: bool = True, preferred: bool = True) -> Completion:
    return Completion(sql, valid, None if valid else "syntax", (), 0, preferred)


@pytest.mark.parametrize(
    ("greedy", "beam", "want", "beam_ran"),
    [
        (_completion("g"), _completion("b"), "g", False),  # valid and preferred: no beam search
        (_completion("g", preferred=False), _completion("b"), "b", True),
        # the beam found nothing better: the greedy answer stays
        (_completion("g", preferred=False), _completion("b", preferred=False), "g", True),
        (_completion("g", valid=False), _completion("b", preferred=False), "b", True),
        (_completion("g", valid=False), _completion("b", valid=False), "b", True),
    ],
)
def test_greedy_fallback_takes_the_beam_only_when_it_is_better(
    greedy: Completion, beam: Completion, want: str, beam_ran: bool
) -> None:
    calls: list[tuple[int, bool]] = []

    def run(k: int, first: bool) -> Completion:
        calls.append((k, first))
        return greedy if k == 1 else beam

    assert greedy_fallback(run, 4, "greedy-fallback").sql == want
    assert calls == ([(1, False), (4, True)] if beam_ran else [(1, False)])


def test_best_valid_prefers_but_never_rejects() -> None:
    beams = [Beam(t, -1.0, 3) for t in ("bad(", "SELECT 1", "SELECT 2")]
    check = lambda sql: None if sql.startswith("SELECT") else "syntax"  # noqa: E731
    got = best_valid(beams, check, prefer=lambda sql: sql.endswith("2"))
    assert (got.sql, got.beam_index, got.preferred) == ("SELECT 2", 2, True)
    got = best_valid(beams, check, prefer=lambda sql: False)
    assert (got.sql, got.valid, got.preferred) == ("SELECT 1", True, False)
