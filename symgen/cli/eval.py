"""`symgen eval`: a task model's accuracy and latency on held-out items."""

from __future__ import annotations

import argparse
import json
from pathlib import Path
from typing import Any

from symgen.cli.common import (
    DB_HELP,
    ORT_THREADS_HELP,
    add_decoding,
    add_task,
    guide,
    require_records,
    same_task,
    warn,
)
from symgen.errors import SymgenError
from symgen.tasks.registry import task_for


def add_parser(sub: Any, common: argparse.ArgumentParser) -> None:
    ev = sub.add_parser(
        "eval",
        parents=[common],
        help="a task model's accuracy and latency: SQL execution accuracy + exact match, Bash "
        "char-BLEU + exact match, Python pass@1 on MBPP asserts (sandboxed)",
    )
    ev.add_argument("--model", required=True)
    add_task(ev, None)
    ev.add_argument("--data", required=True)
    where = ev.add_mutually_exclusive_group()  # SQL models only
    where.add_argument("--db", action="append", help=DB_HELP)
    where.add_argument("--db-dir", help="directory of SQLite DBs (Spider layout)")
    ev.add_argument(
        "--gold-dialect", default="sqlite", help="dialect of the gold SQL (default sqlite)"
    )
    add_decoding(ev)
    ev.add_argument("--int8", action=argparse.BooleanOptionalAction, default=None)
    ev.add_argument("--limit", type=int, default=None)
    ev.add_argument("--threads", type=int, default=None, help=ORT_THREADS_HELP)
    ev.add_argument(
        "--draft",
        action=argparse.BooleanOptionalAction,
        default=True,
        help="ensembles: member 0 drafts greedy answers, the ensemble checks them (default); "
        "--no-draft decodes the merged graph token by token (its own answers too: to compare)",
    )
    ev.add_argument("--out", default=None, help="write summary JSON (+ .records.jsonl)")
    ev.add_argument("--quiet", action="store_true")
    ev.set_defaults(func=run, outputs=[("out", "file")])


def run(args: argparse.Namespace) -> int:
    from symgen.engine.model import TaskModel
    from symgen.evaluate import evaluate, read_items
    from symgen.tasks.sql.model_input import load_dbs, read_db_dir

    require_records(args.data, "items to evaluate")  # before the model is loaded
    model = TaskModel(args.model, int8=args.int8, threads=args.threads, draft=args.draft)
    if args.task:
        same_task(args.task, model.task, args.model)
    if not task_for(model.task).needs_database:
        return eval_code(model, args)
    if not args.db and not args.db_dir:
        raise SymgenError(f"a {model.task} model needs --db or --db-dir")
    paths: list[str | Path] = list(args.db) if args.db else list(read_db_dir(args.db_dir))
    dbs = load_dbs(paths)
    for d in dbs.values():
        warn(d.warnings)
    items = read_items(args.data, next(iter(dbs)) if len(dbs) == 1 else None)
    unknown = sorted({i.db for i in items} - set(dbs))
    if unknown:
        raise SymgenError(f"{args.data} names databases not given: {', '.join(unknown[:5])}")
    if args.limit:
        items = items[: args.limit]
    guides = {name: guide(args, d.spec) for name, d in dbs.items()}
    result = evaluate(
        lambda db, q: (
            model.suggest(
                dbs[db],
                q,
                beams=args.beams,
                decode=args.decode,
                prefer=guides[db],
                ground_literals=args.ground_literals,
            ).sql
        ),
        items,
        {name: d.spec for name, d in dbs.items()},
        progress=not args.quiet,
        gold_dialect=args.gold_dialect,
    )
    s = result["summary"]
    print("| n | exec acc | exact match | p50 ms | p95 ms |\n|---|---|---|---|---|")
    print(
        f"| {s['n']} | {s['exec_acc']:.1%} | {s['exact_match']:.1%} | {s['latency_p50_ms']} | {s['latency_p95_ms']} |"
    )
    write_eval(args, result)
    return 0


def write_eval(args: argparse.Namespace, result: dict[str, Any]) -> None:
    from symgen.dataset import write_jsonl

    if args.out:
        Path(args.out).parent.mkdir(parents=True, exist_ok=True)
        Path(args.out).write_text(
            json.dumps(
                result["summary"] | {"model": str(args.model), "data": str(args.data)}, indent=2
            )
        )
        write_jsonl(Path(args.out).with_suffix(".records.jsonl"), result["records"])


# how `symgen eval` heads and prints a code task's summary metric (a share unless listed)
METRIC_COLUMNS = {"char_bleu": ("char BLEU", "{:.3f}"), "pass_at_1": ("pass@1", "{:.1%}")}


def summary_table(summary: dict[str, Any], metrics: list[str]) -> str:
    """The Markdown row `symgen eval` prints for a code model: its task's metrics, then latency."""
    cols = [METRIC_COLUMNS.get(m, (m.replace("_", " "), "{:.1%}")) for m in metrics]
    head = ["n", *(name for name, _ in cols), "p50 ms", "p95 ms"]
    cells = [
        str(summary["n"]),
        *(fmt.format(summary[m]) for m, (_, fmt) in zip(metrics, cols, strict=True)),
        str(summary["latency_p50_ms"]),
        str(summary["latency_p95_ms"]),
    ]
    return "\n".join(
        ["| " + " | ".join(head) + " |", "|" + "---|" * len(head), "| " + " | ".join(cells) + " |"]
    )


def eval_code(model: Any, args: argparse.Namespace) -> int:
    """Bash: char-BLEU + exact match; Python: pass@1 on the items' asserts (sandboxed)."""
    from symgen.evaluate import evaluate_code, read_code_items
    from symgen.tasks.code import scoring

    items = read_code_items(args.data)[: args.limit or None]
    result = evaluate_code(
        lambda q: model.suggest_code(q, beams=args.beams, decode=args.decode).sql,
        items,
        model.task,
        progress=not args.quiet,
    )
    s = result["summary"]
    print(summary_table(s, [m for m, _ in scoring(model.task).summary_metrics]))
    write_eval(args, result)
    return 0
