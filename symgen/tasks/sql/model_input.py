"""What the task model reads about a database: its schema (budgeted per question) and values.

Torch-free, because training writes these inputs and the engine rebuilds them at completion
time; both must produce the same text and token ids.
"""

from __future__ import annotations

import hashlib
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

from tokenizers import Tokenizer

from symgen.databases.base import Table, is_url, open_database
from symgen.errors import MissingResource
from symgen.tasks.format import question_text, schema_text
from symgen.tasks.sql.knowledge import ValueIndex, relevant_tables
from symgen.tasks.sql.schema_check import schema_map

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


def load_dbs(paths: Sequence[str | Path]) -> dict[str, DbKnowledge]:
    dbs = [DbKnowledge.load(p) for p in paths]
    return {d.name: d for d in dbs}


def read_db_dir(directory: str | Path) -> list[Path]:
    """Every SQLite file under a Spider-style directory (`DIR/<db>/<db>.sqlite` or flat)."""
    found = sorted(Path(directory).glob("**/*.sqlite"))
    if not found:
        raise MissingResource(f"no .sqlite files under {directory}")
    return found


def encode_source(tok: Tokenizer, schema: str, question: str) -> list[int]:
    schema_ids: list[int] = tok.encode(schema, add_special_tokens=False).ids
    question_ids: list[int] = tok.encode(question, add_special_tokens=False).ids
    return schema_ids + question_ids
