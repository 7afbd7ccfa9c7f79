"""Reading the data-driven cases in tests/fixtures/: one parser per format, shared by the tests.

Three formats, each file saying its own in a header comment:

- TSV, one case per line (`tsv_cases`): `#` lines and blank lines are comments, every other
  line is TAB-separated fields, none empty or padded with spaces.
- SQL blocks, as sqlglot's fixtures (`sql_cases`): blocks separated by blank lines, each `--`
  comment lines, one line of SQL, then one or more `=> expected` lines; a block of comments
  only is a heading.
- JSON (`json_cases`): an object with a `doc` string and a `cases` list of objects, each with
  a unique `name` and only the keys the test knows.

A malformed case raises `FixtureError` naming the file and line (or case) when the test module
is imported, so pytest reports a collection error: never a case silently skipped. `params`
gives each case a pytest id (`line12` for a file's line 12, the name for a JSON case).
"""

from __future__ import annotations

import json
from collections.abc import Collection, Iterable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest


class FixtureError(ValueError):
    """A fixture file that does not follow its format."""


@dataclass(frozen=True)
class Row:
    """One TSV case: its fields and where it is."""

    path: Path
    line: int
    fields: tuple[str, ...]

    @property
    def id(self) -> str:
        return f"line{self.line}"

    @property
    def where(self) -> str:
        return f"{self.path.name}:{self.line}"


@dataclass(frozen=True)
class SqlCase:
    """One SQL block: its comment, its statement (`line` is the statement's) and expected lines."""

    path: Path
    line: int
    comment: str
    sql: str
    expected: tuple[str, ...]

    @property
    def id(self) -> str:
        return f"line{self.line}"

    @property
    def where(self) -> str:
        return f"{self.path.name}:{self.line}"


def _fail(path: Path, line: int | str, why: str, text: str = "") -> FixtureError:
    shown = f": {text!r}" if text else ""
    return FixtureError(f"{path}:{line}: {why}{shown}")


def _count(n: int, least: int, most: int | None) -> str | None:
    """What is wrong with `n` items when `least` to `most` (None: no limit) are wanted."""
    if least <= n and (most is None or n <= most):
        return None
    want = str(least) if least == most else f"{least} to {'any' if most is None else most}"
    return f"{n}, want {want}"


def tsv_cases(path: Path, fields: int | tuple[int, int | None]) -> list[Row]:
    """The cases of a TSV fixture; `fields` is the count each line has, or (least, most or None)."""
    least, most = (fields, fields) if isinstance(fields, int) else fields
    rows = []
    for n, line in enumerate(path.read_text(encoding="utf-8").splitlines(), start=1):
        if not line.strip() or line.startswith("#"):
            continue
        parts = tuple(line.split("\t"))
        if wrong := _count(len(parts), least, most):
            raise _fail(path, n, f"fields: {wrong}", line)
        for part in parts:
            if not part or part != part.strip():
                raise _fail(path, n, "an empty field or one padded with spaces", line)
        rows.append(Row(path, n, parts))
    if not rows:
        raise _fail(path, 1, "no cases")
    return rows


def sql_cases(path: Path, expected: int | tuple[int, int | None] = 1) -> list[SqlCase]:
    """The cases of a SQL-blocks fixture; `expected` is how many `=>` lines each has."""
    least, most = (expected, expected) if isinstance(expected, int) else expected
    cases = []
    lines = path.read_text(encoding="utf-8").splitlines()
    block: list[tuple[int, str]] = []
    for n, line in [*enumerate(lines, start=1), (len(lines) + 1, "")]:
        if line.strip():
            block.append((n, line))
            continue
        if block:
            cases.extend(_sql_block(path, block, least, most))
        block = []
    if not cases:
        raise _fail(path, 1, "no cases")
    return cases


def _sql_block(
    path: Path, block: list[tuple[int, str]], least: int, most: int | None
) -> list[SqlCase]:
    comments: list[str] = []
    sql: tuple[int, str] | None = None
    results: list[str] = []
    for n, line in block:
        if line != line.strip():
            raise _fail(path, n, "leading or trailing spaces", line)
        if line.startswith("--"):
            if sql is not None:
                raise _fail(path, n, "a comment after the statement", line)
            comments.append(line.removeprefix("--").strip())
        elif line.startswith("=>"):
            if sql is None or not line.removeprefix("=>").strip():
                raise _fail(path, n, "`=> expected` needs a statement before it and a value", line)
            results.append(line.removeprefix("=>").strip())
        elif sql is not None:
            raise _fail(path, n, "a second statement in one block (one line of SQL each)", line)
        else:
            sql = (n, line)
    if sql is None:
        if results:
            raise _fail(path, block[0][0], "expected values without a statement")
        return []  # a heading: comments only
    if wrong := _count(len(results), least, most):
        raise _fail(path, sql[0], f"`=>` lines: {wrong}", sql[1])
    return [SqlCase(path, sql[0], " ".join(comments), sql[1], tuple(results))]


def json_cases(
    path: Path, required: Collection[str], optional: Collection[str] = ()
) -> tuple[dict[str, Any], list[dict[str, Any]]]:
    """The whole fixture object and its cases, each checked to have a unique `name`, the
    `required` keys and no key outside `required` and `optional`."""
    try:
        spec = json.loads(path.read_text(encoding="utf-8"))
    except json.JSONDecodeError as e:
        raise _fail(path, e.lineno, f"not JSON: {e.msg}") from e
    if not isinstance(spec, dict) or not isinstance(spec.get("doc"), str):
        raise _fail(path, 1, "want an object with a `doc` string and a `cases` list")
    cases = spec.get("cases")
    if not isinstance(cases, list) or not cases:
        raise _fail(path, 1, "want a non-empty `cases` list")
    known, names = {"name", *required, *optional}, set()
    for i, case in enumerate(cases):
        name = case.get("name") if isinstance(case, dict) else None
        if not isinstance(name, str) or not name or name in names:
            raise _fail(path, f"cases[{i}]", "each case is an object with a unique `name`")
        names.add(name)
        if missing := set(required) - case.keys():
            raise _fail(path, name, f"missing {sorted(missing)}")
        if unknown := case.keys() - known:
            raise _fail(path, name, f"unknown keys {sorted(unknown)}, known: {sorted(known)}")
    return spec, cases


def params(cases: Iterable[Row | SqlCase | dict[str, Any]]) -> list[Any]:
    """pytest params, one per case, whose ids point at the case (`line12`, or its name)."""
    return [
        pytest.param(c, id=c["name"] if isinstance(c, dict) else c.id)  # type: ignore[index]
        for c in cases
    ]
