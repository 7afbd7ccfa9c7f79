"""The SQL verdict on one candidates record: the vote on the database, then number grounding."""

from __future__ import annotations

from typing import Any

from symgen.verify_candidates import Judge, candidates_of


def sql_judge(db: Any, seeds: str | None, allow_empty: bool, min_votes: Any) -> Judge:
    """SQL: the agreement vote on `db`, and a kept SQL may compare only with numbers its
    question states (or the seeds' conventions)."""
    from symgen.dataset import read_pairs
    from symgen.tasks.sql.number_grounding import conventions, unstated_numbers
    from symgen.tasks.sql.task import SqlTask
    from symgen.verify import verify

    pairs = read_pairs(seeds) if seeds else []
    known = conventions((p.question, p.query) for p in pairs)
    task = SqlTask(db, allow_empty=allow_empty)

    def judge(row: dict[str, Any]) -> tuple[bool, dict[str, Any]]:
        verdict = verify(task, candidates_of(row), min_votes)
        base = {"question": row["question"], "query": verdict.program}
        if verdict.kept and unstated_numbers(verdict.program or "", row["question"], known):
            return False, base | {"reason": "unstated_number", **verdict.provenance()}
        if verdict.kept:
            return True, base | {"db": db.name, **verdict.provenance()}
        return False, base | {"reason": verdict.reason, **verdict.provenance()}

    return judge
