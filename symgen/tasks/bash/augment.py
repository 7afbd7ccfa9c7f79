"""Argument-swap augmentation for Bash pairs: more pairs from each one, without an LLM call.

Bash's analogue of SQL value swapping (`symgen.tasks.sql.augment`). In `find /usr -name temp -atime +7`
for "files named temp not accessed in 7 days in /usr", the arguments the request names verbatim
(`/usr`, `temp`, `7`) are copied, not composed: a small model trained from scratch learns that
only if it sees them vary. Each swap replaces such an argument, in the command and in the
request alike, by another argument of the same kind (path, glob, file name, number, name): one
seen elsewhere in the same data (`values="data"`), or one invented in its shape
(`"invented"`, `symgen.tasks.bash.values`: for generated data, whose values repeat), or either
at random (`"mixed"`). The new command must still parse and pass the destructive-pattern
filter. Nothing is executed.
"""

from __future__ import annotations

import random
import re
from collections import Counter
from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass, field
from functools import partial
from typing import Any

from symgen.errors import SymgenError
from symgen.tasks.bash.task import static_check
from symgen.tasks.bash.values import invent_like
from symgen.tasks.code import PROGRAM_FIELDS, QUESTION_FIELDS, first_field
from symgen.tasks.sql.augment import successes
from symgen.treesitter import parser

# Arguments a request can name verbatim; a `string` ("...") only when it holds plain text.
_ARG_NODES = {"word", "number", "raw_string", "string"}
# What an unquoted replacement may contain, so the shell still reads it as one word.
_UNQUOTED_SAFE = re.compile(r"[\w./~*?+\-\[\]@%:,=]+")
# Plain English words are not swapped (`git log`, `sort -k 1` name no entity); names are,
# when the request quotes them or they look like identifiers (digits, `_`, `.`, capitals).
_IDENTIFIER = re.compile(r"[A-Za-z_][\w.-]*")
# Where a swap's new value comes from (module docstring).
VALUE_SOURCES = ("data", "invented", "mixed")


@dataclass(frozen=True)
class ArgSlot:
    """An argument of the command whose text the request names verbatim."""

    value: str
    kind: str  # number | path | glob | file | name


@dataclass
class BashAugmentStats:
    pairs: int = 0
    with_slots: int = 0
    written: int = 0
    rejected: Counter[str] = field(default_factory=Counter)


@dataclass(frozen=True)
class _Arg:
    start: int  # byte span of the value inside the command (quotes excluded)
    end: int
    value: str
    quote: str  # "", "'" or '"'


def kind_of(value: str) -> str | None:
    """The swap class of an argument's text, or None for one that is never swapped."""
    if re.fullmatch(r"\d+", value):
        return "number"
    if len(value) < 2 or not re.search(r"[A-Za-z0-9]", value) or value in ("..", "./"):
        return None
    if "/" in value or value.startswith("~"):
        return "path"
    if any(c in value for c in "*?["):
        return "glob"
    if re.fullmatch(r"[\w.-]*\w\.[A-Za-z0-9]+", value):
        return "file"
    if _IDENTIFIER.fullmatch(value):
        return "name"
    return None


def _args(command: str) -> list[_Arg]:
    """The command's argument atoms (not command names, not flags), with their byte spans."""
    source = command.encode("utf-8", "surrogatepass")
    out: list[_Arg] = []
    stack = [parser("bash").parse(source).root_node]
    while stack:
        node = stack.pop()
        if node.type in _ARG_NODES:
            if node.parent is not None and node.parent.type == "command_name":
                continue
            start, end, quote = node.start_byte, node.end_byte, ""
            if node.type in ("raw_string", "string"):
                if node.type == "string" and any(
                    c.type not in ('"', "string_content") for c in node.children
                ):
                    continue  # "$x/y": an expansion, not text the request can name
                start, end, quote = start + 1, end - 1, "'" if node.type == "raw_string" else '"'
            text = source[start:end].decode("utf-8", "replace")
            if text.startswith("-") and not quote and not re.fullmatch(r"-\d+", text):
                continue  # a flag; `-mtime -7`'s `-7` is a number
            out.append(_Arg(start, end, text, quote))
            continue
        stack.extend(node.children)
    return out


def _core(text: str) -> str:
    """An argument's swappable text: `+7`/`-7` (find's day counts) swap their digits."""
    signed = re.fullmatch(r"[+-](\d+)", text)
    return signed.group(1) if signed else text


def _in_request(value: str, question: str) -> re.Pattern[str] | None:
    pattern = re.compile(r"(?<![\w.*/~-])" + re.escape(value) + r"(?![\w*/~-])")
    return pattern if pattern.search(question) else None


def arg_slots(question: str, command: str) -> list[ArgSlot]:
    """Arguments of `command` the request names verbatim, each once, by kind."""
    slots: dict[str, ArgSlot] = {}
    for arg in _args(command):
        value = _core(arg.value)
        kind = kind_of(value)
        if kind is None or value in slots or _in_request(value, question) is None:
            continue
        if kind == "name" and not _looks_named(value, question):
            continue
        slots[value] = ArgSlot(value, kind)
    return list(slots.values())


