"""What the staged loop asks of a language (`GenContext`), and opening one for a task by name.

The loop never branches on the task: SQL's `SqlContext` (`symgen.tasks.sql.context`) and the
code languages' `CodeContext` (`symgen.tasks.code`) answer the same questions, and the task's
name only picks the class (`symgen.tasks.registry.context_for`).
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path
from typing import Any, Protocol

from symgen.config import AnswerGenConfig, VerifyConfig
from symgen.errors import SymgenError
from symgen.generators.base import Generator
from symgen.tasks.registry import CONTEXT_CLASSES, context_for
from symgen.verify import Candidate, MinVotes, Verdict


class GenContext(Protocol):
    """What `run_generate` needs from a language, built once per run."""

    @property
    def seed_questions(self) -> Sequence[str]:
        """Every seed's question as read, in order: gen-q's shots."""
        ...

    @property
    def seed_ids(self) -> list[str]:
        """The seeds the prompts show (recorded with every pair)."""
        ...

    @property
    def prompt_hash(self) -> str: ...

    @property
    def knowledge(self) -> str: ...

    def notices(self) -> list[str]:
        """Lines the run logs before it starts (seeds skipped or rewritten, ...)."""
        ...

    def run_identity(self, seeds_sha: str) -> dict[str, str]:
        """What the run is made from, with the seeds file's hash; a resumed run must match."""
        ...

    def question_prompt(self, shots: Sequence[str], focus: str | None = None) -> str: ...

    def record(self, question: str, verdict: Verdict) -> dict[str, Any]: ...

    def unstated(self, question: str, program: str) -> list[str]:
        """Why an agreed pair is still refused as `unstated_number` (empty: it is not)."""
        ...

    def answer(
        self,
        generator: Generator,
        question: str,
        *,
        samples: int,
        temperature: float,
        min_votes: MinVotes,
        seed: int | None = None,
    ) -> tuple[Verdict, list[Candidate]]: ...

    def answer_anchored(
        self,
        generator: Generator,
        question: str,
        program: str,
        *,
        samples: int,
        temperature: float,
        min_votes: MinVotes,
        seed: int | None = None,
    ) -> tuple[Verdict, list[Candidate]]: ...


class ContextClass(Protocol):
    """A `GenContext` class as the registry gives it."""

    question_sources: tuple[str, ...]  # the `--questions-from` sources it can answer
    # gen-q can be steered through a list of topics in turn (`--focus-commands`, Bash's commands)
    takes_focus: bool

    def for_run(
        self,
        seeds_path: Path,
        db_path: str | Path | None,
        answer_cfg: AnswerGenConfig,
        verify_cfg: VerifyConfig,
        seed_dialect: str | None,
    ) -> GenContext: ...


def open_context(
    task: str,
    source: str,
    *,
    seeds_path: Path,
    db_path: str | Path | None,
    answer_cfg: AnswerGenConfig,
    verify_cfg: VerifyConfig,
    seed_dialect: str | None,
) -> GenContext:
    """The context of `task` for a run whose questions come from `source`; a source the task
    cannot answer is refused before the seeds are read."""
    cls: ContextClass = context_for(task)
    if source not in cls.question_sources:
        able = [name for name in CONTEXT_CLASSES if source in context_for(name).question_sources]
        raise SymgenError(f"--questions-from {source} is for --task {' or '.join(able)} only")
    return cls.for_run(seeds_path, db_path, answer_cfg, verify_cfg, seed_dialect)
