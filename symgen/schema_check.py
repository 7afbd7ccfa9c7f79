"""Is a candidate SQL query valid for a schema? Used to pick the first valid beam.

Cheap static checks only (no execution): it parses as exactly one read-only query, every
table and column it names exists (aliases and CTE names the query itself defines are allowed),
and it does not equate a column with the extreme of another column (`area = (SELECT
max(population) ...)`), the slip a small model makes most in superlatives and that no schema
allows to mean anything.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence

from sqlglot import exp

from symgen.database import Table
from symgen.tasks.sql import parse, static_check

SchemaMap = Mapping[str, frozenset[str]]  # lower-cased table -> lower-cased column names


def schema_map(tables: Sequence[Table]) -> dict[str, frozenset[str]]:
    return {t.name.lower(): frozenset(c.name.lower() for c in t.columns) for t in tables}


def problem(sql: str, schema: SchemaMap, dialect: str = "sqlite") -> str | None:
    """None when valid, else a short reason (`syntax`, `unknown table x`, `unknown column y`)."""
    reason = static_check(sql, dialect)
    if reason:
        return reason
    tree = parse(sql, dialect)
    if tree is None:
        return "syntax"
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
    return _mismatched_extreme(tree, aliases)


def _mismatched_extreme(tree: exp.Expr, aliases: set[str]) -> str | None:
    """Only between schema columns: a derived count (`cnt1 = (SELECT max(cnt) ...)`) is fine."""
    for eq in tree.find_all(exp.EQ):
        for col, sub in ((eq.this, eq.expression), (eq.expression, eq.this)):
            if not isinstance(col, exp.Column) or not isinstance(sub, exp.Subquery):
                continue
            select = sub.this
            if not isinstance(select, exp.Select) or len(select.expressions) != 1:
                continue
            agg = select.expressions[0]
            if not isinstance(agg, (exp.Max, exp.Min)):
                continue
            arg = agg.this
            if isinstance(arg, exp.Distinct) and arg.expressions:
                arg = arg.expressions[0]
            if not isinstance(arg, exp.Column) or {arg.name.lower(), col.name.lower()} & aliases:
                continue
            if arg.name.lower() != col.name.lower():
                kind = "max" if isinstance(agg, exp.Max) else "min"
                return f"{col.name.lower()} equated with the {kind} of {arg.name.lower()}"
    return None
