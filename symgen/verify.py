"""The agreement-based verifier: execute over-sampled candidates, keep the majority answer.

Candidates are deduplicated on the task's normalised form so each distinct program runs once,
but every sample still counts as a vote (self-consistency): five samples that wrote the same
query are five votes. A question is kept only when the largest group of agreeing candidates
reaches `min_votes`; inside that group the candidate with the highest mean token logprob wins.

Tasks that cannot execute (Bash) vote softly: they define `similarity` on outcome keys, and a
group's support is the similarity-weighted count of all samples (as the paper's BLEU agreement).
"""

from __future__ import annotations

import math
from collections import Counter
from collections.abc import Callable, Hashable, Sequence
from dataclasses import dataclass, field
from typing import Any

from symgen.config import AnswerGenConfig
from symgen.generators.base import Generator
from symgen.tasks.base import Outcome, Task


@dataclass(frozen=True)
class Candidate:
    """One sampled program with the generator's mean token logprob (higher = more confident)."""

    program: str
    logprob: float = 0.0


@dataclass(frozen=True)
class MinVotes:
    """Agreement threshold: a whole count (>= 1), a fraction of the samples (0 < f < 1), or
    "all" of them."""

    value: float
    every: bool = False

    @staticmethod
    def parse(text: str | float) -> MinVotes:
        if isinstance(text, str) and text.strip().lower() == "all":
            return MinVotes(1.0, every=True)
        try:
            value = float(text)
        except ValueError:
            raise ValueError(f"min votes must be a number or 'all', got {text!r}") from None
        if value <= 0 or (value >= 1 and not value.is_integer()):
            raise ValueError(f"min votes must be a count >= 1 or a fraction in (0, 1), got {text}")
        return MinVotes(value)

    def required(self, n_samples: int) -> int:
        if self.every:
            return max(1, n_samples)
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
    support: float | None = None  # soft vote: similarity-weighted samples agreeing with the pick

    def provenance(self) -> dict[str, Any]:
        soft = {} if self.support is None else {"support": round(self.support, 3)}
        return soft | {
            "votes": self.votes,
            "n_samples": self.n_samples,
            "n_distinct": self.n_distinct,
            "group_sizes": self.group_sizes,
            "logprob": None if self.logprob is None else round(self.logprob, 4),
            "failures": self.failures,
        }


@dataclass
class Executed:
    """Candidates grouped by execution result, each distinct program run once."""

    by_key: dict[str, list[Candidate]]
    groups: dict[Hashable, list[Candidate]]
    failures: Counter[str]
    # each distinct runnable program: its samples and the key of its result group
    runnable: list[tuple[list[Candidate], Hashable]] = field(default_factory=list)

    @property
    def sizes(self) -> list[int]:
        return sorted((len(g) for g in self.groups.values()), reverse=True)

    def programs(self) -> list[tuple[list[Candidate], list[Candidate]]]:
        """Each distinct runnable program: (its samples, the samples of its result group)."""
        return [(same, self.groups[key]) for same, key in self.runnable]

    def no_valid_candidate(self, required: int, n_samples: int) -> Verdict:
        """The verdict when nothing ran: every rule rejects the question the same way."""
        return Verdict(
            False,
            None,
            0,
            required,
            n_samples,
            len(self.by_key),
            self.sizes,
            None,
            dict(self.failures),
            reason="no_valid_candidate",
        )


def execute_candidates(task: Task, candidates: Sequence[Candidate]) -> Executed:
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
    runnable: list[tuple[list[Candidate], Hashable]] = []
    for same in by_key.values():
        outcome = task.execute(same[0].program.strip())
        if outcome.failure is not None or outcome.key is None:
            failures[outcome.failure or "no_result"] += len(same)
            continue
        groups.setdefault(outcome.key, []).extend(same)
        runnable.append((same, outcome.key))
    return Executed(by_key, groups, failures, runnable)


