"""`symgen lab label`: answer unlabelled questions with trained task models; keep the agreed answers.

A transfer set for distillation. The generator's rejected questions (no majority, or no answer
reproducing the program they describe) are natural questions on the database that no training
pair covers; task models trained with different seeds answer each one, and an answer is kept
only when every model's query runs, returns rows and returns the *same* rows — the paper's
agreement idea applied to the task models instead of the LLM. A student trained on these pairs
(with `symgen lab train --teacher`) sees its teachers' behaviour off the training pairs, where the
ensemble's lead over one model lies.

Execution is read-only with a timeout and a row cap, as everywhere; a question the models'
training data already holds is skipped (`exclude`), so the set never repeats a verified pair.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

from symgen.databases.base import Database
from symgen.dataset import JsonlAppender, question_key, read_jsonl, read_resumable
from symgen.errors import SymgenError
from symgen.progress import bar
from symgen.tasks.sql.task import has_order_by, results_match

if TYPE_CHECKING:
    from symgen.engine.model import TaskModel
    from symgen.tasks.sql.model_input import DbKnowledge

# One model's answer to a question: (SQL, passes the schema check).
Answerer = Callable[[str], tuple[str, bool]]


@dataclass
class LabelStats:
    asked: int = 0
    kept: int = 0
    skipped_seen: int = 0  # already labelled (resume) or in the excluded data
    rejected: Counter[str] = field(default_factory=Counter)

    def as_dict(self) -> dict[str, Any]:
        return {
            "asked": self.asked,
            "kept": self.kept,
            "skipped_seen": self.skipped_seen,
            "rejected": dict(self.rejected),
        }


def agreed_answer(answers: Sequence[tuple[str, bool]], db: Database) -> tuple[str | None, str]:
    """The first model's SQL when every answer is valid, returns rows and the same rows
    (ordered when the first query orders); else None and why not."""
    if not answers:
        return None, "no_models"
    if not all(valid and sql.strip() for sql, valid in answers):
        return None, "invalid"
    first_sql = answers[0][0]
    first = db.execute(first_sql)
    if first.rows is None:
        return None, "error"
    if not first.rows:
        return None, "empty"
    ordered = has_order_by(first_sql, db.dialect)
    for sql, _ in answers[1:]:
        if sql == first_sql:
            continue
        got = db.execute(sql)
        if got.rows is None or not results_match(first.rows, got.rows, ordered):
            return None, "disagree"
    return first_sql, "kept"


def unlabelled_questions(
    paths: Iterable[str | Path], exclude: Iterable[str | Path] = ()
) -> tuple[list[str], int]:
    """Distinct questions of `paths` (JSONL with "question") not asked by any pair in
    `exclude`; also how many were dropped as repeats or already covered."""
    seen = {question_key(r["question"]) for p in exclude for r in read_jsonl(p, ("question",))}
    out, dropped = [], 0
    for p in paths:
        for row in read_jsonl(p, ("question",)):
            key = question_key(row["question"])
            if key in seen:
                dropped += 1
                continue
            seen.add(key)
            out.append(row["question"])
    return out, dropped


def model_answerer(model: TaskModel, knowledge: DbKnowledge, **decoding: Any) -> Answerer:
    """`model` answering on `knowledge`'s database as the editor does (`decoding`: the
    `suggest` options, e.g. beams, decode, prefer, ground_literals)."""

    def answer(question: str) -> tuple[str, bool]:
        result = model.suggest(knowledge, question, **decoding)
        return result.sql, result.valid

    return answer


def rejected_path(out: str | Path) -> Path:
    out = Path(out)
    return out.with_name(f"{out.stem}.rejected.jsonl")


def label_questions(
    questions: Sequence[str],
    models: Sequence[Answerer],
    db: Database,
    out: str | Path,
    *,
    db_name: str,
    model_names: Sequence[str],
    progress: bool = True,
    should_stop: Callable[[], bool] | None = None,
) -> LabelStats:
    """Label `questions` into `out` (kept pairs) and its `.rejected.jsonl` (the rest, with the
    reason), one flushed line each, so an interrupted run resumes where it stopped."""
    if not models:
        raise SymgenError("label: give at least one --model (two or more for agreement)")
    stats = LabelStats()
    done = {question_key(r["question"]) for r in read_resumable(out)}
    done |= {question_key(r["question"]) for r in read_resumable(rejected_path(out))}
    todo = [q for q in questions if question_key(q) not in done]
    stats.skipped_seen = len(questions) - len(todo)
    with (
        JsonlAppender(out) as kept,
        JsonlAppender(rejected_path(out)) as rejected,
        bar(total=len(todo), desc="label", unit="q", disable=not progress) as pbar,
    ):
        for question in todo:
            if should_stop is not None and should_stop():
                break
            answers = [model(question) for model in models]
            sql, why = agreed_answer(answers, db)
            stats.asked += 1
            if sql is not None:
                stats.kept += 1
                kept.write(
                    {
                        "question": question,
                        "query": sql,
                        "db": db_name,
                        "source": "pseudo_label",
                        "models": list(model_names),
                    }
                )
            else:
                stats.rejected[why] += 1
                rejected.write(
                    {
                        "question": question,
                        "db": db_name,
                        "reason": why,
                        "answers": [a for a, _ in answers],
                    }
                )
            pbar.update(1)
            pbar.set_postfix(kept=stats.kept)
    return stats
