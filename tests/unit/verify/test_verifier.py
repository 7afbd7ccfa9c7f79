"""The agreement verifier on the real GeoQuery data with crafted candidates.

Every test runs on each engine (`engine` fixture): the SQLite file, a DuckDB copy and a real
PostgreSQL server loaded with the same data, reached as a SELECT-only role.
"""

from __future__ import annotations

import pytest

from symgen.databases.base import open_database
from symgen.lab.reviewer import reviewed_verdict
from symgen.tasks.base import Outcome
from symgen.tasks.sql.task import SqlTask
from symgen.verify import Candidate, MinVotes, verify
from tests.conftest import ENGINES, FIXTURES, Engine
from tests.fixture_files import SqlCase, params, sql_cases

TEXAS_RIVERS = "SELECT river.river_name FROM river WHERE river.traverse='texas';"
TEXAS_RIVERS_ALT = "select r.river_name from river as r where r.traverse = 'texas' and r.length > 0"
WRONG = "SELECT river.river_name FROM river WHERE river.traverse='ohio';"


@pytest.fixture()
def task(engine: Engine) -> SqlTask:
    return SqlTask(open_database(engine.spec, timeout_s=0.5, row_cap=1000))


def test_different_sql_with_the_same_result_agrees(task: SqlTask) -> None:
    v = verify(
        task,
        [Candidate(TEXAS_RIVERS, -0.5), Candidate(TEXAS_RIVERS_ALT, -0.1), Candidate(WRONG, -0.01)],
        MinVotes(2),
    )
    assert v.kept and v.votes == 2 and v.group_sizes == [2, 1]
    assert v.program == TEXAS_RIVERS_ALT  # highest logprob inside the winning group, not overall


def reviewer_of(scores: dict[str, float]):  # type: ignore[no-untyped-def]
    """A stand-in for the LLM's log p(question | program): fixed scores per program."""
    seen: list[list[str]] = []

    def review(programs):  # type: ignore[no-untyped-def]
        seen.append(list(programs))
        return [scores[p] for p in programs]

    return review, seen


def unasked() -> float:
    raise AssertionError("the baseline is only scored when a program ran")


def test_reviewer_picks_the_program_that_explains_the_question(task: SqlTask) -> None:
    """Each distinct runnable program is reviewed once; the best-read one wins even against a
    bigger group, and its own group's votes are what count."""
    cands = [Candidate(WRONG)] * 3 + [Candidate(TEXAS_RIVERS)] * 2 + [Candidate(TEXAS_RIVERS_ALT)]
    review, seen = reviewer_of({WRONG: -2.0, TEXAS_RIVERS: -0.9, TEXAS_RIVERS_ALT: -1.2})
    v = reviewed_verdict(task, cands, MinVotes(2), review, baseline=lambda: -1.6, min_pmi=0.5)
    assert sorted(seen[0]) == sorted([WRONG, TEXAS_RIVERS, TEXAS_RIVERS_ALT])
    assert v.kept and v.program == TEXAS_RIVERS and v.votes == 3  # both texas forms: one result
    assert v.reviewer == -0.9 and v.pmi == pytest.approx(0.7)
    assert v.provenance()["pmi"] == 0.7 and v.group_sizes == [3, 3]


def test_reviewer_rejects_unexplained_questions_and_lone_picks(task: SqlTask) -> None:
    cands = [Candidate(WRONG)] * 3 + [Candidate(TEXAS_RIVERS)]
    review, _ = reviewer_of({WRONG: -1.3, TEXAS_RIVERS: -1.5})
    v = reviewed_verdict(task, cands, MinVotes(2), review, baseline=lambda: -1.6, min_pmi=0.5)
    assert not v.kept and v.reason == "question_unlikely_given_program"  # pmi 0.3 < 0.5
    assert v.program == WRONG and v.pmi == pytest.approx(0.3)
    review, _ = reviewer_of({WRONG: -2.0, TEXAS_RIVERS: -0.5})
    v = reviewed_verdict(task, cands, MinVotes(2), review, baseline=lambda: -1.6, min_pmi=0.5)
    assert not v.kept and v.reason == "too_few_votes" and v.program == TEXAS_RIVERS
    broken = [Candidate("SELECT nope FROM river"), Candidate("DROP TABLE river")]
    v = reviewed_verdict(task, broken, MinVotes(1), review, baseline=unasked, min_pmi=0.0)
    assert not v.kept and v.reason == "no_valid_candidate"  # nothing ran: no baseline asked


def test_too_few_votes_is_rejected(task: SqlTask) -> None:
    v = verify(task, [Candidate(TEXAS_RIVERS), Candidate(WRONG)], MinVotes(2))
    assert not v.kept and v.reason == "too_few_votes" and v.votes == 1


