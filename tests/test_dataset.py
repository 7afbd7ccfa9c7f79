"""JSONL reading with line-numbered errors, and crash-safe appends for resume."""

from __future__ import annotations

from pathlib import Path

import pytest

from symgen.dataset import JsonlAppender, read_jsonl, read_pairs, read_resumable
from symgen.errors import MissingResource, SymgenError


def test_malformed_line_is_named(tmp_path: Path) -> None:
    f = tmp_path / "seeds.jsonl"
    f.write_text('{"question": "a b", "query": "SELECT 1"}\n\n{"question": "x", "query": \n')
    with pytest.raises(SymgenError, match=r"seeds.jsonl:3: not valid JSON"):
        read_jsonl(f)


@pytest.mark.parametrize(
    ("line", "message"),
    [
        ("[1, 2]", "expected a JSON object"),
        ('{"question": "q"}', "missing or empty string field 'query'"),
        ('{"question": "", "query": "SELECT 1"}', "'question'"),
    ],
)
def test_wrong_shapes_are_named(tmp_path: Path, line: str, message: str) -> None:
    f = tmp_path / "s.jsonl"
    f.write_text('{"question": "ok", "query": "SELECT 1"}\n' + line + "\n")
    with pytest.raises(SymgenError, match=rf"s.jsonl:2: .*{message}"):
        read_pairs(f)


def test_missing_file(tmp_path: Path) -> None:
    with pytest.raises(MissingResource, match="no such file"):
        read_jsonl(tmp_path / "absent.jsonl")


def test_torn_last_line_is_dropped_and_file_repaired(tmp_path: Path) -> None:
    f = tmp_path / "out.jsonl"
    with JsonlAppender(f) as out:
        out.write({"question": "one"})
        out.write({"question": "two"})
    with f.open("a") as fh:
        fh.write('{"question": "thr')  # a write cut short by a crash
    assert [r["question"] for r in read_resumable(f)] == ["one", "two"]
    with JsonlAppender(f) as out:
        out.write({"question": "three"})
    assert [r["question"] for r in read_jsonl(f)] == ["one", "two", "three"]


def test_corruption_in_the_middle_is_an_error(tmp_path: Path) -> None:
    f = tmp_path / "out.jsonl"
    f.write_text('{"a": 1}\nnot json\n{"a": 2}\n')
    with pytest.raises(SymgenError, match=r"out\.jsonl:2"):
        read_resumable(f)
