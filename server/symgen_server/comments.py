"""Find the natural-language request at the cursor: the comment block at or just above it.

tree-sitter decides what is a comment (so `--` inside a string literal is not), on a window of
lines around the cursor, so huge documents cost the same as small ones. Pure: text in, a
`Request` or None out.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass

from symgen.treesitter import parser as _parser

WINDOW = 80  # lines above the cursor that are parsed
_MARKERS = re.compile(r"^\s*(?:--+|#+|/\*+|\*+/?|//+)\s?|\s*\*+/\s*$")
LANGUAGES = {"sql": "sql", "python": "python", "shellscript": "bash", "sh": "bash", "bash": "bash"}


@dataclass(frozen=True)
class Request:
    text: str  # the request, markers stripped, lines joined by spaces
    first_line: int
    last_line: int  # last line of the comment block
    newline_first: bool  # cursor sits on the comment line: the code starts on a new line
    typed: str  # code already typed on the cursor line, trailing spaces kept (it is replaced)


def _comment_lines(lines: Sequence[str], language: str) -> dict[int, str]:
    """Window-relative line -> comment text, for comments that are alone on their lines."""
    source = "\n".join(lines).encode("utf-8", "surrogatepass")
    tree = _parser(language).parse(source)
    found: dict[int, str] = {}
    stack = [tree.root_node]
    while stack:
        node = stack.pop()
        if node.type in ("comment", "marginalia", "block_comment", "line_comment"):
            start = node.start_point
            before = lines[start[0]][: _char_col(lines[start[0]], start[1])]
            if before.strip():
                continue  # trailing comment after code: not a request
            # a line comment's node may end at column 0 of the next line: that line is not it
            text = source[node.start_byte : node.end_byte].decode("utf-8", "replace").rstrip("\n")
            if text.startswith("#!"):
                continue  # a shebang is not a request
            for offset, part in enumerate(text.split("\n")):
                found[start[0] + offset] = part
        else:
            stack.extend(node.children)
    return found


def _char_col(line: str, byte_col: int) -> int:
    return len(line.encode("utf-8", "surrogatepass")[:byte_col].decode("utf-8", "replace"))


def _strip(part: str) -> str:
    return _MARKERS.sub("", _MARKERS.sub("", part)).strip()


def find_request(
    text: str,
    line: int,
    character: int,
    language: str,
    prefixes: Sequence[str] = (),
) -> Request | None:
    """The request the cursor at (line, character) is answering, or None (offer nothing)."""
    language = LANGUAGES.get(language, language)
    all_lines = text.split("\n")
    if line < 0 or line >= len(all_lines):
        return None
    start = max(0, line - WINDOW)
    lines = all_lines[start : line + 2]
    cur = line - start
    comments = _comment_lines(lines, language)
    current = lines[cur]
    if cur in comments:
        if character < len(current.rstrip()):
            return None  # cursor inside the comment, not at its end
        after = lines[cur + 1] if cur + 1 < len(lines) else ""
        if after.strip() and cur + 1 not in comments:
            return None  # code already follows the comment
        if cur + 1 in comments:
            return None  # the comment continues below
        last, newline_first, typed = cur, True, ""
    else:
        if cur == 0 or cur - 1 not in comments:
            return None
        if current[character:].strip():
            return None  # cursor in the middle of code
        last, newline_first, typed = cur - 1, False, current[:character].lstrip()
    first = last
    while first - 1 in comments:
        first -= 1
    parts = [_strip(comments[i]) for i in range(first, last + 1)]
    request = " ".join(p for p in parts if p)
    if prefixes:
        for prefix in prefixes:
            if request.lower().startswith(prefix.lower()):
                request = request[len(prefix) :].strip(" :")
                break
        else:
            return None
    if len(re.findall(r"[^\W\d_]{2,}", request)) < 2:
        return None  # one word or symbols: not a natural-language request
    return Request(request, first + start, last + start, newline_first, typed)
