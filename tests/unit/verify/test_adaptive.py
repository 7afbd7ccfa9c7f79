"""Adaptive sampling (`AnswerGenConfig.round_size`): the K samples come in rounds and stop once
more cannot change the verdict. The rule is pure; the rounds run on the real GeoQuery database
with a scripted generator, so the samples each round draws are known."""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path
from typing import Any

import pytest

from symgen.config import AnswerGenConfig
from symgen.databases.base import open_database
from symgen.generators.base import Sample
from symgen.tasks.sql.task import SqlTask
from symgen.verify import MinVotes, PromptedVote, anchor_decided, vote_decided

TEXAS = "SELECT river_name FROM river WHERE traverse = 'texas'"
OHIO = "SELECT river_name FROM river WHERE traverse = 'ohio'"
BROKEN = "SELECT FROM WHERE"


@pytest.mark.parametrize(
    ("sizes", "remaining", "required", "decided"),
    [
        ([3], 5, 3, False),  # 5 more could make a group of 5
        ([4], 4, 3, True),  # a new group can at most tie 4
        ([4, 1], 4, 3, False),  # 1 + 4 would overtake 4
        ([3, 3], 2, 3, False),
        ([5, 3], 0, 3, True),  # nothing left to draw
        ([1, 1], 0, 3, True),  # cannot reach 3
        ([], 2, 3, True),  # every sample so far failed and 2 cannot make 3
        ([], 4, 3, False),
    ],
)
def test_the_vote_is_decided_only_when_more_samples_cannot_change_it(
    sizes: list[int], remaining: int, required: int, decided: bool
) -> None:
    assert vote_decided(sizes, remaining, required) is decided


def test_a_program_check_is_decided_by_agreement_or_its_impossibility() -> None:
    assert anchor_decided(1, 3, 1) and anchor_decided(0, 0, 1)
    assert not anchor_decided(0, 2, 1) and not anchor_decided(1, 1, 2)


class Scripted:
    """Returns the next texts of a fixed script, as many as asked: no model, known samples."""

    name = "scripted"

    def __init__(self, script: Sequence[str]) -> None:
        self.script = list(script)
        self.asked: list[int] = []

    def sample(self, prompt: str, *, n: int = 1, **_: Any) -> list[Sample]:
        self.asked.append(n)
        out, self.script = self.script[:n], self.script[n:]
        return [Sample(text, -0.1, 5) for text in out]


class Context(PromptedVote):
    def __init__(self, task: SqlTask, round_size: int) -> None:
        self.task = task
        self.answer_cfg = AnswerGenConfig(round_size=round_size)

    def prompt(self, question: str) -> str:
        return question


@pytest.fixture()
def task(geo_dir: Path) -> SqlTask:
    return SqlTask(open_database(geo_dir / "geography.sqlite", timeout_s=2.0))


def draw(task: SqlTask, script: list[str], round_size: int) -> tuple[Any, list[int]]:
    gen = Scripted(script)
    verdict, _ = Context(task, round_size).answer(
        gen, "rivers in texas", samples=8, temperature=0.8, min_votes=MinVotes(3), seed=1
    )
    return verdict, gen.asked


def test_a_clear_majority_stops_after_the_first_round(task: SqlTask) -> None:
    verdict, asked = draw(task, [TEXAS] * 8, round_size=4)
    assert asked == [4] and verdict.kept and verdict.n_samples == 4 and verdict.required == 3


def test_a_split_vote_draws_on_and_decides_like_the_full_draw(task: SqlTask) -> None:
    script = [TEXAS, OHIO, TEXAS, OHIO, TEXAS, TEXAS, OHIO, BROKEN]
    adaptive, asked = draw(task, script, round_size=2)
    full, asked_full = draw(task, script, round_size=0)
    assert asked_full == [8]
    # after 6 samples: texas 4, ohio 2, 2 left: ohio can at most tie, so the vote is decided
    assert asked == [2, 2, 2] and adaptive.n_samples == 6
    assert (adaptive.kept, adaptive.program) == (full.kept, full.program) == (True, TEXAS + ";")


def test_hopeless_questions_stop_early_and_are_rejected(task: SqlTask) -> None:
    verdict, asked = draw(task, [BROKEN] * 8, round_size=2)
    # after 6 failures, 2 samples cannot make the 3 votes needed
    assert asked == [2, 2, 2] and not verdict.kept and verdict.reason == "no_valid_candidate"


def test_program_checks_stop_at_the_first_agreeing_answer(task: SqlTask) -> None:
    gen = Scripted([OHIO, TEXAS, TEXAS, TEXAS])
    verdict, _ = Context(task, 1).answer_anchored(
        gen, "rivers in texas", TEXAS, samples=4, temperature=0.8, min_votes=MinVotes(1), seed=1
    )
    assert gen.asked == [1, 1] and verdict.kept and verdict.votes == 1


def test_each_program_runs_once_across_rounds(task: SqlTask) -> None:
    runs: list[str] = []
    original = task.execute

    def counted(program: str) -> Any:
        runs.append(program)
        return original(program)

    task.execute = counted  # type: ignore[method-assign]
    draw(task, [TEXAS, OHIO, TEXAS, OHIO, TEXAS, TEXAS, OHIO, OHIO], round_size=2)
    assert len(runs) == len(set(runs)) == 2


def test_the_answer_limit_is_sized_from_the_seeds_sql(geo_dir: Path) -> None:
    """`max_tokens=0`: half as much again as the longest seed (GeoQuery's 316 characters ->
    135 tokens), within bounds; a limit given is kept."""
    from symgen.dataset import read_pairs
    from symgen.tasks.sql.context import build_context, tokens_for_programs

    seeds = read_pairs(geo_dir / "seed_10.jsonl")
    sized = build_context(geo_dir / "geography.sqlite", seeds, AnswerGenConfig(max_tokens=0))
    assert sized.answer_tokens() == 135 == tokens_for_programs([s.query for s in seeds])
    given = build_context(geo_dir / "geography.sqlite", seeds, AnswerGenConfig(max_tokens=99))
    assert given.answer_tokens() == 99
    assert tokens_for_programs([]) == 64 and tokens_for_programs(["x" * 10_000]) == 512
