"""Value-swap augmentation: more verified pairs from each one, without another LLM call.

A verified pair such as `population of florida` / `... WHERE state.state_name='florida'` is a
template: any other value of `state.state_name` that the question names verbatim can take
florida's place in both. Every swapped query is executed (read-only) and kept only when it still
returns a non-empty result, so the new pairs are as execution-checked as the originals. This is
the symbolic knowledge (the database's own values) multiplying what the LLM produced: a small
model trained from scratch needs to see entities vary to learn to copy them from the question,
and a few hundred generated pairs rarely show that.
"""

from __future__ import annotations

import random
import re
from collections import Counter
from collections.abc import Callable, Iterable, Iterator, Sequence
from dataclasses import dataclass, field
from functools import partial
from typing import Any, Protocol, TypeVar

from sqlglot import exp

from symgen.databases.base import Database
from symgen.tasks.sql.task import is_empty_result, parse

T = TypeVar("T")


@dataclass(frozen=True)
class Slot:
    """A string literal compared with a column, and named verbatim in the question."""

    table: str
    column: str
    value: str


@dataclass
class AugmentStats:
    """A run's counts; other makers of new pairs (`symgen.lab.direction_flip`) subclass it to
    count theirs in the same run."""

    pairs: int = 0
    with_slots: int = 0
    written: int = 0
    rejected: Counter[str] = field(default_factory=Counter)

    def extra(self) -> str:
        """What a subclass made besides the swaps, as the CLI's summary line says it."""
        return ""


class AugmentSql(Protocol):
    """`with_augmented`'s shape: what `symgen augment` calls on SQL pairs (the lab adds flips)."""

    def __call__(
        self, records: list[dict[str, Any]], db: Database, *, per_pair: int, seed: int
    ) -> tuple[list[dict[str, Any]], AugmentStats]: ...


def _word_pattern(value: str) -> re.Pattern[str]:
    return re.compile(r"(?<!\w)" + re.escape(value) + r"(?!\w)", re.IGNORECASE)


def _quoted(value: str) -> str:
    return "'" + value.replace("'", "''") + "'"


def string_slots(
    sql: str, question: str, columns_by_table: dict[str, set[str]], dialect: str = "sqlite"
) -> list[Slot]:
    """Slots of `sql` that can be swapped: `col = 'v'` where v appears as words in `question`.

    The column's table is resolved through aliases, or by the only table of the query that has
    such a column; anything ambiguous is left alone (a wrong swap would teach a wrong pair).
    """
    tree = parse(sql, dialect)
    if tree is None:
        return []
    aliases = {t.alias_or_name.lower(): t.name.lower() for t in tree.find_all(exp.Table)}
    in_query = set(aliases.values())
    slots: dict[tuple[str, str, str], Slot] = {}
    for eq in tree.find_all(exp.EQ):
        col, lit = eq.left, eq.right
        if isinstance(col, exp.Literal):
            col, lit = lit, col
        if not (isinstance(col, exp.Column) and isinstance(lit, exp.Literal) and lit.is_string):
            continue
        value = lit.this
        if not value.strip() or not _word_pattern(value).search(question):
            continue
        name = col.name.lower()
        if col.table:
            table = aliases.get(col.table.lower())
        else:
            owners = [t for t in in_query if name in columns_by_table.get(t, set())]
            table = owners[0] if len(owners) == 1 else None
        if table is None or name not in columns_by_table.get(table, set()):
            continue
        if _quoted(value) not in sql:
            continue  # written in a form we would not replace faithfully
        slots[(table, name, value.lower())] = Slot(table, name, value)
    return list(slots.values())


def substitute(question: str, sql: str, slot: Slot, new: str) -> tuple[str, str] | None:
    """Both sides with `slot.value` replaced by `new`, or None when that would be ambiguous."""
    if _word_pattern(new).search(question) or new.lower() == slot.value.lower():
        return None
    other_literals = re.findall(r"'((?:[^']|'')*)'", sql)
    if any(new.lower() == v.replace("''", "'").lower() for v in other_literals):
        return None  # the new value is already in the query: the swap would merge two slots
    q2 = _word_pattern(slot.value).sub(lambda _m: new, question)
    s2 = sql.replace(_quoted(slot.value), _quoted(new))
    return q2, s2


