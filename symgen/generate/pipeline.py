"""`symgen generate`: seeds → informative prompt → LLM questions and answers → verifier → JSONL.

Resumable by construction. Next to OUT.jsonl live
  OUT.questions.jsonl  every generated question (gen-q), appended as produced
  OUT.rejected.jsonl   questions the verifier turned down, with the reason
  OUT.run.json         the run's identity (DB, seeds, generator, prompt hash) and its stats
A rerun with the same OUT reuses the questions and skips every question already in OUT or
OUT.rejected, so nothing is generated twice; an interrupt loses at most the question in flight.
"""

from __future__ import annotations

import hashlib
import json
import random
import sys
import time
from collections import Counter
from collections.abc import Callable, Sequence
from dataclasses import asdict, dataclass, field
from functools import cached_property
from pathlib import Path
from typing import Any, Protocol

from symgen.config import AnswerGenConfig, QuestionGenConfig, VerifyConfig
from symgen.databases.base import (
    DIALECT_NAMES,
    Database,
    Table,
    open_database,
    public_spec,
    transpile,
)
from symgen.dataset import JsonlAppender, Pair, question_key, read_jsonl, read_pairs, read_resumable
from symgen.errors import SymgenError
from symgen.generate.sources.llm import acceptable, clean_question, generate_questions
from symgen.generate.sources.paraphrases import paraphrase_questions
from symgen.generators.base import Generator, Scorer
from symgen.progress import bar as progress_bar
from symgen.tasks import code as codetask
from symgen.tasks.bash.history import read_history, undescribed
from symgen.tasks.sql import task as sqltask
from symgen.tasks.sql.knowledge import ValueIndex, hint_line, relevant_tables, schema_ddl, sql_name
from symgen.tasks.sql.number_grounding import conventions, unstated_numbers
from symgen.tasks.sql.programs import (
    REPEATING_TEMPLATES,
    SchemaFacts,
    sample_programs,
    schema_facts,
    worth_asking,
)
from symgen.tasks.sql.prompt import (
    Demo,
    answer_prefix_text,
    answer_prompt,
    describe_prompt,
    question_prompt,
    result_line,
)
from symgen.verify import (
    Candidate,
    MinVotes,
    PromptedVote,
    Verdict,
    reviewed_verdict,
)

# Characters of CREATE TABLE + example rows the LLM prompt may spend on the schema (~2k tokens of
# the 4k context). Bigger schemas show, per question, the tables it most likely needs.
PROMPT_SCHEMA_BUDGET = 6000


