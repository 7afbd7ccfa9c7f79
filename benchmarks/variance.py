"""Training noise, and two regularisers measured against it, on GeoQuery dev (all 280).

Two seeds of the same SymGen run differed by 6 points (32.9 / 28.6 / 26.8 over three runs), so
one training run cannot tell two data sets or settings apart. This trains one data set with
several seeds and dropout values (tiny, the fixed step count paper.py's rows use), and with
`--ema-decay` scores both the weight average and the last step's weights of the *same* run, so
the averaging's effect is paired rather than across noisy runs. Prints every run and the mean
and spread per setting; writes benchmarks/results/variance/variance.json and variance.md, then
the table benchmarks/reports/paper.md shows (the 600 human pairs) from variance.json
(`--report-only`: only that).

    python -m benchmarks.variance --rows task_human_600 --seeds 0,1 --dropout 0,0.1 \
        --ema-decay 0.999 --jobs 2
    python -m benchmarks.variance --data .symgen/demo/data/pairs.jsonl --seeds 0,1,2

Runs go to .symgen/bench/variance/<data>-s<seed>-d<dropout>[-ema<decay>] and are reused when
finished; `--jobs 2` trains two at once with one thread each (this machine has two cores).
"""

from __future__ import annotations

import argparse
import json
import shlex
import statistics
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

from benchmarks.common import (
    REPORTS,
    ReportTable,
    add_report_arg,
    command_line,
    markdown_table,
    merge_result,
    num,
    parse_args,
    pct,
    read_result,
    results_dir,
    run_symgen,
    shared_data,
    table,
    write_report,
)
from benchmarks.paper import WORK, human_subset, train_config
from symgen.dataset import read_jsonl
from symgen.evaluate import Item, evaluate_in_fresh_process, read_items

VARIANCE = WORK / "variance"
OUT = results_dir("variance")
COLUMNS = ["setting", "runs", "exec_mean", "exec_sd", "exec_min", "exec_max", "exact_mean"]


def data_files(args: argparse.Namespace, geo: Path) -> tuple[str, Path]:
    if args.data:
        return Path(args.data).stem, Path(args.data)
    named = {
        "task_human_600": lambda: geo / "train.jsonl",
        "task_human_100": lambda: human_subset(geo, 100),
        "task_seeds_only": lambda: geo / "seed_10.jsonl",
    }
    row = args.rows or "task_human_600"
    if row not in named:
        raise SystemExit(f"--rows must be one of {', '.join(named)} (or give --data FILE)")
    return row, named[row]()


def one_run(
    label: str,
    data: Path,
    db: Path,
    items: list[Item],
    seed: int,
    dropout: float,
    args: argparse.Namespace,
) -> list[dict[str, Any]]:
    """Train (or reuse) one run, export it (and its last-step weights), score both."""
    name = f"{label}-s{seed}-d{dropout:g}" + (f"-ema{args.ema_decay:g}" if args.ema_decay else "")
    run = VARIANCE / "runs" / name
    cfg = train_config(len(read_jsonl(data)), args)
    argv = ["train", "--data", str(data), "--db", str(db), "--out", str(run), "--quiet"]
    argv += ["--arch", args.arch, "--epochs", str(cfg.epochs), "--max-steps", str(cfg.max_steps)]
    argv += ["--seed", str(seed), "--dropout", str(dropout), "--threads", str(args.train_threads)]
    if args.ema_decay:
        argv += ["--ema-decay", str(args.ema_decay)]
    run_symgen(*argv)
    minutes = json.loads((run / "train.json").read_text())["train_minutes"]  # not a reuse's 0
    # with a weight average, the run's model is the average and hf-last/ its last step
    models = {"average": [], "last": ["--last-weights"]} if args.ema_decay else {"last": []}
    rows = []
    for weights, flags in models.items():
        onnx = VARIANCE / "onnx" / f"{name}-{weights}"
        run_symgen("export", "--model", str(run), "--out", str(onnx), "--int8", *flags)
        res = evaluate_in_fresh_process(onnx, items, [db])["summary"]
        rows.append(
            {
                "run": name,
                "seed": seed,
                "dropout": dropout,
                "weights": weights,
                "exec_acc": res["exec_acc"],
                "exact_match": res["exact_match"],
                "latency_p50_ms": res["latency_p50_ms"],
                "minutes": minutes,
            }
        )
        print(f"{name} {weights}: exec {res['exec_acc']:.3f} exact {res['exact_match']:.3f}")
    return rows


