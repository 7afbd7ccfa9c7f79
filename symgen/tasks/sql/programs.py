"""Program-first gen-q: sample SQL programs from the schema itself, before any question exists.

Why: gen-q from ten seed questions collapses onto the seeds' few shapes (measured: most of 256
kept GeoQuery pairs were "longest river in X" or "major cities in X"), and tables the seeds never
mention get no data at all. Sampling programs from a small grammar over *every* table, column and
value, then letting the LLM describe each one (`program_prompt`) and checking that description by
back-translation (`SqlContext.answer_anchored`), covers the schema evenly and keeps SQL that is
correct by construction. The grammar is the shapes of everyday questions: lookups, filters,
counts, extremes (global and within a group; the row's name, or another of its attributes),
aggregates, comparisons with another row, nesting through columns that share values, and
group-by rankings.

Pure: the schema, its values and a `random.Random` in, SQL text out; execution is the caller's.

Longer than most modules (~430 lines) because the templates are one grammar: each is a few
lines over the same `SchemaFacts` helpers (numeric columns, shown names, thresholds), and a
module per template would part each from the helpers it needs.
"""

from __future__ import annotations

import random
import re
from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field

from symgen.databases.base import Table
from symgen.tasks.sql.knowledge import sql_name

_NUMERIC_TYPE = re.compile(r"int|real|double|float|num|dec", re.IGNORECASE)
_NUMBER = re.compile(r"^-?\d+(\.\d+)?$")


@dataclass(frozen=True)
class SchemaFacts:
    """What the grammar may use: numeric and text columns per table, values, linked columns."""

    dialect: str
    numeric: dict[str, tuple[str, ...]]
    text: dict[str, tuple[str, ...]]
    values: dict[tuple[str, str], tuple[str, ...]]  # (table, column) -> distinct text values
    numbers: dict[tuple[str, str], tuple[float, ...]]  # (table, column) -> sorted sample values
    # (a, ca, b, cb): values of a.ca mostly occur in b.cb, so `a.ca IN (SELECT b.cb ...)` reads
    links: tuple[tuple[str, str, str, str], ...] = field(default=())
    # text columns whose values repeat (river.traverse, city.state_name): counting, summing or
    # ranking by them means something; by a name column it would count one row
    grouping: frozenset[tuple[str, str]] = field(default=frozenset())

    def name(self, table: str, column: str | None = None) -> str:
        if column is None:
            return sql_name(table, self.dialect)
        return f"{sql_name(table, self.dialect)}.{sql_name(column, self.dialect)}"


def entity_column(f: SchemaFacts, table: str) -> str | None:
    """The column naming a row's entity (river.river_name): what "which rivers ..." asks for.

    A text column named like the table and "name", else one with "name", else the first."""
    cols = f.text.get(table, ())
    stem = table.lower().rstrip("s")
    named = [c for c in cols if "name" in c.lower()]
    own = [c for c in named if stem in c.lower()]
    picks = own or named or list(cols)
    return picks[0] if picks else None


def _shown(f: SchemaFacts, rng: random.Random, table: str, *exclude: str) -> str | None:
    """The projected column: mostly the entity's name (as people ask), sometimes another; never
    one the question already names (`SELECT state_name ... WHERE state_name='ohio'`)."""
    entity = entity_column(f, table)
    if entity is not None and entity not in exclude and rng.random() < 0.7:
        return entity
    others = [c for c in (*f.text[table], *f.numeric[table]) if c not in exclude]
    return rng.choice(others) if others else None


def _looks_numeric(rows: Sequence[Sequence[object]], index: int) -> bool:
    seen = [r[index] for r in rows if r[index] not in (None, "")]
    return bool(seen) and all(_NUMBER.match(str(v).strip()) for v in seen)


def schema_facts(
    tables: Sequence[Table],
    text_values: Iterable[tuple[str, str, str]],
    numeric_values: Mapping[tuple[str, str], Sequence[float]],
    dialect: str = "sqlite",
    min_overlap: float = 0.5,
    grouping: Iterable[tuple[str, str]] = (),
) -> SchemaFacts:
    """Classify columns and find links; `numeric_values` holds a sample per numeric column.

    Text columns with a single value (country_name = 'usa' everywhere) are left out: every
    question about them has the same answer."""
    numeric: dict[str, tuple[str, ...]] = {}
    text: dict[str, tuple[str, ...]] = {}
    for t in tables:
        nums = [
            c.name
            for i, c in enumerate(t.columns)
            if _NUMERIC_TYPE.search(c.type or "") or (t.rows and _looks_numeric(t.rows, i))
        ]
        numeric[t.name] = tuple(nums)
        text[t.name] = tuple(c.name for c in t.columns if c.name not in nums)
    values: dict[tuple[str, str], list[str]] = {}
    for table, column, value in text_values:
        if column in text.get(table, ()) and value.strip() and "'" not in value:
            values.setdefault((table, column), []).append(value)
    vals = {k: tuple(dict.fromkeys(v)) for k, v in values.items()}
    constant = {k for k, v in vals.items() if len(v) < 2}
    text = {t: tuple(c for c in cols if (t, c) not in constant) for t, cols in text.items()}
    vals = {k: v for k, v in vals.items() if k not in constant}
    links = []
    sets = {k: set(v) for k, v in vals.items() if len(v) >= 2}
    for (a, ca), va in sets.items():
        for (b, cb), vb in sets.items():
            if a != b and len(va & vb) >= min_overlap * min(len(va), len(vb)):
                links.append((a, ca, b, cb))
    numbers = {
        k: tuple(sorted(v))
        for k, v in numeric_values.items()
        if v and k[1] in numeric.get(k[0], ())
    }
    return SchemaFacts(
        dialect, numeric, text, vals, numbers, tuple(sorted(links)), frozenset(grouping) & set(vals)
    )


