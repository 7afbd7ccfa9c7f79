"""Compose verified pairs: one pair's answer stands in for a value another pair's question names.

Why: nested questions ("the populations of the states the mississippi runs through", "rivers in
the states bordering alabama") were 76 of the 121 GeoQuery dev questions the task model missed
(2026-12-01), and no check by agreement keeps them: the 1.5B describes such programs badly and
its own answers to them rarely run, so back-translation refuses nearly all (6 of 390 nested
programs kept). Their parts are easy, though, and already verified: "what is the population of
montana" and "which states does the mississippi run through". Replacing `state.state_name=
'montana'` by `state.state_name IN (<the second SQL>)` is correct by construction when the
second SQL returns values of the same kind (both state names, `domain`), and it runs; the LLM
only joins the two questions' words, which `fusion_rejection` checks: the replaced value gone,
every other value and content word of both questions still there.

Pure except `fuse_question`, which calls the generator; execution is the caller's
(`symgen.lab.compose_run`).
"""

from __future__ import annotations

import random
import re
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass
from typing import TypeVar

from symgen.dataset import question_key
from symgen.generate.sources.llm import clean_question
from symgen.generate.sources.paraphrases import values_named
from symgen.generators.base import Generator
from symgen.tasks.sql.programs import SchemaFacts, entity_column

_T = TypeVar("_T")
_STRING = re.compile(r"'(?:[^']|'')*'")
_NUMBER = re.compile(r"(?<![\w.])\d+(?:\.\d+)?(?![\w.])")
# `table.column = 'value'` (the outer pair's filter a composition replaces)
_EQUALS = re.compile(r"\b(\w+)\.(\w+)\s*=\s*'((?:[^']|'')*)'")
# a single projected column, no aggregate (the inner pair's answer is a set of values)
_PROJECTION = re.compile(r"^\s*SELECT\s+(?:DISTINCT\s+)?(\w+)\.(\w+)\s+FROM\b", re.IGNORECASE)
# a superlative over a whole table, `SELECT ... FROM t WHERE t.c=(SELECT max(t.c) FROM t)`:
# the outer pair a restriction narrows to the rows another pair's answer names
_WHOLE_TABLE_EXTREME = re.compile(
    r"^\s*(SELECT\s+.+?\s+FROM\s+(\w+))\s+WHERE\s+"
    r"(\2\.\w+\s*=\s*\(\s*SELECT\s+(?:max|min)\s*\(\s*\2\.\w+\s*\)\s+FROM\s+\2)\s*\)\s*;?\s*$",
    re.IGNORECASE | re.DOTALL,
)

FUSE_INSTRUCTION = (
    "-- Two questions become one: the answer to the second question replaces the quoted name "
    "in the first. Write the combined question as a user would ask it, keeping every other "
    "name and number exactly as written."
)
# Domain-neutral (not the user's data), like the paraphrase demos: they teach the joining.
FUSE_DEMOS = (
    (
        'what is the budget of "sales"',
        "which departments does alice work in",
        "what is the budget of the departments alice works in",
    ),
    (
        'which employees work in "berlin"',
        "what city has the largest office",
        "which employees work in the city with the largest office",
    ),
    (
        'how many projects does "bob" lead',
        "who manages the marketing department",
        "how many projects does the manager of the marketing department lead",
    ),
    (
        'what is the cheapest product made in "ohio"',
        "where are the suppliers of acme located",
        "what is the cheapest product made where the suppliers of acme are located",
    ),
)


RESTRICT_INSTRUCTION = (
    "-- Two questions become one: the first question is asked only about the items the second "
    "question lists. Write the combined question as a user would ask it, keeping every name "
    "and number exactly as written."
)
RESTRICT_DEMOS = (
    (
        "which department has the largest budget",
        "which departments does alice work in",
        "which of the departments alice works in has the largest budget",
    ),
    (
        "who is the oldest employee",
        "who works in the berlin office",
        "who is the oldest employee working in the berlin office",
    ),
    (
        "what is the price of the cheapest product",
        "which products does acme supply",
        "what is the price of the cheapest product acme supplies",
    ),
)
KINDS = ("replace", "restrict")


