"""`symgen eval`: execution accuracy, exact match and latency of any SQL predictor on pairs.

The predictor is a plain callable `(db name, question) -> SQL`, so the task model, the generator
LLM and any baseline are measured by the same code. Execution accuracy compares result multisets
(lists when the gold query has ORDER BY) on a read-only connection to any engine: predictions are
in the database's dialect, gold queries in `gold_dialect` (SQLite for GeoQuery and Spider) are
transpiled to it.
"""

from __future__ import annotations

import statistics
import time
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from tqdm import tqdm

from symgen.database import Database, Execution, open_database, transpile
from symgen.dataset import read_jsonl
from symgen.tasks.sql import has_order_by, normalise, results_match

Predictor = Callable[[str, str], str]


@dataclass(frozen=True)
class Item:
    db: str
    question: str
    query: str


def read_items(path: str | Path, default_db: str | None) -> list[Item]:
    rows = read_jsonl(path, required=("question", "query"))
    return [Item(r.get("db") or default_db or "", r["question"], r["query"]) for r in rows]


def percentile(values: Sequence[float], q: float) -> float:
    if not values:
        return 0.0
    ordered = sorted(values)
    idx = min(len(ordered) - 1, max(0, round(q * (len(ordered) - 1))))
    return ordered[idx]


def execution_match(db: Database, gold: str, pred: str, want: Execution | None = None) -> bool:
    """Same results on `db`; both queries in the database's dialect (`want`: gold's, if run)."""
    if not pred.strip():
        return False
    want = want or db.execute(gold)
    got = db.execute(pred)
    if want.rows is None or got.rows is None:
        return False
    return results_match(want.rows, got.rows, has_order_by(gold, db.dialect))


def evaluate(
    predict: Predictor,
    items: Sequence[Item],
    db_paths: Mapping[str, str | Path],
    *,
    progress: bool = True,
    label: str = "eval",
    gold_dialect: str = "sqlite",
) -> dict[str, Any]:
    """Summary metrics plus one record per item."""
    dbs: dict[str, Database] = {}
    records = []
    try:
        for item in tqdm(items, desc=label, disable=not progress, unit="q"):
            if item.db not in dbs:
                dbs[item.db] = open_database(db_paths[item.db], timeout_s=5.0)
            db = dbs[item.db]
            start = time.perf_counter()
            pred = predict(item.db, item.question)
            ms = (time.perf_counter() - start) * 1000
            gold = transpile(item.query, gold_dialect, db.dialect) or item.query
            want = db.execute(gold)
            ok = execution_match(db, gold, pred, want)
            em = normalise(pred, db.dialect) == normalise(gold, db.dialect) if pred else False
            records.append(
                {
                    "db": item.db,
                    "question": item.question,
                    "gold": gold,
                    "pred": pred,
                    "exec": ok,
                    "exact": em,
                    "ms": round(ms, 2),
                    **({"gold_error": want.error} if want.rows is None else {}),
                }
            )
    finally:
        for db in dbs.values():
            db.close()
    n = len(records) or 1
    ms_all = [r["ms"] for r in records]
    summary = {
        "n": len(records),
        "exec_acc": sum(r["exec"] for r in records) / n,
        "exact_match": sum(r["exact"] for r in records) / n,
        "gold_failed": sum(bool(r.get("gold_error")) for r in records),
        "latency_p50_ms": round(statistics.median(ms_all), 2) if ms_all else 0.0,
        "latency_p95_ms": round(percentile(ms_all, 0.95), 2),
    }
    return {"summary": summary, "records": records}
