"""Informative prompts (instruction + symbolic knowledge + demonstrations), as pure functions.

Layout matters for speed: everything shared between questions (schema, instruction,
demonstrations) comes first and is identical byte for byte, so llama.cpp evaluates it once and
reuses its KV cache; only the last few lines (question, value hints) change per call.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from symgen.databases.base import DIALECT_NAMES


def answer_instruction(dialect: str = "sqlite") -> str:
    """The instruction names the database's SQL dialect (SQLite, PostgreSQL, DuckDB)."""
    return (
        f"-- Using valid {DIALECT_NAMES.get(dialect, dialect)}, answer the following questions "
        "for the tables provided above."
    )


ANSWER_INSTRUCTION = answer_instruction()
QUESTION_INSTRUCTION = (
    "-- Below are questions a user asked about the tables provided above. "
    "Write new, different questions of the same kind that these tables can answer."
)


@dataclass(frozen=True)
class Demo:
    question: str
    query: str
    hints: str = ""  # a `-- Values: ...` line for this question, or ''


def _question_block(question: str, hints: str) -> str:
    block = f"-- Question: {' '.join(question.split())}"
    return f"{block}\n{hints}" if hints else block


def answer_prefix_text(schema: str, demos: Sequence[Demo], dialect: str = "sqlite") -> str:
    """The shared part of every answer prompt (cached across questions)."""
    shots = "\n\n".join(f"{_question_block(d.question, d.hints)}\n{d.query.strip()}" for d in demos)
    instruction = answer_instruction(dialect)
    return (
        f"{schema}\n\n{instruction}\n\n{shots}\n\n" if shots else f"{schema}\n\n{instruction}\n\n"
    )


def answer_prompt(
    schema: str,
    demos: Sequence[Demo],
    question: str,
    hints: str = "",
    prefix: str = "SELECT",
    dialect: str = "sqlite",
) -> str:
    """Prompt whose continuation is the SQL answer (the model continues after `SELECT`)."""
    head = answer_prefix_text(schema, demos, dialect)
    return f"{head}{_question_block(question, hints)}\n{prefix}"


def question_prompt(schema: str, example_questions: Sequence[str]) -> str:
    """Prompt whose continuation is one new question (stop at the end of the line)."""
    shots = "\n".join(f"-- Question: {' '.join(q.split())}" for q in example_questions)
    return f"{schema}\n\n{QUESTION_INSTRUCTION}\n\n{shots}\n-- Question:"


DESCRIBE_INSTRUCTION = (
    "-- Each SQL query below is followed by the question, in plain everyday English, that a user "
    "asked to get it. The question never names tables or columns."
)


def _sql_block(query: str, result: str | None) -> str:
    block = f"-- SQL: {' '.join(query.split())}"
    return f"{block}\n-- Result: {result}" if result is not None else block


def describe_prompt(
    schema: str,
    demos: Sequence[Demo],
    program: str,
    results: Sequence[str] | None = None,
    result: str = "",
) -> str:
    """Prompt whose continuation is the question `program` answers (program-first gen-q).

    The seeds shown backwards (SQL, then question) teach the users' wording; the schema prefix
    and demonstrations are shared by every program, so llama.cpp caches them. With `results`
    (one `result_line` per demo) every SQL is followed by what it returns and `program` by
    `result`: a column named `traverse` says little, its values (state names) say what the
    question must ask for."""
    if results is not None and len(results) != len(demos):
        raise ValueError(f"{len(results)} results for {len(demos)} demonstrations")
    shots = "\n\n".join(
        f"{_sql_block(d.query, None if results is None else results[i])}\n"
        f"-- Question: {' '.join(d.question.split())}"
        for i, d in enumerate(demos)
    )
    last = _sql_block(program, None if results is None else result)
    return f"{schema}\n\n{DESCRIBE_INSTRUCTION}\n\n{shots}\n\n{last}\n-- Question:"


def result_line(rows: Sequence[Sequence[object]], limit: int = 5, width: int = 40) -> str:
    """A query's result as one short line for the describe prompt: the first `limit` rows
    (values joined by ", ", rows by "; ", each cut to `width` characters), then how many there
    are in all."""
    if not rows:
        return "(no rows)"

    def value(v: object) -> str:
        if isinstance(v, float) and v.is_integer():
            return str(int(v))
        text = " ".join(str(v).split()) if v is not None else "NULL"
        return text if len(text) <= width else text[: width - 3] + "..."

    shown = "; ".join(", ".join(value(v) for v in row) for row in rows[:limit])
    return shown if len(rows) <= limit else f"{shown}; ... ({len(rows)} rows)"


PARAPHRASE_INSTRUCTION = (
    "-- People ask the same thing in many ways. Each question below is followed by another way "
    "a user could ask it: other words and sentence shape, the same meaning, every name and "
    "number kept exactly as written."
)
# Domain-neutral rewrites (not the user's data): they teach the task, rewording, while the
# user's own questions above them set the register.
PARAPHRASE_DEMOS = (
    ("what is the salary of john smith", "how much does john smith earn"),
    ("which employees work in sales", "who works in sales"),
    ("how many orders did acme place", "number of orders placed by acme"),
    ("what is the age of the oldest customer", "how old is the oldest customer"),
    ("which products cost more than 20 dollars", "give me the products priced over 20 dollars"),
    ("what is the largest department", "which department is the biggest"),
    ("what is the total revenue of all stores", "how much do the stores make combined"),
    ("list the offices in paris", "tell me what offices are in paris"),
)


def paraphrase_prompt(user_questions: Sequence[str], question: str) -> str:
    """Prompt whose continuation is `question` asked another way (stop at the end of the line).

    Everything before the last two lines is shared by every question, so llama.cpp caches it."""
    style = "\n".join(f"-- {' '.join(q.split())}" for q in user_questions)
    shots = "\n\n".join(f"-- Question: {a}\n-- Asked another way: {b}" for a, b in PARAPHRASE_DEMOS)
    return (
        f"-- Questions the users of this database asked:\n{style}\n\n{PARAPHRASE_INSTRUCTION}\n\n"
        f"{shots}\n\n-- Question: {' '.join(question.split())}\n-- Asked another way:"
    )