def summarise(runs: list[dict[str, Any]]) -> list[dict[str, Any]]:
    groups: dict[str, list[dict[str, Any]]] = {}
    for r in runs:
        groups.setdefault(f"dropout {r['dropout']:g}, {r['weights']} weights", []).append(r)
    out = []
    for setting, rs in groups.items():
        acc = [r["exec_acc"] for r in rs]
        out.append(
            {
                "setting": setting,
                "runs": len(rs),
                "exec_mean": statistics.mean(acc),
                "exec_sd": statistics.stdev(acc) if len(acc) > 1 else 0.0,
                "exec_min": min(acc),
                "exec_max": max(acc),
                "exact_mean": statistics.mean(r["exact_match"] for r in rs),
            }
        )
    return out


CAPTIONS = {"task_human_600": "600 human pairs, `tiny`, 2,280 steps"}  # the report's words


def variance_table(key: str) -> str:
    """The report's table of one data set in variance.json: settings by dropout, the last
    weights before their average; accuracies in %, the spread in points."""
    result = read_result("variance", "variance")[key]
    ema = build_parser().parse_args(shlex.split(result["command"])[3:]).ema_decay

    def order(row: dict[str, Any]) -> tuple[float, bool]:
        dropout, weights = row["setting"].removeprefix("dropout ").split(", ")
        return float(dropout), weights.startswith("average")

    def label(setting: str) -> str:
        dropout, weights = setting.removeprefix("dropout ").split(", ")
        if float(dropout) == 0:
            return (
                f"weight average ({ema:g})"
                if weights.startswith("average")
                else ("last weights (the default)")
            )
        return f"dropout {dropout}, " + (
            "weight average" if weights.startswith("average") else weights
        )

    header = [CAPTIONS.get(key, key), "runs", "exec mean", "sd", "min", "max", "exact mean"]
    cells = [
        [
            label(r["setting"]),
            num(r["runs"]),
            pct(r["exec_mean"]),
            num(100 * r["exec_sd"], 1),
            pct(r["exec_min"]),
            pct(r["exec_max"]),
            pct(r["exact_mean"]),
        ]
        for r in sorted(result["summary"], key=order)
    ]
    return table(header, cells)


def report_tables() -> list[ReportTable]:
    """The tables this script writes: (report, marker, table from the results JSON)."""
    return [(REPORTS / "paper.md", "variance", lambda: variance_table("task_human_600"))]


def build_parser() -> argparse.ArgumentParser:
    ap = argparse.ArgumentParser(
        prog="python -m benchmarks.variance",
        description=__doc__,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    add_report_arg(ap, "benchmarks/reports/paper.md (its variance table)")
    ap.add_argument("--rows", help="a paper.py data row (default task_human_600)")
    ap.add_argument("--data", help="a pairs file instead (GeoQuery database)")
    ap.add_argument("--seeds", default="0,1")
    ap.add_argument("--dropout", default="0", help="comma-separated residual dropout values")
    ap.add_argument("--ema-decay", type=float, help="also score the weight average")
    ap.add_argument("--arch", default="tiny")
    ap.add_argument("--min-steps", type=int, default=400)
    ap.add_argument("--max-steps", type=int, default=4000)
    ap.add_argument("--jobs", type=int, default=1, help="runs trained at once")
    ap.add_argument("--dev-limit", type=int, default=0)
    ap.add_argument("--tag", default="")
    return ap


def main() -> None:
    args = parse_args(build_parser())
    if args.report_only:
        write_report(report_tables())
        return
    args.train_threads = max(1, 2 // args.jobs)

    geo = shared_data() / "geoquery"
    db = geo / "geography.sqlite"
    label, data = data_files(args, geo)
    items: list[Item] = read_items(geo / "dev.jsonl", "geography")[: args.dev_limit or None]
    plan = [
        (seed, float(d))
        for d in args.dropout.split(",")
        for seed in map(int, args.seeds.split(","))
    ]
    with ThreadPoolExecutor(args.jobs) as pool:
        results = list(pool.map(lambda p: one_run(label, data, db, items, p[0], p[1], args), plan))
    del args.train_threads
    runs = [r for rs in results for r in rs]
    summary = summarise(runs)
    table = markdown_table(summary, COLUMNS)
    cmd = command_line("benchmarks.variance", args)
    print(f"\n{label}: {len(items)} GeoQuery dev questions\n{table}")
    key = f"{label}{'_' + args.tag if args.tag else ''}"
    merged = json.loads(
        merge_result(
            "variance", "variance", {key: {"command": cmd, "summary": summary, "runs": runs}}
        ).read_text()
    )
    (OUT / "variance.md").write_text(  # every data set measured so far, one section each
        "".join(
            f"\n## {k}\n\n`{v['command']}`\n\n{markdown_table(v['summary'], COLUMNS)}\n"
            for k, v in merged.items()
        )
    )
    print(f"wrote {OUT / 'variance.json'} and variance.md")
    write_report(report_tables())


if __name__ == "__main__":
    main()