@dataclass(frozen=True)
class Composition:
    """`outer`'s filter `column = 'value'` replaced by `column IN (inner_sql)` (kind
    "replace"), or `outer`'s whole-table superlative taken over the rows whose `column` is
    IN (inner_sql) only (kind "restrict", `value` empty)."""

    outer_question: str
    outer_sql: str
    inner_question: str
    inner_sql: str
    column: str  # table.column in the outer SQL
    value: str  # the value the inner answer replaces
    sql: str
    kind: str = "replace"


def domain(f: SchemaFacts, table: str, column: str) -> tuple[str, str] | None:
    """The entity column whose values `table.column` holds: state.state_name for river.traverse,
    border_info.border and state.state_name itself; None for a column naming no entity."""
    own = [(table, column)] if column == entity_column(f, table) else []
    linked = [
        (b, cb)
        for a, ca, b, cb in f.links
        if (a, ca) == (table, column) and cb == entity_column(f, b)
    ]
    unique = [(b, cb) for b, cb in [*own, *linked] if (b, cb) not in f.grouping]
    if not unique:
        return None
    # state_name's own table (state) before another keyed by it (highlow)
    return min(unique, key=lambda t: (t[0] not in t[1], t[0]))


def _unquote(value: str) -> str:
    return value.replace("''", "'")


def outer_filters(f: SchemaFacts, question: str, sql: str) -> list[tuple[str, str, str]]:
    """(table.column, value, its domain's "t.c") the question names and the SQL filters on."""
    named = set(values_named(question, sql))
    found = []
    for table, column, value in dict.fromkeys(_EQUALS.findall(sql)):
        dom = domain(f, table, column)
        if dom is not None and _unquote(value) in named:
            found.append((f"{table}.{column}", value, f"{dom[0]}.{dom[1]}"))
    return found


def inner_domain(f: SchemaFacts, sql: str) -> str | None:
    """The domain of the values `sql` answers with, when it answers with one column's values."""
    m = _PROJECTION.match(sql)
    if m is None:
        return None
    dom = domain(f, m.group(1), m.group(2))
    return None if dom is None else f"{dom[0]}.{dom[1]}"


def compose_sql(outer_sql: str, column: str, value: str, inner_sql: str) -> str:
    """Every `column = 'value'` of `outer_sql` becomes `column IN(inner_sql)`."""
    inner = inner_sql.strip().rstrip(";").strip()
    table, col = column.split(".")
    pattern = re.compile(rf"\b{re.escape(table)}\.{re.escape(col)}\s*=\s*'{re.escape(value)}'")
    return pattern.sub(lambda _: f"{column} IN({inner})", outer_sql)


def restriction_target(f: SchemaFacts, sql: str) -> tuple[str, str] | None:
    """("table.entity", its domain's "t.c") when `sql` is a superlative over its whole table
    and the table's rows are named by an entity column that other answers can list."""
    m = _WHOLE_TABLE_EXTREME.match(sql)
    if m is None or (entity := entity_column(f, m.group(2))) is None:
        return None
    dom = domain(f, m.group(2), entity)
    return None if dom is None else (f"{m.group(2)}.{entity}", f"{dom[0]}.{dom[1]}")


def restrict_sql(outer_sql: str, column: str, inner_sql: str) -> str:
    """The superlative of `outer_sql` over the rows whose `column` is among `inner_sql`'s
    answers, in GeoQuery's own form: the restriction both on the row and inside the max."""
    m = _WHOLE_TABLE_EXTREME.match(outer_sql)
    if m is None:
        raise ValueError(f"not a whole-table superlative: {outer_sql}")
    inner = inner_sql.strip().rstrip(";").strip()
    member = f"{column} IN({inner})"
    return f"{m.group(1)} WHERE {member} AND {m.group(3)} WHERE {member});"


def shape(sql: str) -> str:
    """`sql` with its literals blanked: pairs that differ only in values share a shape."""
    return _NUMBER.sub("0", _STRING.sub("''", sql))


