"""Torch-free inference for exported task models: onnxruntime + tokenizers + numpy.

Shared by `symgen complete`/`eval` and the editor server. Decoding uses the model's KV cache;
the schema part of the input is evaluated once per database and its cache reused for every
question. Beam search returns all finished beams, and `complete` takes the best one that passes
the schema check (parses, read-only, names only known tables and columns).

Longer than the other modules because `TaskModel` holds every decoding loop (greedy, drafted,
beam) over one onnxruntime session and its caches; the rules that pick among their beams are
`checks.py`, the model directory `manifest.py`.
"""

from __future__ import annotations

import threading
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from symgen.config import GROUNDING
from symgen.databases.base import transpile
from symgen.engine.checks import (
    Beam,
    Completion,
    best_valid,
    code_check,
    greedy_fallback,
    grounding_rescue,
    masked,
)
from symgen.engine.decoding import Decoder
from symgen.engine.drafting import Step, greedy_choice, mean_with_draft, speculative_greedy
from symgen.engine.grounding import LiteralGuard, all_of, grounded_in, literal_values
from symgen.engine.kv_cache import Past
from symgen.engine.manifest import (
    graph_file,
    load_manifest,
    load_tokenizer,
    reexport_hint,
)
from symgen.errors import MissingResource, SymgenError
from symgen.tasks.format import code_question, code_schema
from symgen.tasks.sql.model_input import DbKnowledge
from symgen.tasks.sql.schema_check import problem

# One onnxruntime thread unless asked: on these few-million-parameter models a second intra-op
# thread costs more in hand-over than it saves (`mini` on 2 cores: dev p50 8.6 ms with one,
# 14.5 ms with two); the editor server's default is the same.
DEFAULT_THREADS = 1


class Cancelled(Exception):
    """Raised between decoding steps when the caller's `should_stop` says so."""


@dataclass(frozen=True)
class Drafting:
    """An ensemble's greedy decoding in two graphs (`symgen.engine.drafting`)."""

    draft: Decoder  # member 0
    rest: Decoder  # the other members, merged, with `logits_from`
    combine: Callable[[np.ndarray, np.ndarray], np.ndarray]


def _log_softmax(x: np.ndarray) -> np.ndarray:
    x = x - x.max(axis=-1, keepdims=True)
    out: np.ndarray = x - np.log(np.exp(x).sum(axis=-1, keepdims=True))
    return out


