"""Drafted greedy decoding (`symgen.engine.drafting`) on toy models whose next token depends on the
whole history held in their cache: a wrongly truncated or stale cache changes the answer."""

from __future__ import annotations

import math

import numpy as np
import pytest

from symgen.engine.drafting import (
    Step,
    greedy_choice,
    mean_with_draft,
    speculative_greedy,
)
from symgen.engine.kv_cache import Past
from symgen.engine.model import _log_softmax as log_softmax

VOCAB, EOS = 9, 0


def toy(seed: int, noise: float = 0.0, noise_seed: int = 99, wrong_at: int = -1) -> Step:
    """A model whose cache is its token history ([1, 1, seq, 1]) and whose logits are a fixed
    random function of (history length, last three tokens); `noise` adds a second random table
    (a draft that disagrees with the target now and then); `wrong_at` makes the argmax after
    that many tokens of history the runner-up instead (a draft wrong exactly once)."""

    def logits(history: tuple[int, ...]) -> np.ndarray:
        key = hash((len(history), history[-3:], seed)) % (2**32)
        row = np.random.default_rng(key).normal(size=VOCAB)
        row[EOS] += len(history) / 12 - 3  # answers end, sooner or later
        if len(history) == wrong_at:
            first, second = np.argsort(row)[-1], np.argsort(row)[-2]
            row[first], row[second] = row[second], row[first]
        if noise:
            other = hash((len(history), history[-3:], noise_seed)) % (2**32)
            row += noise * np.random.default_rng(other).normal(size=VOCAB)
        return row

    def step(ids: list[int], cache: Past, n: int) -> tuple[np.ndarray, Past]:
        assert ids, "a step reads at least one token"
        old = [int(x) for x in cache[0][0, 0, :, 0]]
        history = old + ids
        rows = np.stack([logits(tuple(history[: len(history) - n + i + 1])) for i in range(n)])
        new = np.array(history, dtype=np.float64).reshape(1, 1, -1, 1)
        return rows, [new]

    return step


def cache_of(tokens: list[int]) -> Past:
    return [np.array(tokens, dtype=np.float64).reshape(1, 1, -1, 1)]


def plain_greedy(model: Step, prompt: list[int], max_tokens: int) -> tuple[list[int], float]:
    """The reference: one target call per token, as the engine decodes without a draft."""
    rows, cache = model(prompt, cache_of([]), 1)
    tokens: list[int] = []
    logprob = 0.0
    for _ in range(max_tokens):
        token, lp = greedy_choice(rows[-1])
        logprob += lp
        if token == EOS:
            break
        tokens.append(token)
        rows, cache = model([token], cache, 1)
    return tokens, logprob


def drafted(
    target: Step, draft: Step, prompt: list[int], max_tokens: int, **kw: object
) -> tuple[list[int], float, int]:
    """The engine's arrangement: the target has read the prompt but its last token."""
    _, head = target(prompt[:-1], cache_of([]), 1)
    rows, d_cache = draft(prompt, cache_of([]), 1)
    return speculative_greedy(
        target,
        lambda: head,
        prompt[-1:],
        draft,
        d_cache,
        rows[-1],
        eos=EOS,
        max_tokens=max_tokens,
        **kw,  # type: ignore[arg-type]
    )


@pytest.mark.parametrize("noise", [0.0, 0.3, 1.0, 5.0])
@pytest.mark.parametrize("prompt_seed", range(12))
def test_the_answer_is_the_targets_own_greedy_answer(noise: float, prompt_seed: int) -> None:
    prompt = [int(x) for x in np.random.default_rng(prompt_seed).integers(1, VOCAB, size=4)]
    target = toy(1)
    draft = toy(1, noise=noise)
    want, want_lp = plain_greedy(target, prompt, 40)
    got, lp, calls = drafted(target, draft, prompt, 40)
    assert got == want
    assert lp == pytest.approx(want_lp)
    assert calls <= len(want) + 1


def test_an_agreeing_draft_needs_one_target_call_when_it_never_pauses() -> None:
    target = toy(2)
    want, _ = plain_greedy(target, [3, 4, 5], 40)
    assert len(want) > 5, "pick a prompt with a longer answer"
    got, _, calls = drafted(target, toy(2), [3, 4, 5], 40, pause_below=-math.inf)
    assert (got, calls) == (want, 1)


def test_a_disagreeing_draft_costs_target_calls_not_correctness() -> None:
    target = toy(3)
    want, _ = plain_greedy(target, [1, 2, 3], 40)
    got, _, calls = drafted(target, toy(4), [1, 2, 3], 40, pause_below=-math.inf)
    assert got == want
    assert calls > 1, "an unrelated draft must be corrected"


