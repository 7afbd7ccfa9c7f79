"""Are the numbers a pair's SQL compares with said in its question? A verifier rule.

Program-first gen-q samples conditions such as `state.area < 70000` that often leave the result
unchanged; the LLM then describes the rest ("what is the capital of wisconsin"), the answers
agree with the program, and the pair teaches the task model to add conditions nobody asked for
(GeoQuery train, 1.5B-data model: "... AND border_info.population < 600"). Of the 177 numeric
comparisons in the 1.5B's GeoQuery data, 61 compare with a number the question never states,
many of them such smuggled filters or a private meaning of "major" (`population > 100000` where
the user's own seed says 150000).

A number is stated when the question writes it (digits, `70,000`, `2 million`, `a thousand`,
number words up to twenty); a number the user's seeds compare the same column with is a
convention of theirs ("major cities" → `city.population > 150000`) and needs no statement; 0
needs none ("above sea level"). Pure functions over text: the SQL is not parsed.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from typing import Any

_WORDS = {
    w: i
    for i, w in enumerate(
        [
            "zero",
            "one",
            "two",
            "three",
            "four",
            "five",
            "six",
            "seven",
            "eight",
            "nine",
            "ten",
            "eleven",
            "twelve",
            "thirteen",
            "fourteen",
            "fifteen",
            "sixteen",
            "seventeen",
            "eighteen",
            "nineteen",
            "twenty",
        ]
    )
}
_SCALE = {"hundred": 100, "thousand": 1_000, "million": 1_000_000, "billion": 1_000_000_000}
_NUMBER = r"\d+(?:,\d{3})*(?:\.\d+)?"
_STATED = re.compile(
    rf"(?<![\w.])({_NUMBER}|a|an|{'|'.join(_WORDS)})(?:\s*(hundred|thousand|million|billion)\b)?",
    re.IGNORECASE,
)
_OP = r"(?:>=|<=|<>|!=|>|<|=)"
_COLUMN = r"((?:\w+\.)?\w+)"
_LITERAL = r"(-?\d+(?:\.\d+)?)(?![\w.])"
_COMPARISON = re.compile(
    rf"{_COLUMN}\s*{_OP}\s*{_LITERAL}|(?<![\w.]){_LITERAL}\s*{_OP}\s*{_COLUMN}"
)


def stated_numbers(question: str) -> frozenset[float]:
    """The numbers `question` writes: `70,000` → 70000, `2 million` → 2e6, `a thousand` → 1000,
    `three` → 3 (a bare "a" is not a number)."""
    out = set()
    for m in _STATED.finditer(question):
        head, scale = m.group(1).lower(), m.group(2)
        if head in ("a", "an"):
            if not scale:
                continue
            value = 1.0
        elif head in _WORDS:
            value = float(_WORDS[head])
        else:
            value = float(head.replace(",", ""))
        out.add(value * _SCALE[scale.lower()] if scale else value)
    return frozenset(out)


def compared_numbers(sql: str) -> list[tuple[str, float]]:
    """(column, number) of every comparison of a column with a numeric literal in `sql`, either
    way round (`population > 150000`, `150000 < population`); the column as written, lower-cased
    (`city.population`), and numbers inside quotes ignored."""
    unquoted = re.sub(r"'(?:[^']|'')*'", "''", sql)
    out = []
    for m in _COMPARISON.finditer(unquoted):
        column, number = (m.group(1), m.group(2)) if m.group(1) else (m.group(4), m.group(3))
        out.append((column.lower(), float(number)))
    return out


def _column(name: str) -> str:
    return name.rsplit(".", 1)[-1]


def conventions(pairs: Iterable[tuple[str, str]]) -> frozenset[tuple[str, float]]:
    """(column, number) the users' own (question, sql) pairs compare with without stating the
    number: their meaning of words like "major". Keyed by the bare column name, since seeds
    and generated SQL may qualify it differently."""
    out = set()
    for question, sql in pairs:
        said = stated_numbers(question)
        out |= {(_column(c), n) for c, n in compared_numbers(sql) if n not in said}
    return frozenset(out)


def unstated_numbers(
    sql: str, question: str, known: frozenset[tuple[str, float]] = frozenset()
) -> list[str]:
    """The comparisons of `sql` whose number `question` does not state and that are not one of
    the users' `known` conventions (`conventions`), as `column number` for the reason."""
    said = stated_numbers(question)
    return [
        f"{c} {n:g}"
        for c, n in compared_numbers(sql)
        if n != 0 and n not in said and (_column(c), n) not in known
    ]


def drop_unstated(
    records: list[dict[str, Any]], seeds: Iterable[tuple[str, str]]
) -> tuple[list[dict[str, Any]], int]:
    """`records` (question/query) without the pairs `symgen generate` now refuses as
    `unstated_number`, for data generated before the rule; and how many were dropped."""
    known = conventions(seeds)
    kept = [r for r in records if not unstated_numbers(r["query"], r["question"], known)]
    return kept, len(records) - len(kept)