# A template takes the facts and an rng and returns SQL, or None when the schema lacks the parts.
Template = Callable[[SchemaFacts, random.Random], "str | None"]


def _pick_value(
    f: SchemaFacts, rng: random.Random, table: str, grouping: bool | None = None
) -> tuple[str, str] | None:
    """A (column, value) to filter on: any column, or only grouping (True) / identifying
    (False) ones: `count ... WHERE traverse='ohio'`, but `(SELECT length ... WHERE name='x')`."""
    keyed = [
        c
        for c in f.text[table]
        if f.values.get((table, c))
        and (grouping is None or ((table, c) in f.grouping) == grouping)
        and (grouping is not True or _refers(f, table, c))
    ]
    if not keyed:
        return None
    column = rng.choice(keyed)
    return column, rng.choice(f.values[(table, column)])


def _refers(f: SchemaFacts, table: str, column: str) -> bool:
    """Does `table.column` name another table's entities (river.traverse → state.state_name)?
    Only such columns make groups people ask about: "the longest river in texas", not "the
    highest state whose lowest point is the atlantic ocean" or "the biggest city named utica"."""
    return any(
        a == table and ca == column and cb == entity_column(f, b) for a, ca, b, cb in f.links
    )


def _threshold(f: SchemaFacts, rng: random.Random, table: str, column: str) -> str | None:
    sample = f.numbers.get((table, column))
    if not sample:
        return None
    value = sample[int(rng.uniform(0.2, 0.8) * (len(sample) - 1))]
    # round numbers, as people ask: > 500000, not > 512233; > 43, not > 43.24517512508935
    if abs(value) >= 100:
        value = round(value, 1 - len(str(int(abs(value)))))
    elif abs(value) >= 10:
        value = round(value)
    else:
        value = round(value, 1)
    return str(int(value)) if float(value).is_integer() else str(value)


def _tables_with(f: SchemaFacts, *, numeric: bool = False, values: bool = False) -> list[str]:
    return [
        t
        for t in f.text
        if (not numeric or f.numeric[t])
        and (not values or any(f.values.get((t, c)) for c in f.text[t]))
    ]


def _pick_table(
    f: SchemaFacts, rng: random.Random, *, numeric: bool = False, values: bool = False
) -> str | None:
    tables = _tables_with(f, numeric=numeric, values=values)
    return rng.choice(tables) if tables else None


def _lookup(f: SchemaFacts, rng: random.Random) -> str | None:
    t = _pick_table(f, rng, values=True)
    if t is None:
        return None
    key = _pick_value(f, rng, t)
    if key is None:
        return None
    shown = _shown(f, rng, t, key[0])
    if shown is None:
        return None
    return f"SELECT {f.name(t, shown)} FROM {f.name(t)} WHERE {f.name(t, key[0])}='{key[1]}';"


def _attribute(f: SchemaFacts, rng: random.Random) -> str | None:
    """One named entity's attribute: "how long is the ohio river", "what is the capital of
    texas", the commonest everyday question. `_lookup` mostly shows the entity's name, so these
    were rare (no river length by name in 2,507 1.5B pairs, while GeoQuery dev asks it often);
    every (table, column) pair is equally likely here, so every attribute gets asked about."""
    pairs = [
        (t, c, e)
        for t in f.text
        if (e := entity_column(f, t)) is not None and f.values.get((t, e))
        for c in (*f.text[t], *f.numeric[t])
        if c != e
    ]
    if not pairs:
        return None
    t, c, e = rng.choice(pairs)
    value = rng.choice(f.values[(t, e)])
    return f"SELECT {f.name(t, c)} FROM {f.name(t)} WHERE {f.name(t, e)}='{value}';"


