"""Does value-swap augmentation (`symgen augment`) make SymGen data worth more? Side by side.

The same verified pairs (from `symgen generate` or `symgen demo`, plus the 10 seeds) train the
`tiny` task model three ways, each scored on all GeoQuery dev questions through the torch-free
engine:

  plain          the verified pairs + seeds as generated
  augmented      the same + value swaps (each swap executed, kept only when non-empty)
  augmented_vN   only pairs with >= N votes (stricter verifier), then augmented

Optionally (`--human 100`) the first N human train pairs, plain and augmented, to tell whether
augmentation helps any small data set or only generated data.

    python -m benchmarks.augment --data .symgen/demo/geoquery.symgen.jsonl [--votes 5]
    python -m benchmarks.augment --report-only     # the report's table from augment.json again

Writes benchmarks/results/augment/augment.json and augment.md, then the table of
benchmarks/reports/augment.md from augment.json.
"""

from __future__ import annotations

import argparse
import math
import shlex
import time
from pathlib import Path
from typing import Any

from benchmarks.common import (
    REPORTS,
    ReportTable,
    add_report_arg,
    command_line,
    markdown_table,
    num,
    parse_args,
    pct,
    read_result,
    results_dir,
    shared_data,
    table,
    write_report,
    write_result,
)
from benchmarks.paper import WORK
from symgen.databases.base import open_database
from symgen.dataset import read_jsonl, write_jsonl
from symgen.engine.model import TaskModel
from symgen.evaluate import evaluate, read_items
from symgen.export.onnx import export
from symgen.tasks.sql.augment import with_augmented
from symgen.tasks.sql.model_input import load_dbs
from symgen.train.data import data_hash
from symgen.train.loop import TrainConfig, train
from symgen.train.models import get_arch

OUT = results_dir("augment")
COLUMNS = [
    "name",
    "pairs",
    "exec_acc",
    "exact_match",
    "latency_p50_ms",
    "latency_p95_ms",
    "train_minutes",
    "steps",
]


def train_and_score(
    name: str, records: list[dict[str, Any]], geo: Path, args: argparse.Namespace
) -> dict[str, Any]:
    db = geo / "geography.sqlite"
    data = WORK / "augment" / f"{name}.jsonl"
    write_jsonl(data, records)
    tag = f"{name}_{data_hash([data])[:8]}"
    spec = get_arch("tiny")
    per_epoch = math.ceil(len(records) / spec.batch_size)
    steps = min(args.max_steps, max(args.min_steps, per_epoch * spec.epochs))
    cfg = TrainConfig(
        epochs=math.ceil(steps / per_epoch), max_steps=steps, threads=args.threads, seed=args.seed
    )
    run_dir, onnx_dir = WORK / "augment" / "runs" / tag, WORK / "augment" / "onnx" / tag
    meta = train([data], [db], run_dir, cfg)
    export(run_dir, onnx_dir, int8=True, name=name)
    model = TaskModel(onnx_dir, threads=args.threads)
    dbs = load_dbs([db])
    items = read_items(geo / "dev.jsonl", "geography")[: args.dev_limit or None]
    res = evaluate(lambda d, q: model.suggest(dbs[d], q).sql, items, {"geography": db}, label=name)
    return {
        "name": name,
        "pairs": len(records),
        **res["summary"],
        "train_minutes": meta["train_minutes"],
        "steps": meta["steps"],
    }


def label(name: str, per_pair: int) -> str:
    """A row's name as the report reads it."""
    swapped = f"the same, value-swapped (`symgen augment`, {per_pair} per pair)"
    if name in ("plain", "augmented"):
        return "SymGen pairs + seeds" if name == "plain" else swapped
    if name.startswith("augmented_v"):
        return f"only pairs with ≥ {name.removeprefix('augmented_v')} votes, value-swapped"
    n, aug = name.removeprefix("human_").removesuffix("_aug"), name.endswith("_aug")
    return f"{n} human pairs" + (", value-swapped" if aug else "")


def augment_table() -> str:
    """The report's table of augment.json: the best execution accuracy in bold."""
    result = read_result("augment", "augment")
    per_pair = build_parser().parse_args(shlex.split(result["command"])[3:]).per_pair
    best = max(r["exec_acc"] for r in result["rows"])
    header = ["training data", "pairs", "exec acc", "exact", "p50 / p95 ms", "train min"]
    cells = [
        [
            label(r["name"], per_pair),
            num(r["pairs"]),
            f"**{pct(r['exec_acc'])}**" if r["exec_acc"] == best else pct(r["exec_acc"]),
            pct(r["exact_match"]),
            f"{num(r['latency_p50_ms'])} / {num(r['latency_p95_ms'])}",
            num(r["train_minutes"], 1),
        ]
        for r in result["rows"]
    ]
    return table(header, cells)


def report_tables() -> list[ReportTable]:
    """The tables this script writes: (report, marker, table from the results JSON)."""
    return [(REPORTS / "augment.md", "augment", augment_table)]


def build_parser() -> argparse.ArgumentParser:
    ap = argparse.ArgumentParser(
        prog="python -m benchmarks.augment",
        description=__doc__,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    add_report_arg(ap, "benchmarks/reports/augment.md")
    ap.add_argument("--data", required=True, help="verified pairs JSONL (symgen generate)")
    ap.add_argument("--votes", type=int, default=5, help="the stricter variant's min votes")
    ap.add_argument("--per-pair", type=int, default=8)
    ap.add_argument("--human", type=int, default=0, help="also N human pairs, plain/augmented")
    ap.add_argument("--min-steps", type=int, default=400)
    ap.add_argument("--max-steps", type=int, default=1500)
    ap.add_argument("--threads", type=int, default=2)
    ap.add_argument("--dev-limit", type=int, default=0)
    ap.add_argument("--seed", type=int, default=0)
    return ap


def main() -> None:
    args = parse_args(build_parser())
    if args.report_only:
        write_report(report_tables())
        return
    geo = shared_data() / "geoquery"
    started = time.time()
    generated = read_jsonl(args.data, required=("question", "query"))
    seeds = read_jsonl(geo / "seed_10.jsonl", required=("question", "query"))
    strict = [r for r in generated if int(r.get("votes", 0)) >= args.votes]
    sets: list[tuple[str, list[dict[str, Any]], bool]] = [
        ("plain", generated + seeds, False),
        ("augmented", generated + seeds, True),
        (f"augmented_v{args.votes}", strict + seeds, True),
    ]
    if args.human:
        human = read_jsonl(geo / "train.jsonl")[: args.human]
        sets += [(f"human_{args.human}", human, False), (f"human_{args.human}_aug", human, True)]
    rows = []
    with open_database(geo / "geography.sqlite") as db:
        prepared = [
            (
                name,
                with_augmented(recs, db, per_pair=args.per_pair, seed=args.seed)[0]
                if aug
                else recs,
            )
            for name, recs, aug in sets
        ]
    cmd = command_line("benchmarks.augment", args)
    for name, records in prepared:  # results written after each row: a long run can be cut
        rows.append(train_and_score(name, records, geo, args))
        rows_md = markdown_table(rows, COLUMNS)
        print(f"\nGeoQuery dev, tiny task model, data {args.data}\n{rows_md}", flush=True)
        minutes = (time.time() - started) / 60
        write_result("augment", "augment", {"rows": rows, "command": cmd, "minutes": minutes})
        (OUT / "augment.md").write_text(f"`{cmd}`\n\n{rows_md}\n")
    write_report(report_tables())


if __name__ == "__main__":
    main()
