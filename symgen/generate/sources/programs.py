"""Program-first gen-q (SQL): programs sampled from the schema grammar, described by the LLM.

The driver only: the grammar and what makes a result worth asking for are in
`symgen.tasks.sql.programs`. Each question is written with its program, and the answer stage keeps
the pair when answers to the question, asked afresh, reproduce the program's result.
"""

from __future__ import annotations

import random
from collections.abc import Callable
from functools import partial
from typing import TYPE_CHECKING

from symgen.config import QuestionGenConfig
from symgen.dataset import question_key
from symgen.errors import SymgenError
from symgen.generate.sources.base import GenQ, Inputs, Stage
from symgen.generate.sources.llm import describe
from symgen.tasks.sql.context import SqlContext
from symgen.tasks.sql.programs import REPEATING_TEMPLATES, sample_programs, worth_asking

if TYPE_CHECKING:
    from symgen.generate.context import GenContext


def start(
    ctx: GenContext, qcfg: QuestionGenConfig, inputs: Inputs, log: Callable[[str], None]
) -> Stage:
    """The "programs" source; described with results or not is part of the run's identity."""
    if not isinstance(ctx, SqlContext):
        raise SymgenError("--questions-from programs is for --task sql only")
    identity = {"questions_from": "programs"}
    if qcfg.describe_results:
        # absent = described without results (data generated before the option existed)
        identity["describe_results"] = "on"
    return Stage(identity, partial(program_stage, ctx))


def program_stage(ctx: SqlContext, job: GenQ) -> list[str]:
    """Sample SQL from the schema grammar, keep programs with a result worth asking for, and let
    the LLM write the question; appended to the questions file with its program."""
    qcfg, stats, questions = job.qcfg, job.stats, job.questions
    seen_q = {question_key(q) for q in questions} | {question_key(d.question) for d in ctx.demos}
    seen_p = {ctx.task.dedup_key(p) for p in job.programs.values()}
    seen_p |= {ctx.task.dedup_key(d.query) for d in ctx.demos}
    rng = random.Random(job.seed * 7_919 + len(questions))
    tries = 0
    with job.sink("gen-q (programs)") as sink:
        for template, program in sample_programs(ctx.facts, rng, qcfg.templates):
            if sink.full() or tries >= job.n_questions * 50:
                break
            tries += 1
            key = ctx.task.dedup_key(program)
            if key in seen_p:
                stats.failures.update(["program_duplicate"])
                continue
            seen_p.add(key)
            run = ctx.db.execute(program)
            repeats_ok = template in REPEATING_TEMPLATES
            if run.rows is None or not worth_asking(run.rows, qcfg.max_rows, repeats_ok=repeats_ok):
                stats.failures.update(["program_result_unasked"])
                continue
            question = describe(
                job.generator,
                ctx.describe_prompt(program, run.rows if qcfg.describe_results else None),
                qcfg,
                job.seed * 100_003 + tries,
                seen_q,
                job.reject,
            )
            if question is not None:
                sink.add(question, program=program, template=template)
    return sink.new
