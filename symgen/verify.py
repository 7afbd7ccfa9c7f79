"""The agreement-based verifier: execute over-sampled candidates, keep the majority answer.

Candidates are deduplicated on the task's normalised form so each distinct program runs once,
but every sample still counts as a vote (self-consistency): five samples that wrote the same
query are five votes. A question is kept only when the largest group of agreeing candidates
reaches `min_votes`; inside that group the candidate with the highest mean token logprob wins.
"""

from __future__ import annotations

import math
from collections import Counter
from collections.abc import Hashable, Sequence
from dataclasses import dataclass, field
from typing import Any

from symgen.tasks.base import Task


@dataclass(frozen=True)
class Candidate:
    """One sampled program with the generator's mean token logprob (higher = more confident)."""

    program: str
    logprob: float = 0.0


@dataclass(frozen=True)
class MinVotes:
    """Agreement threshold: a whole count (>= 1) or a fraction of the samples (0 < f < 1)."""

    value: float

    @staticmethod
    def parse(text: str | float) -> MinVotes:
        try:
            value = float(text)
        except ValueError:
            raise ValueError(f"min votes must be a number, got {text!r}") from None
        if value <= 0 or (value >= 1 and not value.is_integer()):
            raise ValueError(f"min votes must be a count >= 1 or a fraction in (0, 1), got {text}")
        return MinVotes(value)

    def required(self, n_samples: int) -> int:
        if self.value < 1:
            return max(1, math.ceil(self.value * n_samples - 1e-9))
        return int(self.value)


@dataclass
class Verdict:
    """The verifier's decision on one question, with everything needed to audit it."""

    kept: bool
    program: str | None
    votes: int
    required: int
    n_samples: int
    n_distinct: int
    group_sizes: list[int]
    logprob: float | None
    failures: dict[str, int] = field(default_factory=dict)
    reason: str | None = None  # why not kept

    def provenance(self) -> dict[str, Any]:
        return {
            "votes": self.votes,
            "n_samples": self.n_samples,
            "n_distinct": self.n_distinct,
            "group_sizes": self.group_sizes,
            "logprob": None if self.logprob is None else round(self.logprob, 4),
            "failures": self.failures,
        }


def verify(task: Task, candidates: Sequence[Candidate], min_votes: MinVotes) -> Verdict:
    """Vote on `candidates` for one question (see the module docstring for the rule)."""
    n_samples = len(candidates)
    required = min_votes.required(n_samples)
    failures: Counter[str] = Counter()
    # Dedup: one execution per distinct program, but keep every sample's vote and logprob.
    by_key: dict[str, list[Candidate]] = {}
    for cand in candidates:
        program = cand.program.strip()
        reason = task.static_check(program)
        if reason is not None:
            failures[reason] += 1
            continue
        by_key.setdefault(task.dedup_key(program), []).append(cand)

    groups: dict[Hashable, list[Candidate]] = {}
    for same in by_key.values():
        outcome = task.execute(same[0].program.strip())
        if outcome.failure is not None or outcome.key is None:
            failures[outcome.failure or "no_result"] += len(same)
            continue
        groups.setdefault(outcome.key, []).extend(same)

    sizes = sorted((len(g) for g in groups.values()), reverse=True)
    if not groups:
        return Verdict(
            False,
            None,
            0,
            required,
            n_samples,
            len(by_key),
            sizes,
            None,
            dict(failures),
            reason="no_valid_candidate",
        )
    # Largest group wins; ties go to the group the model is most confident in overall.
    best = max(groups.values(), key=lambda g: (len(g), sum(c.logprob for c in g)))
    pick = max(best, key=lambda c: c.logprob)
    kept = len(best) >= required
    return Verdict(
        kept,
        pick.program.strip(),
        len(best),
        required,
        n_samples,
        len(by_key),
        sizes,
        pick.logprob,
        dict(failures),
        reason=None if kept else "too_few_votes",
    )
