"""GeoQuery dev accuracy of one task model with the database on SQLite, DuckDB and PostgreSQL.

    nice -n 19 python -m benchmarks.db_engines --model .symgen/bench/onnx/task_human_600 --threads 1

The same GeoQuery data is copied into a new DuckDB file and into a throwaway PostgreSQL server
(started from the Debian packages, as the tests do; or `--pg-url` for an existing, empty
database). The model (trained on SQLite) reads each engine's schema; its SQL is transpiled to the
engine's dialect, and so is the SQLite gold SQL; execution accuracy is measured on each engine
by the same `symgen.evaluate`. Prints a table, writes benchmarks/results/db_engines/db_engines.json
and then the table of benchmarks/reports/db_engines.md from it (`--report-only`: only that).
"""

from __future__ import annotations

import argparse
import shutil
import tempfile
import time
from pathlib import Path
from typing import Any

from benchmarks.common import (
    DASH,
    REPORTS,
    ROOT,
    ReportTable,
    add_report_arg,
    markdown_table,
    num,
    parse_args,
    pct,
    read_result,
    shared_data,
    table,
    write_report,
    write_result,
)
from symgen.databases.copy import copy_sqlite
from symgen.engine.model import TaskModel
from symgen.evaluate import Predictor, evaluate, read_items
from symgen.tasks.sql.model_input import DbKnowledge


def postgres_copy(geo: Path, url: str | None) -> tuple[str, Any]:
    """A PostgreSQL URL holding GeoQuery, and the cluster to stop (None for --pg-url)."""
    if url:
        copy_sqlite(geo / "geography.sqlite", url)
        return url, None
    import psycopg

    from tests.pg_cluster import start_cluster

    cluster = start_cluster()
    with psycopg.connect(cluster.socket_url("postgres"), autocommit=True) as conn:
        conn.execute("CREATE DATABASE geography")
    copy_sqlite(geo / "geography.sqlite", cluster.socket_url("geography"))
    # candidates never run as a superuser: the adapter refuses one
    return cluster.create_reader("geography", "symgen_bench", "symgen-bench"), cluster


def predictor(model: TaskModel, db: DbKnowledge, beams: int) -> Predictor:
    return lambda _name, question: model.complete(db, question, beams=beams).sql


ENGINES = {"sqlite": "SQLite", "duckdb": "DuckDB", "postgres": "PostgreSQL"}


def engines_table() -> str:
    """The report's table of db_engines.json."""
    rows = read_result("db_engines", "db_engines")["rows"]
    n = rows[0]["n"]
    header = ["database", f"exec acc ({n})", "exact", "gold SQL failing"]
    header += ["answers scored differently from SQLite"]
    cells = [
        [
            ENGINES.get(r["engine"], r["engine"]),
            pct(r["exec_acc"]),
            pct(r["exact_match"]),
            num(r["gold_failed"]),
            DASH if r["engine"] == "sqlite" else num(r["exec_differs_from_sqlite"]),
        ]
        for r in rows
    ]
    return table(header, cells)


def report_tables() -> list[ReportTable]:
    """The tables this script writes: (report, marker, table from the results JSON)."""
    return [(REPORTS / "db_engines.md", "db_engines", engines_table)]


def build_parser() -> argparse.ArgumentParser:
    ap = argparse.ArgumentParser(prog="python -m benchmarks.db_engines", description=__doc__)
    add_report_arg(ap, "benchmarks/reports/db_engines.md")
    ap.add_argument("--model", default=str(ROOT / ".symgen/bench/onnx/task_human_600"))
    ap.add_argument("--beams", type=int, default=4)
    ap.add_argument("--threads", type=int, default=1)
    ap.add_argument("--limit", type=int, default=None, help="first N dev questions (default all)")
    ap.add_argument("--pg-url", default=None, help="existing empty PostgreSQL database to use")
    return ap


def main() -> None:
    args = parse_args(build_parser())
    if args.report_only:
        write_report(report_tables())
        return

    geo = shared_data() / "geoquery"
    items = read_items(geo / "dev.jsonl", "geography")[: args.limit]
    model = TaskModel(args.model, threads=args.threads)
    tmp = Path(tempfile.mkdtemp(prefix="symgen-bench-"))
    duck = tmp / "geography.duckdb"
    copy_sqlite(geo / "geography.sqlite", duck)
    pg_url, cluster = postgres_copy(geo, args.pg_url)
    specs = {"sqlite": str(geo / "geography.sqlite"), "duckdb": str(duck), "postgres": pg_url}
    rows: list[dict[str, Any]] = []
    records: dict[str, list[dict[str, Any]]] = {}
    try:
        for engine, spec in specs.items():
            db = DbKnowledge.load(spec)
            start = time.monotonic()
            res = evaluate(
                predictor(model, db, args.beams),
                items,
                {"geography": spec},
                label=engine,
            )
            records[engine] = res["records"]
            s = res["summary"]
            rows.append(
                {
                    "engine": engine,
                    "dialect": db.dialect,
                    "n": s["n"],
                    "exec_acc": round(s["exec_acc"], 4),
                    "exact_match": round(s["exact_match"], 4),
                    "gold_failed": s["gold_failed"],
                    "p50_ms": s["latency_p50_ms"],
                    "p95_ms": s["latency_p95_ms"],
                    "minutes": round((time.monotonic() - start) / 60, 2),
                    "schema_hash": db.schema_hash,
                }
            )
    finally:
        if cluster is not None:
            cluster.stop()
        shutil.rmtree(tmp, ignore_errors=True)
    base = records["sqlite"]
    for row in rows:
        mine = records[row["engine"]]
        row["exec_differs_from_sqlite"] = sum(
            a["exec"] != b["exec"] for a, b in zip(base, mine, strict=True)
        )
    differences = [
        {
            "question": b["question"],
            **{e: {"pred": records[e][i]["pred"], "exec": records[e][i]["exec"]} for e in records},
        }
        for i, b in enumerate(base)
        if len({records[e][i]["exec"] for e in records}) > 1
    ]
    cols = [
        "engine",
        "n",
        "exec_acc",
        "exact_match",
        "gold_failed",
        "exec_differs_from_sqlite",
        "p50_ms",
        "p95_ms",
    ]
    print(markdown_table(rows, cols))
    path = write_result(
        "db_engines",
        "db_engines",
        {
            "model": str(args.model),
            "beams": args.beams,
            "threads": args.threads,
            "rows": rows,
            "questions_where_engines_disagree": differences,
        },
    )
    print(f"wrote {path}")
    write_report(report_tables())


if __name__ == "__main__":
    main()
