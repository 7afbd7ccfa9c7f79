"""A benchmark's recorded command (`benchmarks.common.command_line`) runs the same benchmark
again: the README and results files quote it as the way to reproduce a table.

Repeatable options are the case that broke: `--member A --member B` was recorded as
`--member A B`, which the old `action="append"` parser refused.
"""

from __future__ import annotations

import argparse
import shlex
from collections.abc import Callable

import pytest

from benchmarks import drafting, ensembles, pseudo_label
from benchmarks.common import command_line, named_members

CASES: list[tuple[str, Callable[[], argparse.ArgumentParser], list[str]]] = [
    (
        "benchmarks.ensembles",
        ensembles.build_parser,
        ["--member", "s0=runs/a", "--member", "s1=runs/b", "--threads", "1", "--tag", "mini"],
    ),
    ("benchmarks.ensembles", ensembles.build_parser, ["--member", "s0=a", "s1=b", "s2=c"]),
    ("benchmarks.pseudo_label", pseudo_label.build_parser, ["--model", "a", "--model", "b"]),
    ("benchmarks.drafting", drafting.build_parser, ["--member", "s0=a", "--member", "s1=b"]),
]


@pytest.mark.parametrize(("module", "parser", "argv"), CASES)
def test_recorded_command_parses_to_the_same_run(
    module: str, parser: Callable[[], argparse.ArgumentParser], argv: list[str]
) -> None:
    args = parser().parse_args(argv)
    recorded = shlex.split(command_line(module, args))
    assert recorded[:3] == ["python", "-m", module]
    assert parser().parse_args(recorded[3:]) == args


@pytest.mark.parametrize("parser", [ensembles.build_parser, drafting.build_parser])
@pytest.mark.parametrize("bad", ["s0", "=runs/a", "s0="])
def test_member_without_name_or_dir_is_refused_by_name(
    parser: Callable[[], argparse.ArgumentParser], bad: str, capsys: pytest.CaptureFixture[str]
) -> None:
    with pytest.raises(SystemExit):
        parser().parse_args(["--member", "s1=runs/b", bad])
    assert f"expected NAME=DIR (an exported model dir), got {bad!r}" in capsys.readouterr().err


def test_repeated_member_name_is_refused() -> None:
    args = ensembles.build_parser().parse_args(["--member", "s0=a", "s0=b"])
    with pytest.raises(SystemExit, match="names repeat"):
        named_members(args)
    assert named_members(ensembles.build_parser().parse_args(["--member", "s0=a", "s1=b=c"])) == {
        "s0": "a",
        "s1": "b=c",
    }
