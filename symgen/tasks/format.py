"""What the task model reads and writes: pure text functions shared by training and inference.

Input = serialised schema (tables and columns) + DB values named in the question + question, so
one model can serve several databases. The schema part comes first and is tokenised on its own,
so the engine can compute its KV cache once per database and reuse it for every question.
Targets are canonicalised by sqlglot: one spelling per query makes a small model's job easier.
"""

from __future__ import annotations

from collections.abc import Sequence

from symgen.databases.base import Table
from symgen.tasks.sql.knowledge import ValueIndex
from symgen.tasks.sql.task import parse

QUESTION_MARK = " | question: "
SQL_MARK = " | sql:"


def schema_text(tables: Sequence[Table]) -> str:
    """`schema: table: col, col | table: ...` (lower-cased: the model need not learn case)."""
    body = " | ".join(f"{t.name}: {', '.join(c.name for c in t.columns)}" for t in tables)
    return f"schema: {body}".lower()


def values_text(matches: Sequence[tuple[str, str, str]], limit: int = 6) -> str:
    """` | values: texas = state.state_name, river.traverse` or '' (question's DB values)."""
    by_value: dict[str, list[str]] = {}
    for table, column, value in matches:
        by_value.setdefault(value, []).append(f"{table}.{column}".lower())
    if not by_value:
        return ""
    items = [f"{v} = {', '.join(cols[:3])}" for v, cols in list(by_value.items())[:limit]]
    return " | values: " + "; ".join(items)


def question_text(question: str, values: ValueIndex | None = None) -> str:
    """The per-question part of the input, appended after the schema part."""
    q = " ".join(question.lower().split())
    hints = values_text(values.match(q)) if values is not None else ""
    return f"{hints}{QUESTION_MARK}{q}{SQL_MARK}"


def canonical_sql(sql: str, dialect: str = "sqlite") -> str:
    """sqlglot's rendering (no trailing `;`), or the whitespace-normalised text if unparsable."""
    tree = parse(sql, dialect)
    text = tree.sql(dialect=dialect, comments=False) if tree is not None else sql
    return " ".join(text.strip().rstrip(";").split())


def target_text(sql: str, dialect: str = "sqlite") -> str:
    return " " + canonical_sql(sql, dialect)


# ---- code tasks (bash, python): the input is the comment's text, no schema ---------------------
def code_schema(task: str) -> str:
    """The constant first part of a code model's input (its KV cache is computed once)."""
    return f"task: {task}"


def code_question(task: str, request: str) -> str:
    return f" | request: {' '.join(request.lower().split())} | {task}:"


def canonical_code(task: str, program: str) -> str:
    """One spelling per program, the task's own (Python through `ast.unparse`, Bash with
    collapsed spacing)."""
    from symgen.tasks.registry import task_for

    return task_for(task).canonical(program.replace("\r\n", "\n"))


def code_target(task: str, program: str) -> str:
    return " " + canonical_code(task, program)
