"""Training examples for the task model: (schema part, question part, target) per verified pair.

Pairs name their database (`"db": "geography"`); `--db` specs are matched by name (file stem, or
the database name of a postgresql:// URL), and a single `--db` serves pairs that name none.
The database side of the input is `symgen.tasks.sql.model_input`, shared with the engine.
"""

from __future__ import annotations

import hashlib
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

from tokenizers import Tokenizer

from symgen.databases.base import Database, open_database
from symgen.dataset import read_jsonl
from symgen.errors import SymgenError
from symgen.tasks.format import (
    code_question,
    code_schema,
    code_target,
    target_text,
)
from symgen.tasks.registry import task_for
from symgen.tasks.sql.model_input import DbKnowledge
from symgen.tasks.sql.schema_check import problem


@dataclass(frozen=True)
class Example:
    db: str
    schema: str
    question: str  # question part of the input, with value hints
    target: str


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
    from symgen.tasks.bash.literals import mask, mask_program
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


def task_examples(
    data: str | Path,
    task: str,
    dbs: dict[str, DbKnowledge],
    skipped: list[str] | None = None,
    *,
    placeholders: bool = False,
) -> list[Example]:
    """`data`'s examples for `task`, as training and the export's parity check both read them: a
    database task's pairs against `dbs` (checked when `skipped` is given), a code task's without."""
    if task_for(task).needs_database:
        return load_examples(data, dbs, skipped)
    return load_code_examples(data, task, placeholders=placeholders)


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
