"""llama.cpp embedded generator with shared-prefix KV reuse and multi-sequence sampling.

Two things make generation on a 2-core CPU affordable, and both are switches here so the
benchmark can measure them against the naive path:

* `reuse_prefix`: the prompt prefix shared with the previous call (schema + instruction +
  demonstrations, ~1,300 tokens) stays in the KV cache of sequence 0; only the new suffix is
  evaluated.
* `batch_samples`: the n samples of one prompt decode together, one token per sequence per
  `llama_decode` call, from copies of sequence 0 (cheap in a unified KV cache). Decoding is
  memory-bound on CPU, so n tokens per pass cost little more than one.

Sampling (temperature, top-k, top-p) is done in numpy so the model's own log-probability of
every chosen token is known exactly; the verifier uses their mean to pick inside a group.
"""

from __future__ import annotations

import contextlib
import ctypes
import os
from collections.abc import Callable, Sequence
from pathlib import Path

import numpy as np

from symgen.errors import SymgenError
from symgen.generators.base import GenStats, Sample, cut_at_stop
from symgen.generators.llama_grammar import GrammarGate


class Cancelled(Exception):
    """Raised inside `sample` when the caller's `should_stop()` turned true."""


class LlamaGenerator:
    def __init__(
        self,
        path: str | Path,
        *,
        name: str | None = None,
        n_ctx: int = 4096,
        n_threads: int | None = None,
        max_parallel: int = 16,
        n_batch: int = 512,
        reuse_prefix: bool = True,
        batch_samples: bool = True,
        top_k: int = 50,
        top_p: float = 0.95,
    ) -> None:
        import llama_cpp as lc

        try:
            from llama_cpp import _logger

            _logger.set_verbose(False)
        except ImportError:  # pragma: no cover - older layouts
            pass
        self._lc = lc
        self.path = Path(path)
        self.name = name or self.path.stem
        self.reuse_prefix = reuse_prefix
        self.batch_samples = batch_samples
        self.top_k, self.top_p = top_k, top_p
        self.max_parallel = max_parallel
        self.n_ctx = n_ctx
        self.stats = GenStats()
        threads = n_threads or min(4, os.cpu_count() or 1)
        lc.llama_backend_init()
        mparams = lc.llama_model_default_params()
        self._model = lc.llama_model_load_from_file(str(self.path).encode(), mparams)
        if not self._model:
            raise SymgenError(f"{self.path}: llama.cpp could not load this GGUF file", exit_code=3)
        cparams = lc.llama_context_default_params()
        cparams.n_ctx = n_ctx
        cparams.n_batch = n_batch
        cparams.n_ubatch = n_batch
        cparams.n_seq_max = max_parallel + 2  # prompt, samples 1..max_parallel, scoring prompt
        cparams.kv_unified = True  # all sequences share one cache: copies of the prefix are free
        cparams.n_threads = threads
        cparams.n_threads_batch = threads
        self._ctx = lc.llama_init_from_model(self._model, cparams)
        if not self._ctx:
            lc.llama_model_free(self._model)
            raise SymgenError(f"{self.path}: llama.cpp could not create a context", exit_code=3)
        self._vocab = lc.llama_model_get_vocab(self._model)
        self._n_vocab = int(lc.llama_vocab_n_tokens(self._vocab))
        self._mem = lc.llama_get_memory(self._ctx)
        self._n_batch = n_batch
        self._batch = lc.llama_batch_init(max(n_batch, max_parallel), 0, 1)
        self._score_seq = max_parallel + 1
        # tokens held by each prompt sequence: 0 for `sample`, _score_seq for `score`, so
        # alternating between the two prompt families re-evaluates neither prefix
        self._cached: dict[int, list[int]] = {0: [], self._score_seq: []}
        self._pieces: dict[int, bytes] = {}

    # ---- tokens -------------------------------------------------------------------------
    def tokenize(self, text: str) -> list[int]:
        return self._tokenize(text, special=True)

    def _tokenize(self, text: str, *, special: bool) -> list[int]:
        """Token ids; `special` adds the model's start token (a prompt), else none (a tail)."""
        data = text.encode("utf-8")
        size = len(data) + 16
        arr = (self._lc.llama_token * size)()
        n = self._lc.llama_tokenize(self._vocab, data, len(data), arr, size, special, False)
        if n < 0:
            size = -n
            arr = (self._lc.llama_token * size)()
            n = self._lc.llama_tokenize(self._vocab, data, len(data), arr, size, special, False)
        return list(arr[:n])

    def _piece(self, token: int) -> bytes:
        piece = self._pieces.get(token)
        if piece is None:
            buf = ctypes.create_string_buffer(64)
            n = self._lc.llama_token_to_piece(self._vocab, token, buf, 64, 0, False)
            if n < 0:
                buf = ctypes.create_string_buffer(-n)
                n = self._lc.llama_token_to_piece(self._vocab, token, buf, -n, 0, False)
            piece = buf.raw[:n]
            self._pieces[token] = piece
        return piece

    # ---- decoding -----------------------------------------------------------------------
    def _decode(
        self, tokens: Sequence[int], pos: Sequence[int], seqs: Sequence[int], logits_last_only: bool
    ) -> None:
        b = self._batch
        n = len(tokens)
        b.n_tokens = n
        for i in range(n):
            b.token[i] = tokens[i]
            b.pos[i] = pos[i]
            b.n_seq_id[i] = 1
            b.seq_id[i][0] = seqs[i]
            b.logits[i] = (i == n - 1) if logits_last_only else True
        rc = self._lc.llama_decode(self._ctx, b)
        if rc != 0:
            raise SymgenError(
                f"llama_decode failed (code {rc}); the prompt plus samples may exceed n_ctx="
                f"{self.n_ctx}: lower --samples or the number of demonstrations",
                exit_code=3,
            )

    def _logits(self, i: int) -> np.ndarray:
        ptr = self._lc.llama_get_logits_ith(self._ctx, i)
        return np.ctypeslib.as_array(ptr, shape=(self._n_vocab,)).astype(np.float64)

    def _eval_prompt(self, tokens: list[int], seq: int = 0, room: int = 0) -> np.ndarray:
        """Put `tokens` in prompt sequence `seq`, reusing its cached common prefix; return the
        last logits. `room`: cells the caller will add after it (samples, a continuation); when
        the other prompt sequence leaves too little, that one is dropped."""
        if len(tokens) >= self.n_ctx:
            raise SymgenError(
                f"prompt has {len(tokens)} tokens but the context holds {self.n_ctx}; "
                "use fewer demonstrations or sample rows",
                exit_code=2,
            )
        for other, held in self._cached.items():
            if other != seq and held and len(held) + len(tokens) + room >= self.n_ctx:
                self._lc.llama_memory_seq_rm(self._mem, other, -1, -1)
                self._cached[other] = []
        cached = self._cached[seq]
        common = 0
        if self.reuse_prefix:
            limit = min(len(cached), len(tokens) - 1)  # re-evaluate >= 1 token for logits
            while common < limit and cached[common] == tokens[common]:
                common += 1
        self._lc.llama_memory_seq_rm(self._mem, seq, common, -1)
        self.stats.cached_tokens += common
        self.stats.prompt_tokens += len(tokens) - common
        for start in range(common, len(tokens), self._n_batch):
            chunk = tokens[start : start + self._n_batch]
            self._decode(chunk, range(start, start + len(chunk)), [seq] * len(chunk), True)
        self._cached[seq] = list(tokens)
        return self._logits(-1)

    def _choose(
        self, logits: np.ndarray, temperature: float, rng: np.random.Generator
    ) -> tuple[int, float]:
        top = float(logits.max())
        log_z = top + float(np.log(np.exp(logits - top).sum()))
        if temperature <= 0:
            tok = int(logits.argmax())
        else:
            k = min(self.top_k, logits.size)
            idx = np.argpartition(-logits, k - 1)[:k]
            idx = idx[np.argsort(-logits[idx])]
            z = (logits[idx] - logits[idx[0]]) / temperature
            p = np.exp(z)
            p /= p.sum()
            keep = int(np.searchsorted(np.cumsum(p), self.top_p) + 1)
            p = p[:keep] / p[:keep].sum()
            tok = int(idx[rng.choice(keep, p=p)])
        return tok, float(logits[tok] - log_z)

    def _pick(
        self,
        logits: np.ndarray,
        temperature: float,
        rng: np.random.Generator,
        gates: list[GrammarGate | None],
        i: int,
    ) -> tuple[int, float]:
        """`_choose`, under sequence i's grammar when it has one: the unconstrained choice if the
        grammar allows it, else a choice among the tokens it allows. The log-probability is the
        model's own. A grammar that allows nothing here is dropped (the sample then fails the
        verifier, as it would have unconstrained)."""
        tok, lp = self._choose(logits, temperature, rng)
        gate = gates[i]
        if gate is None:
            return tok, lp
        if not gate.allows(tok):
            masked = gate.mask(logits)
            if not np.isfinite(masked).any():
                gate.close()
                gates[i] = None
                return tok, lp
            tok, _ = self._choose(masked, temperature, rng)
            top = float(logits.max())
            lp = float(logits[tok]) - top - float(np.log(np.exp(logits - top).sum()))
        gate.accept(tok)
        return tok, lp

    def sample(
        self,
        prompt: str,
        *,
        n: int = 1,
        temperature: float = 0.0,
        max_tokens: int = 128,
        stop: Sequence[str] = (),
        seed: int | None = None,
        should_stop: Callable[[], bool] | None = None,
        grammar: str | None = None,
    ) -> list[Sample]:
        """See `Generator.sample`; `grammar` is checked per sequence (`GrammarGate`)."""
        if n < 1:
            return []
        rng = np.random.default_rng(seed)
        tokens = self.tokenize(prompt)
        self.stats.calls += 1
        if self.batch_samples:
            out: list[Sample] = []
            for start in range(0, n, self.max_parallel):
                width = min(self.max_parallel, n - start)
                first = self._eval_prompt(tokens, room=width * max_tokens)
                out += self._run(
                    first, len(tokens), width, temperature, max_tokens, stop, rng, should_stop,
                    grammar,
                )  # fmt: skip
            return out
        samples = []
        for _ in range(n):
            first = self._eval_prompt(tokens, room=max_tokens)
            samples += self._run(
                first, len(tokens), 1, temperature, max_tokens, stop, rng, should_stop, grammar
            )
        return samples

    def score(self, prompt: str, continuations: Sequence[str]) -> list[float]:
        """Mean log-probability per token of each continuation after `prompt`, teacher-forced.

        The reviewer's half of coder-reviewer reranking: how likely the model finds a question
        given a program. The prompt sits in its own sequence (`_score_seq`, prefix cached apart
        from `sample`'s); each continuation is evaluated in a fork of it, so scoring k texts
        costs their tokens only."""
        tokens = self.tokenize(prompt)
        tails = [self._tokenize(text, special=False) for text in continuations]
        longest = max((len(t) for t in tails), default=0)
        first = self._eval_prompt(tokens, self._score_seq, room=longest)
        n = len(tokens)
        out = []
        for cont in tails:
            if not cont:
                out.append(0.0)
                continue
            rows = [first]
            if len(cont) > 1:
                self._lc.llama_memory_seq_cp(self._mem, self._score_seq, 1, -1, -1)
                try:
                    for start in range(0, len(cont) - 1, self._n_batch):
                        chunk = cont[start : min(start + self._n_batch, len(cont) - 1)]
                        pos = range(n + start, n + start + len(chunk))
                        self._decode(chunk, pos, [1] * len(chunk), False)
                        rows += [self._logits(j) for j in range(len(chunk))]
                finally:
                    self._lc.llama_memory_seq_rm(self._mem, 1, -1, -1)
            lps = []
            for logits, tok in zip(rows, cont, strict=True):
                top = float(logits.max())
                lps.append(float(logits[tok]) - top - float(np.log(np.exp(logits - top).sum())))
            self.stats.prompt_tokens += len(cont)
            out.append(sum(lps) / len(lps))
        return out

    def _run(
        self,
        first_logits: np.ndarray,
        n_prompt: int,
        width: int,
        temperature: float,
        max_tokens: int,
        stop: Sequence[str],
        rng: np.random.Generator,
        should_stop: Callable[[], bool] | None,
        grammar: str | None = None,
    ) -> list[Sample]:
        """Decode `width` sequences (ids 1..width) forked from sequence 0's prompt."""
        lc = self._lc
        gates: list[GrammarGate | None] = [
            GrammarGate(lc, self._vocab, self._n_vocab, grammar) if grammar else None
            for _ in range(width)
        ]
        max_tokens = min(max_tokens, self.n_ctx - n_prompt - 1)
        for s in range(1, width + 1):
            lc.llama_memory_seq_cp(self._mem, 0, s, -1, -1)
        texts = [bytearray() for _ in range(width)]
        logps: list[list[float]] = [[] for _ in range(width)]
        done = [False] * width
        last = [0] * width
        try:
            for i in range(width):
                last[i], lp = self._pick(first_logits, temperature, rng, gates, i)
                logps[i].append(lp)
            pos = n_prompt
            for _step in range(max_tokens):
                for i in range(width):
                    if done[i]:
                        continue
                    tok = last[i]
                    if lc.llama_vocab_is_eog(self._vocab, tok):
                        done[i] = True
                        logps[i].pop()  # the end token is not part of the answer
                        continue
                    texts[i] += self._piece(tok)
                    if stop and cut_at_stop(texts[i].decode("utf-8", "ignore"), stop)[1]:
                        done[i] = True
                if all(done) or _step == max_tokens - 1:
                    break
                if should_stop is not None and should_stop():
                    raise Cancelled()
                active = [i for i in range(width) if not done[i]]
                self._decode(
                    [last[i] for i in active], [pos] * len(active), [i + 1 for i in active], False
                )
                for j, i in enumerate(active):
                    last[i], lp = self._pick(self._logits(j), temperature, rng, gates, i)
                    logps[i].append(lp)
                pos += 1
        finally:
            for s in range(1, width + 1):
                lc.llama_memory_seq_rm(self._mem, s, -1, -1)
            for gate in gates:
                if gate is not None:
                    self.stats.grammar_masks += gate.full_masks
                    gate.close()
        samples = []
        for i in range(width):
            text, _ = cut_at_stop(texts[i].decode("utf-8", "replace"), stop)
            lps = logps[i] or [0.0]
            self.stats.generated_tokens += len(logps[i])
            samples.append(Sample(text, sum(lps) / len(lps), len(logps[i])))
        return samples

    def close(self) -> None:
        lc = self._lc
        if getattr(self, "_ctx", None):
            lc.llama_batch_free(self._batch)
            lc.llama_free(self._ctx)
            lc.llama_model_free(self._model)
            self._ctx = None

    def __del__(self) -> None:
        with contextlib.suppress(Exception):
            self.close()
