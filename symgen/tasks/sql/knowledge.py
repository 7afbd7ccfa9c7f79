"""Symbolic knowledge for prompts: the schema as compact DDL with sample rows, and value hints.

Pure functions over the schema the database adapter read, so they are cheap to test and the
same text serves the LLM prompt and (later) the task model's input.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from typing import Any

from symgen.databases.base import Table

_WORD = re.compile(r"[a-z0-9]+(?:['.-][a-z0-9]+)*")
_STOPWORDS = frozenset(
    [
        "a",
        "an",
        "and",
        "are",
        "as",
        "at",
        "be",
        "by",
        "can",
        "do",
        "does",
        "for",
        "from",
        "give",
        "has",
        "have",
        "how",
        "in",
        "is",
        "it",
        "list",
        "me",
        "many",
        "much",
        "name",
        "names",
        "number",
        "of",
        "on",
        "or",
        "show",
        "state",
        "states",
        "city",
        "cities",
        "river",
        "rivers",
        "lake",
        "lakes",
        "the",
        "their",
        "there",
        "these",
        "this",
        "to",
        "us",
        "usa",
        "what",
        "which",
        "who",
        "with",
    ]
)


def _render(value: Any, width: int = 40) -> str:
    text = "NULL" if value is None else str(value)
    return text if len(text) <= width else text[: width - 1] + "…"


_PLAIN = {"postgres": re.compile(r"[a-z_][a-z0-9_$]*"), "": re.compile(r"[A-Za-z_][A-Za-z0-9_]*")}


def sql_name(name: str, dialect: str = "sqlite", qualified: bool = False) -> str:
    """`name` as the dialect must spell it: quoted when it is not a plain identifier (in
    PostgreSQL, also when it has capitals, which unquoted names lose)."""
    if qualified and "." in name:
        return ".".join(sql_name(part, dialect) for part in name.split(".", 1))
    plain = _PLAIN.get(dialect, _PLAIN[""])
    return name if plain.fullmatch(name) else '"' + name.replace('"', '""') + '"'


def schema_ddl(tables: Sequence[Table], rows_per_table: int = 3, dialect: str = "sqlite") -> str:
    """`CREATE TABLE t (col type, ...);` per table, each followed by a few example rows.

    This mirrors the paper's informative prompt (and Rajkumar et al.'s finding that
    CREATE TABLE + SELECT 3 rows is the best schema rendering for code LLMs). Names are
    spelled (quoted) as the database's dialect needs; types are the engine's own.
    """
    parts = []
    for table in tables:
        cols = ", ".join(f"{sql_name(c.name, dialect)} {c.type}".strip() for c in table.columns)
        name = sql_name(table.name, dialect, qualified=True)
        block = f"CREATE TABLE {name} ({cols});"
        rows = table.rows[:rows_per_table]
        if rows:
            header = "\t".join(c.name for c in table.columns)
            body = "\n".join("\t".join(_render(v) for v in row) for row in rows)
            block += (
                f"\n/*\n{len(rows)} example rows:\nSELECT * FROM {name} LIMIT {len(rows)};"
                f"\n{header}\n{body}\n*/"
            )
        parts.append(block)
    return "\n\n".join(parts)


def schema_line(tables: Sequence[Table]) -> str:
    """One-line schema (`table: col, col | table: ...`), for small models' inputs."""
    return " | ".join(f"{t.name}: {', '.join(c.name for c in t.columns)}" for t in tables)


@dataclass(frozen=True)
class ValueIndex:
    """Lower-cased text values of the database, keyed by their word sequence."""

    by_words: dict[tuple[str, ...], list[tuple[str, str, str]]]
    max_len: int

    @staticmethod
    def build(values: Iterable[tuple[str, str, str]], max_words: int = 4) -> ValueIndex:
        index: dict[tuple[str, ...], list[tuple[str, str, str]]] = {}
        for table, column, value in values:
            words = tuple(_WORD.findall(value.lower()))
            if not words or len(words) > max_words:
                continue
            if len(words) == 1 and (words[0] in _STOPWORDS or len(words[0]) < 3):
                continue
            index.setdefault(words, []).append((table, column, value))
        longest = max((len(k) for k in index), default=0)
        return ValueIndex(index, longest)

    def match(self, question: str, limit: int = 12) -> list[tuple[str, str, str]]:
        """Values named in the question, longest phrases first (`new york` before `york`)."""
        words = _WORD.findall(question.lower())
        found: list[tuple[str, str, str]] = []
        used: set[int] = set()
        for size in range(min(self.max_len, len(words)), 0, -1):
            for start in range(len(words) - size + 1):
                span = set(range(start, start + size))
                if span & used:
                    continue
                hits = self.by_words.get(tuple(words[start : start + size]))
                if hits:
                    used |= span
                    found.extend(hits)
        return list(dict.fromkeys(found))[:limit]


