"""The reviewer (coder-reviewer reranking) for SQL gen-q answers: measured, not adopted.

A wrong majority passes the vote, and a vote cannot tell whether the question asks for what the
program does. The reviewer has the LLM read each distinct runnable answer back, log p(question |
program) under the describe prompt (seeds shown SQL → question, teacher-forced), picks the
best-read program, and keeps it when its result group has enough votes and the program explains
the question: its reading minus the question's likelihood after an empty program reaches
`min_pmi`. Measured on GeoQuery train questions with gold (`benchmarks/reviewer.py`,
benchmarks/reports/reviewer.md): more right pairs and fewer wrong ones, but a task model trained
on its data scored 28.0% against the vote's 26.1%, inside training noise, so it is not part of
the product.

It plugs into `symgen generate`'s answer stage as an answerer:
`run_generate(..., vcfg=VerifyConfig(reviewer=True, min_pmi=p), answerer=ReviewedAnswerer(p))`
(`symgen.generate.answer.Answerer`); the run's identity then records `reviewer_min_pmi`, and kept
and rejected lines carry `reviewer` and `pmi`. The core never imports this module.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any

from symgen.errors import SymgenError
from symgen.generate.context import GenContext
from symgen.generators.base import Generator, Scorer
from symgen.tasks.base import Task
from symgen.tasks.sql.context import SqlContext
from symgen.verify import Candidate, MinVotes, Verdict, execute_candidates

# Pick the answer whose program makes the question likeliest when the LLM reads it back, keep it
# when it also explains the question: log p(q | program) - log p(q | no program) >= MIN_PMI
# (benchmarks/reviewer.py measures the kept pairs' precision against gold).
MIN_PMI = 0.5


@dataclass
class ReviewedVerdict(Verdict):
    """A verdict with the reviewer's reading of the picked program."""

    reviewer: float | None = None  # mean logprob of the question given the picked program
    pmi: float | None = None  # reviewer minus the question's logprob given no program

    def provenance(self) -> dict[str, Any]:
        out = super().provenance()
        if self.reviewer is None or self.pmi is None:
            return out
        support = {"support": out.pop("support")} if "support" in out else {}
        return support | {"reviewer": round(self.reviewer, 4), "pmi": round(self.pmi, 4)} | out


def reviewed_verdict(
    task: Task,
    candidates: Sequence[Candidate],
    min_votes: MinVotes,
    review: Callable[[Sequence[str]], Sequence[float]],
    baseline: Callable[[], float],
    min_pmi: float,
) -> Verdict:
    """The vote with a reviewer (coder-reviewer reranking): among the runnable programs, pick
    the one under which the question is most likely, `review(programs)` = log p(question |
    program); keep it when its result group has `min_votes` samples and the program explains
    the question: reviewer minus `baseline()` (the question's logprob with no program, only
    asked for when a program ran) reaches `min_pmi`. A wrong majority has votes but reads back
    as a different question; a question the program does not answer reads no likelier with it
    than without it.
    (`benchmarks/reviewer.py`, 100 GeoQuery train questions, 0.5B, 8 samples, min_votes 2,
    min_pmi 0.5: 52 kept, 79% right, against the plain vote's 58 kept, 64% right.)"""
    n_samples = len(candidates)
    required = min_votes.required(n_samples)
    run = execute_candidates(task, candidates)
    if not run.groups:
        return run.no_valid_candidate(required, n_samples)
    programs = run.programs()
    scores = review([same[0].program.strip() for same, _ in programs])
    best = max(range(len(programs)), key=lambda i: (scores[i], len(programs[i][1])))
    same, group = programs[best]
    pmi = scores[best] - baseline()
    reason = (
        "too_few_votes"
        if len(group) < required
        else "question_unlikely_given_program"
        if pmi < min_pmi
        else None
    )
    return ReviewedVerdict(
        reason is None,
        same[0].program.strip(),
        len(group),
        required,
        n_samples,
        len(run.by_key),
        run.sizes,
        max(c.logprob for c in same),
        dict(run.failures),
        reason=reason,
        reviewer=scores[best],
        pmi=pmi,
    )


def scorer_of(generator: Generator) -> Scorer:
    """The generator as the reviewer: it must score text (llama.cpp; not an `openai:` one)."""
    if not isinstance(generator, Scorer):
        raise SymgenError(
            "the reviewer reads programs back with the generator, and this one "
            f"({type(generator).__name__}) cannot score text; use a llama.cpp generator or "
            "drop --reviewer"
        )
    return generator


def sql_context_of(ctx: GenContext) -> SqlContext:
    if not isinstance(ctx, SqlContext):
        raise SymgenError("the reviewer is for --task sql")
    return ctx


@dataclass(frozen=True)
class ReviewedAnswerer:
    """The reviewer as `run_generate`'s answerer (`symgen.generate.answer.Answerer`)."""

    min_pmi: float

    def identity(self) -> dict[str, str]:
        return {"reviewer_min_pmi": str(self.min_pmi)}

    def check(self, ctx: GenContext, generator: Generator) -> None:
        """When the job starts (before gen-q) rather than at the first answer."""
        sql_context_of(ctx)
        scorer_of(generator)

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
    ) -> tuple[Verdict, list[Candidate]]:
        """gen-a for one question, then the reviewed vote."""
        sql = sql_context_of(ctx)
        scorer = scorer_of(generator)
        cands = sql.candidates(
            generator, question, samples=samples, temperature=temperature, seed=seed
        )
        asked = [" " + " ".join(question.split())]

        def review(programs: Sequence[str]) -> list[float]:
            return [scorer.score(sql.describe_prompt(p), asked)[0] for p in programs]

        def baseline() -> float:
            return scorer.score(sql.describe_prompt(""), asked)[0]

        verdict = reviewed_verdict(sql.task, cands, min_votes, review, baseline, self.min_pmi)
        return verdict, cands
