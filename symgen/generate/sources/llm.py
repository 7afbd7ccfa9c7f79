"""gen-q: turn sampled continuations into new, distinct, reasonably sized questions."""

from __future__ import annotations

import random
import re
from collections.abc import Callable, Iterable, Iterator, Sequence
from typing import NamedTuple

from symgen.config import QuestionGenConfig
from symgen.dataset import question_key
from symgen.generators.base import Generator
from symgen.tasks.sql.prompt import question_prompt


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