def _looks_named(value: str, question: str) -> bool:
    """Is a plain name an entity the request names (quoted, or shaped like an identifier)?"""
    if re.search(r"[\d_.A-Z]", value):
        return True
    return re.search(r"[\"'`]" + re.escape(value) + r"[\"'`]", question) is not None


def swap(question: str, command: str, replace: dict[str, str]) -> tuple[str, str] | None:
    """(request, command) with every slot value in `replace` swapped in both, or None when a
    replacement cannot be written where the value stands (quoting) or nothing changed."""
    source = command.encode("utf-8", "surrogatepass")
    pieces, last = [], 0
    for arg in sorted(_args(command), key=lambda a: a.start):
        value = _core(arg.value)
        new = replace.get(value)
        if new is None:
            continue
        if not _writable(new, arg.quote):
            return None
        pieces += [source[last : arg.start], arg.value.replace(value, new).encode()]
        last = arg.end
    if not pieces:
        return None
    new_command = (b"".join(pieces) + source[last:]).decode("utf-8", "surrogatepass")
    new_question = question
    for value, new in replace.items():
        pattern = _in_request(value, new_question)
        if pattern is None:
            return None
        new_question = pattern.sub(lambda _m, n=new: n, new_question)  # type: ignore[misc]
    return new_question, new_command


def _writable(value: str, quote: str) -> bool:
    """Can `value` stand where an argument quoted by `quote` stood, still as one word?"""
    return quote not in value if quote else _UNQUOTED_SAFE.fullmatch(value) is not None


def value_pool(slots: Iterable[ArgSlot]) -> dict[str, list[str]]:
    """kind → the distinct values of that kind, in first-seen order (deterministic)."""
    pool: dict[str, dict[str, None]] = {}
    for slot in slots:
        pool.setdefault(slot.kind, {})[slot.value] = None
    return {kind: list(values) for kind, values in pool.items()}


def _pair(rec: dict[str, Any]) -> tuple[str, str] | None:
    question, command = first_field(rec, QUESTION_FIELDS), first_field(rec, PROGRAM_FIELDS)
    return (question, command) if question and command else None


def augment_bash(
    records: Sequence[dict[str, Any]],
    *,
    per_pair: int = 4,
    seed: int = 0,
    values: str = "data",
    stats: BashAugmentStats | None = None,
) -> Iterator[dict[str, Any]]:
    """New pairs, at most `per_pair` from each record: every slot of a record gets another
    value of its kind, drawn from the slots of all the records or invented (`values`)."""
    if values not in VALUE_SOURCES:
        raise SymgenError(f"argument values: {values!r}; use {', '.join(VALUE_SOURCES)}")
    stats = stats if stats is not None else BashAugmentStats()
    pairs = [_pair(r) for r in records]
    slots = [arg_slots(*p) if p else [] for p in pairs]
    pool = value_pool(s for found in slots for s in found)
    seen = {p[0].strip().lower() for p in pairs if p}
    for rec, pair, found in zip(records, pairs, slots, strict=True):
        stats.pairs += 1
        if pair is None or not found:
            continue
        stats.with_slots += 1
        attempt = partial(
            _swap_once,
            rec=rec,
            pair=pair,
            slots=found,
            pool=pool,
            values=values,
            seen=seen,
            stats=stats,
        )
        for new in successes(attempt, per_pair, random.Random(f"{seed}:{pair[0]}")):
            stats.written += 1
            yield new


def _swap_once(
    rng: random.Random,
    *,
    rec: dict[str, Any],
    pair: tuple[str, str],
    slots: Sequence[ArgSlot],
    pool: dict[str, list[str]],
    values: str,
    seen: set[str],
    stats: BashAugmentStats,
) -> dict[str, Any] | None:
    """Every slot of `pair` swapped for another value of its kind, or None (counted) when the
    swap cannot be written, fails the static check, or repeats a known request."""
    question, command = pair
    replace = {}
    for slot in slots:
        if values == "invented" or (values == "mixed" and rng.random() < 0.5):
            new = invent_like(slot.value, rng)
            if new != slot.value:
                replace[slot.value] = new
            continue
        others = [v for v in pool[slot.kind] if v != slot.value]
        if others:
            replace[slot.value] = rng.choice(others)
    swapped = swap(question, command, replace) if replace else None
    if swapped is None:
        stats.rejected["unswappable"] += 1
        return None
    why = static_check(swapped[1])
    if why is not None:
        stats.rejected[why] += 1
        return None
    key = swapped[0].strip().lower()
    if key in seen:
        stats.rejected["duplicate"] += 1
        return None
    seen.add(key)
    rest = {k: v for k, v in rec.items() if k not in (*QUESTION_FIELDS, *PROGRAM_FIELDS)}
    return {"question": swapped[0], "command": swapped[1]} | rest | {"augmented_from": question}


def with_augmented_bash(
    records: Iterable[dict[str, Any]], *, per_pair: int = 4, seed: int = 0, values: str = "data"
) -> tuple[list[dict[str, Any]], BashAugmentStats]:
    """The original records followed by their argument swaps, with the run's counts."""
    originals = list(records)
    stats = BashAugmentStats()
    extra = list(augment_bash(originals, per_pair=per_pair, seed=seed, values=values, stats=stats))
    return originals + extra, stats
