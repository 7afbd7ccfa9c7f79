"""SQL's generation context: one database as the prompts and the verifier see it, built once per
run from the seeds that run on it (`build_context`).

Here, not in `symgen.generate`, because `symgen/tasks/sql/` is the only place SQL is known: the
staged loop drives `SqlContext` through the language-agnostic `symgen.generate.context.GenContext`.
"""

from __future__ import annotations

import hashlib
import math
from collections.abc import Sequence
from dataclasses import dataclass, field
from functools import cached_property
from pathlib import Path
from typing import Any, ClassVar

from symgen.config import AnswerGenConfig, VerifyConfig
from symgen.databases.base import (
    DIALECT_NAMES,
    Database,
    Table,
    open_database,
    public_spec,
    transpile,
)
from symgen.dataset import Pair, read_pairs
from symgen.errors import SymgenError
from symgen.tasks.sql import task as sqltask
from symgen.tasks.sql.grammar import schema_grammar, seed_aliases
from symgen.tasks.sql.knowledge import ValueIndex, hint_line, relevant_tables, schema_ddl, sql_name
from symgen.tasks.sql.number_grounding import conventions, unstated_numbers
from symgen.tasks.sql.programs import SchemaFacts, schema_facts
from symgen.tasks.sql.prompt import (
    Demo,
    answer_prefix_text,
    answer_prompt,
    describe_prompt,
    question_prompt,
    result_line,
)
from symgen.verify import PromptedVote, Verdict

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
    seed_questions: list[str] = field(default_factory=list)  # every seed's, as read: gen-q's shots
    seed_ids: list[str] = field(default_factory=list)  # the seeds that run (the demonstrations)

    # `--questions-from` sources whose questions SQL can answer (`symgen.generate.sources`)
    question_sources: ClassVar[tuple[str, ...]] = ("llm", "programs", "paraphrases")
    takes_focus: ClassVar[bool] = False

    def answer_tokens(self) -> int:
        """`answer_cfg.max_tokens`, or with 0 a limit sized from the seeds' SQL: a database
        whose seeds join through aliases needs longer answers than GeoQuery's, and a short
        limit there cuts answers mid-query while a long one lets runaway samples run on."""
        if self.answer_cfg.max_tokens:
            return self.answer_cfg.max_tokens
        return tokens_for_programs([d.query for d in self.demos])

    @classmethod
    def for_run(
        cls,
        seeds_path: Path,
        db_path: str | Path | None,
        answer_cfg: AnswerGenConfig,
        verify_cfg: VerifyConfig,
        seed_dialect: str | None,
    ) -> SqlContext:
        """The context of a `symgen generate` run (`symgen.generate.context.open_context`)."""
        if db_path is None:
            raise SymgenError("--task sql needs --db")
        seeds = read_pairs(seeds_path)  # validates before anything is written
        return build_context(db_path, seeds, answer_cfg, verify_cfg, seed_dialect)

    @cached_property
    def _grammar(self) -> tuple[str | None, str]:
        return schema_grammar(self.tables, seed_aliases(d.query for d in self.demos), self.dialect)

    def answer_grammar(self) -> str | None:
        """With `--grammar`, the database's answer grammar (None when it cannot be built: the
        run then samples unconstrained, as `notices` says)."""
        return self._grammar[0] if self.answer_cfg.grammar else None

    def notices(self) -> list[str]:
        """What the run logs about the seeds and the schema before it starts."""
        unconstrained = self.answer_cfg.grammar and self._grammar[0] is None
        why = (
            f"warning: --grammar: no grammar for {self.db.name}: {self._grammar[1]}; unconstrained"
        )
        return [
            *(f"note: {note}" for note in self.notes),
            *([why] if unconstrained else []),
            *(
                f"warning: seed {pair.id} skipped, its SQL fails on {self.db.name}: {why}"
                for pair, why in self.skipped_seeds
            ),
        ]

    def run_identity(self, seeds_sha: str) -> dict[str, str]:
        """What a run on this database is made from (a resumed run must match it)."""
        return {
            "db": db_identity(self.db.spec),
            "db_sha": self.db.fingerprint(),
            "seeds_sha": seeds_sha,
            "prompt_hash": self.prompt_hash,
        }

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
        """Without `rows` (a program read back, as `symgen.lab.reviewer` does), SQL then question;
        with the program's result rows, every SQL shows what it returns
        (QuestionGenConfig.describe_results)."""
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


def db_identity(spec: str | Path) -> str:
    """The database as recorded in a run's identity (absolute path, or URL without password)."""
    text = str(spec)
    return public_spec(text) if "://" in text else str(Path(text).resolve())


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
    """Open `db_spec` read-only and build its context from the `seeds` that run on it."""
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
        seed_questions=[p.question for p in seeds],
        seed_ids=[p.id for p in seeds if all(p.id != b.id for b, _ in bad)],
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


# SQL runs 4.5 characters per token in Qwen2.5's tokenizer (GeoQuery's seeds, longest 65
# tokens); 4 errs long. The limit leaves half as much again as the longest seed, and 16 more.
CHARS_PER_TOKEN = 4.0


def tokens_for_programs(programs: Sequence[str], low: int = 64, high: int = 512) -> int:
    """A sample's token limit from the longest demonstrated program, within [low, high]."""
    longest = max((len(p) for p in programs), default=0)
    return max(low, min(high, math.ceil(1.5 * longest / CHARS_PER_TOKEN) + 16))
