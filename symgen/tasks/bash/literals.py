"""Literal placeholders for Bash models: the request's values bypass the model.

A Bash command copies the request's values verbatim (`find /etc -name "*.conf" -mmin -30` for
"... '*.conf' ... under /etc ... last 30 minutes"). The generator copies 90% of them; the small
task model trained from scratch copies 7–33% (it sees each value a few times, and the model's
input is lower-cased), and writes the values it has seen most instead (`.`, `*.txt`). So a
`placeholders` model reads and writes placeholders: `mask` replaces each value the request names
(a quoted text; a path, glob, file name or number) by `__path1__`, `__glob1__`, ...;
`mask_program` does the same in a training command; the engine puts the values back (`unmask`)
and a command with a placeholder the request did not have is invalid. The same `mask` runs in
training and in the editor, so the model learns exactly the positions it will be given.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field

from symgen.tasks.bash.augment import kind_of

# "quoted text", 'quoted text' or `quoted text` (no nesting); else a whitespace-separated word.
_QUOTED = re.compile(r"\"([^\"\n]+)\"|'([^'\n]+)'|`([^`\n]+)`")
_WORD = re.compile(r"\S+")
_TRIM = "()[]{},;:!?\"'`"
PLACEHOLDER = re.compile(r"__(?:path|glob|file|num|name|text)\d+__")
# Kinds a bare word may be (a bare name is an English word too often: only quoted names count).
_BARE_KINDS = {"path", "glob", "file", "number"}
# Prose, not a path: "files/directories", "and/or".
_SLASHED_WORDS = re.compile(r"[A-Za-z]+(?:/[A-Za-z]+)+")
_VARIABLE = re.compile(r"\$\w+|\$\{\w+\}")


@dataclass
class Masked:
    """A masked request and its placeholders (in order of first appearance) → values."""

    request: str
    values: dict[str, str] = field(default_factory=dict)


def _placeholder(kind: str, masked: Masked) -> str:
    short = {"number": "num"}.get(kind, kind)
    n = sum(1 for p in masked.values if p.startswith(f"__{short}")) + 1
    return f"__{short}{n}__"


def _bare_value(word: str) -> str | None:
    """The value a bare word names, without sentence punctuation, or None."""
    value = word.strip(_TRIM)
    if value.endswith(".") and (kind_of(value[:-1]) or _VARIABLE.fullmatch(value[:-1])):
        value = value[:-1]  # "... under /usr." ends a sentence, not a name
    if _VARIABLE.fullmatch(value):
        return value
    if kind_of(value) not in _BARE_KINDS or value.isalpha() or _SLASHED_WORDS.fullmatch(value):
        return None
    return value


def mask(request: str) -> Masked:
    """The request with each value it names replaced by a placeholder (one per distinct value)."""
    masked = Masked(request)
    by_value: dict[str, str] = {}
    pieces: list[str] = []
    last = 0

    def name(value: str, kind: str) -> str:
        if value not in by_value:
            by_value[value] = _placeholder(kind, masked)
            masked.values[by_value[value]] = value
        return by_value[value]

    spans: list[tuple[int, int, str, str]] = []  # start, end, value, kind of each value found
    for m in _QUOTED.finditer(request):
        value = next(g for g in m.groups() if g is not None)
        if value.strip():
            spans.append((m.start() + 1, m.end() - 1, value, kind_of(value) or "text"))
    quoted = [(s - 1, e + 1) for s, e, _, _ in spans]
    for m in _WORD.finditer(request):
        if any(qs <= m.start() < qe or qs < m.end() <= qe for qs, qe in quoted):
            continue
        value = _bare_value(m.group())
        if value is None:
            continue
        start = m.start() + m.group().index(value)
        kind = "name" if _VARIABLE.fullmatch(value) else kind_of(value) or "text"
        spans.append((start, start + len(value), value, kind))
    for start, end, value, kind in sorted(spans):
        pieces += [request[last:start], name(value, kind)]
        last = end
    pieces.append(request[last:])
    masked.request = "".join(pieces)
    return masked


def _in_command(value: str) -> re.Pattern[str]:
    """`value` as a whole argument or a whole part of one (a number may follow `+`/`-`)."""
    before = r"(?<![\w.])" if value.isdigit() else r"(?<![\w.*/~-])"
    return re.compile(before + re.escape(value) + r"(?![\w*/~-])")


def mask_program(program: str, masked: Masked) -> str:
    """`program` with the masked request's values replaced by their placeholders (longest
    value first, so `/usr/local` is not read as `/usr` + `/local`)."""
    for placeholder, value in sorted(masked.values.items(), key=lambda pv: -len(pv[1])):
        program = _in_command(value).sub(lambda _m, p=placeholder: p, program)  # type: ignore[misc]
    return program


def unmask(text: str, masked: Masked) -> str:
    """The model's output with the request's values back; unknown placeholders stay (and make
    the command invalid: `problem`)."""
    return PLACEHOLDER.sub(lambda m: masked.values.get(m.group(), m.group()), text)


def problem(text: str) -> str | None:
    """Why an unmasked command cannot be served: it names a placeholder the request lacks."""
    left = PLACEHOLDER.search(text)
    return f"placeholder {left.group()} names no value of the request" if left else None
