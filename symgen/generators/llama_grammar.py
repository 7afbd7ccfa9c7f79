"""One sequence's GBNF constraint in the embedded generator, through llama.cpp's grammar sampler.

Checking every token of a 150k vocabulary against the grammar at every step would cost more than
the decoding it saves, so a sequence first chooses as it would unconstrained and asks the grammar
about that one token; only a refused token pays for the full mask, and the choice is made again
among the tokens the grammar allows (llama.cpp's own common sampler does the same). The sample's
log-probability stays the model's own, unconstrained, as the verifier expects.
"""

from __future__ import annotations

import ctypes
from typing import Any

import numpy as np

from symgen.errors import SymgenError

_TOKEN_DATA = np.dtype([("id", "<i4"), ("logit", "<f4"), ("p", "<f4")])  # llama_token_data


class GrammarGate:
    """A grammar sampler for one sequence; `allows`, then `accept` what was chosen."""

    def __init__(self, lc: Any, vocab: Any, n_vocab: int, grammar: str) -> None:
        self._lc = lc
        self._sampler = lc.llama_sampler_init_grammar(vocab, grammar.encode(), b"root")
        if not self._sampler:
            raise SymgenError("llama.cpp refused the answer grammar (see its log above)")
        self._one = np.zeros(1, dtype=_TOKEN_DATA)
        self._all = np.zeros(n_vocab, dtype=_TOKEN_DATA)
        self._all["id"] = np.arange(n_vocab, dtype=np.int32)
        self.full_masks = 0  # how often a refused token cost the whole vocabulary's check

    def _apply(self, data: np.ndarray) -> None:
        arr = self._lc.llama_token_data_array(
            data=data.ctypes.data_as(ctypes.POINTER(self._lc.llama_token_data)),
            size=len(data),
            selected=-1,
            sorted=False,
        )
        self._lc.llama_sampler_apply(self._sampler, ctypes.byref(arr))

    def allows(self, token: int) -> bool:
        self._one["id"], self._one["logit"] = token, 0.0
        self._apply(self._one)
        return bool(np.isfinite(self._one["logit"][0]))

    def mask(self, logits: np.ndarray) -> np.ndarray:
        """`logits` with every token the grammar refuses here set to -inf."""
        self.full_masks += 1
        self._all["logit"] = logits
        self._apply(self._all)
        out = np.asarray(self._all["logit"], dtype=np.float64)
        return np.where(np.isfinite(out), logits, -np.inf)

    def accept(self, token: int) -> None:
        self._lc.llama_sampler_accept(self._sampler, token)

    def close(self) -> None:
        if self._sampler:
            self._lc.llama_sampler_free(self._sampler)
            self._sampler = None
