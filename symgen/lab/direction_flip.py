"""Direction flips: "the largest state" / `max(...)` also gives "the smallest state" / `min(...)`.

Why: the LLM asks about the top far more often than the bottom (the 1.5B's 10,776 GeoQuery
training pairs: 998 "largest/highest/most" questions with `max`/`DESC`, 375 "smallest/lowest"
ones with `min`/`ASC`), and the task model trained on them wrote `ORDER BY density DESC` for
"the lowest population density" and `DESC` for "the smallest city" where the 1.5B did not.
A pair whose question has exactly one superlative word and whose SQL has exactly one direction
(only `max`, only `min`, or one `ORDER BY ... LIMIT`) that agrees with the word is flipped on
both sides; the new SQL is executed and kept only when it returns rows, as value swaps
(`symgen.tasks.sql.augment`) are. A pair whose word and SQL disagree is left alone: it may be wrong.

`flip_direction` is pure (text in, text out); `with_flips` is `symgen augment --flip`'s data:
the records, their flips, then the value swaps of both.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass
from typing import Any

from symgen.databases.base import Database
from symgen.tasks.sql.augment import AugmentStats, admit, with_augmented

# superlative word → its opposite; each side is one direction
UP_TO_DOWN = {
    "largest": "smallest",
    "biggest": "smallest",
    "greatest": "smallest",
    "highest": "lowest",
    "longest": "shortest",
    "tallest": "shortest",
    "most": "least",
    "maximum": "minimum",
    "densest": "sparsest",
}
DOWN_TO_UP = {
    "smallest": "largest",
    "lowest": "highest",
    "shortest": "longest",
    "least": "most",
    "fewest": "most",
    "minimum": "maximum",
    "sparsest": "densest",
}
_WORD = re.compile(r"\b(" + "|".join(sorted({*UP_TO_DOWN, *DOWN_TO_UP}, key=len)[::-1]) + r")\b")
# "at least 3 rivers", "at most": a bound, not a superlative
_BOUND = re.compile(r"\bat\s+(least|most)\b|\bmost\s+of\b", re.IGNORECASE)
_IDENTIFIER = re.compile(r"[a-z_][a-z0-9_]*")
_AGG = re.compile(r"\b(max|min)(\s*\()", re.IGNORECASE)
_ORDER = re.compile(
    r"\border\s+by\s+([^,]*?)(\s+(?:asc|desc))?(\s+limit\b)", re.IGNORECASE | re.DOTALL
)


def _question_direction(question: str) -> tuple[str, int, int, str] | None:
    """("up" | "down", start, end, the opposite word) of the question's one superlative."""
    if _BOUND.search(question):
        return None
    found = list(_WORD.finditer(question.lower()))
    if len(found) != 1:
        return None
    word = found[0].group(1)
    up = word in UP_TO_DOWN
    opposite = UP_TO_DOWN[word] if up else DOWN_TO_UP[word]
    return ("up" if up else "down"), found[0].start(), found[0].end(), opposite


def _flip_sql(sql: str) -> tuple[str, str] | None:
    """(direction of `sql`, the flipped SQL), or None when it has no single direction."""
    aggs = {m.group(1).lower() for m in _AGG.finditer(sql)}
    orders = list(_ORDER.finditer(sql))
    if len(orders) + (1 if aggs else 0) != 1 or len(aggs) > 1:
        return None
    if aggs:
        direction = "up" if aggs == {"max"} else "down"

        def swap(m: re.Match[str]) -> str:
            new = "min" if m.group(1).lower() == "max" else "max"
            return (new.upper() if m.group(1).isupper() else new) + m.group(2)

        return direction, _AGG.sub(swap, sql)
    m = orders[0]
    if not m.group(1).strip():
        return None
    written = (m.group(2) or "").strip()
    direction = "up" if written.lower() == "desc" else "down"
    new = "asc" if direction == "up" else "desc"
    new = new.upper() if (written or m.group(0)[:5]).isupper() else new
    if m.group(2):  # the written direction, replaced
        return direction, f"{sql[: m.start(2)]} {new}{sql[m.end(2) :]}"
    return direction, f"{sql[: m.end(1)]} {new}{sql[m.end(1) :]}"  # ASC was implied


def flip_direction(question: str, sql: str) -> tuple[str, str] | None:
    """The pair asking for the other end (question and SQL), or None when the pair has no
    single superlative, its SQL no single direction, or the two disagree."""
    q = _question_direction(question)
    s = _flip_sql(sql)
    if q is None or s is None or q[0] != s[0]:
        return None
    _, start, end, opposite = q
    original = question[start:end]
    names = _IDENTIFIER.findall(sql.lower())
    if any(w in name for name in names for w in (original.lower(), opposite)):
        return None  # "the highest elevation" names a column (highlow.highest_elevation)
    if original.isupper():
        opposite = opposite.upper()
    elif original[:1].isupper():
        opposite = opposite.capitalize()
    return question[:start] + opposite + question[end:], s[1]


@dataclass
class FlipStats(AugmentStats):
    """The value swaps' counts, and how many flips were kept (refused ones are counted in
    `rejected` as `flip_duplicate` and `flip_empty_or_error`)."""

    flipped: int = 0

    def extra(self) -> str:
        return f" + {self.flipped} direction flips"


def flipped_pairs(
    records: Sequence[dict[str, Any]], db: Database, stats: FlipStats | None = None
) -> Iterator[dict[str, Any]]:
    """Each record's direction flip whose SQL returns rows on `db` and whose question is new."""
    stats = stats if stats is not None else FlipStats()
    seen = {r["question"].strip().lower() for r in records}
    for rec in records:
        flipped = flip_direction(rec["question"], rec["query"])
        if flipped is None or not admit(
            flipped, seen, db, stats, "flip_duplicate", "flip_empty_or_error"
        ):
            continue
        stats.flipped += 1
        rest = {k: v for k, v in rec.items() if k not in ("question", "query")}
        yield (
            {"question": flipped[0], "query": flipped[1]} | rest | {"flipped_from": rec["question"]}
        )


def with_flips(
    records: Iterable[dict[str, Any]], db: Database, *, per_pair: int = 4, seed: int = 0
) -> tuple[list[dict[str, Any]], FlipStats]:
    """The original records and their direction flips, followed by the value swaps of both
    (`symgen.tasks.sql.augment.with_augmented`), with the run's counts."""
    originals = list(records)
    stats = FlipStats()
    flips = list(flipped_pairs(originals, db, stats))
    out, _ = with_augmented([*originals, *flips], db, per_pair=per_pair, seed=seed, stats=stats)
    return out, stats
