"""Where a completion is offered: data-driven cases, `|` marks the cursor."""

from __future__ import annotations

import pytest

from symgen_server.comments import find_request

# (language, document with cursor, expected request text or None, expected typed code)
CASES = [
    ("sql", "-- rivers longer than 500 km in texas|", "rivers longer than 500 km in texas", ""),
    ("sql", "-- rivers longer than 500 km\n|", "rivers longer than 500 km", ""),
    ("sql", "-- rivers in\n-- texas\n|", "rivers in texas", ""),
    ("sql", "/* rivers in\n   texas */\n|", "rivers in texas", ""),
    ("sql", "SELECT 1;\n\n-- capital of ohio|\n\nSELECT 2;", "capital of ohio", ""),
    ("sql", "-- capital of ohio\nSELECT |", "capital of ohio", "SELECT "),
    ("sql", "SELECT 1;\n\n-- capital of ohio\n|", "capital of ohio", ""),  # end of file
    ("sql", "-- capital of ohio\n  sel|", "capital of ohio", "sel"),
    ("sql", "-- capital |of ohio", None, ""),  # inside the comment
    ("sql", "-- rivers in\n-- texas|\n-- more", None, ""),  # the comment continues
    ("sql", "-- capital of ohio|\nSELECT 1;", None, ""),  # code already follows
    ("sql", "SELECT 1; -- trailing words here|", None, ""),
    ("sql", "SELECT '-- not a comment'|", None, ""),
    ("sql", "SELECT 1;\n|", None, ""),
    ("sql", "-- capital of ohio\nSELECT x| FROM t", None, ""),  # middle of code
    ("sql", "-- todo|", None, ""),  # one word: not a request
    ("sql", "-- ???? 12 !!|", None, ""),
    ("python", "# add two numbers\n|", "add two numbers", ""),
    ("python", "x = 1  # add two numbers\n|", None, ""),
    ("python", "s = '# not a comment'\n|", None, ""),
    ("bash", "# list files by size\n|", "list files by size", ""),
]


@pytest.mark.parametrize(("language", "doc", "want", "typed"), CASES)
def test_find_request(language: str, doc: str, want: str | None, typed: str) -> None:
    before, after = doc.split("|")
    line = before.count("\n")
    character = len(before.split("\n")[-1])
    got = find_request(before + after, line, character, language)
    assert (got.text if got else None) == want
    if got:
        assert got.typed == typed


def test_prefixes_and_window() -> None:
    assert find_request("-- q: capital of ohio\n", 1, 0, "sql", ["q:"]).text == "capital of ohio"  # type: ignore[union-attr]
    assert find_request("-- capital of ohio\n", 1, 0, "sql", ["q:"]) is None
    huge = "SELECT 1;\n" * 200_000 + "-- capital of ohio\n"
    got = find_request(huge, 200_001, 0, "sql")  # only a window around the cursor is parsed
    assert got is not None and got.first_line == 200_000
    assert find_request("abc", 5, 0, "sql") is None  # past the end


SELECTION = """\
-- capital of ohio
SELECT capital FROM state WHERE state_name = 'ohio';

-- q: rivers in
-- texas
SELECT river_name
FROM river WHERE traverse = 'texas'

-- a note with no query

SELECT 1;
-- drop everything
DELETE FROM state;
-- x
SELECT 2;
"""


def test_pairs_from_selection() -> None:
    from symgen_server.selection import pairs_from_selection

    got = pairs_from_selection(SELECTION)
    assert got.pairs == [
        {
            "question": "capital of ohio",
            "query": "SELECT capital FROM state WHERE state_name = 'ohio';",
        },
        {
            "question": "rivers in texas",
            "query": "SELECT river_name FROM river WHERE traverse = 'texas'",
        },
    ]
    assert len(got.skipped) == 2  # the DELETE (not read-only) and the one-word question
    assert pairs_from_selection("SELECT 1;\n-- only a comment\n").pairs == []
