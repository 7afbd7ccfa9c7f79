"""`interleaved`: a time budget's rounds of questions and answers (pure loop, fake stages)."""

from __future__ import annotations

import time

from symgen.config import QuestionGenConfig
from symgen.generate.run import RunStats, interleaved


def _stages(questions: list[str], stats: RunStats, answered: list[str]):  # type: ignore[no-untyped-def]
    def gen_q(target: int, show: bool) -> list[str]:
        new = [f"q{i}" for i in range(len(questions), target)]
        questions.extend(new)
        return new

    def answer(todo: list[str], show: bool) -> None:
        answered.extend(todo)
        stats.questions_answered += len(todo)

    return gen_q, answer


def test_a_run_that_answered_nothing_starts_one_round_past_its_deadline() -> None:
    questions: list[str] = []
    stats, answered = RunStats(), []  # type: ignore[var-annotated]
    gen_q, answer = _stages(questions, stats, answered)
    cfg = QuestionGenConfig(per_call=2)
    interleaved(gen_q, answer, questions, 6, time.monotonic() - 1, cfg, stats, False)
    assert answered == ["q0", "q1"]


def test_past_the_deadline_a_run_that_made_progress_starts_no_round() -> None:
    questions: list[str] = []
    stats, answered = RunStats(questions_answered=1), []  # type: ignore[var-annotated]
    gen_q, answer = _stages(questions, stats, answered)
    cfg = QuestionGenConfig(per_call=2)
    interleaved(gen_q, answer, questions, 6, time.monotonic() - 1, cfg, stats, False)
    assert answered == []


def test_rounds_run_to_the_target_within_the_budget() -> None:
    questions: list[str] = []
    stats, answered = RunStats(), []  # type: ignore[var-annotated]
    gen_q, answer = _stages(questions, stats, answered)
    cfg = QuestionGenConfig(per_call=4)
    interleaved(gen_q, answer, questions, 6, time.monotonic() + 60, cfg, stats, False)
    assert answered == [f"q{i}" for i in range(6)]
