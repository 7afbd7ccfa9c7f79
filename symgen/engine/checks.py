"""What a decoded answer must pass, and the choice among beams: pure functions over finished beams,
so the decoding loops in `model.py` stay apart from the rules that pick their output."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

import numpy as np

from symgen.errors import SymgenError


@dataclass(frozen=True)
class Beam:
    text: str
    logprob: float  # sum over generated tokens
    tokens: int

    @property
    def score(self) -> float:
        return self.logprob / max(1, self.tokens)


@dataclass(frozen=True)
class Completion:
    sql: str
    valid: bool
    problem: str | None
    beams: tuple[Beam, ...]
    beam_index: int  # which beam was chosen (0 = the model's favourite)
    preferred: bool = True  # passes the preference too (execution guidance: returns rows)


def masked(row: np.ndarray, allowed: np.ndarray | None) -> np.ndarray:
    """Logits with the disallowed tokens at -inf (ids beyond the mask are disallowed too)."""
    if allowed is None:
        return row
    keep = np.zeros(row.shape[-1], dtype=bool)
    n = min(len(allowed), row.shape[-1])
    keep[:n] = allowed[:n]
    return np.where(keep, row, -np.inf)


def greedy_fallback(run: Callable[[int, bool], Completion], beams: int, decode: str) -> Completion:
    """`run(beams, first_valid)` greedy first, then beam search to the first valid (and
    preferred) beam only when greedy is not both; `decode="beam"`: the full beam search.
    A valid greedy answer is kept over a beam that is merely valid too."""
    if decode == "beam":
        return run(beams, False)
    if decode != "greedy-fallback":
        raise SymgenError(f"unknown decode {decode!r}; use greedy-fallback or beam")
    result = run(1, False)
    if (result.valid and result.preferred) or beams <= 1:
        return result
    again = run(beams, True)
    if not result.valid or (again.valid and again.preferred):
        return again
    return result


def grounding_rescue(run: Callable[[str], Completion], ground_literals: str) -> Completion:
    """`run(ground_literals)`; in "prefer" mode, when no valid beam quotes only the question's
    values (or none passes `prefer` at all), `run("constrain")` replaces it if that one is valid
    and preferred. A model trained from scratch copies rare names badly ("population of san
    antonio" → 'san jose', no beam of 4 says 'san antonio'); masking every question that way
    costs more than it saves ("ohio river" is a run of the question's words, 'ohio' the value),
    so the mask only comes in where the re-ranking found nothing."""
    result = run(ground_literals)
    if ground_literals != "prefer" or (result.valid and result.preferred):
        return result
    rescue = run("constrain")
    return rescue if rescue.valid and rescue.preferred else result


def code_check(task: str) -> Callable[[str], str | None]:
    """The static check a code task's output must pass (imports the task module lazily)."""
    from symgen.tasks.code import make_task

    return make_task(task).static_check


def best_valid(
    found: list[Beam],
    check: Callable[[str], str | None],
    render: Callable[[str], str] = lambda text: text,
    prefer: Callable[[str], bool] | None = None,
) -> Completion:
    """The first beam whose rendered text `check` finds no problem with and `prefer` accepts,
    else the first valid one (not preferred), else the best beam's text marked invalid
    (`render`: e.g. transpile to the database's dialect)."""
    first_problem = None
    first_valid: int | None = None
    texts = [render(b.text) for b in found]
    for i, text in enumerate(texts):
        why = check(text)
        if why is None:
            if prefer is None or prefer(text):
                return Completion(text, True, None, tuple(found), i)
            first_valid = i if first_valid is None else first_valid
        first_problem = first_problem or why
    if first_valid is not None:
        return Completion(texts[first_valid], True, None, tuple(found), first_valid, False)
    text = texts[0] if texts else ""
    return Completion(text, False, first_problem or "no output", tuple(found), 0)