@dataclass
class SqlContext(PromptedVote):
    """Everything about one database the prompts and the verifier need, built once."""

    db: Database
    task: sqltask.SqlTask
    schema: str  # the schema part shared by every prompt (all tables, or the seeds' when too big)
    values: ValueIndex
    demos: list[Demo]
    skipped_seeds: list[tuple[Pair, str]]
    answer_cfg: AnswerGenConfig
    tables: tuple[Table, ...] = ()
    notes: list[str] = field(default_factory=list)  # seeds transpiled, tables left out, ...
    min_pmi: float | None = None  # set: gen-q answers go through the reviewer (VerifyConfig)

    @property
    def dialect(self) -> str:
        return self.db.dialect

    @cached_property
    def fits(self) -> bool:
        """Does the whole schema fit the prompt budget? (Then every prompt shares it.)"""
        return len(self.render(self.tables)) <= PROMPT_SCHEMA_BUDGET

    def render(self, tables: Sequence[Table]) -> str:
        return schema_ddl(tables, self.answer_cfg.rows_per_table, self.dialect)

    def schema_for(self, question: str) -> str:
        """The whole schema when it fits the budget, else the tables relevant to `question`."""
        if self.fits:
            return self.schema
        picked = relevant_tables(
            self.tables,
            question,
            PROMPT_SCHEMA_BUDGET,
            lambda t: len(self.render([t])) + 2,
            self.values.match(question),
        )
        return self.render(picked)

    def hints(self, question: str) -> str:
        return (
            hint_line(self.values.match(question), question) if self.answer_cfg.value_hints else ""
        )

    def prompt(self, question: str) -> str:
        return answer_prompt(
            self.schema_for(question),
            self.demos,
            question,
            self.hints(question),
            dialect=self.dialect,
        )

    @property
    def prompt_hash(self) -> str:
        text = answer_prefix_text(self.schema, self.demos, self.dialect)
        return hashlib.sha256(text.encode()).hexdigest()[:16]

    @property
    def knowledge(self) -> str:
        return self.schema

    def question_prompt(self, shots: Sequence[str], focus: str | None = None) -> str:
        if focus is not None:
            raise SymgenError("a gen-q focus is for --task bash")
        return question_prompt(self.schema, shots)

    def record(self, question: str, verdict: Verdict) -> dict[str, Any]:
        return {"question": question, "query": verdict.program, "db": self.db.name}

    @cached_property
    def facts(self) -> SchemaFacts:
        """The schema as program-first gen-q's grammar sees it (numbers sampled read-only)."""
        numbers: dict[tuple[str, str], list[float]] = {}
        grouping = []
        for t in self.tables:
            table = sql_name(t.name, self.dialect)
            for c in t.columns:
                col = f"{table}.{sql_name(c.name, self.dialect)}"
                run = self.db.execute(
                    f"SELECT {col} FROM {table} WHERE {col} IS NOT NULL LIMIT 2000"
                )
                rows = run.rows or ()
                if len({r[0] for r in rows}) < len(rows):
                    grouping.append((t.name, c.name))
                try:
                    numbers[(t.name, c.name)] = [float(r[0]) for r in rows]
                except (TypeError, ValueError):
                    continue
        return schema_facts(
            self.tables, self.db.text_values(), numbers, self.dialect, grouping=grouping
        )

    def describe_prompt(self, program: str, rows: Sequence[Sequence[object]] | None = None) -> str:
        """Without `rows` (the reviewer's read-back), SQL then question; with the program's
        result rows, every SQL shows what it returns (QuestionGenConfig.describe_results)."""
        if rows is None:
            return describe_prompt(self.schema, self.demos, program)
        return describe_prompt(
            self.schema, self.demos, program, self.demo_results, result_line(rows)
        )

    @cached_property
    def conventions(self) -> frozenset[tuple[str, float]]:
        """The numbers the seeds compare with without saying them ("major" cities)."""
        return conventions((d.question, d.query) for d in self.demos)

    def unstated(self, question: str, sql: str) -> list[str]:
        """Why an agreed pair is still refused: the comparisons of its SQL with a number the
        question never states (`symgen.tasks.sql.number_grounding`)."""
        return unstated_numbers(sql, question, self.conventions)

    @cached_property
    def demo_results(self) -> list[str]:
        """What each demonstration's SQL returns on this database, for the describe prompt."""
        return [result_line(self.db.execute(d.query).rows or ()) for d in self.demos]

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
        """gen-a for one question, then the vote, or the reviewed vote when `min_pmi` is set."""
        if self.min_pmi is None:
            return super().answer(
                generator,
                question,
                samples=samples,
                temperature=temperature,
                min_votes=min_votes,
                seed=seed,
            )
        scorer = self.reviewer(generator)
        cands = self.candidates(
            generator, question, samples=samples, temperature=temperature, seed=seed
        )
        asked = [" " + " ".join(question.split())]

        def review(programs: Sequence[str]) -> list[float]:
            return [scorer.score(self.describe_prompt(p), asked)[0] for p in programs]

        def baseline() -> float:
            return scorer.score(self.describe_prompt(""), asked)[0]

        verdict = reviewed_verdict(self.task, cands, min_votes, review, baseline, self.min_pmi)
        return verdict, cands

    def reviewer(self, generator: Generator) -> Scorer:
        """The generator as the reviewer, checked when the job starts (before gen-q) rather than
        at the first answer."""
        if not isinstance(generator, Scorer):
            raise SymgenError(
                f"the reviewer reads programs back with the generator, and {generator.name} "
                "cannot score text; use a llama.cpp generator or drop --reviewer"
            )
        return generator


