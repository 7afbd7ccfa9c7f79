"""Paraphrase verified pairs: the same SQL, asked in the other ways users ask it.

Why: a task model trained from scratch understands only wordings it has seen, and generated
questions repeat the LLM's favourite ones (GeoQuery, 1.5B: 69% of the kept questions begin
"what is"), while users write "how many people live in X" or "how large is X". The LLM rewrites
each kept question; a rewrite must still name every value its SQL filters on, and is then checked
like a program-first pair (`SqlContext.answer_anchored`): the generator, asked the rewrite
afresh, must reproduce the SQL's result.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterable, Iterator, Sequence
from functools import partial
from typing import TYPE_CHECKING

from symgen.config import QuestionGenConfig
from symgen.dataset import JsonlAppender, question_key, read_jsonl, read_resumable
from symgen.errors import SymgenError
from symgen.generate.sources.base import GenQ, Inputs, Stage
from symgen.generate.sources.llm import clean_question
from symgen.generators.base import Generator
from symgen.tasks.sql.prompt import paraphrase_prompt

if TYPE_CHECKING:
    from symgen.generate.context import GenContext

_STRING = re.compile(r"'((?:[^']|'')*)'")
_LABEL = re.compile(r"^(--\s*)?asked another way:\s*", re.IGNORECASE)
_NUMBER = re.compile(r"(?<![\w.])\d+(?:\.\d+)?(?![\w.])")


def _names(text: str, value: str) -> bool:
    return re.search(rf"(?<!\w){re.escape(value.lower())}(?!\w)", text.lower()) is not None


def values_named(question: str, sql: str) -> list[str]:
    """The SQL's literals (quoted strings, numbers) that `question` spells out: a rewrite must
    keep each of them, or it no longer says what the SQL looks up."""
    strings = [s.replace("''", "'") for s in _STRING.findall(sql)]
    numbers = _NUMBER.findall(_STRING.sub("''", sql))
    return [v for v in dict.fromkeys([*strings, *numbers]) if v.strip() and _names(question, v)]


def clean_rewrite(text: str) -> str:
    """The first line of a continuation, without a repeated "Asked another way:" label."""
    return clean_question(_LABEL.sub("", text.strip()))


def rewrite_rejection(
    rewrite: str, source: str, sql: str, seen: set[str], cfg: QuestionGenConfig
) -> str | None:
    """Why `rewrite` of `source` cannot be used, or None when it can."""
    if not cfg.paraphrase_min_words < len(rewrite.split()) < cfg.max_words:
        return "paraphrase_length"
    if question_key(rewrite) in seen:
        return "paraphrase_duplicate"
    if any(not _names(rewrite, v) for v in values_named(source, sql)):
        return "paraphrase_lost_value"
    return None


def paraphrase_questions(
    generator: Generator,
    user_questions: Sequence[str],
    pairs: Iterable[tuple[str, str]],
    cfg: QuestionGenConfig,
    *,
    known: Iterable[str] = (),
    seed: int = 0,
    on_reject: Callable[[str], None] = lambda reason: None,
    on_done: Callable[[str], None] = lambda source: None,
) -> Iterator[tuple[str, str, str]]:
    """For each (question, sql) of `pairs`, yield up to `cfg.paraphrases_per_pair` distinct
    rewrites as (rewrite, source question, sql), never a question already in `known`;
    `on_done(source)` once every sample of a source was yielded or refused."""
    pairs = list(pairs)
    seen = {question_key(q) for q in [*known, *(source for source, _ in pairs)]}
    for n, (source, sql) in enumerate(pairs):
        samples = generator.sample(
            paraphrase_prompt(user_questions, source),
            n=cfg.paraphrases_per_pair,
            temperature=cfg.paraphrase_temperature,
            max_tokens=cfg.max_tokens,
            stop=("\n",),
            seed=seed * 100_003 + n,
        )
        for sample in samples:
            rewrite = clean_rewrite(sample.text)
            why = rewrite_rejection(rewrite, source, sql, seen, cfg)
            if why:
                on_reject(why)
                continue
            seen.add(question_key(rewrite))
            yield rewrite, source, sql
        on_done(source)


def start(
    ctx: GenContext, qcfg: QuestionGenConfig, inputs: Inputs, log: Callable[[str], None]
) -> Stage:
    """The "paraphrases" source: reads the verified pairs to rewrite (`inputs.paraphrase_from`)."""
    if inputs.paraphrase_from is None:
        raise SymgenError("--questions-from paraphrases needs --paraphrase (verified pairs)")
    sources = [
        (r["question"], r["query"])
        for r in read_jsonl(inputs.paraphrase_from, required=("question", "query"))
    ]
    return Stage({"questions_from": "paraphrases"}, partial(paraphrase_stage, sources))


def paraphrase_stage(sources: Sequence[tuple[str, str]], job: GenQ) -> list[str]:
    """Rewrites of the verified `sources` pairs, each appended to the questions file with its SQL
    as the program (so the answer stage checks it like a program-first pair) and its source
    question. A rerun skips a source with a written rewrite, and one listed in
    `OUT.reworded.jsonl` (every rewrite asked for was written or refused): without that list,
    each rerun asked again for the sources whose rewrites were all refused, and a finished
    command's data grew by a few pairs each time it ran."""
    q_path = job.q_path
    asked_path = q_path.with_name(q_path.name.removesuffix(".questions.jsonl") + ".reworded.jsonl")
    done = {question_key(r["paraphrase_of"]) for r in job.q_records if r.get("paraphrase_of")}
    done |= {question_key(r["question"]) for r in read_resumable(asked_path)}
    todo = [(q, sql) for q, sql in sources if question_key(q) not in done]
    with JsonlAppender(asked_path) as asked, job.sink("gen-q (paraphrases)") as sink:
        for rewrite, source, sql in paraphrase_questions(
            job.generator,
            job.ctx.seed_questions,
            todo,
            job.qcfg,
            known=[*job.questions, *(q for q, _ in sources)],
            seed=job.seed + len(job.questions),
            on_reject=job.reject,
            on_done=lambda source: asked.write({"question": source}),
        ):
            if sink.full():
                break
            sink.add(rewrite, program=sql, paraphrase_of=source)
    return sink.new
