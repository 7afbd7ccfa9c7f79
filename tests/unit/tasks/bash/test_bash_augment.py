"""Bash argument swaps: which arguments are swappable (data-driven), swaps stay consistent and
safe, and a real run over NL2Bash pairs through `symgen augment --task bash`."""

from __future__ import annotations

import json
import re
import subprocess
from pathlib import Path

import pytest

from symgen.dataset import read_jsonl, write_jsonl
from symgen.tasks.bash.augment import arg_slots, augment_bash, swap, with_augmented_bash
from symgen.tasks.bash.task import static_check
from tests.conftest import FIXTURES, SHARED, SYMGEN
from tests.fixture_files import Row, params, tsv_cases

SLOT_CASES = tsv_cases(FIXTURES / "bash" / "arg_slots.tsv", fields=(2, None))


@pytest.mark.parametrize("case", params(SLOT_CASES))
def test_arg_slots(case: Row) -> None:
    question, command, *expected = case.fields
    assert all(re.fullmatch(r"[a-z]+:.+", slot) for slot in expected), case.where
    got = {f"{s.kind}:{s.value}" for s in arg_slots(question, command)}
    assert got == set(expected), case.where


def test_swap_changes_request_and_command_together() -> None:
    question = 'files named "temp" not accessed in 7 days in /usr'
    swapped = swap(question, "find /usr -name temp -atime +7", {"temp": "core", "7": "30"})
    assert swapped == (
        'files named "core" not accessed in 30 days in /usr',
        "find /usr -name core -atime +30",
    )


def test_swap_keeps_quotes_and_refuses_what_the_shell_would_split() -> None:
    question = "find *.txt files under /foo"
    assert swap(question, "find /foo -name '*.txt'", {"*.txt": "*.log"}) == (
        "find *.log files under /foo",
        "find /foo -name '*.log'",
    )
    # an unquoted argument cannot take a value with a space, a quoted one its own quote
    assert swap(question, "find /foo -name *.txt", {"/foo": "/my dir"}) is None
    assert swap(question, "find /foo -name '*.txt'", {"*.txt": "it's*"}) is None


def test_swaps_never_produce_a_destructive_command() -> None:
    records = [
        {
            "question": "remove the directory ./build/tmp recursively",
            "command": "rm -rf ./build/tmp",
        },
        {"question": "list the files in /", "command": "ls /"},
        {"question": "list files under /home/me/x", "command": "ls /home/me/x"},
        {"question": "list the files under /etc/", "command": "ls /etc/"},
    ]
    out = list(augment_bash(records, per_pair=8))
    assert out, "the paths should swap among the records"
    assert all(static_check(r["command"]) is None for r in out)
    assert not any(r["command"].startswith("rm -rf /etc") for r in out)


def test_real_nl2bash_run_through_the_cli(tmp_path: Path) -> None:
    source = SHARED / "nl2bash" / "pairs.jsonl"
    if not source.is_file():
        pytest.skip(f"shared data not found at {source}: set SYMGEN_SHARED_DATA")
    rows = read_jsonl(source)[:400]
    data, out = tmp_path / "pairs.jsonl", tmp_path / "aug.jsonl"
    write_jsonl(data, rows)
    proc = subprocess.run(
        [*SYMGEN, "augment", "--task", "bash", "--data", str(data), "--out", str(out),
         "--per-pair", "3"],
        capture_output=True, text=True, check=False, timeout=300,
    )  # fmt: skip
    assert proc.returncode == 0, proc.stderr
    written = read_jsonl(out)
    assert written[:400] == [{"question": r["question"], "command": r["command"]} for r in rows]
    extra = written[400:]
    assert len(extra) > 150, proc.stdout  # measured: about half the pairs name an argument
    # no new request repeats another (NL2Bash itself repeats some requests)
    known = {r["question"].lower() for r in rows}
    assert len({r["question"].lower() for r in extra} - known) == len(extra)
    for rec in extra:
        assert static_check(rec["command"]) is None
        assert rec["augmented_from"] in {r["question"] for r in rows}
    # the same call again writes the same file (deterministic by seed)
    again = tmp_path / "again.jsonl"
    subprocess.run(
        [*SYMGEN, "augment", "--task", "bash", "--data", str(data), "--out", str(again),
         "--per-pair", "3"],
        check=True, capture_output=True, timeout=300,
    )  # fmt: skip
    assert again.read_bytes() == out.read_bytes()


def test_malformed_line_is_named_and_flip_refused(tmp_path: Path) -> None:
    data = tmp_path / "bad.jsonl"
    data.write_text(json.dumps({"question": "list files", "command": "ls"}) + "\n{oops\n")
    proc = subprocess.run(
        [*SYMGEN, "augment", "--task", "bash", "--data", str(data), "--out", str(tmp_path / "o")],
        capture_output=True, text=True, check=False, timeout=120,
    )  # fmt: skip
    assert proc.returncode != 0 and f"{data}:2" in proc.stderr
    data.write_text(json.dumps({"question": "list files", "command": "ls"}) + "\n")
    proc = subprocess.run(
        [*SYMGEN, "lab", "augment", "--task", "bash", "--data", str(data), "--out",
         str(tmp_path / "o"), "--flip"],
        capture_output=True, text=True, check=False, timeout=120,
    )  # fmt: skip
    assert proc.returncode != 0 and "--flip applies to SQL pairs" in proc.stderr


def test_with_augmented_keeps_originals_first_and_skips_known_requests() -> None:
    records = [
        {"question": "show the file notes.txt", "command": "cat notes.txt"},
        {"question": "show the file todo.md", "command": "cat todo.md"},
        {"question": "count the lines of data.csv", "command": "wc -l data.csv"},
    ]
    out, stats = with_augmented_bash(records, per_pair=2)
    assert out[:3] == records
    assert stats.with_slots == 3 and stats.written == len(out) - 3
    # "show the file todo.md" already exists: the swap that would repeat it is refused
    assert stats.rejected["duplicate"] > 0
    assert {(r["question"], r["command"]) for r in out[3:]} == {
        ("show the file data.csv", "cat data.csv"),
        ("count the lines of notes.txt", "wc -l notes.txt"),
        ("count the lines of todo.md", "wc -l todo.md"),
    }


def test_sql_augment_still_needs_its_database(tmp_path: Path) -> None:
    data = tmp_path / "pairs.jsonl"
    data.write_text(json.dumps({"question": "population of texas", "query": "SELECT 1"}) + "\n")
    proc = subprocess.run(
        [*SYMGEN, "augment", "--data", str(data), "--out", str(tmp_path / "o")],
        capture_output=True, text=True, check=False, timeout=120,
    )  # fmt: skip
    assert proc.returncode != 0 and "--db is required" in proc.stderr
    assert not (tmp_path / "o").exists()