class TaskModel:
    """One exported model; thread-safe (one decode at a time, prefix cache shared)."""

    def __init__(
        self,
        model_dir: str | Path,
        *,
        int8: bool | None = None,
        threads: int | None = None,
        draft: bool = True,
    ) -> None:
        self.dir = Path(model_dir)
        self.manifest = load_manifest(self.dir)
        m = self.manifest
        self.onnx_path = self.dir / graph_file(m, int8)
        if not self.onnx_path.is_file():
            raise MissingResource(f"{self.onnx_path} missing; {reexport_hint(self.dir)}")
        self.tok = load_tokenizer(self.dir / m["tokenizer"], self.dir)
        self.dialect: str = m.get("dialect") or "sqlite"  # what it writes; older models: SQLite
        self.eos = int(m["eos_id"])
        self.layers, self.kv_heads, self.head_dim = (
            m["num_layers"],
            m["num_kv_heads"],
            m["head_dim"],
        )
        threads = threads or DEFAULT_THREADS
        self.net = self._decoder(self.onnx_path, self.layers, threads)
        self.draft = self._draft(threads) if draft else None
        self._lock = threading.Lock()
        self._pool = ThreadPoolExecutor(max_workers=1, thread_name_prefix="symgen-ensemble")
        self._token_texts: list[str] | None = None

    @property
    def name(self) -> str:
        return str(self.manifest.get("name", self.dir.name))

    def _decoder(self, path: Path, layers: int, threads: int) -> Decoder:
        return Decoder(
            path, layers=layers, kv_heads=self.kv_heads, head_dim=self.head_dim, threads=threads
        )

    def _draft(self, threads: int) -> Drafting | None:
        """An ensemble's member 0 and its other members as separate graphs, to draft greedy
        answers and check them (`symgen.engine.drafting`); None for a single model, or an ensemble
        built before drafts (it decodes as before). `draft=False` decodes an ensemble's merged
        graph token by token: the same answers, for measuring."""
        spec = self.manifest.get("draft")
        if not spec:
            return None
        nets = []
        for file, layers in (
            (spec["onnx"], spec["num_layers"]),
            (spec["rest"], spec["rest_layers"]),
        ):
            path = self.dir / file
            if not path.is_file():
                raise MissingResource(
                    f"{path} missing; rebuild the ensemble with `symgen lab ensemble`"
                )
            nets.append(self._decoder(path, int(layers), threads))
        if not nets[1].all_positions:
            raise SymgenError(f"{nets[1].path} has no logits_from input; rebuild the ensemble")
        return Drafting(nets[0], nets[1], mean_with_draft(int(spec["members"])))

    # ---- one forward step ------------------------------------------------------------------
    def _run(self, ids: np.ndarray, past: Past) -> tuple[np.ndarray, Past]:
        return self.net.run(ids, past)

    def _empty_past(self, batch: int = 1) -> Past:
        return self.net.empty_past(batch)

    def _schema_ids(self, schema: str) -> Callable[[], list[int]]:
        return lambda: list(self.tok.encode(schema, add_special_tokens=False).ids)

    def _schema_past(self, schema: str) -> tuple[Past, np.ndarray]:
        """KV cache after the schema part (LRU over a few databases)."""
        return self.net.prefix(schema, self._schema_ids(schema))

    # ---- decoding ---------------------------------------------------------------------------
    def generate(
        self,
        schema: str,
        question: str,
        *,
        beams: int = 4,
        max_tokens: int = 160,
        should_stop: Callable[[], bool] | None = None,
        accept: Callable[[str], bool] | None = None,
        guard: LiteralGuard | None = None,
    ) -> list[Beam]:
        """Finished beams, best first (length-normalised log-probability).

        With `accept`, beam search returns as soon as a finished beam passes it: the editor
        needs one valid answer, not the full beam, and the tail of a beam search dominates p95.
        With `guard`, tokens it rules out (a quoted value the question does not contain) are
        never chosen.
        """
        with self._lock:
            q_ids = self.tok.encode(question, add_special_tokens=False).ids
            if beams <= 1 and self.draft is not None and len(q_ids) > 1:
                return [self._drafted(schema, q_ids, max_tokens, should_stop, guard)]
            past, _ = self._schema_past(schema)
            logits, past = self._run(np.array([q_ids], dtype=np.int64), past)
            if beams <= 1:
                return [self._greedy(logits, past, max_tokens, should_stop, guard)]
            return self._beam_search(logits, past, beams, max_tokens, should_stop, accept, guard)

    def logprob(self, schema: str, question: str, target: str) -> float:
        """log p(target + end | schema, question), teacher-forced: how much the model believes an
        output someone else proposed (a reranker's score). One step per token, since the lean
        graph returns the last position's logits only."""
        ids = [*self.tok.encode(target, add_special_tokens=False).ids, self.eos]
        with self._lock:
            past, _ = self._schema_past(schema)
            q_ids = self.tok.encode(question, add_special_tokens=False).ids
            logits, past = self._run(np.array([q_ids], dtype=np.int64), past)
            total = 0.0
            for i, token in enumerate(ids):
                total += float(_log_softmax(logits[0].astype(np.float64))[token])
                if i + 1 < len(ids):
                    logits, past = self._run(np.array([[token]], dtype=np.int64), past)
        return total

    def token_texts(self) -> list[str]:
        """Each vocabulary entry decoded alone (for `LiteralGuard`), computed once."""
        if self._token_texts is None:
            size = self.tok.get_vocab_size()
            self._token_texts = [self.tok.decode([i]) for i in range(size)]
        return self._token_texts

    def literal_guard(self, values: frozenset[str]) -> LiteralGuard:
        return LiteralGuard(values, self.token_texts(), eos=self.eos)

    def _greedy(
        self,
        logits: np.ndarray,
        past: Past,
        max_tokens: int,
        should_stop: Callable[[], bool] | None,
        guard: LiteralGuard | None = None,
    ) -> Beam:
        """Argmax decoding without beam bookkeeping (no cache reordering, no full softmax)."""
        tokens: list[int] = []
        logprob = 0.0
        text = ""
        for _ in range(max_tokens):
            if should_stop and should_stop():
                raise Cancelled
            row = logits[0] if guard is None else masked(logits[0], guard.mask(text))
            token, lp = greedy_choice(row)
            logprob += lp
            if token == self.eos:
                break
            tokens.append(token)
            if guard is not None:
                text += self.token_texts()[token] if token < len(self.token_texts()) else ""
            logits, past = self._run(np.array([[token]], dtype=np.int64), past)
        return Beam(self.tok.decode(tokens).strip(), logprob, len(tokens) + 1)

    def _drafted(
        self,
        schema: str,
        q_ids: list[int],
        max_tokens: int,
        should_stop: Callable[[], bool] | None,
        guard: LiteralGuard | None,
    ) -> Beam:
        """`_greedy`'s answer, drafted by member 0 and checked by the other members several
        tokens per call (`symgen.engine.drafting`)."""
        assert self.draft is not None
        draft_net, rest = self.draft.draft, self.draft.rest
        mask = None
        if guard is not None:
            texts = self.token_texts()

            def mask(row: np.ndarray, tokens: list[int]) -> np.ndarray:
                text = "".join(texts[t] for t in tokens if t < len(texts))
                return masked(row, guard.mask(text))

        def check_stop() -> None:
            if should_stop and should_stop():
                raise Cancelled

        # the other members read the schema and question (but its last token) on the other core
        head, pending = q_ids[:-1], list(q_ids[-1:])

        def read_head() -> Past:
            r_past, _ = rest.prefix(schema, self._schema_ids(schema))
            return rest.run(np.array([head], dtype=np.int64), r_past)[1]

        ahead = self._pool.submit(read_head)
        try:
            d_past, _ = draft_net.prefix(schema, self._schema_ids(schema))
            d_logits, d_past = draft_net.run(np.array([q_ids], dtype=np.int64), d_past)
            tokens, logprob, _ = speculative_greedy(
                _positions(rest),
                ahead.result,
                pending,
                _positions(draft_net),
                d_past,
                d_logits[0],
                eos=self.eos,
                max_tokens=max_tokens,
                mask=mask,
                check_stop=check_stop,
                combine=self.draft.combine,
            )
        finally:
            ahead.result()  # never leave the other members' session running after we return
        return Beam(self.tok.decode(tokens).strip(), logprob, len(tokens) + 1)

    def _beam_search(
        self,
        logits: np.ndarray,
        past: Past,
        k: int,
        max_tokens: int,
        should_stop: Callable[[], bool] | None,
        accept: Callable[[str], bool] | None = None,
        guard: LiteralGuard | None = None,
    ) -> list[Beam]:
        seqs: list[list[int]] = [[]]
        scores = np.zeros(1, dtype=np.float64)
        finished: list[tuple[list[int], float]] = []
        texts = self.token_texts() if guard is not None else []
        for _ in range(max_tokens):
            if should_stop and should_stop():
                raise Cancelled
            if guard is not None:
                logits = np.stack(
                    [
                        masked(row, guard.mask("".join(texts[t] for t in seq if t < len(texts))))
                        for row, seq in zip(logits, seqs, strict=True)
                    ]
                )
            lp = _log_softmax(logits.astype(np.float64))
            total = scores[:, None] + lp
            flat = total.ravel()
            top = np.argpartition(-flat, min(2 * k, flat.size - 1))[: 2 * k]
            top = top[np.argsort(-flat[top])]
            vocab = lp.shape[1]
            keep_rows, keep_tokens, keep_scores = [], [], []
            for idx in top:
                if not np.isfinite(flat[idx]):
                    break  # the guard ruled the rest out
                row, token = divmod(int(idx), vocab)
                if token == self.eos:
                    finished.append((seqs[row], float(flat[idx])))
                    if accept is not None and accept(self.tok.decode(seqs[row]).strip()):
                        return self._beams(finished[-1:] + finished[:-1], k, sort=False)
                else:
                    keep_rows.append(row)
                    keep_tokens.append(token)
                    keep_scores.append(float(flat[idx]))
                if len(keep_rows) == k:
                    break
            if len(finished) >= k or not keep_rows:
                break
            seqs = [seqs[r] + [t] for r, t in zip(keep_rows, keep_tokens, strict=True)]
            scores = np.array(keep_scores)
            rows = np.array(keep_rows)
            if not np.array_equal(rows, np.arange(len(rows))):
                past = [p[rows] for p in past]  # reorder (first step: fan out) the cache
            logits, past = self._run(np.array(keep_tokens, dtype=np.int64)[:, None], past)
        if not finished:  # ran out of tokens: return the unfinished beams
            finished = [(s, float(v)) for s, v in zip(seqs, scores, strict=True)]
        return self._beams(finished, k)

    def _beams(
        self, finished: list[tuple[list[int], float]], k: int, *, sort: bool = True
    ) -> list[Beam]:
        out = [Beam(self.tok.decode(t).strip(), s, len(t) + 1) for t, s in finished]
        if sort:
            out.sort(key=lambda b: -b.score)
        return out[:k]

    def complete(
        self,
        db: DbKnowledge,
        question: str,
        *,
        beams: int = 4,
        max_tokens: int = 160,
        should_stop: Callable[[], bool] | None = None,
        first_valid: bool = False,
        prefer: Callable[[str], bool] | None = None,
        ground_literals: str = "prefer",
    ) -> Completion:
        """SQL for `question` on `db`: the best beam that passes the schema check.

        The model writes its training dialect; for a database of another dialect (a SQLite-trained
        model on PostgreSQL) each beam is transpiled by sqlglot before the check. `first_valid`
        stops the beam search at the first finished beam that passes (lower latency for the
        editor; the full search ranks every finished beam). `prefer` (e.g. `ReturnsRows`) picks,
        among valid beams, the first it accepts, else still the first valid one.
        `ground_literals` (`symgen.engine.grounding`): "prefer" adds to `prefer` that the quoted values
        occur in the question; "constrain" also masks decoding so a quoted value can only be a
        database value the question names (else a run of its words); "off" neither.
        """
        if ground_literals not in GROUNDING:
            raise SymgenError(f"ground_literals: {ground_literals!r}; use {', '.join(GROUNDING)}")
        if ground_literals != "off":
            prefer = all_of(grounded_in(question), prefer)
        guard = None
        if ground_literals == "constrain":
            named = [value for _, _, value in db.values.match(question)]
            guard = self.literal_guard(literal_values(question, named))
        return self._checked(
            db.schema_for(question),
            db.question(question),
            lambda text: problem(text, db.columns, db.dialect),
            beams=beams,
            max_tokens=max_tokens,
            should_stop=should_stop,
            first_valid=first_valid,
            render=lambda text: self._to_dialect(text, db.dialect),
            prefer=prefer,
            guard=guard,
        )

    def _checked(
        self,
        schema: str,
        question: str,
        check: Callable[[str], str | None],
        *,
        beams: int,
        max_tokens: int,
        should_stop: Callable[[], bool] | None,
        first_valid: bool,
        render: Callable[[str], str] = lambda text: text,
        prefer: Callable[[str], bool] | None = None,
        guard: LiteralGuard | None = None,
    ) -> Completion:
        """Decode, then the best beam whose rendered text passes `check` (and `prefer`)."""

        def accept(text: str) -> bool:
            rendered = render(text)
            return check(rendered) is None and (prefer is None or prefer(rendered))

        found = self.generate(
            schema,
            question,
            beams=beams,
            max_tokens=max_tokens,
            should_stop=should_stop,
            accept=accept if first_valid else None,
            guard=guard,
        )
        return best_valid(found, check, render, prefer)

    def suggest(
        self,
        db: DbKnowledge,
        question: str,
        *,
        beams: int = 4,
        max_tokens: int = 160,
        should_stop: Callable[[], bool] | None = None,
        decode: str = "greedy-fallback",
        prefer: Callable[[str], bool] | None = None,
        ground_literals: str = "prefer",
    ) -> Completion:
        """What the editor serves: greedy, and a beam search (to its first valid beam) only when
        greedy fails the schema check or `prefer` (execution guidance). `decode="beam"` runs
        the full beam search instead.

        GeoQuery dev, 600-human-pair model: greedy-fallback 51.4% exec at p50 15 / p95 57 ms;
        full beam of 4: 48.6% at 37 / 90 ms. With `ground_literals="prefer"`, an answer that
        quotes values the question does not contain is decoded once more constrained
        (`grounding_rescue`).
        """

        def run(grounding: str) -> Completion:
            return greedy_fallback(
                lambda k, first: self.complete(
                    db,
                    question,
                    beams=k,
                    max_tokens=max_tokens,
                    should_stop=should_stop,
                    first_valid=first,
                    prefer=prefer,
                    ground_literals=grounding,
                ),
                beams,
                decode,
            )

        return grounding_rescue(run, ground_literals)

    @property
    def task(self) -> str:
        return str(self.manifest.get("task", "sql"))

    def complete_code(
        self,
        request: str,
        *,
        beams: int = 4,
        max_tokens: int = 256,
        should_stop: Callable[[], bool] | None = None,
        first_valid: bool = False,
    ) -> Completion:
        """Code for a comment's `request` (bash/python models): the best beam that passes the
        task's static check (parses; for Bash also no destructive pattern). A `placeholders`
        model gets the request's values as placeholders and they are put back in each beam."""
        from symgen.tasks.bash import literals as bash_literals

        task = self.task
        check = code_check(task)
        masked = bash_literals.mask(request) if self.manifest.get("placeholders") else None
        return self._checked(
            code_schema(task),
            code_question(task, masked.request if masked else request),
            lambda text: (masked and bash_literals.problem(text)) or check(text),
            beams=beams,
            max_tokens=max_tokens,
            should_stop=should_stop,
            first_valid=first_valid,
            render=lambda text: bash_literals.unmask(text, masked) if masked else text,
        )

    def suggest_code(
        self,
        request: str,
        *,
        beams: int = 4,
        max_tokens: int = 256,
        should_stop: Callable[[], bool] | None = None,
        decode: str = "greedy-fallback",
    ) -> Completion:
        """`suggest`'s decoding policy for code models."""
        return greedy_fallback(
            lambda k, first: self.complete_code(
                request, beams=k, max_tokens=max_tokens, should_stop=should_stop, first_valid=first
            ),
            beams,
            decode,
        )

    def _to_dialect(self, sql: str, dialect: str) -> str:
        if dialect == self.dialect:
            return sql
        return transpile(sql, self.dialect, dialect) or sql


def _positions(net: Decoder) -> Step:
    """`net` as `symgen.engine.drafting` calls it: one row of token ids in, [n, vocab] out."""

    def run(ids: list[int], cache: Past, n: int) -> tuple[np.ndarray, Past]:
        rows, present = net.run_positions(np.array([ids], dtype=np.int64), cache, n)
        return rows[0], present

    return run