def test_fraction_threshold(task: SqlTask) -> None:
    cands = [Candidate(TEXAS_RIVERS)] * 3 + [Candidate(WRONG)] * 5
    assert verify(task, cands, MinVotes.parse("0.5")).program == WRONG
    assert not verify(task, cands, MinVotes.parse("0.7")).kept  # 5/8 < 0.7
    assert MinVotes.parse("0.5").required(8) == 4 and MinVotes.parse("3").required(8) == 3
    for bad in ("0", "-1", "1.5", "x"):
        with pytest.raises(ValueError):
            MinVotes.parse(bad)


def test_all_samples_must_agree(task: SqlTask) -> None:
    """'all': every sample, however many were drawn (a failing sample breaks unanimity)."""
    every = MinVotes.parse("all")
    assert every.required(4) == 4 and every.required(8) == 8
    assert verify(task, [Candidate(TEXAS_RIVERS)] * 4, every).kept
    v = verify(task, [Candidate(TEXAS_RIVERS)] * 3 + [Candidate("SELECT nope FROM x")], every)
    assert not v.kept and v.reason == "too_few_votes" and (v.votes, v.required) == (3, 4)


BAD_CANDIDATES = sql_cases(FIXTURES / "verify" / "bad_candidates.sql", expected=(1, None))


def failure_on(case: SqlCase, engine: str) -> str:
    """The failure `case` names for `engine`: its first `=>` line, unless an `engine:` one."""
    failure, *by_engine = case.expected
    overrides = dict(line.split(": ", 1) for line in by_engine)
    assert len(overrides) == len(by_engine) and set(overrides) <= set(ENGINES), case.where
    return overrides.get(engine, failure)


@pytest.mark.parametrize("case", params(BAD_CANDIDATES))
def test_bad_candidates_are_counted_and_never_win(
    task: SqlTask, engine: Engine, case: SqlCase
) -> None:
    before = engine.digest()
    failure = failure_on(case, engine.name)
    v = verify(task, [Candidate(case.sql, 0.0), Candidate(TEXAS_RIVERS, -1.0)], MinVotes(1))
    assert v.failures == {failure: 1}, case.where
    assert v.program == TEXAS_RIVERS, case.where
    assert engine.digest() == before, case.where


def test_no_valid_candidate(task: SqlTask) -> None:
    v = verify(task, [Candidate("DROP TABLE state"), Candidate("garbage ((")], MinVotes(1))
    assert not v.kept and v.program is None and v.reason == "no_valid_candidate"
    assert v.failures == {"not_read_only": 1, "syntax": 1}


def test_duplicates_run_once_but_each_sample_votes(task: SqlTask) -> None:
    runs: list[str] = []
    real = task.execute

    def counting(program: str) -> Outcome:
        runs.append(program)
        return real(program)

    task.execute = counting  # type: ignore[method-assign]
    cands = [
        Candidate(TEXAS_RIVERS, -0.3),
        Candidate(
            "select  river.river_name from RIVER where river.traverse='texas'", -0.2
        ),  # same, reformatted
        Candidate(TEXAS_RIVERS, -0.4),
        Candidate(WRONG, -0.1),
        Candidate(WRONG, -0.1),
    ]
    v = verify(task, cands, MinVotes(3))
    assert len(runs) == 2  # one execution per distinct normalised query
    assert v.kept and v.votes == 3 and v.n_distinct == 2 and v.group_sizes == [3, 2]


def test_order_by_matters_only_when_present(task: SqlTask) -> None:
    asc = "SELECT state_name FROM state ORDER BY population ASC"
    desc = "SELECT state_name FROM state ORDER BY population DESC"
    unordered = "SELECT state_name FROM state"
    assert task.execute(asc).key != task.execute(desc).key
    assert verify(
        task,
        [Candidate(unordered), Candidate("SELECT state_name FROM state WHERE 1 = 1")],
        MinVotes(2),
    ).kept


def test_numbers_compare_by_value(task: SqlTask) -> None:
    v = verify(
        task,
        [
            Candidate("SELECT count(*) FROM river WHERE traverse='texas'"),
            Candidate("SELECT sum(1.0) FROM river WHERE traverse='texas'"),
        ],
        MinVotes(2),
    )
    assert v.kept


def test_empty_results_can_be_allowed(engine: Engine) -> None:
    task = SqlTask(open_database(engine.spec), allow_empty=True)
    v = verify(
        task, [Candidate("SELECT river_name FROM river WHERE traverse = 'atlantis'")], MinVotes(1)
    )
    assert v.kept