def verify(task: Task, candidates: Sequence[Candidate], min_votes: MinVotes) -> Verdict:
    """Vote on `candidates` for one question (see the module docstring for the rule)."""
    n_samples = len(candidates)
    required = min_votes.required(n_samples)
    run = execute_candidates(task, candidates)
    by_key, groups, failures, sizes = run.by_key, run.groups, run.failures, run.sizes
    if not groups:
        return run.no_valid_candidate(required, n_samples)
    similarity = getattr(task, "similarity", None)
    support: dict[Hashable, float] = {
        k: float(len(g))
        if similarity is None
        else sum(len(o) * (1.0 if ok == k else similarity(k, ok)) for ok, o in groups.items())
        for k, g in groups.items()
    }
    # Largest group (soft: best supported) wins; ties go to the group the model is most
    # confident in overall.
    best_key = max(
        groups, key=lambda k: (support[k], len(groups[k]), sum(c.logprob for c in groups[k]))
    )
    best = groups[best_key]
    pick = max(best, key=lambda c: c.logprob)
    kept = support[best_key] >= required - 1e-9
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
        support=None if similarity is None else support[best_key],
    )


def vote_decided(sizes: Sequence[int], remaining: int, required: int) -> bool:
    """True when `remaining` more samples cannot change the vote's outcome: a group has
    `required` votes and no other can overtake it (a tie would go to the model's confidence), or
    no group, old or new, can still reach `required`. `sizes`: the groups, largest first."""
    best = sizes[0] if sizes else 0
    second = sizes[1] if len(sizes) > 1 else 0
    if best + remaining < required:
        return True
    return best >= required and second + remaining <= best


def anchor_decided(agree: int, remaining: int, required: int) -> bool:
    """The same for a program-first check: enough samples agree with the program, or too few
    can."""
    return agree >= required or agree + remaining < required


class _MemoTask(Task):
    """A task whose `execute` runs each program once per question, however many rounds ask."""

    def __init__(self, task: Task) -> None:
        self._task = task
        self._outcomes: dict[str, Outcome] = {}
        self.name, self.answer_prefix, self.stop = task.name, task.answer_prefix, task.stop

    def __getattr__(self, name: str) -> Any:
        return getattr(self._task, name)

    def postprocess(self, completion: str) -> str:
        return self._task.postprocess(completion)

    def static_check(self, program: str) -> str | None:
        return self._task.static_check(program)

    def dedup_key(self, program: str) -> str:
        return self._task.dedup_key(program)

    def execute(self, program: str) -> Outcome:
        if program not in self._outcomes:
            self._outcomes[program] = self._task.execute(program)
        return self._outcomes[program]


def sample_candidates(
    generator: Generator,
    prompt: str,
    task: Task,
    *,
    samples: int,
    temperature: float,
    max_tokens: int,
    seed: int | None = None,
    sampled: bool = False,
    grammar: str | None = None,
) -> list[Candidate]:
    """gen-a for one question: K post-processed samples after `prompt` (greedy when K = 1,
    unless `sampled`: one round of an adaptive draw), under `grammar` when one is given."""
    raw = generator.sample(
        prompt,
        n=samples,
        temperature=temperature if samples > 1 or sampled else 0.0,
        max_tokens=max_tokens,
        stop=task.stop,
        seed=seed,
        grammar=grammar,
    )
    return [Candidate(task.postprocess(s.text), s.logprob) for s in raw]


