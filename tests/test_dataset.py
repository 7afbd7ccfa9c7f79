"""JSONL reading with line-numbered errors, and crash-safe appends for resume."""

from __future__ import annotations

import multiprocessing
from pathlib import Path

import pytest

from symgen.dataset import JsonlAppender, read_jsonl, read_pairs, read_resumable, write_jsonl
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


def _write_many(path: str, tag: int) -> None:
    for _ in range(30):
        write_jsonl(path, ({"tag": tag, "i": i} for i in range(2000)))


def test_concurrent_writers_of_one_file_each_finish(tmp_path: Path) -> None:
    """Two benchmark runs once raced for one temp name and the loser crashed on rename."""
    path = tmp_path / "derived.jsonl"
    ctx = multiprocessing.get_context("spawn")
    procs = [ctx.Process(target=_write_many, args=(str(path), tag)) for tag in range(3)]
    for proc in procs:
        proc.start()
    for proc in procs:
        proc.join(120)
    assert [proc.exitcode for proc in procs] == [0, 0, 0]
    rows = read_jsonl(path)
    assert len(rows) == 2000 and len({r["tag"] for r in rows}) == 1
    assert not list(tmp_path.glob("*.tmp"))
