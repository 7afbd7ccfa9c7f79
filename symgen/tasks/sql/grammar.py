"""A llama.cpp grammar (GBNF) for one database's answers: SQL candidates that cannot name a
table or column the schema lacks, nor fail to parse as a query.

It covers the part of SQL the seeds and the verifier accept: one SELECT (after the prompt's
`SELECT`), joins, subqueries, set operations, GROUP BY / HAVING / ORDER BY / LIMIT, CASE, CAST,
`IN`, `BETWEEN`, `LIKE`, `IS NULL`, and the dialect's functions. Names are matched without
regard to case, as the engines do. Aliases are context-sensitive, which a context-free grammar
cannot follow in general, so they are split by how they are written:

* `TABLEaliasN` (GeoQuery's and Spider's style, `RESTAURANTalias0`): the grammar knows the
  table, so `RESTAURANTalias0.` is followed by RESTAURANT's columns only;
* any other alias the seeds use (`T1`, `s`), and `T1`..`T9`: followed by any column.

`schema_grammar` returns None, with the reason, when no grammar should be built (identifiers a
grammar literal cannot hold, or so many columns that the grammar's cost would outweigh what it
saves); the caller then samples unconstrained and says so once.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Sequence

from symgen.databases.base import Table
from symgen.databases.functions import SQLITE_ALLOWED

MAX_COLUMNS = 2000  # past this the grammar (and each rejected token's full-vocabulary check) grows
_PLAIN = re.compile(r"^[A-Za-z_][A-Za-z0-9_]*$")
_PRINTABLE = re.compile(r"^[^\x00-\x1f\"\\`\[\]]+$")  # what a quoted name may hold here
_GENERIC_FUNCTIONS = [
    "count",
    "sum",
    "avg",
    "min",
    "max",
    "abs",
    "round",
    "length",
    "lower",
    "upper",
    "substr",
    "substring",
    "trim",
    "coalesce",
    "ifnull",
    "nullif",
    "cast",
    "date",
    "strftime",
    "julianday",
    "replace",
    "instr",
    "concat",
    "extract",
    "year",
    "month",
    "day",
    "now",
    "date_part",
    "date_trunc",
    "string_agg",
    "group_concat",
]
_KEYWORDS = [
    "select",
    "distinct",
    "from",
    "where",
    "group",
    "by",
    "having",
    "order",
    "asc",
    "desc",
    "limit",
    "offset",
    "union",
    "all",
    "intersect",
    "except",
    "join",
    "inner",
    "left",
    "right",
    "full",
    "outer",
    "cross",
    "natural",
    "on",
    "using",
    "as",
    "and",
    "or",
    "not",
    "in",
    "is",
    "null",
    "like",
    "any",
    "some",
    "glob",
    "between",
    "exists",
    "case",
    "when",
    "then",
    "else",
    "end",
    "cast",
]


def _ci(word: str) -> str:
    """A GBNF sequence matching `word` in any case: `[sS][eE]...`."""
    parts = []
    for ch in word:
        if ch.isalpha():
            parts.append(f"[{ch.lower()}{ch.upper()}]")
        else:
            parts.append(f'"{ch}"' if ch not in '"\\' else f'"\\{ch}"')
    return " ".join(parts)


def _rule(name: str) -> str:
    return re.sub(r"[^a-z0-9-]", "-", name.lower())


def _name(name: str) -> str:
    """A table or column name as written in SQL: bare when plain (any case), else quoted."""
    quoted = f'"\\"" {_ci(name)} "\\"" | "`" {_ci(name)} "`" | "[" {_ci(name)} "]"'
    return f"{_ci(name)} | {quoted}" if _PLAIN.match(name) else quoted


def _quotable(rule: str) -> str:
    """`rule` bare, or in double quotes or backticks (Spider's gold writes `"t1"."name"`)."""
    return f'{rule} | "\\"" {rule} "\\"" | "`" {rule} "`"'


def _alt(items: Iterable[str]) -> str:
    return " | ".join(f"({x})" for x in items)


def seed_aliases(sqls: Iterable[str]) -> set[str]:
    """The table aliases the seeds use (`AS T1`, `FROM river r`): the grammar's generic ones."""
    import sqlglot
    from sqlglot import exp

    found: set[str] = set()
    for sql in sqls:
        try:
            trees = sqlglot.parse(sql, read="sqlite")
        except Exception:
            continue
        for tree in trees:
            if tree is None:
                continue
            for table in tree.find_all(exp.Table):
                if table.alias and _PLAIN.match(table.alias):
                    found.add(table.alias)
    return found


def schema_grammar(
    tables: Sequence[Table], aliases: Iterable[str] = (), dialect: str = "sqlite"
) -> tuple[str | None, str]:
    """(GBNF text, "") for answers over `tables`; (None, why) when it should not be built.

    `aliases`: the seeds' table aliases (`seed_aliases`); those of the form TABLEaliasN are
    tied to their table whatever the seeds say."""
    columns = [(t.name, c.name) for t in tables for c in t.columns]
    if not tables or not columns:
        return None, "the schema has no tables"
    if len(columns) > MAX_COLUMNS:
        return (
            None,
            f"the schema has {len(columns)} columns (a grammar is built up to {MAX_COLUMNS})",
        )
    odd = [n for n in [t.name for t in tables] + [c for _, c in columns] if not _PRINTABLE.match(n)]
    if odd:
        return None, f"names a grammar cannot spell ({', '.join(repr(n) for n in odd[:3])})"
    table_rules = {t.name: f"t-{i}" for i, t in enumerate(tables)}
    lines = [
        'root ::= select-tail ws ";"',
        "select ::= kw-select select-tail",
        "select-tail ::= (sp kw-distinct)? sp results (sp kw-from sp from)? (sp kw-where sp expr)?"
        " (sp kw-group sp kw-by sp exprs (sp kw-having sp expr)?)? compound*"
        ' (sp kw-order sp kw-by sp order (ws "," ws order)*)?'
        ' (sp kw-limit msp int ((msp kw-offset msp | ws "," ws) int)?)?',
        "compound ::= sp (kw-union (sp kw-all)? | kw-intersect | kw-except) sp select",
        'results ::= result (ws "," ws result)*',
        'result ::= "*" | qualifier ".*" | expr (msp kw-as msp out-alias | msp generic)?',
        'out-alias ::= [A-Za-z_] [A-Za-z0-9_]* | "\'" [^\'\\n]* "\'" | "\\"" [^"\\n]* "\\""',
        "from ::= source (join)*",
        'source ::= (table | "(" ws select ws ")") ((msp kw-as)? msp table-alias)?',
        'join ::= ws "," ws source | sp ((kw-natural sp)? ((kw-left | kw-right | kw-full)'
        " (sp kw-outer)? sp | kw-inner sp | kw-cross sp)?) kw-join sp source"
        ' (sp kw-on sp expr | sp kw-using ws "(" ws column (ws "," ws column)* ws ")")?',
        "order ::= expr (sp (kw-asc | kw-desc))?",
        'exprs ::= expr (ws "," ws expr)*',
        "expr ::= term (op term)*",
        'op ::= ws ("=" | "==" | "!=" | "<>" | "<" | "<=" | ">" | ">=" | "+" |'
        ' "-" | "*" | "/" | "%" | "||") ws | sp (kw-and | kw-or) sp',
        'term ::= (kw-not sp | "-" ws)? primary postfix*',
        'postfix ::= sp kw-is (sp kw-not)? sp kw-null | sp (kw-not sp)? kw-in ws "(" ws'
        ' (select | exprs) ws ")" | sp (kw-not sp)? kw-between sp term sp kw-and sp term |'
        " sp (kw-not sp)? (kw-like | kw-glob) sp term",
        'primary ::= literal | column-ref | call | "(" ws (select | expr) ws ")" | case |'
        ' (kw-all | kw-any | kw-some) ws "(" ws select ws ")" |'
        ' kw-exists ws "(" ws select ws ")" | kw-cast ws "(" ws expr sp kw-as sp type ws ")"',
        "case ::= kw-case (sp expr)? (sp kw-when sp expr sp kw-then sp expr)+"
        " (sp kw-else sp expr)? sp kw-end",
        'type ::= [A-Za-z]+ (ws "(" ws number (ws "," ws number)? ws ")")?',
        'call ::= function ws "(" ws ("*" | (kw-distinct sp)? exprs)? ws ")"',
        'literal ::= number | "\'" ([^\'\\n] | "\'\'")* "\'" | "\\"" [^"\\n]* "\\"" | kw-null',
        'number ::= int ("." [0-9]+)? | "." [0-9]+',
        "int ::= [0-9]+",
        f"function ::= {_alt(_ci(f) for f in _functions(dialect))}",
        f"table ::= {_alt(table_rules.values())}",
        # an alias is a name of the forms above, so that `FROM city WHERE;` is no table aliased
        # WHERE (keywords of four letters or fewer still pass as one)
        "table-alias ::= generic | derived | tied-alias",
        f"column ::= {_alt(sorted({_name(c) for _, c in columns}))}",
        'column-ref ::= column | short | generic "." column | derived "." ident | tied-ref',
        "qualifier ::= table | generic | derived | tied-alias",
        f"generic ::= {_quotable('generic-bare')}",
        f"derived ::= {_quotable('derived-bare')}",
        f"generic-bare ::= short | {_alt(_ci(a) for a in sorted(_generic(aliases, tables)))}",
        "derived-bare ::= ([tT][mM][pP] | [tT][eE][mM][pP] | [sS][uU][bB] | [dD][eE][rR][iI][vV][eE][dD])"
        " [0-9]*",
        "short ::= [A-Za-z_] ([A-Za-z0-9_] ([A-Za-z0-9_] [A-Za-z0-9_]?)?)?",
        "ident ::= [A-Za-z_] [A-Za-z0-9_]*",
        f"tied-ref ::= {_alt(f'{r}-ref' for r in table_rules.values())}",
        f"tied-alias ::= {_alt(f'{r}-alias' for r in table_rules.values())}",
        # a space is optional between keywords and the rest (`WHERE(`, `)AND(`) but not before
        # an alias, or `FROM rivers` would pass as the table river aliased `s`
        'sp ::= [ \\t]* ("\\n" [ \\t]*)?',
        'msp ::= [ \\t]+ ("\\n" [ \\t]*)? | "\\n" [ \\t]*',
        'ws ::= [ \\t]* ("\\n" [ \\t]*)?',
    ]
    for t in tables:  # a table's own name, or its TABLEaliasN, then its columns only
        rule = table_rules[t.name]
        cols = _alt(_name(c.name) for c in t.columns) if t.columns else '"*"'
        alias = f"{_ci(t.name)} [aA][lL][iI][aA][sS] [0-9]+" if _PLAIN.match(t.name) else '"\\x00"'
        lines.append(f"{rule} ::= {_name(t.name)}")
        lines.append(f"{rule}-alias ::= {_quotable(f'({alias})')}")
        lines.append(f'{rule}-ref ::= ({rule} | {rule}-alias) "." ({cols})')
    lines += [f"kw-{w} ::= {_ci(w)}" for w in _KEYWORDS]
    return "\n".join(lines) + "\n", ""


def _functions(dialect: str) -> list[str]:
    if dialect == "sqlite":
        return [*sorted(f for f in SQLITE_ALLOWED if _PLAIN.match(f)), "cast"]
    return _GENERIC_FUNCTIONS


def _generic(aliases: Iterable[str], tables: Sequence[Table]) -> set[str]:
    """Aliases followed by any column: the seeds' own (minus the tied TABLEaliasN form) and
    T1..T9, the form most models write unprompted."""
    tied = re.compile(
        "^(" + "|".join(re.escape(t.name) for t in tables) + r")alias[0-9]+$", re.IGNORECASE
    )
    return {a for a in aliases if not tied.match(a)} | {f"T{i}" for i in range(1, 10)}
