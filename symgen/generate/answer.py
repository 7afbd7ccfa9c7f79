"""gen-a + verify: answer each question with K samples, vote, and write the pair or the refusal.

A question written for a program (program-first, paraphrases, history) is checked against that
program (`answer_anchored`); any other is answered by the context's vote, or by an `Answerer`
in its place: the hook through which a lab recipe (`symgen.lab.reviewer`) changes how gen-q's
questions are decided without the core importing it.
"""

from __future__ import annotations

import time
from collections.abc import Sequence
from functools import partial
from pathlib import Path
from typing import TYPE_CHECKING, Protocol

from symgen.config import AnswerGenConfig
from symgen.dataset import JsonlAppender, question_key
from symgen.generate.context import GenContext
from symgen.generators.base import Generator
from symgen.progress import bar as progress_bar
from symgen.verify import Candidate, MinVotes, Verdict

if TYPE_CHECKING:
    from symgen.generate.run import RunStats


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
    `first`: how many the run answered before, so each question's sampling seed is its own."""
    with (
        JsonlAppender(out_path) as out,
        JsonlAppender(rej_path) as rej,
        progress_bar(
            total=len(pending), desc="gen-a+verify", unit="q", disable=not progress
        ) as bar,
    ):
        for i, question in enumerate(pending):
            if (i or first) and deadline is not None and time.monotonic() >= deadline:
                stats.left_for_later = len(pending) - i
                break
            program = programs.get(question_key(question))
            qseed = seed * 1_000_003 + first + i
            if program is not None:
                verdict, _ = ctx.answer_anchored(
                    generator,
                    question,
                    program,
                    samples=acfg.samples,
                    temperature=acfg.temperature,
                    min_votes=min_votes,
                    seed=qseed,
                )
            else:
                answer_with = ctx.answer if answerer is None else partial(answerer.answer, ctx)
                verdict, _ = answer_with(
                    generator,
                    question,
                    samples=acfg.samples,
                    temperature=acfg.temperature,
                    min_votes=min_votes,
                    seed=qseed,
                )
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
