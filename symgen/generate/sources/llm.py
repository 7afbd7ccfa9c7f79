"""gen-q: turn sampled continuations into new, distinct, reasonably sized questions.

The "llm" source (`question_stage`: new questions sampled from shuffled seed questions, the
paper's gen-q), and the clean-up every source shares (`clean_question`, `describe`).
"""

from __future__ import annotations

import random
import re
from collections.abc import Callable, Iterable, Iterator, Sequence
from typing import TYPE_CHECKING, NamedTuple

from symgen.config import QuestionGenConfig
from symgen.dataset import question_key
from symgen.generate.sources.base import GenQ, Inputs, Stage
from symgen.generators.base import Generator
from symgen.tasks.sql.prompt import question_prompt

if TYPE_CHECKING:
    from symgen.generate.context import GenContext


def clean_question(text: str) -> str:
    """The first line of a continuation, without comment markers or quotes."""
    line = text.strip().splitlines()[0] if text.strip() else ""
    line = re.sub(r"^(--\s*|#\s*)?(question:\s*)?", "", line.strip(), flags=re.IGNORECASE)
    return _unquote(line.strip())


def _unquote(line: str) -> str:
    """Drop quotes around the whole line, and a stray one at either end, but not the closing
    quote of a quoted word (`names begin with "t"`): stripping every end quote cut 535 of
    3,000 generated Bash requests that way."""
    if len(line) >= 2 and line[0] == line[-1] in "\"'`" and line[0] not in line[1:-1]:
        line = line[1:-1].strip()
    for q in '"`':
        if line.count(q) % 2:
            if line.startswith(q):
                line = line[1:]
            elif line.endswith(q):
                line = line[:-1]
    return line.strip()


def acceptable(question: str, cfg: QuestionGenConfig) -> bool:
    words = len(question.split())
    return cfg.min_words < words < cfg.max_words


class NewQuestion(NamedTuple):
    text: str
    focus: str | None  # what the gen-q call that wrote it asked about (`QuestionGenConfig.focus`)


def generate_questions(
    generator: Generator,
    schema: str,
    seed_questions: list[str],
    wanted: int,
    cfg: QuestionGenConfig,
    *,
    known: Iterable[str] = (),
    seed: int = 0,
    on_reject: Callable[[str], None] = lambda reason: None,
    make_prompt: Callable[[Sequence[str], str | None], str] | None = None,
) -> Iterator[NewQuestion]:
    """Yield up to `wanted` new questions, distinct from the seeds, `known` and each other.

    `make_prompt(shots, focus)` builds the gen-q prompt (default: SQL's, over `schema`). With
    `cfg.focus`, each call asks about the next of its topics (shuffled by `seed`), else None."""
    rng = random.Random(seed)
    topics = list(cfg.focus)
    random.Random(seed).shuffle(topics)
    seen = {question_key(q) for q in [*seed_questions, *known]}
    produced = 0
    max_calls = max(4, wanted * cfg.max_calls_factor // max(1, cfg.per_call))
    for call in range(max_calls):
        if produced >= wanted:
            return
        shots = rng.sample(seed_questions, min(cfg.shots, len(seed_questions)))
        focus = topics[call % len(topics)] if topics else None
        if make_prompt:
            prompt = make_prompt(shots, focus)
        elif focus is None:
            prompt = question_prompt(schema, shots)
        else:
            raise ValueError("a focus needs a make_prompt that uses it")
        samples = generator.sample(
            prompt,
            n=min(cfg.per_call, max(2, wanted - produced)),
            temperature=cfg.temperature,
            max_tokens=cfg.max_tokens,
            stop=("\n",),
            seed=seed * 100_003 + call,
        )
        for sample in samples:
            question = clean_question(sample.text)
            if not acceptable(question, cfg):
                on_reject("question_length")
                continue
            key = question_key(question)
            if key in seen:
                on_reject("question_duplicate")
                continue
            seen.add(key)
            produced += 1
            yield NewQuestion(question, focus)
            if produced >= wanted:
                return


def describe(
    generator: Generator,
    prompt: str,
    qcfg: QuestionGenConfig,
    seed: int,
    seen_q: set[str],
    on_reject: Callable[[str], None],
) -> str | None:
    """The question the LLM writes for a program (near-greedy: a program has one meaning), or
    None, counted, when it is too short or long or already asked (then added to `seen_q`)."""
    (sample,) = generator.sample(
        prompt,
        n=1,
        temperature=qcfg.describe_temperature,
        max_tokens=qcfg.max_tokens,
        stop=("\n",),
        seed=seed,
    )
    question = clean_question(sample.text)
    if not acceptable(question, qcfg):
        on_reject("question_length")
        return None
    if question_key(question) in seen_q:
        on_reject("question_duplicate")
        return None
    seen_q.add(question_key(question))
    return question


def start(
    ctx: GenContext, qcfg: QuestionGenConfig, inputs: Inputs, log: Callable[[str], None]
) -> Stage:
    """The "llm" source: nothing to read, nothing in the identity (the default)."""
    return Stage({}, question_stage)


def question_stage(job: GenQ) -> list[str]:
    """gen-q until `job.questions` holds `job.n_questions`; each new one is appended to the
    questions file (with the topic its call asked about, if any)."""
    with job.sink("gen-q") as sink:
        for q in generate_questions(
            job.generator,
            job.ctx.knowledge,
            list(job.ctx.seed_questions),
            job.n_questions - len(job.questions),
            job.qcfg,
            known=job.questions,
            seed=job.seed + len(job.questions),
            on_reject=job.reject,
            make_prompt=job.ctx.question_prompt,
        ):
            sink.add(q.text, **({} if q.focus is None else {"focus": q.focus}))
    return sink.new
