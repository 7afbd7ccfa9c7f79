"""The interface every symbolic language implements so the verifier stays language-agnostic."""

from __future__ import annotations

from collections.abc import Hashable
from dataclasses import dataclass
from typing import Protocol


@dataclass(frozen=True)
class Outcome:
    """What executing one candidate gave: an agreement `key`, or the `failure` class."""

    key: Hashable | None = None
    failure: str | None = None


class Task(Protocol):
    """A symbolic language as the verifier sees it."""

    name: str
    answer_prefix: str  # the prompt ends with it and post-processing restores it, e.g. "SELECT"
    stop: tuple[str, ...]

    def postprocess(self, completion: str) -> str:
        """Turn a raw LLM continuation into a program (cut at stops, restore the prefix)."""
        ...

    def static_check(self, program: str) -> str | None:
        """A reason to reject the program without running it, or None."""
        ...

    def dedup_key(self, program: str) -> str:
        """Programs with the same key are the same program (executed once)."""
        ...

    def execute(self, program: str) -> Outcome:
        """Run the program safely; equal keys mean the candidates agree."""
        ...


class SoftTask(Task, Protocol):
    """A language whose candidates cannot be executed (Bash): agreement is graded, not equal.

    The verifier then scores each group of identical outcomes by its soft support, the sum over
    all samples of their similarity to it, and keeps the best group when that reaches min votes.
    """

    def similarity(self, a: Hashable, b: Hashable) -> float:
        """Agreement of two outcome keys in [0, 1]; 1 when equal."""
        ...