class PromptedVote:
    """Mixin for generation contexts: `answer` = `candidates` (samples after `prompt(question)`),
    then the vote."""

    task: Task
    answer_cfg: AnswerGenConfig

    def prompt(self, question: str) -> str:
        raise NotImplementedError

    def answer_tokens(self) -> int:
        """The token limit of one sample; 0 asks the context to size it from its seeds (SQL's
        does), else the default."""
        return self.answer_cfg.max_tokens or AnswerGenConfig.max_tokens

    def answer_grammar(self) -> str | None:
        """A GBNF grammar the samples must follow (SQL's, with `--grammar`), or None."""
        return None

    def candidates(
        self,
        generator: Generator,
        question: str,
        *,
        samples: int,
        temperature: float,
        seed: int | None = None,
        sampled: bool = False,
    ) -> list[Candidate]:
        """gen-a for one question: samples after `prompt(question)`."""
        return sample_candidates(
            generator,
            self.prompt(question),
            self.task,
            samples=samples,
            temperature=temperature,
            max_tokens=self.answer_tokens(),
            seed=seed,
            sampled=sampled,
            grammar=self.answer_grammar(),
        )

    def _rounds(
        self,
        generator: Generator,
        question: str,
        samples: int,
        temperature: float,
        seed: int | None,
        decided: Callable[[list[Candidate], int], bool],
    ) -> list[Candidate]:
        """The samples, drawn `answer_cfg.round_size` at a time until `decided(samples so far,
        samples left)`."""
        size = self.answer_cfg.round_size
        if size <= 0 or samples <= size or getattr(self.task, "similarity", None) is not None:
            # all at once; soft votes (Bash) have no count that a round could settle
            return self.candidates(
                generator, question, samples=samples, temperature=temperature, seed=seed
            )
        cands: list[Candidate] = []
        while len(cands) < samples:
            n = min(size, samples - len(cands))
            round_seed = None if seed is None else seed * 31 + len(cands)
            cands += self.candidates(
                generator, question, samples=n, temperature=temperature, seed=round_seed,
                sampled=True,
            )  # fmt: skip
            if decided(cands, samples - len(cands)):
                break
        return cands

    def answer(
        self,
        generator: Generator,
        question: str,
        *,
        samples: int,
        temperature: float,
        min_votes: MinVotes,
        seed: int | None = None,
    ) -> tuple[Verdict, list[Candidate]]:
        """gen-a for one question, then the verifier's vote (on the planned `samples`' count of
        votes when adaptive rounds stopped early)."""
        required = min_votes.required(samples)
        task = _MemoTask(self.task)

        def decided(cands: list[Candidate], left: int) -> bool:
            return vote_decided(execute_candidates(task, cands).sizes, left, required)

        cands = self._rounds(generator, question, samples, temperature, seed, decided)
        votes = min_votes if len(cands) == samples else MinVotes(float(required))
        return verify(task, cands, votes), cands

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
    ) -> tuple[Verdict, list[Candidate]]:
        """Back-translation check of a program-first pair: answer `question` afresh (samples after
        the usual prompt) and keep `program` when at least `min_votes` answers agree with its
        result. The question the LLM wrote must say enough to recover the program's answer."""
        required = min_votes.required(samples)
        task = _MemoTask(self.task)
        anchor = task.execute(program.strip()).key

        def decided(cands: list[Candidate], left: int) -> bool:
            if anchor is None:
                return True  # the program itself fails: no answer can agree with it
            agree = len(execute_candidates(task, cands).groups.get(anchor, []))
            return anchor_decided(agree, left, required)

        cands = self._rounds(generator, question, samples, temperature, seed, decided)
        votes = min_votes if len(cands) == samples else MinVotes(float(required))
        return anchored_verdict(task, program, cands, votes), cands


def anchored_verdict(
    task: Task,
    program: str,
    candidates: Sequence[Candidate],
    min_votes: MinVotes,
) -> Verdict:
    """Agreement with a known program (program-first pairs): keep `program` when at least
    `min_votes` of the candidates give its result; the candidates' own majority is irrelevant."""
    required = min_votes.required(len(candidates))
    anchor = task.execute(program.strip())
    run = execute_candidates(task, candidates)
    agree = len(run.groups.get(anchor.key, [])) if anchor.key is not None else 0
    similarity = getattr(task, "similarity", None)
    support = (
        None
        if similarity is None or anchor.key is None
        else sum(
            len(g) * (1.0 if k == anchor.key else similarity(anchor.key, k))
            for k, g in run.groups.items()
        )
    )
    # soft tasks (Bash): near-identical answers count as the paper's BLEU agreement does
    kept = (agree if support is None else support) >= required - 1e-9
    if anchor.key is None:
        reason: str | None = f"program_{anchor.failure or 'no_result'}"
    else:
        reason = None if kept else "too_few_agree_with_program"
    return Verdict(
        kept,
        program.strip() if anchor.key is not None else None,
        agree,
        required,
        len(candidates),
        len(run.by_key),
        run.sizes,
        None,
        dict(run.failures),
        reason=reason,
        support=support,
    )
