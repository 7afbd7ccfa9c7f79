"""What every question source shares: how the run starts one (`Start` → `Stage`), the job a
stage is given (`GenQ`) and where it puts each new question (`QuestionSink`).

Apart from the registry (`sources/__init__.py`) so that the sources can import it while the
registry imports them.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any, NamedTuple

from symgen.config import QuestionGenConfig
from symgen.dataset import JsonlAppender, question_key
from symgen.generators.base import Generator
from symgen.progress import bar as progress_bar

if TYPE_CHECKING:
    from symgen.generate.context import GenContext
    from symgen.generate.run import RunStats


@dataclass(frozen=True)
class Inputs:
    """What the command line gives a source besides its config."""

    paraphrase_from: Path | None = None  # verified pairs, for "paraphrases"
    history_from: Path | None = None  # a shell history file, for "history"


@dataclass
class GenQ:
    """One gen-q stage's job: write questions until the run holds `n_questions`."""

    generator: Generator
    ctx: GenContext
    questions: list[str]  # the run's questions so far, in order; the sink appends new ones
    programs: dict[str, str]  # question key → the program a question was written for
    q_records: Sequence[dict[str, Any]]  # OUT.questions.jsonl as read when the run started
    n_questions: int
    q_path: Path
    qcfg: QuestionGenConfig
    seed: int
    stats: RunStats
    progress: bool

    def reject(self, why: str) -> None:
        """Count a sample that did not become a question, by reason."""
        self.stats.failures.update([why])

    def sink(self, desc: str) -> QuestionSink:
        return QuestionSink(
            self.q_path,
            self.questions,
            self.programs,
            self.n_questions,
            self.stats,
            desc,
            self.progress,
        )


class Stage(NamedTuple):
    """A source as the run drives it, once started."""

    identity: dict[str, str]  # what the run's identity records about the source
    run: Callable[[GenQ], list[str]]  # the stage: the new questions it wrote, in order


# A source's start, when the job starts (before a model is loaded): it checks and reads its
# inputs, says what it adds to the run's identity, and gives its stage.
Start = Callable[["GenContext", QuestionGenConfig, Inputs, Callable[[str], None]], Stage]


class QuestionSink:
    """Where a gen-q stage puts each new question: appended to `q_path` (flushed, so a rerun
    finds it), to the run's `questions` and `programs`, counted, and shown on a progress bar."""

    def __init__(
        self,
        q_path: Path,
        questions: list[str],
        programs: dict[str, str],
        n_questions: int,
        stats: RunStats,
        desc: str,
        progress: bool,
    ) -> None:
        self.questions, self.programs, self.stats = questions, programs, stats
        self.n_questions = n_questions
        self.new: list[str] = []
        self._out = JsonlAppender(q_path)
        self._bar = progress_bar(
            total=n_questions, initial=len(questions), desc=desc, unit="q", disable=not progress
        )

    def full(self) -> bool:
        return len(self.questions) >= self.n_questions

    def add(self, question: str, **extra: str) -> None:
        """`extra` may hold the question's `program`, which the answer stage checks it against."""
        self._out.write({"question": question, **extra})
        self.questions.append(question)
        if "program" in extra:
            self.programs[question_key(question)] = extra["program"]
        self.new.append(question)
        self.stats.questions_generated += 1
        self._bar.update()

    def __enter__(self) -> QuestionSink:
        return self

    def __exit__(self, *exc: object) -> None:
        self._bar.close()
        self._out.close()