class GenContext(Protocol):
    """What `run_generate` needs from a language: SQL's `SqlContext`, code's `CodeContext`."""

    @property
    def prompt_hash(self) -> str: ...

    @property
    def knowledge(self) -> str: ...

    def question_prompt(self, shots: Sequence[str], focus: str | None = None) -> str: ...

    def record(self, question: str, verdict: Verdict) -> dict[str, Any]: ...

    def answer(
        self,
        generator: Generator,
        question: str,
        *,
        samples: int,
        temperature: float,
        min_votes: MinVotes,
        seed: int | None = None,
    ) -> tuple[Verdict, list[Candidate]]: ...

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
    ) -> tuple[Verdict, list[Candidate]]: ...


def check_seeds(
    db: Database, seeds: Sequence[Pair], seed_dialect: str | None = None
) -> tuple[list[Pair], list[tuple[Pair, str]], list[str]]:
    """Seeds whose SQL runs read-only on `db`, those that fail (with why), and notices.

    Seeds are taken as written in `seed_dialect` and transpiled (sqlglot) to the database's.
    With `seed_dialect=None` a seed that runs as written is kept as is; one that does not is
    retried transpiled from SQLite (GeoQuery-style seeds on PostgreSQL/DuckDB), and each
    rewrite is reported in the notices.
    """
    good: list[Pair] = []
    bad: list[tuple[Pair, str]] = []
    notes: list[str] = []
    target = db.dialect
    for pair in seeds:
        attempts: list[tuple[str, str | None]] = []
        if seed_dialect in (None, target):
            attempts.append((pair.query, None))
        if seed_dialect != target and (seed_dialect or "sqlite") != target:
            source = seed_dialect or "sqlite"
            rewritten = transpile(pair.query, source, target)
            if rewritten is not None and rewritten != pair.query:
                attempts.append((rewritten, source))
        reason: str | None = "syntax"
        for query, origin in attempts:
            reason = sqltask.static_check(query, target) or db.execute(query).error
            if reason is None:
                if origin is not None:
                    notes.append(
                        f"seed {pair.id} transpiled from {DIALECT_NAMES.get(origin, origin)} to "
                        f"{DIALECT_NAMES.get(target, target)}: {query}"
                    )
                    pair = Pair(pair.question, query, pair.id)
                good.append(pair)
                break
        else:
            bad.append((pair, reason or "error"))
    return good, bad, notes


def build_context(
    db_spec: str | Path,
    seeds: Sequence[Pair],
    answer_cfg: AnswerGenConfig | None = None,
    verify_cfg: VerifyConfig | None = None,
    seed_dialect: str | None = None,
) -> SqlContext:
    answer_cfg = answer_cfg or AnswerGenConfig()
    verify_cfg = verify_cfg or VerifyConfig()
    db = open_database(db_spec, timeout_s=verify_cfg.timeout_s, row_cap=verify_cfg.row_cap)
    good, bad, notes = check_seeds(db, seeds, seed_dialect)
    if not good:
        raise SymgenError(
            f"none of the {len(seeds)} seeds runs on {public_spec(db.spec)}: "
            + "; ".join(f"{p.id}: {why}" for p, why in bad[:5])
        )
    tables = db.tables(answer_cfg.rows_per_table)
    values = ValueIndex.build(db.text_values())
    ctx = SqlContext(
        db,
        sqltask.SqlTask(db, allow_empty=verify_cfg.allow_empty),
        "",
        values,
        [],
        bad,
        answer_cfg,
        tables,
        [*db.warnings, *notes],
        verify_cfg.min_pmi if verify_cfg.reviewer else None,
    )
    if ctx.fits:
        ctx.schema = ctx.render(tables)
    else:
        # gen-q has no question yet: show the tables the seeds are about
        about = " ".join(f"{p.question} {p.query}" for p in good)
        ctx.schema = ctx.schema_for(about)
        ctx.notes.append(
            f"schema of {len(tables)} tables exceeds the prompt budget ({PROMPT_SCHEMA_BUDGET} "
            "characters): each prompt shows the tables relevant to its question"
        )
    ctx.demos = [Demo(p.question, p.query, ctx.hints(p.question)) for p in good]
    return ctx


def answer(
    generator: Generator,
    ctx: SqlContext,
    question: str,
    *,
    samples: int,
    temperature: float,
    min_votes: MinVotes,
    seed: int | None = None,
) -> tuple[Verdict, list[Candidate]]:
    """gen-a for one question, then the verifier's vote."""
    return ctx.answer(
        generator,
        question,
        samples=samples,
        temperature=temperature,
        min_votes=min_votes,
        seed=seed,
    )


