"""gen-a + verify: answer each question with K samples, vote, and write the pair or the refusal.

A question written for a program (program-first, paraphrases, history) is checked against that
program (`answer_anchored`); any other is answered by the context's vote, or by an `Answerer`
in its place: the hook through which a lab recipe (`symgen.lab.reviewer`) changes how gen-q's
questions are decided without the core importing it.
"""

from __future__ import annotations

import time
from collections import deque
from collections.abc import Callable, Iterator, Sequence
from concurrent.futures import Future, ThreadPoolExecutor
from functools import partial
from pathlib import Path
from typing import TYPE_CHECKING, Protocol, TypeVar

from symgen.config import AnswerGenConfig
from symgen.dataset import JsonlAppender, question_key
from symgen.generate.context import GenContext
from symgen.generators.base import Generator, concurrency_of
from symgen.progress import bar as progress_bar
from symgen.verify import Candidate, MinVotes, Verdict

if TYPE_CHECKING:
    from symgen.generate.run import RunStats


T = TypeVar("T")


class Answerer(Protocol):
    """Decides the questions that come without a program, in place of the context's vote."""

    def identity(self) -> dict[str, str]:
        """Entries of the run's identity, so that its data resumes only with the same answerer."""
        ...

    def check(self, ctx: GenContext, generator: Generator) -> None:
        """Refuse, when the job starts (before gen-q), a context or generator it cannot use."""
        ...

    def answer(
        self,
        ctx: GenContext,
        generator: Generator,
        question: str,
        *,
        samples: int,
        temperature: float,
        min_votes: MinVotes,
        seed: int | None = None,
    ) -> tuple[Verdict, list[Candidate]]: ...


def answer(
    generator: Generator,
    ctx: GenContext,
    question: str,
    *,
    samples: int,
    temperature: float,
    min_votes: MinVotes,
    seed: int | None = None,
) -> tuple[Verdict, list[Candidate]]:
    """gen-a for one question, then the verifier's vote."""
    return ctx.answer(
        generator,
        question,
        samples=samples,
        temperature=temperature,
        min_votes=min_votes,
        seed=seed,
    )


def answer_stage(
    generator: Generator,
    ctx: GenContext,
    pending: Sequence[str],
    programs: dict[str, str],
    out_path: Path,
    rej_path: Path,
    acfg: AnswerGenConfig,
    min_votes: MinVotes,
    seed: int,
    stats: RunStats,
    progress: bool,
    deadline: float | None = None,
    answerer: Answerer | None = None,
    first: int = 0,
) -> None:
    """gen-a + verify each pending question; kept pairs to `out_path`, the rest to `rej_path`.

    A question with a program (program-first) is kept when enough answers agree with it. Past
    `deadline` (time.monotonic) no further question is started; they are counted as left.
    `first`: how many the run answered before, so each question's sampling seed is its own.
    A generator that serves requests concurrently (`concurrency_of`: a remote endpoint) gets
    that many questions in flight, each verified in its thread (the database's query workers
    are a pool); pairs are still written in question order, by this thread only."""

    def decide(i: int, question: str) -> Verdict:
        program = programs.get(question_key(question))
        qseed = seed * 1_000_003 + first + i
        if program is not None:
            return ctx.answer_anchored(
                generator, question, program, samples=acfg.samples,
                temperature=acfg.temperature, min_votes=min_votes, seed=qseed,
            )[0]  # fmt: skip
        answer_with = ctx.answer if answerer is None else partial(answerer.answer, ctx)
        return answer_with(
            generator, question, samples=acfg.samples, temperature=acfg.temperature,
            min_votes=min_votes, seed=qseed,
        )[0]  # fmt: skip

    def may_start(i: int) -> bool:
        return not ((i or first) and deadline is not None and time.monotonic() >= deadline)

    with (
        JsonlAppender(out_path) as out,
        JsonlAppender(rej_path) as rej,
        progress_bar(
            total=len(pending), desc="gen-a+verify", unit="q", disable=not progress
        ) as bar,
    ):
        done = 0
        for question, verdict in in_order(decide, pending, concurrency_of(generator), may_start):
            done += 1
            stats.questions_answered += 1
            stats.samples_drawn += verdict.n_samples
            stats.failures.update(verdict.failures)
            record = ctx.record(question, verdict)
            unstated = ctx.unstated(question, record["query"]) if verdict.kept else []
            prov = {
                **verdict.provenance(),
                "required": verdict.required,
                "generator": generator.name,
                "seed_ids": ctx.seed_ids,
                "prompt_hash": ctx.prompt_hash,
            }
            if verdict.kept and not unstated:
                out.write({**record, **prov})
                stats.kept += 1
            elif unstated:
                stats.failures.update(["unstated_number"])
                rej.write({**record, "reason": "unstated_number", "unstated": unstated, **prov})
                stats.rejected += 1
            else:
                rej.write({**record, "reason": verdict.reason, **prov})
                stats.rejected += 1
            bar.set_postfix(kept=stats.kept, rejected=stats.rejected)
            bar.update()
        if done < len(pending):
            stats.left_for_later = len(pending) - done


def in_order(
    decide: Callable[[int, str], T],
    pending: Sequence[str],
    workers: int,
    may_start: Callable[[int], bool],
) -> Iterator[tuple[str, T]]:
    """`decide(i, question)` for each pending question while `may_start(i)`, `workers` at a
    time, yielded in question order. What was started is always finished and yielded; on an
    error (an endpoint that stays down) the questions not yet started are dropped, for a rerun."""
    if workers <= 1:
        for i, question in enumerate(pending):
            if not may_start(i):
                return
            yield question, decide(i, question)
        return
    pool = ThreadPoolExecutor(workers, thread_name_prefix="gen-a")
    futures: deque[tuple[str, Future[T]]] = deque()
    todo = iter(enumerate(pending))
    open_ = True
    try:
        while True:
            while open_ and len(futures) < 2 * workers:  # a little ahead, so no worker idles
                nxt = next(todo, None)
                if nxt is None or not may_start(nxt[0]):
                    open_ = False
                    break
                futures.append((nxt[1], pool.submit(decide, *nxt)))
            if not futures:
                return
            question, future = futures.popleft()
            yield question, future.result()
    finally:
        pool.shutdown(wait=False, cancel_futures=True)