def _mentioned(name: str, words: set[str]) -> bool:
    """Is a table/column name (or its plural/prefix) named in the question's words?"""
    base = name.lower().rstrip("s")
    return any(w.startswith(base) or base.startswith(w) for w in words if len(w) >= 4)


def hint_line(
    matches: Sequence[tuple[str, str, str]], question: str = "", per_value: int = 3
) -> str:
    """`-- Values: 'texas' in river.traverse, state.state_name` or '' when nothing matched.

    One entry per value; its columns ranked so tables the question names come first.
    """
    if not matches:
        return ""
    words = set(_WORD.findall(question.lower()))
    by_value: dict[str, list[tuple[str, str]]] = {}
    for table, column, value in matches:
        by_value.setdefault(value, []).append((table, column))
    items = []
    for value, cols in by_value.items():
        cols.sort(key=lambda tc: (not _mentioned(tc[0], words), not _mentioned(tc[1], words), tc))
        where = ", ".join(f"{t}.{c}" for t, c in cols[:per_value])
        quoted = value.replace("'", "''")
        items.append(f"'{quoted}' in {where}")
    return "-- Values: " + "; ".join(items)


_GENERIC = frozenset(
    [
        "all",
        "and",
        "any",
        "are",
        "does",
        "for",
        "from",
        "give",
        "have",
        "how",
        "list",
        "many",
        "much",
        "name",
        "names",
        "number",
        "show",
        "tell",
        "than",
        "that",
        "the",
        "their",
        "there",
        "these",
        "this",
        "what",
        "when",
        "where",
        "which",
        "who",
        "whose",
        "with",
    ]
)


def _name_words(name: str) -> set[str]:
    return {w for w in re.split(r"[^a-z0-9]+", name.lower()) if len(w) >= 3}


def _word_hits(words: set[str], name_words: set[str]) -> int:
    """Question words naming one of `name_words` (plural/prefix tolerant: `rivers` ~ `river`)."""
    hits = 0
    for n in name_words:
        base = n.rstrip("s")
        if any(
            w == n or w.rstrip("s") == base or (len(base) >= 4 and w.startswith(base))
            for w in words
        ):
            hits += 1
    return hits


def relevant_tables(
    tables: Sequence[Table],
    question: str,
    budget: int,
    size: Callable[[Table], int],
    values: Sequence[tuple[str, str, str]] = (),
) -> tuple[Table, ...]:
    """The tables whose rendering fits `budget` characters, most relevant to `question` first.

    All of them when they fit. Otherwise tables are scored by lexical overlap of the question's
    words with the table name (x3) and column names (x1), plus DB values the question names that
    live in the table (x2, `values` from `ValueIndex.match`); the best are kept while they fit
    (at least one; unscored tables fill what is left), and returned in schema order.
    """
    sizes = [size(t) for t in tables]
    if sum(sizes) <= budget:
        return tuple(tables)
    words = {w for w in _WORD.findall(question.lower()) if len(w) >= 3 and w not in _GENERIC}
    valued = {t.lower() for t, _, _ in values}
    scores = []
    for i, table in enumerate(tables):
        score = 3 * _word_hits(words, _name_words(table.name))
        score += sum(_word_hits(words, _name_words(c.name)) for c in table.columns)
        score += 2 * (table.name.lower() in valued)
        scores.append((-score, i))
    keep: list[int] = []
    used = 0
    for _, i in sorted(scores):
        if keep and used + sizes[i] > budget:
            continue
        keep.append(i)
        used += sizes[i]
    return tuple(tables[i] for i in sorted(keep))
