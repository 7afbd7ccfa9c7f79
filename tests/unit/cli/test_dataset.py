"""JSONL reading with line-numbered errors, and crash-safe appends for resume."""

from __future__ import annotations

import io
import multiprocessing
from pathlib import Path

import pytest

from symgen.dataset import (
    JsonlAppender,
    iter_lines,
    line_limit,
    read_jsonl,
    read_pairs,
    read_resumable,
    write_jsonl,
)
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


class CountingReader(io.BytesIO):
    """A file that counts the bytes handed out: proves a long line is never read whole."""

    def __init__(self, data: bytes) -> None:
        super().__init__(data)
        self.handed_out = 0

    def readline(self, size: int | None = -1) -> bytes:
        line = super().readline(size)
        self.handed_out += len(line)
        return line


def test_a_long_line_is_refused_after_reading_only_the_limit() -> None:
    fh = CountingReader(b'{"a": 1}\n' + b"x" * 5_000_000 + b"\n")
    with pytest.raises(SymgenError, match=r"big\.jsonl:2: line longer than 1,000 bytes"):
        list(iter_lines(fh, "big.jsonl", max_bytes=1000))
    assert fh.handed_out <= 9 + 1001


def test_line_limit_applies_to_every_reader_inside(tmp_path: Path) -> None:
    f = tmp_path / "pairs.jsonl"
    f.write_text('{"question": "rivers in texas", "query": "SELECT river_name FROM river"}\n')
    with line_limit(40), pytest.raises(SymgenError, match=r"pairs\.jsonl:1: line longer than 40"):
        read_pairs(f)
    assert [p.question for p in read_pairs(f)] == ["rivers in texas"]  # the default again


def test_a_byte_order_mark_is_text_but_other_bytes_are_named(tmp_path: Path) -> None:
    f = tmp_path / "s.jsonl"
    f.write_bytes(b'\xef\xbb\xbf{"question": "q", "query": "SELECT 1"}\n')
    assert read_pairs(f)[0].query == "SELECT 1"
    f.write_bytes(b'{"question": "q", "query": "SELECT 1"}\n{"question": "\xe9t\xe9"}\n')
    with pytest.raises(SymgenError, match=r"s\.jsonl:2: not UTF-8 text \(byte 0xe9 at column 15\)"):
        read_jsonl(f)


def test_an_empty_pairs_file_is_refused(tmp_path: Path) -> None:
    f = tmp_path / "seeds.jsonl"
    f.write_text("\n\n")
    with pytest.raises(SymgenError, match=r"seeds\.jsonl: no pairs"):
        read_pairs(f)


def test_a_whole_last_line_without_its_newline_gets_one(tmp_path: Path) -> None:
    """A crash between a record and its newline: the next append must not glue onto it."""
    f = tmp_path / "out.jsonl"
    f.write_text('{"question": "one"}\n{"question": "two"}')
    assert [r["question"] for r in read_resumable(f)] == ["one", "two"]
    with JsonlAppender(f) as out:
        out.write({"question": "three"})
    assert [r["question"] for r in read_jsonl(f)] == ["one", "two", "three"]


def test_a_resumable_line_that_is_not_an_object_is_an_error(tmp_path: Path) -> None:
    f = tmp_path / "out.jsonl"
    f.write_text('{"a": 1}\n[1, 2]\n')
    with pytest.raises(SymgenError, match=r"out\.jsonl:2: expected a JSON object"):
        read_resumable(f)
