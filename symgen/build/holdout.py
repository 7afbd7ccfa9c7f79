"""Which verified pairs a build keeps out of training, so its report can score the model.

Pure. Pairs are held back by SQL, not by line: every pair with a held-back SQL (its
paraphrases, its value swaps are made later from training pairs only) leaves training, or the
score would reward memorising a query the model was shown in other words.
"""

from __future__ import annotations

import hashlib
from collections.abc import Iterable, Sequence
from typing import Any

from symgen.build.recipe import HoldOut
from symgen.dataset import question_key
from symgen.tasks.format import canonical_sql


def sql_key(sql: str, dialect: str = "sqlite") -> str:
    return canonical_sql(sql, dialect).lower()


def split_held_out(
    pairs: Sequence[dict[str, Any]],
    hold: HoldOut,
    keep: Iterable[str] = (),
    dialect: str = "sqlite",
) -> tuple[list[dict[str, Any]], list[dict[str, Any]]]:
    """(training pairs, held-back pairs: one per held-back SQL). `keep`: SQL that always trains
    (the seeds'). The draw is fixed by the SQL's hash, so a rerun holds back the same pairs."""
    if len(pairs) < hold.min_pairs or hold.share <= 0:
        return list(pairs), []
    kept = {sql_key(q, dialect) for q in keep}
    first: dict[str, dict[str, Any]] = {}
    for p in pairs:
        first.setdefault(sql_key(p["query"], dialect), p)
    candidates = sorted(
        (k for k in first if k not in kept), key=lambda k: hashlib.sha256(k.encode()).hexdigest()
    )
    n = min(hold.max, round(hold.share * len(first)))
    held_keys = set(candidates[:n])
    held = [first[k] for k in candidates[:n]]
    held_questions = {question_key(p["question"]) for p in held}
    train = [
        p
        for p in pairs
        if sql_key(p["query"], dialect) not in held_keys
        and question_key(p["question"]) not in held_questions
    ]
    return train, held