def value_index(db: Database) -> dict[tuple[str, str], list[str]]:
    """(table, column) → the column's distinct short text values (lowercase keys)."""
    index: dict[tuple[str, str], list[str]] = {}
    for table, column, value in db.text_values():
        if value.strip() and not value.strip().isdigit():
            index.setdefault((table.lower(), column.lower()), []).append(value)
    return index


def augment_pairs(
    records: Sequence[dict[str, Any]],
    db: Database,
    *,
    per_pair: int = 4,
    seed: int = 0,
    stats: AugmentStats | None = None,
) -> Iterator[dict[str, Any]]:
    """New execution-checked pairs, `per_pair` at most from each record (SQL on `db`)."""
    stats = stats if stats is not None else AugmentStats()
    columns = {t.name.lower(): {c.name.lower() for c in t.columns} for t in db.tables()}
    values = value_index(db)
    seen = {r["question"].strip().lower() for r in records}
    for rec in records:
        stats.pairs += 1
        question, sql = rec["question"], rec["query"]
        slots = [
            s
            for s in string_slots(sql, question, columns, db.dialect)
            if values.get((s.table, s.column))
        ]
        if not slots:
            continue
        stats.with_slots += 1
        attempt = partial(
            _swap_once, rec=rec, slots=slots, values=values, seen=seen, db=db, stats=stats
        )
        for new in successes(attempt, per_pair, random.Random(f"{seed}:{question}")):
            stats.written += 1
            yield new


def _swap_once(
    rng: random.Random,
    *,
    rec: dict[str, Any],
    slots: Sequence[Slot],
    values: dict[tuple[str, str], list[str]],
    seen: set[str],
    db: Database,
    stats: AugmentStats,
) -> dict[str, Any] | None:
    """One random value swap of `rec`, or None (counted) when it is not new or not non-empty."""
    slot = rng.choice(slots)
    new = rng.choice(values[(slot.table, slot.column)])
    swapped = substitute(rec["question"], rec["query"], slot, new)
    if swapped is None:
        stats.rejected["duplicate_or_ambiguous"] += 1
        return None
    if not admit(swapped, seen, db, stats, "duplicate_or_ambiguous", "empty_or_error"):
        return None
    return _record(rec, swapped, slot)


def successes(
    attempt: Callable[[random.Random], T | None], wanted: int, rng: random.Random
) -> Iterator[T]:
    """Up to `wanted` results of `attempt`, giving up after 3x as many tries: a pair with few
    possible swaps must not loop on duplicates."""
    made = 0
    for _ in range(wanted * 3):
        if made >= wanted:
            return
        result = attempt(rng)
        if result is not None:
            made += 1
            yield result


def admit(
    pair: tuple[str, str],
    seen: set[str],
    db: Database,
    stats: AugmentStats,
    duplicate: str,
    empty: str,
) -> bool:
    """Is a new (question, SQL) pair's question new and its SQL non-empty on `db`? A kept one's
    question joins `seen`; a refused one is counted under the reason `duplicate` or `empty`."""
    key = pair[0].strip().lower()
    if key in seen:
        stats.rejected[duplicate] += 1
        return False
    run = db.execute(pair[1])
    if run.rows is None or is_empty_result(run.rows):
        stats.rejected[empty] += 1
        return False
    seen.add(key)
    return True


def _record(rec: dict[str, Any], swapped: tuple[str, str], slot: Slot) -> dict[str, Any]:
    out = {k: v for k, v in rec.items() if k not in ("question", "query")}
    return (
        {"question": swapped[0], "query": swapped[1]}
        | out
        | {
            "augmented_from": rec["question"],
            "slot": f"{slot.table}.{slot.column}",
        }
    )


def with_augmented(
    records: Iterable[dict[str, Any]],
    db: Database,
    *,
    per_pair: int = 4,
    seed: int = 0,
    stats: AugmentStats | None = None,
) -> tuple[list[dict[str, Any]], AugmentStats]:
    """The original records followed by their value swaps, with the run's counts (added to
    `stats` when given, e.g. by a caller that made some of the records)."""
    originals = list(records)
    stats = stats if stats is not None else AugmentStats()
    extra = list(augment_pairs(originals, db, per_pair=per_pair, seed=seed, stats=stats))
    return originals + extra, stats
