"""Greedy decoding of a slow model with a fast draft model, exactly as if the slow one ran alone.

Why: an ensemble graph (`symgen lab ensemble`) runs every member at each decoding step, so a pair
costs about twice a single model per token (~1.0 vs 0.45 ms for the `mini` pair here). Its
members mostly agree, so member 0 alone writes the answer ahead (the draft) and the others check
the drafted tokens in *one* call over all their positions (`combine` joins member 0's logits,
already known, with theirs): the ensemble keeps the drafted tokens up to the first one its own
argmax differs on, replaces that one with its own choice, and the draft resumes from there.
Every token kept is the ensemble's own argmax, so the result is the ensemble's greedy answer
(speculative decoding, Leviathan et al. 2023, greedy case); only the number of slow calls
changes.
"""

from __future__ import annotations

import math
from collections.abc import Callable

import numpy as np

from symgen.engine.kv_cache import Past, truncate

# The draft stops writing ahead after a token it gives less than 70%: that is where the
# ensemble tends to disagree, and tokens drafted past a disagreement are thrown away. `mini`
# pair, GeoQuery dev, one thread, against never stopping: p50 20.6 -> 20.8 ms, p95 94 -> 65.
PAUSE_BELOW = math.log(0.7)
# (token ids fed, cache, n) -> (logits of the last n positions [n, vocab], new cache)
Step = Callable[[list[int], Past, int], tuple[np.ndarray, Past]]
# (logits row, tokens chosen so far) -> the row with the disallowed tokens at -inf
Mask = Callable[[np.ndarray, list[int]], np.ndarray]


def greedy_choice(row: np.ndarray) -> tuple[int, float]:
    """The argmax and its log-softmax: the same arithmetic as the engine's plain greedy loop,
    so both ways of decoding score an answer identically."""
    token = int(row.argmax())
    top = float(row[token])
    return token, -float(np.log(np.exp(row - top).sum()))


def mean_with_draft(members: int) -> Callable[[np.ndarray, np.ndarray], np.ndarray]:
    """`combine` for an ensemble of `members` whose member 0 drafts and whose others' graph
    returns log of *their* mean probability: log((p0 + (k-1) p_rest) / k), as the merged graph
    computes it (`symgen.lab.graph_merge`). In probabilities, not `logaddexp` of log-softmaxes:
    0.31 vs 1.48 ms for 28 positions of a 2,927-token vocabulary, once or twice per answer."""
    w0, wr = 1 / members, (members - 1) / members

    def combine(draft_rows: np.ndarray, rest_rows: np.ndarray) -> np.ndarray:
        p = np.exp(draft_rows - draft_rows.max(axis=-1, keepdims=True))
        p *= w0 / p.sum(axis=-1, keepdims=True)
        q = np.exp(rest_rows - rest_rows.max(axis=-1, keepdims=True))
        q *= wr / q.sum(axis=-1, keepdims=True)
        p += q
        with np.errstate(divide="ignore"):  # both underflow: -inf, never the argmax
            out: np.ndarray = np.log(p)
        return out

    return combine


def speculative_greedy(
    target: Step,
    target_past: Callable[[], Past],
    pending: list[int],
    draft: Step,
    draft_past: Past,
    draft_row: np.ndarray,
    *,
    eos: int,
    max_tokens: int,
    mask: Mask | None = None,
    check_stop: Callable[[], None] | None = None,
    pause_below: float = PAUSE_BELOW,
    combine: Callable[[np.ndarray, np.ndarray], np.ndarray] | None = None,
) -> tuple[list[int], float, int]:
    """(tokens, log-probability under the target, target calls) of the target's greedy answer.

    `target_past()` is the target's cache of everything before `pending` (tokens it has not read
    yet, at least one: e.g. the question's last), asked for once the first draft is written (the
    engine computes it on another thread meanwhile); `draft_past`/`draft_row` are the draft's
    cache and next-token logits after the same text including `pending`. With `combine`, the
    target's logits are `combine(draft rows, rows)` — the draft is part of the target (an
    ensemble's member 0; `target` runs the other members). `mask` binds both (a literal
    guard); `check_stop` raises to cancel, between draft steps; the draft hands over after a
    token it gives less than `pause_below`.
    """
    tokens: list[int] = []
    logprob = 0.0
    calls = 0
    prompt_len = draft_past[0].shape[2]  # the draft's cache before any answer token
    cache: Past | None = None
    while len(tokens) < max_tokens:
        proposal: list[int] = []
        seen = [draft_row]  # the draft's logits before each proposed token
        while len(tokens) + len(proposal) < max_tokens:
            if check_stop is not None:
                check_stop()
            r = seen[-1] if mask is None else mask(seen[-1], tokens + proposal)
            token, lp = greedy_choice(r)
            proposal.append(token)
            if token == eos or lp < pause_below:
                break
            rows, draft_past = draft([token], draft_past, 1)
            seen.append(rows[-1])
        cache = target_past() if cache is None else cache
        base = cache[0].shape[2]
        rows, cache = target(pending + proposal[:-1], cache, len(proposal))
        if combine is not None:
            rows = combine(np.stack(seen[: len(proposal)]), rows)
        calls += 1
        for i, drafted in enumerate(proposal):
            r = rows[i] if mask is None else mask(rows[i], tokens)
            token, lp = greedy_choice(r)
            logprob += lp
            if token == eos:
                return tokens, logprob, calls
            tokens.append(token)
            if token != drafted or i == len(proposal) - 1:  # the draft resumes after `token`
                if len(tokens) >= max_tokens:
                    break
                cache = truncate(cache, base + len(pending) + i)
                pending = [token]
                draft_past = truncate(draft_past, prompt_len + len(tokens) - 1)
                fed, draft_past = draft([token], draft_past, 1)
                draft_row = fed[-1]
                break
    return tokens, logprob, calls
