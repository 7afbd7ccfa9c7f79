"""Is a candidate SQL query valid for a schema? Used to pick the first valid beam.

Cheap static checks only (no execution): it parses as exactly one read-only query, every
table and column it names exists (aliases and CTE names the query itself defines are allowed),
and it has none of the smells of `symgen.tasks.sql.smells` (a column equated with the extreme of
another, a bare column in a grouped query): SQL that runs but no question means.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence

from sqlglot import exp

from symgen.databases.base import Table
from symgen.tasks.sql.smells import smell
from symgen.tasks.sql.task import checked_tree

SchemaMap = Mapping[str, frozenset[str]]  # lower-cased table -> lower-cased column names


def schema_map(tables: Sequence[Table]) -> dict[str, frozenset[str]]:
    return {t.name.lower(): frozenset(c.name.lower() for c in t.columns) for t in tables}


def problem(sql: str, schema: SchemaMap, dialect: str = "sqlite") -> str | None:
    """None when valid, else a short reason (`syntax`, `unknown table x`, `unknown column y`)."""
    tree = checked_tree(sql, dialect)
    if isinstance(tree, str):
        return tree
    # names the query defines itself: CTEs and derived tables (`FROM (SELECT ...) AS tmp1`)
    ctes = {c.alias_or_name.lower() for c in tree.find_all(exp.CTE)}
    ctes |= {q.alias.lower() for q in tree.find_all(exp.Subquery) if q.alias}
    aliases = {a.alias.lower() for a in tree.find_all(exp.Alias)}
    table_aliases: dict[str, str] = {}
    for table in tree.find_all(exp.Table):
        name = table.name.lower()
        if name not in schema and name not in ctes:
            return f"unknown table {name}"
        table_aliases[(table.alias or name).lower()] = name
    known = set().union(*schema.values()) if schema else set()
    for column in tree.find_all(exp.Column):
        name = column.name.lower()
        if not name or isinstance(column.this, exp.Star):
            continue
        qualifier = column.table.lower()
        if qualifier:
            base = table_aliases.get(qualifier)
            if base is None:
                if qualifier in ctes:
                    continue
                return f"unknown table {qualifier}"
            if base in schema and name not in schema[base]:
                return f"unknown column {qualifier}.{name}"
        elif name not in known and name not in aliases:
            return f"unknown column {name}"
    found = smell(tree)
    return found[1] if found else None
