"""Seed pairs from an editor selection: each NL comment followed by its SQL statement."""

from __future__ import annotations

import re
from dataclasses import dataclass

from symgen.tasks.sql.task import static_check

_COMMENT = re.compile(r"^\s*--+\s?(.*)$")
_QUESTION = re.compile(r"^(?:question|q)\s*:\s*", re.IGNORECASE)


@dataclass(frozen=True)
class SelectionPairs:
    pairs: list[dict[str, str]]
    skipped: list[str]  # why some comment/statement pairs were not used


def pairs_from_selection(text: str) -> SelectionPairs:
    """`-- question` lines directly followed by a read-only SQL statement (up to `;` or a blank line)."""
    pairs: list[dict[str, str]] = []
    skipped: list[str] = []
    comment: list[str] = []
    statement: list[str] = []

    def flush() -> None:
        if comment and statement:
            question = _QUESTION.sub("", " ".join(comment)).strip()
            sql = " ".join(" ".join(statement).split())
            why = static_check(sql)
            if why is None and len(question.split()) >= 2:
                pairs.append({"question": question, "query": sql})
            else:
                skipped.append(f"{question[:40]!r}: {why or 'question too short'}")
        statement.clear()

    for line in text.splitlines():
        match = _COMMENT.match(line)
        if match and not statement:
            comment.append(match.group(1).strip())
        elif match:  # a new comment ends the previous statement
            flush()
            comment[:] = [match.group(1).strip()]
        elif not line.strip():  # a blank line ends the pair: a comment must touch its SQL
            flush()
            comment.clear()
        elif comment:
            statement.append(line.strip())
            if line.rstrip().endswith(";"):
                flush()
                comment.clear()
    flush()
    return SelectionPairs(pairs, skipped)