def _by_shape(items: list[_T], sql_of: Callable[[_T], str]) -> list[list[_T]]:
    groups: dict[str, list[_T]] = {}
    for item in items:
        groups.setdefault(shape(sql_of(item)), []).append(item)
    return list(groups.values())


def _outer_parts(
    f: SchemaFacts, q: str, sql: str, kinds: Sequence[str]
) -> list[tuple[str, str, str, str]]:
    """(kind, table.column, value, domain) each way `sql` can be an outer part."""
    parts = [("replace", *filt) for filt in outer_filters(f, q, sql)] if "replace" in kinds else []
    if "restrict" in kinds and (target := restriction_target(f, sql)) is not None:
        parts.append(("restrict", target[0], "", target[1]))
    return parts


def _table(column: str) -> str:
    return column.split(".")[0]


def _answer_table(sql: str) -> str | None:
    m = _PROJECTION.match(sql)
    return None if m is None else m.group(1)


def compositions(
    f: SchemaFacts,
    pairs: Sequence[tuple[str, str]],
    rng: random.Random,
    kinds: Sequence[str] = ("replace",),
) -> Iterator[Composition]:
    """Endless random compositions of `pairs` whose parts fit (same domain, different pairs),
    each (outer, inner, filter) at most once; stops when none is left. Both parts are drawn
    shape first, then a pair of that shape: otherwise the commonest shape ("what state is X
    in", one per city) would fill the data (a restriction's inner part excepted). A
    restriction takes no inner pair that answers from the outer's own table ("the largest
    state" among "the states whose capital is X"): that is a filter on the row, which GeoQuery
    writes without nesting."""
    inner_pairs: dict[str, list[tuple[str, str]]] = {}
    for q, sql in pairs:
        if (dom := inner_domain(f, sql)) is not None:
            inner_pairs.setdefault(dom, []).append((q, sql))
    inners = {dom: _by_shape(ps, lambda p: p[1]) for dom, ps in inner_pairs.items()}
    outers = _by_shape(
        [
            (q, sql, part)
            for q, sql in pairs
            for part in _outer_parts(f, q, sql, kinds)
            if part[3] in inners
        ],
        lambda o: o[1],
    )
    total = sum(len(group) for group in outers) * max(map(len, inner_pairs.values()), default=0)
    seen: set[tuple[str, str, str]] = set()
    misses = 0
    while outers and misses < 10 * total + 1000:
        q, sql, (kind, column, value, dom) = rng.choice(rng.choice(outers))
        # a restriction's inner part by pair, not shape: its useful shapes are the common
        # ones ("the states bordering X", 30% of the state lists), most others list one row
        iq, isql = (
            rng.choice(inner_pairs[dom])
            if kind == "restrict"
            else rng.choice(rng.choice(inners[dom]))
        )
        key = (q, iq, column)
        own_table = kind == "restrict" and _answer_table(isql) == _table(column)
        if key in seen or question_key(iq) == question_key(q) or own_table:
            seen.add(key)
            misses += 1
            continue
        misses = 0
        seen.add(key)
        composed = (
            restrict_sql(sql, column, isql)
            if kind == "restrict"
            else compose_sql(sql, column, value, isql)
        )
        yield Composition(q, sql, iq, isql, column, value, composed, kind)


def fuse_prompt(outer_question: str, value: str, inner_question: str) -> str:
    """The prompt whose continuation is the combined question (stop at the end of the line);
    everything before the last three lines is shared, so llama.cpp caches it."""
    shots = "\n\n".join(
        f"-- Question: {a}\n-- The quoted name is the answer to: {b}\n-- Combined: {c}"
        for a, b, c in FUSE_DEMOS
    )
    marked = re.sub(
        rf"(?<!\w){re.escape(value)}(?!\w)",
        f'"{value}"',
        " ".join(outer_question.split()),
        count=1,
    )
    return (
        f"{FUSE_INSTRUCTION}\n\n{shots}\n\n-- Question: {marked}\n"
        f"-- The quoted name is the answer to: {' '.join(inner_question.split())}\n-- Combined:"
    )


