"""gen-q's clean-up of one sampled line: comment markers and wrapping quotes go, the closing
quote of a quoted word stays (stripping every end quote cut 535 of 3,000 Bash requests)."""

from __future__ import annotations

import pytest

from symgen.generate.sources.llm import clean_question

CASES = [
    # (sampled continuation, question kept)
    (
        ' Remove all .sh files whose names begin with "t"\n',
        'Remove all .sh files whose names begin with "t"',
    ),
    (' find files named "a.txt" or "b.txt"', 'find files named "a.txt" or "b.txt"'),
    ('"find all files in the current folder"', "find all files in the current folder"),
    ("'what rivers flow through texas'", "what rivers flow through texas"),
    (' "a" and "b"', '"a" and "b"'),
    (' "how many states are there', "how many states are there"),
    (" list the output of `ls`", "list the output of `ls`"),
    (" list the output of `ls` twice`", "list the output of `ls` twice"),
    ("-- Question: what is the capital of ohio?\n-- more", "what is the capital of ohio?"),
    ("# question: count the lines of a.txt", "count the lines of a.txt"),
    ("   ", ""),
]


@pytest.mark.parametrize(("text", "question"), CASES)
def test_clean_question(text: str, question: str) -> None:
    assert clean_question(text) == question