def test_after_a_correction_the_draft_resumes_from_the_kept_tokens() -> None:
    """A draft wrong once: one call finds the error, a second checks the rest — only if both
    caches were cut back to the kept tokens (a draft still holding its rejected tokens keeps
    disagreeing)."""
    target = toy(2)
    want, _ = plain_greedy(target, [3, 4, 5], 40)
    got, _, calls = drafted(target, toy(2, wrong_at=3 + 4), [3, 4, 5], 40, pause_below=-math.inf)
    assert (got, calls) == (want, 2)


def test_a_draft_that_always_pauses_checks_every_token_alone() -> None:
    target = toy(2)
    want, _ = plain_greedy(target, [3, 4, 5], 40)
    got, _, calls = drafted(target, toy(2), [3, 4, 5], 40, pause_below=0.0)
    assert (got, calls) == (want, len(want) + 1)


@pytest.mark.parametrize("max_tokens", [1, 2, 3, 7])
def test_the_token_budget_is_the_same(max_tokens: int) -> None:
    target = toy(5)
    prompt = [2, 2, 2]
    for draft in (toy(5), toy(5, noise=2.0)):
        want, want_lp = plain_greedy(target, prompt, max_tokens)
        got, lp, _ = drafted(target, draft, prompt, max_tokens)
        assert got == want and len(got) <= max_tokens
        assert lp == pytest.approx(want_lp)


def test_a_mask_binds_both_models() -> None:
    """With a mask (the engine's literal guard), the answer is the masked target's greedy one
    and never holds a masked token, even when the draft would prefer it."""
    banned = {3, 5}

    def mask(row: np.ndarray, tokens: list[int]) -> np.ndarray:
        out = row.copy()
        out[list(banned)] = -np.inf
        return out

    target = toy(6)

    def masked_target(ids: list[int], cache: Past, n: int) -> tuple[np.ndarray, Past]:
        rows, new = target(ids, cache, n)
        return np.stack([mask(r, []) for r in rows]), new

    want, _ = plain_greedy(masked_target, [1, 1, 2], 40)
    got, _, _ = drafted(target, toy(6, noise=1.0), [1, 1, 2], 40, mask=mask)
    assert got == want
    assert not banned & set(got)


def test_cancellation_between_draft_steps() -> None:
    class Stop(Exception):
        pass

    seen = []

    def check() -> None:
        seen.append(1)
        if len(seen) == 3:
            raise Stop

    with pytest.raises(Stop):
        drafted(toy(7), toy(7), [4, 4, 4], 40, check_stop=check)


@pytest.mark.parametrize("members", [2, 3, 5])
def test_member_0_and_the_rest_combine_to_the_mean_probability(members: int) -> None:
    """`mean_with_draft(k)`(member 0's logits, the other members' log mean probability) is the
    log of all k members' mean probability, as the merged graph computes it."""
    rng = np.random.default_rng(members)
    logits = rng.normal(size=(members, 4, VOCAB)) * 3
    probs = np.exp(log_softmax(logits))
    rest = np.log(probs[1:].mean(axis=0))
    if members == 2:  # a lone second member's graph returns raw logits
        rest = logits[1] + 7.0
    got = mean_with_draft(members)(logits[0], rest)
    assert np.allclose(got, np.log(probs.mean(axis=0)))


@pytest.mark.parametrize("prompt_seed", range(6))
def test_with_combine_the_answer_is_the_ensembles(prompt_seed: int) -> None:
    """The engine's arrangement for an ensemble: member 0 drafts, `target` runs the other
    member, and the answer is the pair's (mean probability) greedy answer."""
    prompt = [int(x) for x in np.random.default_rng(prompt_seed).integers(1, VOCAB, size=4)]
    member0, member1 = toy(10), toy(11)
    combine = mean_with_draft(2)

    def pair(ids: list[int], cache: Past, n: int) -> tuple[np.ndarray, Past]:
        a, new = member0(ids, cache, n)
        b, _ = member1(ids, cache, n)
        return combine(a, b), new

    want, want_lp = plain_greedy(pair, prompt, 40)
    got, lp, _ = drafted(member1, member0, prompt, 40, combine=combine)
    assert got == want
    assert lp == pytest.approx(want_lp)
    alone, _ = plain_greedy(member0, prompt, 40)
    assert prompt_seed or alone != want, "member 0 alone must differ somewhere"
