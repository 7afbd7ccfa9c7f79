"""`in_order`: questions decided several at a time, yielded in question order (pure logic)."""

from __future__ import annotations

import threading
import time

import pytest

from symgen.generate.answer import in_order


def test_concurrent_decisions_come_back_in_question_order() -> None:
    running, peak, lock = [0], [0], threading.Lock()

    def decide(i: int, q: str) -> str:
        with lock:
            running[0] += 1
            peak[0] = max(peak[0], running[0])
        time.sleep(0.05 * (5 - i % 5))  # later questions finish first
        with lock:
            running[0] -= 1
        return q.upper()

    pending = [f"q{i}" for i in range(10)]
    got = list(in_order(decide, pending, 4, lambda i: True))
    assert got == [(q, q.upper()) for q in pending]
    assert 2 <= peak[0] <= 4


def test_nothing_starts_once_may_start_says_no_and_what_started_finishes() -> None:
    started: list[int] = []

    def decide(i: int, q: str) -> str:
        started.append(i)
        return q

    got = list(in_order(decide, [f"q{i}" for i in range(10)], 3, lambda i: i < 4))
    assert [q for q, _ in got] == ["q0", "q1", "q2", "q3"] and sorted(started) == [0, 1, 2, 3]


def test_an_error_stops_the_stage_after_the_questions_before_it() -> None:
    def decide(i: int, q: str) -> str:
        if i == 2:
            raise RuntimeError("endpoint down")
        return q

    got: list[str] = []
    with pytest.raises(RuntimeError, match="endpoint down"):
        for q, _ in in_order(decide, [f"q{i}" for i in range(8)], 2, lambda i: True):
            got.append(q)
    assert got == ["q0", "q1"]
