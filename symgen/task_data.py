"""Training examples for the task model: (schema part, question part, target) per verified pair.

Pairs name their database (`"db": "geography"`); `--db` specs are matched by name (file stem, or
the database name of a postgresql:// URL), and a single `--db` serves pairs that name none.
Torch-free: the engine uses `DbKnowledge` too.
"""

from __future__ import annotations

import hashlib
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

from tokenizers import Tokenizer

from symgen.database import Database, Table, is_url, open_database
from symgen.dataset import read_jsonl
from symgen.errors import MissingResource, SymgenError
from symgen.knowledge import ValueIndex, relevant_tables
from symgen.schema_check import problem, schema_map
from symgen.task_format import (
    code_question,
    code_schema,
    code_target,
    question_text,
    schema_text,
    target_text,
)

# Characters of `schema: table: col, ... | ...` the task model's input may spend (its whole input
# is 384 tokens in training). Bigger schemas give each question the tables relevant to it.
TASK_SCHEMA_BUDGET = 1200


@dataclass(frozen=True)
class DbKnowledge:
    """What the task model needs to know about one database."""

    name: str
    spec: str  # SQLite/DuckDB path or postgresql:// URL
    schema: str  # every table; `schema_for(question)` is what the model reads
    columns: dict[str, frozenset[str]]
    values: ValueIndex
    dialect: str = "sqlite"
    tables: tuple[Table, ...] = ()
    warnings: tuple[str, ...] = ()

    @property
    def path(self) -> Path:
        return Path(self.spec)

    @staticmethod
    def load(spec: str | Path) -> DbKnowledge:
        if not is_url(spec) and not Path(spec).is_file():
            raise MissingResource(
                f"database not found: {spec}; pass an existing SQLite or DuckDB file, "
                "or a postgresql:// URL"
            )
        with open_database(spec) as db:
            tables = db.tables(sample_rows=0)
            return DbKnowledge(
                db.name,
                str(spec),
                schema_text(tables),
                schema_map(tables),
                ValueIndex.build(db.text_values()),
                db.dialect,
                tables,
                tuple(db.warnings),
            )

    @property
    def schema_hash(self) -> str:
        return hashlib.sha256(self.schema.encode()).hexdigest()[:16]

    def schema_for(self, question: str) -> str:
        """The schema part of the input: all tables when they fit the budget, else the ones
        most relevant to `question` (so a 300-table database still fits the model)."""
        if len(self.schema) <= TASK_SCHEMA_BUDGET or not self.tables:
            return self.schema
        picked = relevant_tables(
            self.tables,
            question,
            TASK_SCHEMA_BUDGET - len("schema: "),
            lambda t: len(schema_text([t])) - len("schema: ") + 3,
            self.values.match(question),
        )
        return schema_text(picked)

    def question(self, question: str) -> str:
        return question_text(question, self.values)


@dataclass(frozen=True)
class Example:
    db: str
    schema: str
    question: str  # question part of the input, with value hints
    target: str


def load_dbs(paths: Sequence[str | Path]) -> dict[str, DbKnowledge]:
    dbs = [DbKnowledge.load(p) for p in paths]
    return {d.name: d for d in dbs}


def read_db_dir(directory: str | Path) -> list[Path]:
    """Every SQLite file under a Spider-style directory (`DIR/<db>/<db>.sqlite` or flat)."""
    found = sorted(Path(directory).glob("**/*.sqlite"))
    if not found:
        raise MissingResource(f"no .sqlite files under {directory}")
    return found


def load_examples(
    data: str | Path, dbs: dict[str, DbKnowledge], skipped: list[str] | None = None
) -> list[Example]:
    """Examples for every pair of `data`; a pair naming an unknown database is an error.

    With a `skipped` list, each pair's SQL is checked first (the schema check with its smells,
    then a read-only run on its database) and a failing pair is left out and reported there as
    `file:line: reason`: one broken pair should cost that pair, not the run.
    """
    rows = read_jsonl(data, required=("question", "query"))
    out = []
    conns: dict[str, Database] = {}
    try:
        for lineno, row in enumerate(rows, 1):
            name = row.get("db") or (next(iter(dbs)) if len(dbs) == 1 else None)
            if name not in dbs:
                known = ", ".join(sorted(dbs)) or "none"
                raise SymgenError(
                    f"{data}:{lineno}: pair names database {name!r}, not among --db ({known}); "
                    "pass its database with --db"
                )
            db = dbs[name]
            if skipped is not None:
                if name not in conns:
                    conns[name] = open_database(db.spec)
                why = pair_problem(row["query"], db, conns[name])
                if why is not None:
                    skipped.append(f"{Path(data).name}:{lineno}: {why}")
                    continue
            out.append(
                Example(
                    name,
                    db.schema_for(row["question"]),
                    db.question(row["question"]),
                    target_text(row["query"], db.dialect),
                )
            )
    finally:
        for conn in conns.values():
            conn.close()
    return out


def pair_problem(sql: str, db: DbKnowledge, conn: Database) -> str | None:
    """Why a pair's SQL should not be learnt: it fails the schema check (which includes the
    smells), or it errors on its database. A timeout or an empty result is not a reason."""
    why = problem(sql, db.columns, db.dialect)
    if why is not None:
        return why
    error = conn.execute(sql).error
    return error if error is not None and error.startswith("error") else None


def load_code_examples(data: str | Path, task: str, *, placeholders: bool = False) -> list[Example]:
    """Examples for a code task: the request is the input, the program the target (no schema).

    Reads the same field names as code seeds (question/nl/text, query/command/cmd/code).
    `placeholders` (Bash): the request's values are placeholders in both (`bash_literals`)."""
    from symgen.tasks.bash_literals import mask, mask_program
    from symgen.tasks.code import read_code_seeds

    schema = code_schema(task)
    out = []
    for s in read_code_seeds(data):
        question, program = s.question, s.program
        if placeholders:
            masked = mask(question)
            question, program = masked.request, mask_program(program, masked)
        out.append(Example(task, schema, code_question(task, question), code_target(task, program)))
    return out


def data_hash(paths: Sequence[str | Path]) -> str:
    h = hashlib.sha256()
    for p in paths:
        h.update(Path(p).read_bytes())
    return h.hexdigest()[:16]


def encode(tok: Tokenizer, ex: Example, eos_id: int) -> tuple[list[int], list[int], list[int]]:
    """(schema ids, question+target ids, labels with -100 on the question part).

    The schema and question parts are tokenised separately, exactly as the engine does, so the
    engine's cached schema prefix matches what the model saw in training (and training can
    compute the shared schema prefix once per batch).
    """
    schema = tok.encode(ex.schema, add_special_tokens=False).ids
    question = tok.encode(ex.question, add_special_tokens=False).ids
    target = [*tok.encode(ex.target, add_special_tokens=False).ids, eos_id]
    return schema, question + target, [-100] * len(question) + target


def encode_source(tok: Tokenizer, schema: str, question: str) -> list[int]:
    schema_ids: list[int] = tok.encode(schema, add_special_tokens=False).ids
    question_ids: list[int] = tok.encode(question, add_special_tokens=False).ids
    return schema_ids + question_ids