def _filter(f: SchemaFacts, rng: random.Random) -> str | None:
    t = _pick_table(f, rng, numeric=True)
    if t is None:
        return None
    n = rng.choice(f.numeric[t])
    limit = _threshold(f, rng, t, n)
    if limit is None or not f.text[t]:
        return None
    op = rng.choice((">", "<"))
    where = f"{f.name(t, n)}{op}{limit}"
    key = _pick_value(f, rng, t) if rng.random() < 0.5 else None
    if key is not None:
        where = f"{f.name(t, key[0])}='{key[1]}' AND {where}"
    shown = _shown(f, rng, t, n, *(key[:1] if key else ()))
    return None if shown is None else f"SELECT {f.name(t, shown)} FROM {f.name(t)} WHERE {where};"


def _count(f: SchemaFacts, rng: random.Random) -> str | None:
    t = _pick_table(f, rng, values=True)
    if t is None:
        return None
    key = _pick_value(f, rng, t, grouping=True)
    if key is None:
        return None
    counted = [c for c in f.text[t] if c != key[0]] or [key[0]]
    return (
        f"SELECT count({f.name(t, rng.choice(counted))}) FROM {f.name(t)} "
        f"WHERE {f.name(t, key[0])}='{key[1]}';"
    )


def _extreme(f: SchemaFacts, rng: random.Random) -> str | None:
    return _extreme_of(
        f, rng, lambda t, n, key: _shown(f, rng, t, n, *(key[:1] if key else ())) or n
    )


def _superlative(f: SchemaFacts, rng: random.Random) -> str | None:
    """Another attribute of the row with the largest or smallest value: "what is the capital of
    the state with the largest population". `_extreme` mostly shows the entity's name, so the
    task model trained on 1.5B data answered "the state with the largest population" where dev
    asked for its capital (4 of the 38 dev questions the 1.5B got right and that model got
    wrong, 2026-12-01). Never the measured column itself: the 1.5B described `SELECT length ...
    WHERE length=(SELECT min(length) ...)` as "the shortest river in alabama" (a name), and 8 of
    the first 97 such programs were kept."""

    def pick(t: str, n: str, key: tuple[str, str] | None) -> str | None:
        entity = entity_column(f, t)
        shown = [c for c in (*f.text[t], *f.numeric[t]) if c not in (entity, n, *(key or ())[:1])]
        return rng.choice(shown) if shown else None

    return _extreme_of(f, rng, pick)


def _extreme_of(
    f: SchemaFacts,
    rng: random.Random,
    pick_shown: Callable[[str, str, tuple[str, str] | None], str | None],
) -> str | None:
    """A table, a numeric column `n`, max or min and maybe a group; `pick_shown(table, n, key)`
    chooses the projected column."""
    t = _pick_table(f, rng, numeric=True)
    if t is None:
        return None
    n, agg = rng.choice(f.numeric[t]), rng.choice(("max", "min"))
    key = _pick_value(f, rng, t, grouping=True) if rng.random() < 0.5 else None
    shown = pick_shown(t, n, key)
    return None if shown is None else _extreme_sql(f, t, shown, n, agg, key)


def _extreme_sql(
    f: SchemaFacts, t: str, shown: str, n: str, agg: str, key: tuple[str, str] | None
) -> str:
    """`shown` of the row(s) of `t` whose `n` is the `agg` (max/min), within `key`'s group."""
    if key is None:
        return (
            f"SELECT {f.name(t, shown)} FROM {f.name(t)} WHERE {f.name(t, n)}="
            f"(SELECT {agg}({f.name(t, n)}) FROM {f.name(t)});"
        )
    cond = f"{f.name(t, key[0])}='{key[1]}'"
    return (
        f"SELECT {f.name(t, shown)} FROM {f.name(t)} WHERE {cond} AND {f.name(t, n)}="
        f"(SELECT {agg}({f.name(t, n)}) FROM {f.name(t)} WHERE {cond});"
    )


def _aggregate(f: SchemaFacts, rng: random.Random) -> str | None:
    t = _pick_table(f, rng, numeric=True)
    if t is None:
        return None
    n, agg = rng.choice(f.numeric[t]), rng.choice(("sum", "avg", "max", "min"))
    key = _pick_value(f, rng, t, grouping=True) if rng.random() < 0.7 else None
    where = "" if key is None else f" WHERE {f.name(t, key[0])}='{key[1]}'"
    return f"SELECT {agg}({f.name(t, n)}) FROM {f.name(t)}{where};"


