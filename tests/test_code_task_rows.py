"""`benchmarks.code_tasks --rows`: which rows run, and the combinations refused before any
model loads (a diagnostic row must not join the default run; rows without a pair count)."""

from __future__ import annotations

import pytest

from benchmarks.code_tasks import rows_wanted

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
