"""`benchmarks.code_tasks --rows`: which rows run, and the combinations refused before any
model loads (a diagnostic row must not join the default run; rows without a pair count); which
focused gen-q runs the SymGen row trains on, each in its own file."""

from __future__ import annotations

import argparse

import pytest

from benchmarks.code_tasks import focus_part, focus_runs, rows_wanted

ROWS = [
    ("", 0, "bash", ["llm_10shot", "task_symgen", "task_human"]),
    ("task_llm_answers", 1200, "bash", ["task_llm_answers"]),
    ("task_symgen,task_llm_answers", 0, "bash", ["task_symgen", "task_llm_answers"]),
    ("task_human", 0, "bash", "task_human without task_symgen needs --human-pairs"),
    ("task_llm_answers", 0, "bash", "task_llm_answers without task_symgen needs --human-pairs"),
    ("task_llm_answers", 100, "python", "task_llm_answers is for --task bash"),
    ("task_nope", 0, "bash", "unknown row(s) task_nope"),
]


@pytest.mark.parametrize(("spec", "human_pairs", "task", "expected"), ROWS)
def test_rows_wanted(spec: str, human_pairs: int, task: str, expected: list[str] | str) -> None:
    if isinstance(expected, str):
        with pytest.raises(SystemExit, match=expected.replace("(", r"\(").replace(")", r"\)")):
            rows_wanted(spec, human_pairs, task)
    else:
        assert rows_wanted(spec, human_pairs, task) == expected


FOCUS = [
    ("common", "0", []),
    ("common", "2000", [("common", 2000)]),
    ("common,pipelines", "2000", [("common", 2000), ("pipelines", 2000)]),
    ("common,pipelines", "2000,1500", [("common", 2000), ("pipelines", 1500)]),
    ("common,pipelines", "0,1500", [("pipelines", 1500)]),
    ("common", "2000,1500", "one count, or one per --focus-commands list"),
]


@pytest.mark.parametrize(("lists", "counts", "expected"), FOCUS)
def test_focus_runs(lists: str, counts: str, expected: list[tuple[str, int]] | str) -> None:
    args = argparse.Namespace(focus_commands=lists, focus_questions=counts)
    if isinstance(expected, str):
        with pytest.raises(SystemExit, match=expected):
            focus_runs(args)
    else:
        assert focus_runs(args) == expected


def test_each_focus_list_has_its_own_file() -> None:
    # `common` keeps the name its tracked run was measured under
    assert focus_part("common") == "focus"
    assert focus_part("pipelines") == "focus.pipelines"
    assert focus_part("/tmp/my_cmds.txt") == "focus.my_cmds"
