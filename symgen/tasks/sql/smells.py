"""SQL that runs but cannot mean what any question asks: rejected by the verifier, skipped by
training, and never offered by the engine.

Two smells, both the commonest slips of small models and both absent from every gold query of
GeoQuery (880) and Spider (7,756) once join equalities are taken into account:
  * a column equated with the max/min of another column (`area = (SELECT max(population) ...)`);
  * a bare column in a grouped query: projected, neither grouped nor aggregated, so its value
    comes from an arbitrary row of the group (`SELECT city_name FROM city GROUP BY state_name
    ORDER BY sum(population) DESC LIMIT 1`). PostgreSQL rejects it; SQLite silently answers.
Pure functions over a sqlglot tree.
"""

from __future__ import annotations

from collections.abc import Collection

from sqlglot import exp


def smell(tree: exp.Expr) -> tuple[str, str] | None:
    """(kind, detail) of the first smell of `tree`, or None. The kind (`mismatched_extreme`,
    `bare_column`) is what the verifier counts; the detail says where."""
    aliases = {a.alias.lower() for a in tree.find_all(exp.Alias)}  # `count(1) AS cnt`
    if detail := mismatched_extreme(tree, aliases):
        return "mismatched_extreme", detail
    if detail := bare_column(tree):
        return "bare_column", detail
    return None


def mismatched_extreme(tree: exp.Expr, aliases: Collection[str] = ()) -> str | None:
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
            if not isinstance(arg, exp.Column) or {arg.name.lower(), col.name.lower()} & set(
                aliases
            ):
                continue
            if arg.name.lower() != col.name.lower():
                kind = "max" if isinstance(agg, exp.Max) else "min"
                return f"{col.name.lower()} equated with the {kind} of {arg.name.lower()}"
    return None


def bare_column(tree: exp.Expr) -> str | None:
    """A projected column of a GROUP BY query that is neither grouped, aggregated, nor joined
    by equality to a grouped column (`river.traverse = state.state_name ... GROUP BY
    state.state_name` may project `river.traverse`)."""
    for select in tree.find_all(exp.Select):
        group = select.args.get("group")
        if not group:
            continue
        grouped = {c.name.lower() for g in group.expressions for c in _columns(g, select)}
        grouped |= _joined_to(select, grouped)
        for projection in select.expressions:
            node = projection.this if isinstance(projection, exp.Alias) else projection
            for col in _columns(node, select):
                name = col.name.lower()
                if name and name not in grouped and col.find_ancestor(exp.AggFunc) is None:
                    return f"bare column {name} in a grouped query"
    return None


def _columns(node: exp.Expr, select: exp.Select) -> list[exp.Column]:
    """Columns of `node` that belong to `select` itself, not to a subquery inside it."""
    return [c for c in node.find_all(exp.Column) if c.find_ancestor(exp.Select) is select]


def _joined_to(select: exp.Select, grouped: set[str]) -> set[str]:
    """Columns the WHERE or JOIN conditions of `select` equate with a grouped column."""
    conditions = [
        select.args.get("where"),
        *(j.args.get("on") for j in select.args.get("joins") or []),
    ]
    out: set[str] = set()
    for cond in conditions:
        if cond is None:
            continue
        for eq in cond.find_all(exp.EQ):
            a, b = eq.this, eq.expression
            if isinstance(a, exp.Column) and isinstance(b, exp.Column):
                if a.name.lower() in grouped:
                    out.add(b.name.lower())
                if b.name.lower() in grouped:
                    out.add(a.name.lower())
    return out