@dataclass
class RunStats:
    questions_generated: int = 0
    questions_answered: int = 0
    kept: int = 0
    rejected: int = 0
    failures: Counter[str] = field(default_factory=Counter)  # garbage output, by class
    seconds: float = 0.0
    left_for_later: int = 0  # questions a time budget left unanswered (a rerun answers them)

    def as_dict(self) -> dict[str, Any]:
        d = asdict(self)
        d["failures"] = dict(self.failures)
        return d


def _fingerprint(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()[:16]


def _db_identity(spec: str | Path) -> str:
    """The database as recorded in a run's identity (absolute path, or URL without password)."""
    text = str(spec)
    return public_spec(text) if "://" in text else str(Path(text).resolve())


# A run made before a setting entered the identity (it was the default then) resumes when the
# flag restores that default; the refusal says which flag.
OLD_DEFAULT_HINTS = {
    "describe_results": " (programs described before --describe-results existed: resume with "
    "--describe-results off)",
    "expected_outputs": " (made with the vote alone, the python default before 2026-12-04: "
    "resume with --expected-outputs 0)",
}


def changed_identity(before: dict[str, str], now: dict[str, str]) -> list[str]:
    """The identity keys a resumed run differs in. The DB's location is not one of them when its
    content hash agrees: data generated on one machine resumes on another (benchmarks/generated/
    is tracked in git), while a different DB at the same path is still refused."""
    keys = dict.fromkeys([*now, *before])
    changed = [k for k in keys if before.get(k) != now.get(k)]
    if "db_sha" in now and "db_sha" not in changed:
        changed = [k for k in changed if k != "db"]
    return changed


def run_generate(
    *,
    db_path: str | Path | None,
    seeds_path: Path,
    out_path: Path,
    open_gen: Callable[[], Generator],
    n_questions: int,
    qcfg: QuestionGenConfig,
    acfg: AnswerGenConfig,
    vcfg: VerifyConfig,
    seed: int = 0,
    progress: bool = True,
    log: Callable[[str], None] = lambda m: print(m, file=sys.stderr),
    seed_dialect: str | None = None,
    task: str = "sql",
    max_minutes: float | None = None,
    paraphrase_from: Path | None = None,
    history_from: Path | None = None,
) -> RunStats:
    """The whole `symgen generate` job; see the module docstring for files and resume.

    `task` is `sql` (needs `db_path`) or a code language of `symgen.tasks.code.LANGUAGES`.
    `max_minutes` bounds this call's wall time: no new question is answered after it (at least
    one is, so every run makes progress) and the rest are left for a rerun, which resumes.
    `paraphrase_from` holds the verified pairs that `qcfg.source == "paraphrases"` rewrites;
    `history_from` the shell history whose commands `qcfg.source == "history"` describes."""
    min_votes = MinVotes.parse(vcfg.min_votes)
    ctx: GenContext
    if task == "sql":
        if db_path is None:
            raise SymgenError("--task sql needs --db")
        sql_seeds = read_pairs(seeds_path)  # validates before anything is written
        sql_ctx = build_context(db_path, sql_seeds, acfg, vcfg, seed_dialect)
        for note in sql_ctx.notes:
            log(f"note: {note}")
        for pair, why in sql_ctx.skipped_seeds:
            log(f"warning: seed {pair.id} skipped, its SQL fails on {sql_ctx.db.name}: {why}")
        seed_questions = [p.question for p in sql_seeds]
        seed_ids = [p.id for p in sql_seeds if all(p.id != b.id for b, _ in sql_ctx.skipped_seeds)]
        identity = {
            "db": _db_identity(db_path),
            "db_sha": sql_ctx.db.fingerprint(),
            "seeds_sha": _fingerprint(seeds_path),
            "prompt_hash": sql_ctx.prompt_hash,
        }
        if qcfg.source in ("programs", "paraphrases"):
            identity["questions_from"] = qcfg.source
        if qcfg.source == "programs" and qcfg.describe_results:
            # absent = described without results (data generated before the option existed)
            identity["describe_results"] = "on"
        sources: list[tuple[str, str]] = []
        if qcfg.source == "paraphrases":
            if paraphrase_from is None:
                raise SymgenError(
                    "--questions-from paraphrases needs --paraphrase (verified pairs)"
                )
            sources = [
                (r["question"], r["query"])
                for r in read_jsonl(paraphrase_from, required=("question", "query"))
            ]
        if sql_ctx.min_pmi is not None:
            identity["reviewer_min_pmi"] = str(sql_ctx.min_pmi)
        ctx = sql_ctx
    else:
        history_first = qcfg.source == "history"
        if qcfg.source not in ("llm", "history") or (history_first and task != "bash"):
            raise SymgenError(
                f"--questions-from {qcfg.source} is for --task "
                + ("bash" if history_first else "sql")
                + " only"
            )
        code_seeds = codetask.read_code_seeds(seeds_path)
        code_ctx = codetask.build_context(task, code_seeds, acfg, vcfg)
        for cseed, why in code_ctx.skipped_seeds:
            log(f"warning: seed {cseed.id} skipped: {why}")
        seed_questions = [s.question for s in code_seeds]
        seed_ids = [s.id for s in code_ctx.demos]
        identity = {"seeds_sha": _fingerprint(seeds_path), **code_ctx.identity()}
        if history_first:
            # the history file itself grows as the user works: a rerun describes its new commands
            identity["questions_from"] = "history"
            if history_from is None:
                raise SymgenError("--questions-from history needs --history FILE")
            history = read_history(history_from)
            log(
                f"{history_from}: {len(history.commands)} commands to describe"
                + (f" (left out: {dict(history.skipped)})" if history.skipped else "")
            )
        ctx = code_ctx
    out_path.parent.mkdir(parents=True, exist_ok=True)
    q_path = out_path.with_name(out_path.stem + ".questions.jsonl")
    rej_path = out_path.with_name(out_path.stem + ".rejected.jsonl")
    run_path = out_path.with_name(out_path.stem + ".run.json")
    previous = json.loads(run_path.read_text()) if run_path.exists() else None
    if previous and (changed := changed_identity(previous.get("identity", {}), identity)):
        hint = (
            OLD_DEFAULT_HINTS.get(changed[0], "")
            if len(changed) == 1 and changed[0] not in previous.get("identity", {})
            else ""
        )
        raise SymgenError(
            f"{out_path} belongs to a run with a different {', '.join(changed)}{hint}; "
            "use a new --out (or delete the old files) instead of mixing data"
        )
    q_records = read_resumable(q_path)
    questions = [r["question"] for r in q_records]
    programs = {question_key(r["question"]): r["program"] for r in q_records if r.get("program")}
    done = {question_key(r["question"]) for r in read_resumable(out_path)}
    done |= {question_key(r["question"]) for r in read_resumable(rej_path)}
    stats = RunStats()
    if previous:
        before = previous.get("stats", {})
        stats.kept, stats.rejected = before.get("kept", 0), before.get("rejected", 0)
        stats.seconds = before.get("seconds", 0.0)
        log(f"resuming {out_path}: {len(questions)} questions, {len(done)} already answered")
    started = time.monotonic()
    deadline = None if max_minutes is None else started + 60 * max_minutes
    generator: Generator | None = None

    def save_run() -> None:
        stats.seconds = round(stats.seconds + time.monotonic() - started, 1)
        run_path.write_text(
            json.dumps(
                {
                    "identity": identity,
                    "generator": generator.name if generator else (previous or {}).get("generator"),
                    "config": {
                        "questions": asdict(qcfg),
                        "answers": asdict(acfg),
                        "verify": asdict(vcfg),
                    },
                    "seed_ids": seed_ids,
                    "stats": stats.as_dict(),
                },
                indent=2,
            )
        )

    try:
        missing = n_questions - len(questions)
        # --questions N means the first N questions: a smaller rerun does not answer the rest
        pending = [q for q in questions[:n_questions] if question_key(q) not in done]
        if missing <= 0 and not pending:
            log(f"nothing to do: {out_path} is complete for {n_questions} questions")
            # run.json keeps describing the run that made the data, not today's defaults
            return stats
        generator = open_gen()
        check_same_generator(previous, generator.name, out_path)
        if isinstance(ctx, SqlContext) and ctx.min_pmi is not None:
            ctx.reviewer(generator)
        if missing > 0:
            if qcfg.source == "paraphrases":
                new = _paraphrase_stage(
                    generator, seed_questions, sources, questions, programs, q_records,
                    n_questions, q_path, qcfg, seed, stats, progress,
                )  # fmt: skip
            elif qcfg.source == "history":
                new = _history_stage(
                    generator, code_ctx, history.commands, questions, programs, n_questions,
                    q_path, qcfg, seed, stats, progress,
                )  # fmt: skip
            elif qcfg.source == "programs":
                new = _program_stage(
                    generator, sql_ctx, questions, programs, n_questions, q_path, qcfg, seed,
                    stats, progress,
                )  # fmt: skip
            else:
                new = _question_stage(
                    generator, ctx, seed_questions, questions, n_questions, q_path, qcfg,
                    seed, stats, progress,
                )  # fmt: skip
            pending += new
            if len(questions) < n_questions:
                log(f"warning: only {len(questions)} distinct questions after the gen-q budget")
        _answer_stage(
            generator,
            ctx,
            pending,
            programs,
            out_path,
            rej_path,
            acfg,
            min_votes,
            seed,
            seed_ids,
            stats,
            progress,
            deadline,
        )
        if stats.left_for_later:
            log(
                f"time budget of {max_minutes:g} min reached: {stats.left_for_later} of "
                f"{n_questions} questions left unanswered; rerun to answer them"
            )
    except KeyboardInterrupt:
        log(f"interrupted: {stats.kept} verified pairs so far are in {out_path}; rerun to resume")
        save_run()
        raise
    finally:
        if generator is not None:
            generator.close()
    save_run()
    return stats


def check_same_generator(previous: dict[str, Any] | None, name: str, out_path: Path) -> None:
    """A resumed run answers with the LLM that began it: the run's identity covers the DB, seeds
    and prompt but a generator is only known once loaded, and pairs from two LLMs in one file
    would make the file's run.json, and any benchmark row trained on it, name the wrong one."""
    before = (previous or {}).get("generator")
    if before and before != name:
        raise SymgenError(
            f"{out_path} was generated by {before}, not {name}; resume it with --generator "
            f"{before}, or use a new --out for {name}'s data"
        )


class _NewQuestions:
    """Where a gen-q stage puts each new question: appended to `q_path` (flushed, so a rerun
    finds it), to the run's `questions` and `programs`, counted, and shown on a progress bar."""

    def __init__(
        self,
        q_path: Path,
        questions: list[str],
        programs: dict[str, str],
        n_questions: int,
        stats: RunStats,
        desc: str,
        progress: bool,
    ) -> None:
        self.questions, self.programs, self.stats = questions, programs, stats
        self.n_questions = n_questions
        self.new: list[str] = []
        self._out = JsonlAppender(q_path)
        self._bar = progress_bar(
            total=n_questions, initial=len(questions), desc=desc, unit="q", disable=not progress
        )

    def full(self) -> bool:
        return len(self.questions) >= self.n_questions

    def add(self, question: str, **extra: str) -> None:
        """`extra` may hold the question's `program`, which the answer stage checks it against."""
        self._out.write({"question": question, **extra})
        self.questions.append(question)
        if "program" in extra:
            self.programs[question_key(question)] = extra["program"]
        self.new.append(question)
        self.stats.questions_generated += 1
        self._bar.update()

    def __enter__(self) -> _NewQuestions:
        return self

    def __exit__(self, *exc: object) -> None:
        self._bar.close()
        self._out.close()


def _question_stage(
    generator: Generator,
    ctx: GenContext,
    seed_questions: Sequence[str],
    questions: list[str],
    n_questions: int,
    q_path: Path,
    qcfg: QuestionGenConfig,
    seed: int,
    stats: RunStats,
    progress: bool,
) -> list[str]:
    """gen-q until `questions` holds `n_questions`; each new one is appended to `q_path`."""
    with _NewQuestions(q_path, questions, {}, n_questions, stats, "gen-q", progress) as sink:
        for q in generate_questions(
            generator,
            ctx.knowledge,
            list(seed_questions),
            n_questions - len(questions),
            qcfg,
            known=questions,
            seed=seed + len(questions),
            on_reject=lambda why: stats.failures.update([why]),
            make_prompt=ctx.question_prompt,
        ):
            sink.add(q.text, **({} if q.focus is None else {"focus": q.focus}))
    return sink.new


def _paraphrase_stage(
    generator: Generator,
    user_questions: Sequence[str],
    sources: Sequence[tuple[str, str]],
    questions: list[str],
    programs: dict[str, str],
    q_records: Sequence[dict[str, Any]],
    n_questions: int,
    q_path: Path,
    qcfg: QuestionGenConfig,
    seed: int,
    stats: RunStats,
    progress: bool,
) -> list[str]:
    """Rewrites of the verified `sources` pairs, each appended to `q_path` with its SQL as the
    program (so the answer stage checks it like a program-first pair) and its source question.
    A rerun skips a source with a written rewrite, and one listed in `OUT.reworded.jsonl`
    (every rewrite asked for was written or refused): without that list, each rerun asked
    again for the sources whose rewrites were all refused, and a finished command's data
    grew by a few pairs each time it ran."""
    asked_path = q_path.with_name(q_path.name.removesuffix(".questions.jsonl") + ".reworded.jsonl")
    done = {question_key(r["paraphrase_of"]) for r in q_records if r.get("paraphrase_of")}
    done |= {question_key(r["question"]) for r in read_resumable(asked_path)}
    todo = [(q, sql) for q, sql in sources if question_key(q) not in done]
    with (
        JsonlAppender(asked_path) as asked,
        _NewQuestions(
            q_path, questions, programs, n_questions, stats, "gen-q (paraphrases)", progress
        ) as sink,
    ):
        for rewrite, source, sql in paraphrase_questions(
            generator,
            user_questions,
            todo,
            qcfg,
            known=[*questions, *(q for q, _ in sources)],
            seed=seed + len(questions),
            on_reject=lambda why: stats.failures.update([why]),
            on_done=lambda source: asked.write({"question": source}),
        ):
            if sink.full():
                break
            sink.add(rewrite, program=sql, paraphrase_of=source)
    return sink.new


def _program_stage(
    generator: Generator,
    ctx: SqlContext,
    questions: list[str],
    programs: dict[str, str],
    n_questions: int,
    q_path: Path,
    qcfg: QuestionGenConfig,
    seed: int,
    stats: RunStats,
    progress: bool,
) -> list[str]:
    """Program-first gen-q: sample SQL from the schema grammar, keep programs with a result
    worth asking for, and let the LLM write the question; appended to `q_path` with its program."""
    seen_q = {question_key(q) for q in questions} | {question_key(d.question) for d in ctx.demos}
    seen_p = {ctx.task.dedup_key(p) for p in programs.values()}
    seen_p |= {ctx.task.dedup_key(d.query) for d in ctx.demos}
    rng = random.Random(seed * 7_919 + len(questions))
    tries = 0
    with _NewQuestions(
        q_path, questions, programs, n_questions, stats, "gen-q (programs)", progress
    ) as sink:
        for template, program in sample_programs(ctx.facts, rng, qcfg.templates):
            if sink.full() or tries >= n_questions * 50:
                break
            tries += 1
            key = ctx.task.dedup_key(program)
            if key in seen_p:
                stats.failures.update(["program_duplicate"])
                continue
            seen_p.add(key)
            run = ctx.db.execute(program)
            repeats_ok = template in REPEATING_TEMPLATES
            if run.rows is None or not worth_asking(run.rows, qcfg.max_rows, repeats_ok=repeats_ok):
                stats.failures.update(["program_result_unasked"])
                continue
            question = _described(
                generator,
                ctx.describe_prompt(program, run.rows if qcfg.describe_results else None),
                qcfg,
                seed * 100_003 + tries,
                seen_q,
                stats,
            )
            if question is not None:
                sink.add(question, program=program, template=template)
    return sink.new


def _described(
    generator: Generator,
    prompt: str,
    qcfg: QuestionGenConfig,
    seed: int,
    seen_q: set[str],
    stats: RunStats,
) -> str | None:
    """The question the LLM writes for a program (near-greedy: a program has one meaning), or
    None, counted, when it is too short or long or already asked (then added to `seen_q`)."""
    (sample,) = generator.sample(
        prompt,
        n=1,
        temperature=qcfg.describe_temperature,
        max_tokens=qcfg.max_tokens,
        stop=("\n",),
        seed=seed,
    )
    question = clean_question(sample.text)
    if not acceptable(question, qcfg):
        stats.failures.update(["question_length"])
        return None
    if question_key(question) in seen_q:
        stats.failures.update(["question_duplicate"])
        return None
    seen_q.add(question_key(question))
    return question


def _history_stage(
    generator: Generator,
    ctx: codetask.CodeContext,
    commands: Sequence[str],
    questions: list[str],
    programs: dict[str, str],
    n_questions: int,
    q_path: Path,
    qcfg: QuestionGenConfig,
    seed: int,
    stats: RunStats,
    progress: bool,
) -> list[str]:
    """History-first gen-q (Bash): the LLM writes the request for each of the user's commands,
    appended to `q_path` with the command as its program, for the answer stage to check. A
    command already described (or refused, listed in `OUT.described.jsonl`) is not asked again."""
    asked_path = q_path.with_name(q_path.name.removesuffix(".questions.jsonl") + ".described.jsonl")
    done = [*programs.values(), *(r["program"] for r in read_resumable(asked_path))]
    todo = undescribed(commands, [*done, *(d.program for d in ctx.demos)])
    seen_q = {question_key(q) for q in questions} | {question_key(d.question) for d in ctx.demos}
    with (
        JsonlAppender(asked_path) as asked,
        _NewQuestions(
            q_path, questions, programs, n_questions, stats, "gen-q (history)", progress
        ) as sink,
    ):
        for i, command in enumerate(todo):
            if sink.full():
                break
            question = _described(
                generator, ctx.describe_prompt(command), qcfg, seed * 100_003 + len(done) + i,
                seen_q, stats,
            )  # fmt: skip
            asked.write({"program": command})
            if question is not None:
                sink.add(question, program=command)
    return sink.new


def _answer_stage(
    generator: Generator,
    ctx: GenContext,
    pending: Sequence[str],
    programs: dict[str, str],
    out_path: Path,
    rej_path: Path,
    acfg: AnswerGenConfig,
    min_votes: MinVotes,
    seed: int,
    seed_ids: list[str],
    stats: RunStats,
    progress: bool,
    deadline: float | None = None,
) -> None:
    """gen-a + verify each pending question; kept pairs to `out_path`, the rest to `rej_path`.

    A question with a program (program-first) is kept when enough answers agree with it. Past
    `deadline` (time.monotonic) no further question is started; they are counted as left."""
    with (
        JsonlAppender(out_path) as out,
        JsonlAppender(rej_path) as rej,
        progress_bar(
            total=len(pending), desc="gen-a+verify", unit="q", disable=not progress
        ) as bar,
    ):
        for i, question in enumerate(pending):
            if i and deadline is not None and time.monotonic() >= deadline:
                stats.left_for_later = len(pending) - i
                break
            program = programs.get(question_key(question))
            if program is not None:
                verdict, _ = ctx.answer_anchored(
                    generator,
                    question,
                    program,
                    samples=acfg.samples,
                    temperature=acfg.temperature,
                    min_votes=min_votes,
                    seed=seed * 1_000_003 + i,
                )
            else:
                verdict, _ = ctx.answer(
                    generator,
                    question,
                    samples=acfg.samples,
                    temperature=acfg.temperature,
                    min_votes=min_votes,
                    seed=seed * 1_000_003 + i,
                )
            stats.questions_answered += 1
            stats.failures.update(verdict.failures)
            record = ctx.record(question, verdict)
            unstated = (
                ctx.unstated(question, record["query"])
                if verdict.kept and isinstance(ctx, SqlContext)
                else []
            )
            prov = {
                **verdict.provenance(),
                "required": verdict.required,
                "generator": generator.name,
                "seed_ids": seed_ids,
                "prompt_hash": ctx.prompt_hash,
            }
            if verdict.kept and not unstated:
                out.write({**record, **prov})
                stats.kept += 1
            elif unstated:
                stats.failures.update(["unstated_number"])
                rej.write({**record, "reason": "unstated_number", "unstated": unstated, **prov})
                stats.rejected += 1
            else:
                rej.write({**record, "reason": verdict.reason, **prov})
                stats.rejected += 1
            bar.set_postfix(kept=stats.kept, rejected=stats.rejected)
            bar.update()
