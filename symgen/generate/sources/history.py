"""History-first gen-q (Bash): the LLM writes the request for each command of the user's shell
history, and the answer stage keeps it when fresh answers agree with the command.

The driver only: reading and ranking the history is `symgen.tasks.bash.history`.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from functools import partial
from typing import TYPE_CHECKING

from symgen.config import QuestionGenConfig
from symgen.dataset import JsonlAppender, question_key, read_resumable
from symgen.errors import SymgenError
from symgen.generate.sources.base import GenQ, Inputs, Stage
from symgen.generate.sources.llm import describe
from symgen.tasks.bash.history import read_history, undescribed
from symgen.tasks.code import CodeContext

if TYPE_CHECKING:
    from symgen.generate.context import GenContext


def start(
    ctx: GenContext, qcfg: QuestionGenConfig, inputs: Inputs, log: Callable[[str], None]
) -> Stage:
    """The "history" source: reads the history file (`inputs.history_from`). Only the source is
    in the run's identity: the file itself grows as the user works, and a rerun describes its
    new commands."""
    if not isinstance(ctx, CodeContext):
        raise SymgenError("--questions-from history is for --task bash only")
    if inputs.history_from is None:
        raise SymgenError("--questions-from history needs --history FILE")
    history = read_history(inputs.history_from)
    log(
        f"{inputs.history_from}: {len(history.commands)} commands to describe"
        + (f" (left out: {dict(history.skipped)})" if history.skipped else "")
    )
    return Stage({"questions_from": "history"}, partial(history_stage, ctx, history.commands))


def history_stage(ctx: CodeContext, commands: Sequence[str], job: GenQ) -> list[str]:
    """Describe each command not yet described, appended to the questions file with the command
    as its program. A command already described (or refused, listed in `OUT.described.jsonl`)
    is not asked again."""
    q_path = job.q_path
    asked_path = q_path.with_name(q_path.name.removesuffix(".questions.jsonl") + ".described.jsonl")
    done = [*job.programs.values(), *(r["program"] for r in read_resumable(asked_path))]
    todo = undescribed(commands, [*done, *(d.program for d in ctx.demos)])
    seen_q = {question_key(q) for q in job.questions}
    seen_q |= {question_key(d.question) for d in ctx.demos}
    with JsonlAppender(asked_path) as asked, job.sink("gen-q (history)") as sink:
        for i, command in enumerate(todo):
            if sink.full():
                break
            question = describe(
                job.generator, ctx.describe_prompt(command), job.qcfg,
                job.seed * 100_003 + len(done) + i, seen_q, job.reject,
            )  # fmt: skip
            asked.write({"program": command})
            if question is not None:
                sink.add(question, program=command)
    return sink.new
