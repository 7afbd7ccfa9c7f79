"""The Bash and Python verdicts on one candidates record (`symgen verify --task bash|python`)."""

from __future__ import annotations

from typing import Any

from symgen.verify_candidates import Judge, candidates_of, python_tests


def code_judge(task_name: str, min_votes: Any, share: float) -> Judge:
    """Bash: parse, safety filter, soft vote. Python: each row's `tests` (test calls, with their
    predicted `outputs`) or MBPP `test_list` asserts drive the sandboxed execution, and the
    winner must reproduce a `share` of those outputs, as in `symgen generate`."""
    from symgen.tasks.code import make_task
    from symgen.tasks.python.task import PythonTask, vote_and_expect
    from symgen.verify import verify

    base = make_task(task_name)

    def judge(row: dict[str, Any]) -> tuple[bool, dict[str, Any]]:
        tests: list[str] = row.get("tests") or []
        if not isinstance(base, PythonTask):
            verdict = verify(base, candidates_of(row), min_votes)
        else:
            tests, outputs = python_tests(row)
            task = base.with_tests(tests)
            verdict, _ = vote_and_expect(task, candidates_of(row), min_votes, outputs, share)
        extra = {"tests": tests} if tests else {}
        record = {"question": row["question"], "query": verdict.program, "task": task_name}
        if verdict.kept:
            return True, record | extra | verdict.provenance()
        return False, record | {"reason": verdict.reason} | extra | verdict.provenance()

    return judge
