"""The two ONNX graphs of one model side by side: optimum's export vs the lean graph.

Both compute the same logits (export checks each against torch); what differs is the work
onnxruntime does per decode step. For each `symgen train` run this exports both graphs (int8),
scores each on GeoQuery dev as the editor runs it (`symgen eval` in a fresh process, one
thread, no execution guidance, int8 where export made it the default), and times single decode
steps in-process (int8, one thread, a 128-token cache, one row and four beams; a repeated step
on one cache, so a lower bound on what decoding pays). `--llm-questions N` also runs the generator LLM on
the first N dev questions in the same process run, beside the lean model on the same
questions, for the speed ratio. Writes benchmarks/results/graphs/graphs.json and graphs.md,
then the table of benchmarks/reports/graphs.md from graphs.json (`--report-only`: only that).

    python -m benchmarks.graphs --runs .symgen/bench/variance/runs/task_human_600-s0-d0-ema0.999 \
        --llm-questions 100
"""

from __future__ import annotations

import argparse
import statistics
import time
from pathlib import Path
from typing import Any

import numpy as np

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
    run_symgen,
    shared_data,
    table,
    write_report,
    write_result,
)
from benchmarks.paper import WORK
from symgen.engine.manifest import load_manifest
from symgen.engine.model import TaskModel
from symgen.evaluate import evaluate_in_fresh_process, read_items

GRAPHS_DIR = WORK / "graphs"
OUT = results_dir("graphs")
COLUMNS = [
    "run",
    "graph",
    "exec_acc",
    "exact_match",
    "latency_p50_ms",
    "latency_p95_ms",
    "step_ms_b1",
    "step_ms_b4",
    "int8",
    "int8_mb",
]


def step_ms(onnx_dir: Path, batch: int, past_len: int = 128, steps: int = 200) -> float:
    """Median milliseconds of one int8 decode step on one thread."""
    model = TaskModel(onnx_dir, int8=True, threads=1)
    _, past = model._run(np.full((batch, past_len), 5, dtype=np.int64), model._empty_past(batch))
    token = np.full((batch, 1), 7, dtype=np.int64)
    times = []
    for _ in range(steps):
        start = time.perf_counter()
        model._run(token, past)
        times.append((time.perf_counter() - start) * 1000)
    return round(statistics.median(times), 3)


def export(run: Path, graph: str) -> Path:
    out = GRAPHS_DIR / f"{run.name}-{graph}"
    argv = ["export", "--model", str(run), "--out", str(out), "--int8", "--graph", graph]
    run_symgen(*argv, "--name", out.name)
    return out


RUN_LABELS = {  # the report's words for the runs it measured (others: the run's name)
    "task_human_600-s0-d0-ema0.999.last": "600 human pairs, seed 0",
    "task_human_600-s1-d0-ema0.999.last": "600 human pairs, seed 1",
    "a860e07eccfb": "demo model (339 pairs)",
}


def graphs_table() -> str:
    """The report's table of graphs.json: per run, the faster graph's name, latency and decode
    step in bold."""
    rows = read_result("graphs", "graphs")["rows"]
    fastest = {
        run: min((r for r in rows if r["run"] == run), key=lambda r: r["latency_p50_ms"])["graph"]
        for run in {r["run"] for r in rows}
    }
    header = ["model", "graph", "exec acc", "exact", "p50 / p95 ms"]
    header += ["decode step, 1 / 4 rows (ms)", "int8 MB"]
    cells = []
    for r in rows:
        bold = (lambda text: f"**{text}**") if fastest[r["run"]] == r["graph"] else str
        cells.append(
            [
                RUN_LABELS.get(r["run"], r["run"]),
                bold(r["graph"]),
                pct(r["exec_acc"]),
                pct(r["exact_match"]),
                bold(f"{num(r['latency_p50_ms'], 1)} / {num(r['latency_p95_ms'], 1)}"),
                bold(f"{num(r['step_ms_b1'], 2)} / {num(r['step_ms_b4'], 2)}"),
                num(r["int8_mb"], 1),
            ]
        )
    return table(header, cells)


def report_tables() -> list[ReportTable]:
    """The tables this script writes: (report, marker, table from the results JSON)."""
    return [(REPORTS / "graphs.md", "graphs", graphs_table)]


def build_parser() -> argparse.ArgumentParser:
    ap = argparse.ArgumentParser(
        prog="python -m benchmarks.graphs",
        description=__doc__,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    add_report_arg(ap, "benchmarks/reports/graphs.md")
    ap.add_argument("--runs", nargs="+", required=True, help="`symgen train` output directories")
    ap.add_argument("--dev-limit", type=int, default=0, help="first N dev questions (0 = all)")
    ap.add_argument("--llm-questions", type=int, default=0, help="also time the generator")
    ap.add_argument("--generator", default="", help="registry name (default: the default)")
    return ap


def main() -> None:
    args = parse_args(build_parser())
    if args.report_only:
        write_report(report_tables())
        return

    geo = shared_data() / "geoquery"
    db = geo / "geography.sqlite"
    items = read_items(geo / "dev.jsonl", "geography")[: args.dev_limit or None]
    rows: list[dict[str, Any]] = []
    for run in map(Path, args.runs):
        for graph in ("optimum", "lean"):
            onnx = export(run, graph)
            summary = evaluate_in_fresh_process(onnx, items, [db])["summary"]
            manifest = load_manifest(onnx)
            rows.append(
                {
                    "run": run.name,
                    "graph": manifest["graph"],
                    **{k: summary[k] for k in COLUMNS[2:6]},
                    "step_ms_b1": step_ms(onnx, 1),
                    "step_ms_b4": step_ms(onnx, 4),
                    # what the engine loads: int8 only when it agreed with fp32 at export
                    "int8": bool(manifest["default_int8"]),
                    "int8_mb": round((onnx / manifest["onnx_int8"]).stat().st_size / 1e6, 2),
                }
            )
            print(markdown_table(rows[-1:], COLUMNS).splitlines()[-1], flush=True)
    payload: dict[str, Any] = {"command": command_line("benchmarks.graphs", args), "rows": rows}
    text = f"`{payload['command']}`\n\n{len(items)} GeoQuery dev questions\n\n"
    text += markdown_table(rows, COLUMNS) + "\n"
    if args.llm_questions:
        from symgen.demo import compare_with_generator

        lean = GRAPHS_DIR / f"{Path(args.runs[0]).name}-lean"
        compared = compare_with_generator(geo, lean, args.generator, None, args.llm_questions)
        (task_name, task), (llm_name, llm) = compared
        payload["vs_generator"] = {
            "questions": args.llm_questions,
            "task": {"name": task_name, **task},
            "generator": {"name": llm_name, **llm},
            "p50_ratio": round(llm["latency_p50_ms"] / task["latency_p50_ms"], 1),
        }
        cmp_rows = [{**s, "model": n} for n, s in compared]  # the summary has a model path
        text += (
            f"\nSame run, first {args.llm_questions} dev questions (speed ratio at p50: "
            f"{payload['vs_generator']['p50_ratio']}x)\n\n"
            + markdown_table(cmp_rows, ["model", "exec_acc", "latency_p50_ms", "latency_p95_ms"])
            + "\n"
        )
    print("\n" + text)
    path = write_result("graphs", "graphs", payload)
    (OUT / "graphs.md").write_text(text)
    print(f"wrote {path} and graphs.md")
    write_report(report_tables())


if __name__ == "__main__":
    main()