def restrict_prompt(outer_question: str, inner_question: str) -> str:
    """The prompt for a restriction's combined question (shared prefix cached, as above)."""
    shots = "\n\n".join(
        f"-- Question: {a}\n-- Asked only about the answers to: {b}\n-- Combined: {c}"
        for a, b, c in RESTRICT_DEMOS
    )
    return (
        f"{RESTRICT_INSTRUCTION}\n\n{shots}\n\n-- Question: {' '.join(outer_question.split())}\n"
        f"-- Asked only about the answers to: {' '.join(inner_question.split())}\n-- Combined:"
    )


def _mentions(text: str, value: str) -> bool:
    return re.search(rf"(?<!\w){re.escape(value.lower())}(?!\w)", text.lower()) is not None


def fusion_rejection(fused: str, c: Composition, min_words: int, max_words: int) -> str | None:
    """Why `fused` cannot stand for `c.sql`, or None: it no longer names the replaced value
    (unless the inner question does), and keeps every other value and content word of both."""
    if not min_words <= len(fused.split()) <= max_words:
        return "fusion_length"
    value = _unquote(c.value)
    if value and _mentions(fused, value) and not _mentions(c.inner_question, value):
        return "fusion_kept_value"
    named = values_named(c.inner_question, c.inner_sql)
    outer_named = [v for v in values_named(c.outer_question, c.outer_sql) if v != value]
    if not all(_mentions(fused, v) for v in [*named, *outer_named]):
        return "fusion_lost_value"
    if dropped_words(fused, c):
        return "fusion_dropped_words"
    return None


# function words a joined question may reword or drop ("what state does X belong to" → "the
# state of X"); every other word of either question must survive the join
# fmt: off
_FUNCTION_WORDS = frozenset({
    "a", "an", "the", "of", "in", "on", "at", "to", "for", "from", "by", "with", "and", "or",
    "as", "is", "are", "was", "were", "be", "been", "being", "what", "which", "who", "whom",
    "whose", "where", "when", "how", "many", "much", "does", "do", "did", "has", "have",
    "having", "there", "their", "its", "it", "this", "that", "these", "those", "me", "give",
    "name", "list", "show", "tell", "find", "all", "any", "some", "each", "every", "belong",
    "located", "lie",
})
# fmt: on


_SIBILANT_ES = re.compile(r"(?:s|x|z|ch|sh)es$")  # "es" is a suffix after these only


def _stem(word: str) -> str:
    """Plural and verb endings off, so "states" and "state" (or "borders", "bordering" and
    "border") match: "es" comes off only after a sibilant (boxes, churches), else "s"."""
    for suffix, repl in (("ies", "y"), ("ing", ""), ("ed", ""), ("es", ""), ("s", "")):
        if suffix == "es" and not _SIBILANT_ES.search(word):
            continue
        if word.endswith(suffix) and len(word) - len(suffix) >= 3:
            return word[: -len(suffix)] + repl
    return word


def _content(text: str) -> set[str]:
    words = re.findall(r"[a-z0-9]+", text.lower().replace("'s", ""))
    return {_stem(w) for w in words if w not in _FUNCTION_WORDS}


def dropped_words(fused: str, c: Composition) -> set[str]:
    """Content words of the two questions the joined one lost (the replaced value aside):
    measured on 30 joins by hand, 11 were wrong and 8 of those had dropped a word that
    mattered ("bordering", "capital", "smaller population")."""
    kept = _content(fused)
    outer = _content(c.outer_question) - _content(_unquote(c.value))
    return (outer | _content(c.inner_question)) - kept


def fuse_question(generator: Generator, c: Composition, seed: int) -> str:
    prompt = (
        restrict_prompt(c.outer_question, c.inner_question)
        if c.kind == "restrict"
        else fuse_prompt(c.outer_question, _unquote(c.value), c.inner_question)
    )
    (sample,) = generator.sample(
        prompt,
        n=1,
        temperature=0.0,
        max_tokens=60,
        stop=("\n",),
        seed=seed,
    )
    return clean_question(sample.text)