def _compare(f: SchemaFacts, rng: random.Random) -> str | None:
    t = _pick_table(f, rng, numeric=True, values=True)
    if t is None:
        return None
    n = rng.choice(f.numeric[t])
    # the row compared with is named by its entity ("states larger than texas"), as people ask;
    # another identifying column ("... than the state whose capital is raleigh") only without one
    entity = entity_column(f, t)
    if entity is not None and (t, entity) not in f.grouping and f.values.get((t, entity)):
        key: tuple[str, str] | None = (entity, rng.choice(f.values[(t, entity)]))
    else:
        key = _pick_value(f, rng, t, grouping=False)
    if key is None:
        return None
    op = rng.choice((">", "<"))
    return (
        f"SELECT {f.name(t, entity_column(f, t) or key[0])} FROM {f.name(t)} WHERE {f.name(t, n)}{op}"
        f"(SELECT {f.name(t, n)} FROM {f.name(t)} WHERE {f.name(t, key[0])}='{key[1]}');"
    )


def _nested(f: SchemaFacts, rng: random.Random) -> str | None:
    if not f.links:
        return None
    # mostly "the <attribute> of the state(s) whose ..." (a.ca is a's entity), as people ask
    entity_links = [link for link in f.links if link[1] == entity_column(f, link[0])]
    a, ca, b, cb = rng.choice(entity_links if entity_links and rng.random() < 0.7 else f.links)
    shown = _shown(f, rng, a, ca) or ca
    if f.numeric[b] and rng.random() < 0.5:
        n, agg = rng.choice(f.numeric[b]), rng.choice(("max", "min"))
        inner = (
            f"SELECT {f.name(b, cb)} FROM {f.name(b)} WHERE {f.name(b, n)}="
            f"(SELECT {agg}({f.name(b, n)}) FROM {f.name(b)})"
        )
    else:
        key = _pick_value(f, rng, b)
        if key is None or key[0] == cb:
            return None
        inner = f"SELECT {f.name(b, cb)} FROM {f.name(b)} WHERE {f.name(b, key[0])}='{key[1]}'"
    return f"SELECT {f.name(a, shown)} FROM {f.name(a)} WHERE {f.name(a, ca)} IN({inner});"


def _ranking(f: SchemaFacts, rng: random.Random) -> str | None:
    t = _pick_table(f, rng, values=True)
    if t is None:
        return None
    groups = [c for c in f.text[t] if (t, c) in f.grouping and _refers(f, t, c)]
    if not groups:
        return None
    group = rng.choice(groups)
    if f.numeric[t] and rng.random() < 0.5:
        score = f"sum({f.name(t, rng.choice(f.numeric[t]))})"
    else:
        score = f"count({f.name(t, rng.choice(f.text[t]))})"
    return (
        f"SELECT {f.name(t, group)} FROM {f.name(t)} GROUP BY {f.name(t, group)} "
        f"ORDER BY {score} DESC LIMIT 1;"
    )


TEMPLATES: dict[str, Template] = {
    "lookup": _lookup,
    "attribute": _attribute,
    "filter": _filter,
    "count": _count,
    "extreme": _extreme,
    "superlative": _superlative,
    "aggregate": _aggregate,
    "compare": _compare,
    "nested": _nested,
    "ranking": _ranking,
}
# templates whose answer may be one value repeated (`worth_asking(repeats_ok=...)`)
REPEATING_TEMPLATES = frozenset({"attribute"})


def template_names(names: Iterable[str]) -> tuple[str, ...]:
    """The templates `names` asks for (none: all), or a ValueError naming the choices."""
    names = tuple(names)
    if unknown := set(names) - set(TEMPLATES):
        raise ValueError(f"unknown templates {sorted(unknown)}; choose from {', '.join(TEMPLATES)}")
    return names or tuple(TEMPLATES)


def sample_programs(
    facts: SchemaFacts, rng: random.Random, templates: Sequence[str] = ()
) -> Iterator[tuple[str, str]]:
    """Endless (template name, SQL) pairs, templates (all, or the ones named) in turn so every
    shape is represented."""
    names = list(template_names(templates))
    misses = 0
    while misses < 1000:
        rng.shuffle(names)
        produced = False
        for name in names:
            # a draw can miss (a table without grouping column); redraw so shapes stay balanced
            for _ in range(50):
                sql = TEMPLATES[name](facts, rng)
                if sql is not None:
                    produced = True
                    yield name, sql
                    break
        misses = 0 if produced else misses + 1


def worth_asking(
    rows: Sequence[Sequence[object]], max_rows: int = 30, *, repeats_ok: bool = False
) -> bool:
    """Does a program's result make a question? Not empty, not NULL, not a long dump, and not
    one value repeated (`SELECT country_name ... WHERE state_name='texas'` → 'usa' x 40) unless
    `repeats_ok`: an entity's attribute may repeat once per row of the entity (the ohio river's
    length, once per state it crosses), and that is the answer the plain query gives."""
    if not rows or len(rows) > max_rows:
        return False
    if all(v is None or v == "" for row in rows for v in row):
        return False
    return repeats_ok or len(rows) == 1 or len({tuple(r) for r in rows}) > 1
