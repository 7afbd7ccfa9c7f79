"""`symgen lab compose`: the adapter around `symgen.lab.compose` (database, LLM, files, resume).

Files beside OUT: `OUT.tried.jsonl` lists every composition already decided (kept or why not),
so a rerun continues the same seeded sequence without asking the LLM twice; `OUT.run.json`
records what the run was made from, and a rerun from other pairs, another database or another
generator is refused rather than mixed in.
"""

from __future__ import annotations

import hashlib
import json
import random
from collections import Counter
from collections.abc import Callable, Sequence
from pathlib import Path

from symgen.config import QuestionGenConfig
from symgen.dataset import JsonlAppender, question_key, read_jsonl, read_pairs, read_resumable
from symgen.errors import SymgenError
from symgen.generate.identity import check_same_generator
from symgen.generators.base import Generator
from symgen.lab.compose import Composition, compositions, fuse_question, fusion_rejection
from symgen.progress import bar as progress_bar
from symgen.tasks.sql.context import SqlContext, build_context
from symgen.tasks.sql.programs import worth_asking
from symgen.tasks.sql.task import results_match


def _key(c: Composition) -> str:
    parts = [question_key(c.outer_question), question_key(c.inner_question), c.column]
    return json.dumps(parts if c.kind == "replace" else [*parts, c.kind])


def _sha(paths: Sequence[Path]) -> str:
    h = hashlib.sha256()
    for p in paths:
        h.update(p.read_bytes())
    return h.hexdigest()[:16]


def run_compose(
    *,
    db_path: str | Path,
    seeds_path: Path,
    pairs_paths: Sequence[Path],
    out_path: Path,
    open_gen: Callable[[], Generator],
    n_questions: int,
    seed: int = 0,
    progress: bool = True,
    max_rows: int = QuestionGenConfig.max_rows,
    kinds: Sequence[str] = ("replace",),
) -> Counter[str]:
    """Compose verified pairs until `out_path` holds `n_questions` fused ones; returns the
    outcome counts of this call (kept, or why a composition was refused)."""
    if n_questions < 1:
        raise SymgenError("--questions must be at least 1")
    for p in [seeds_path, *pairs_paths]:
        if not p.exists():
            raise SymgenError(f"{p}: no such file (verified pairs from `symgen generate`)")
    seeds = read_pairs(seeds_path)
    ctx = build_context(db_path, seeds)
    pairs = [(p.question, p.query) for p in seeds]
    for path in pairs_paths:
        pairs += [(r["question"], r["query"]) for r in read_jsonl(path, ("question", "query"))]
    pairs = list(dict.fromkeys(pairs))
    identity = {
        "db_sha": ctx.db.fingerprint(),
        "pairs_sha": _sha([seeds_path, *pairs_paths]),
        "seed": seed,
    }
    if tuple(kinds) != ("replace",):  # runs from before restrictions keep their identity
        identity["kinds"] = ",".join(kinds)
    run_path = out_path.with_name(out_path.stem + ".run.json")
    tried_path = out_path.with_name(out_path.stem + ".tried.jsonl")
    previous = json.loads(run_path.read_text()) if run_path.exists() else None
    if previous and previous.get("identity") != identity:
        raise SymgenError(
            f"{out_path} was composed from other pairs, another database or seed; use a new --out"
        )
    kept = read_resumable(out_path)
    tried = {r["key"] for r in read_resumable(tried_path)}
    outcome: Counter[str] = Counter()
    if len(kept) >= n_questions:
        return outcome
    cfg = QuestionGenConfig()
    generator = open_gen()
    try:
        check_same_generator(previous, generator.name, out_path)
    except SymgenError:
        generator.close()
        raise
    run_path.parent.mkdir(parents=True, exist_ok=True)
    run_path.write_text(json.dumps({"identity": identity, "generator": generator.name}, indent=2))
    seen_q = {question_key(q) for q, _ in pairs} | {question_key(r["question"]) for r in kept}
    seen_sql = {ctx.task.dedup_key(r["query"]) for r in kept}
    bar = progress_bar(
        total=n_questions, initial=len(kept), desc="compose", unit="q", disable=not progress
    )
    try:
        with JsonlAppender(out_path) as out, JsonlAppender(tried_path) as log:
            drawn = compositions(ctx.facts, pairs, random.Random(seed), kinds)
            for n, c in enumerate(drawn):
                if len(kept) >= n_questions:
                    break
                key = _key(c)
                if key in tried:
                    continue
                why = _refusal(ctx, c, seen_sql, max_rows)
                fused = ""
                if why is None:
                    fused = fuse_question(generator, c, seed * 100_003 + n)
                    why = fusion_rejection(fused, c, cfg.paraphrase_min_words, cfg.max_words)
                    if why is None and question_key(fused) in seen_q:
                        why = "question_duplicate"
                log.write({"key": key, "outcome": why or "kept"})
                tried.add(key)
                outcome.update([why or "kept"])
                if why is not None:
                    continue
                seen_q.add(question_key(fused))
                seen_sql.add(ctx.task.dedup_key(c.sql))
                record = {
                    "question": fused,
                    "query": c.sql,
                    "db": ctx.db.name,
                    "outer": c.outer_question,
                    "inner": c.inner_question,
                }
                if c.kind == "restrict":
                    record["restricted"] = c.column
                else:
                    record["replaced"] = f"{c.column}='{c.value}'"
                out.write(record)
                kept.append(record)
                bar.update()
                bar.set_postfix(tried=sum(outcome.values()))
    finally:
        bar.close()
        generator.close()
    return outcome


def _refusal(ctx: SqlContext, c: Composition, seen_sql: set[str], max_rows: int) -> str | None:
    """Why the composed SQL makes no new question: a copy, fails, answers nothing worth asking,
    or answers what the outer pair already did (the inner answer was the replaced value, or
    the restriction kept the whole table's extreme); a restriction to one row is no ranking."""
    if ctx.task.dedup_key(c.sql) in seen_sql:
        return "sql_duplicate"
    if c.kind == "restrict":
        among = ctx.db.execute(c.inner_sql)
        if among.rows is None or len({tuple(r) for r in among.rows}) < 2:
            return "restricted_to_one"
    run = ctx.db.execute(c.sql)
    if run.rows is None:
        return "runtime_error"
    if not worth_asking(run.rows, max_rows, repeats_ok=True):
        return "result_unasked"
    before = ctx.db.execute(c.outer_sql)
    if before.rows is not None and results_match(before.rows, run.rows, ordered=False):
        return "same_result"
    return None
