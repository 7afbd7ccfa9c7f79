"""`benchmarks.code_tasks --rows`: which rows run, and the combinations refused before any
model loads (a diagnostic row must not join the default run; rows without a pair count); which
focused gen-q runs the SymGen row trains on, each in its own file, and taken as they are
under `--no-generate`; where each row trains."""

from __future__ import annotations

import argparse
from pathlib import Path

import pytest

import benchmarks.code_tasks as code_tasks
from benchmarks.code_tasks import (
    WORK,
    focus_part,
    focus_runs,
    history_data,
    llm_answers,
    row_dirs,
    rows_wanted,
    same_commands_human,
    symgen_files,
)

ROWS = [
    ("", 0, "bash", ["llm_10shot", "task_symgen", "task_human"]),
    ("task_llm_answers", 1200, "bash", ["task_llm_answers"]),
    ("task_symgen,task_llm_answers", 0, "bash", ["task_symgen", "task_llm_answers"]),
    ("task_human", 0, "bash", "task_human without task_symgen needs --human-pairs"),
    ("task_llm_answers", 0, "bash", "task_llm_answers without task_symgen needs --human-pairs"),
    ("task_llm_answers", 100, "python", "task_llm_answers is for --task bash"),
    ("task_history,task_history_human", 0, "bash", ["task_history", "task_history_human"]),
    ("task_history", 0, "python", "task_history is for --task bash"),
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


def _runs(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, generate_only: bool
) -> argparse.Namespace:
    monkeypatch.setattr(code_tasks, "GENERATED", tmp_path)
    for part in ("symgen", "focus", "focus.pipelines"):
        (tmp_path / f"nl2bash.{part}.jsonl").write_text('{"question": "q", "program": "ls"}\n')
    return argparse.Namespace(
        generator="",
        no_generate=True,
        generate_only=generate_only,
        focus_commands="common,pipelines",
        focus_questions="10",
    )


def _no_llm(*_: object, **__: object) -> Path:
    raise AssertionError("an LLM run was started")


def test_no_generate_trains_on_every_run_as_it_is(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    # even a tiny --gen-minutes answers one more question: a rerun would train on other pairs
    args = _runs(tmp_path, monkeypatch, generate_only=False)
    monkeypatch.setattr(code_tasks, "symgen_data", _no_llm)
    files = symgen_files("bash", tmp_path / "seeds.jsonl", args)
    assert [f.name for f in files] == [
        "nl2bash.symgen.jsonl",
        "nl2bash.focus.jsonl",
        "nl2bash.focus.pipelines.jsonl",
    ]
    (tmp_path / "nl2bash.focus.pipelines.jsonl").unlink()
    with pytest.raises(
        SystemExit, match=r"no generated data at .*nl2bash\.focus\.pipelines\.jsonl"
    ):
        symgen_files("bash", tmp_path / "seeds.jsonl", args)


def test_no_generate_trains_on_the_answers_to_human_questions_as_they_are(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    # with questions left, answer_given would answer them all (no --gen-minutes by default)
    args = _runs(tmp_path, monkeypatch, generate_only=False)
    monkeypatch.setattr(code_tasks, "answer_given", _no_llm)
    with pytest.raises(SystemExit, match=r"no generated data at .*nl2bash\.humanq\.jsonl"):
        llm_answers(tmp_path / "seeds.jsonl", ["q"], args)
    (tmp_path / "nl2bash.humanq.jsonl").write_text('{"question": "q", "query": "ls"}\n')
    assert llm_answers(tmp_path / "seeds.jsonl", ["q"], args) == tmp_path / "nl2bash.humanq.jsonl"


def test_no_generate_with_generate_only_extends_the_focused_runs(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    args = _runs(tmp_path, monkeypatch, generate_only=True)
    extended: list[tuple[str, int] | None] = []

    def extend(task: str, seeds: Path, args: object, focus: tuple[str, int] | None = None) -> Path:
        extended.append(focus)
        return tmp_path / "extended.jsonl"

    monkeypatch.setattr(code_tasks, "symgen_data", extend)
    symgen_files("bash", tmp_path / "seeds.jsonl", args)
    assert extended == [("common", 10), ("pipelines", 10)]  # the seeds' run is left alone


ROW_ARGS = dict(arch="tiny", augment=0, label_smoothing=None, seed=0, placeholders=None)
ROW_DIRS = [
    # the default generator's runs keep the paths they were trained under
    ("task_symgen", "qwen2.5-coder-0.5b", "runs/bash-task_symgen-tiny-1030-ls0.1-ph"),
    (
        "task_symgen",
        "qwen2.5-coder-1.5b",
        "qwen2.5-coder-1.5b/runs/bash-task_symgen-tiny-1030-ls0.1-ph",
    ),
    (
        "task_llm_answers",
        "qwen2.5-coder-1.5b",
        "qwen2.5-coder-1.5b/runs/bash-task_llm_answers-tiny-1030-ls0.1-ph",
    ),
    (
        "task_history",
        "qwen2.5-coder-1.5b",
        "qwen2.5-coder-1.5b/runs/bash-task_history-tiny-1030-ls0.1-ph",
    ),
    # human pairs do not depend on the generator: one run serves every comparison
    ("task_human", "qwen2.5-coder-1.5b", "runs/bash-task_human-tiny-1030-ls0.1-ph"),
]


@pytest.mark.parametrize(("name", "generator", "expected"), ROW_DIRS)
def test_row_dirs(name: str, generator: str, expected: str) -> None:
    args = argparse.Namespace(generator=generator, **ROW_ARGS)
    run_dir, onnx_dir = row_dirs(name, "bash", 1030, args)
    assert run_dir == WORK / expected
    assert onnx_dir == WORK / expected.replace("runs/", "onnx/")


def test_history_rows_read_the_tracked_run_and_pair_it_with_the_users_requests(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """`--no-generate`: the history row trains on its tracked pairs (no LLM), and its paired
    human row holds the pool's own request for each kept command, whatever its spelling."""
    args = _runs(tmp_path, monkeypatch, generate_only=False)
    monkeypatch.setattr(code_tasks, "run_generate", _no_llm)
    pool = [
        {"question": "show disk use of logs", "command": "du -sh /var/log"},
        {"question": "list big files", "command": "find . -size +10M"},
        {"question": "count lines", "command": "wc -l *.txt"},
    ]
    with pytest.raises(SystemExit, match=r"no generated data at .*nl2bash\.history\.jsonl"):
        history_data(tmp_path / "seeds.jsonl", pool, args)
    kept = tmp_path / "nl2bash.history.jsonl"
    kept.write_text(
        '{"question": "how big is /var/log", "query": "du  -sh /var/log"}\n'
        '{"question": "count the lines of text files", "query": "wc -l *.txt"}\n'
    )
    assert history_data(tmp_path / "seeds.jsonl", pool, args) == kept
    assert same_commands_human(kept, pool) == [pool[0], pool[2]]
