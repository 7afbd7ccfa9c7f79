"""Which task-model architecture should be the default? Measured on the same data, side by side.

Each architecture is trained on the same pairs (by default the 600 human GeoQuery train pairs;
`--data` names another set, e.g. SymGen data) and evaluated on GeoQuery dev (exec accuracy, exact
match, latency through the torch-free engine, size, training minutes):

  tiny     from scratch, ~3.7M parameters, BPE trained on the data (the paper benchmark's model)
  small    from scratch, ~12M parameters
  smollm2  SmolLM2-135M-Instruct from the registry's GGUF, fine-tuned (its own tokenizer)
  smollm2-slim  the same cut to 8 layers and to the data's vocabulary (30.7M parameters)

Training is capped by steps and by minutes (whichever comes first), both recorded, so a slow
architecture is compared at the budget a user would give it. Runs are resumable and cached
under .symgen/bench/ (tiny reuses the paper benchmark's task_human_600 run when it exists).

    python -m benchmarks.arch [--archs tiny,small,smollm2] [--max-minutes 25]
    python -m benchmarks.arch --archs smollm2 --data .symgen/bench/augment/augmented.jsonl \
        --tag symgen_aug          # writes results/arch/arch_symgen_aug.json, not arch.json
    python -m benchmarks.arch --archs smollm2-slim --threads 2   # adds a row, keeps the others
    python -m benchmarks.arch --report-only   # the report's table from arch.json again

Rows of architectures not measured in a run are kept from the previous results file; each row
records the command and time that measured it. Writes benchmarks/results/arch/arch[_TAG].json
and .md, then the table of benchmarks/reports/arch.md from arch.json.
"""

from __future__ import annotations

import argparse
import json
import math
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
    params,
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
from symgen.dataset import read_jsonl
from symgen.engine.model import TaskModel
from symgen.evaluate import evaluate, read_items
from symgen.export.onnx import export
from symgen.tasks.sql.model_input import load_dbs
from symgen.train.loop import TrainConfig, train
from symgen.train.models import ARCHS, get_arch

OUT = results_dir("arch")
COLUMNS = [
    "arch",
    "exec_acc",
    "exact_match",
    "params",
    "mb",
    "latency_p50_ms",
    "latency_p95_ms",
    "train_minutes",
    "steps",
    "train_pairs",
]


def run_arch(arch: str, geo: Path, args: argparse.Namespace) -> dict[str, Any]:
    db, data = geo / "geography.sqlite", args.data or geo / "train.jsonl"
    spec = get_arch(arch)
    per_epoch = math.ceil(len(read_jsonl(data)) / spec.batch_size)
    steps = min(args.max_steps, max(args.min_steps, per_epoch * spec.epochs))
    cfg = TrainConfig(
        arch=arch,
        epochs=math.ceil(steps / per_epoch),
        max_steps=steps,
        threads=args.threads,
        max_minutes=None if arch == "tiny" else args.max_minutes,
    )
    # tiny with the paper's settings is the paper's task_human_600 run: reuse it
    tag = args.tag or "human_600"
    name = "task_human_600" if arch == "tiny" and not args.tag else f"arch_{arch}_{tag}"
    run_dir, onnx_dir = WORK / "runs" / name, WORK / "onnx" / name
    meta = train([data], [db], run_dir, cfg)
    manifest = export(run_dir, onnx_dir, int8=True, name=name)
    model = TaskModel(onnx_dir, threads=args.threads)
    dbs = load_dbs([db])
    items = read_items(geo / "dev.jsonl", "geography")[: args.dev_limit or None]
    res = evaluate(
        lambda d, q: model.suggest(dbs[d], q, beams=args.beams).sql,
        items,
        {"geography": db},
        label=arch,
    )
    return {
        "arch": arch,
        **res["summary"],
        "params": meta["params"],
        "mb": manifest["mb_on_disk"],
        "train_minutes": meta["train_minutes"],
        "steps": meta["steps"],
        "train_pairs": meta["examples"],
        "int8_default": manifest["default_int8"],
    }


DESCRIPTIONS = {  # the report's words for each architecture
    "tiny": "from scratch, default",
    "small": "from scratch",
    "mini": "from scratch, 192 × 4",
    "smollm2": "SmolLM2-135M GGUF, fine-tuned",
    "smollm2-slim": "8 of 30 layers, data vocabulary",
}
FOOTNOTES = "¹²³⁴⁵⁶⁷⁸⁹"


def arch_table() -> str:
    """The report's table of arch.json: the best accuracies in bold, and a footnote mark on
    the rows a later command added (the report's prose names it)."""
    rows = read_result("arch", "arch")["rows"]
    commands = list(dict.fromkeys(r.get("command") for r in rows))
    best = {k: max(r[k] for r in rows) for k in ("exec_acc", "exact_match")}
    header = ["arch", "exec acc", "exact", "params", "MB", "p50 / p95 ms", "train min", "steps"]
    cells = []
    for r in rows:
        added = commands.index(r.get("command"))
        name = f"`{r['arch']}`" + (
            f" ({DESCRIPTIONS[r['arch']]})" if r["arch"] in DESCRIPTIONS else ""
        )
        cells.append(
            [
                name + (f" {FOOTNOTES[added - 1]}" if added else ""),
                *(
                    f"**{pct(r[k])}**" if r[k] == best[k] else pct(r[k])
                    for k in ("exec_acc", "exact_match")
                ),
                params(r["params"]),
                num(r["mb"]),
                f"{num(r['latency_p50_ms'])} / {num(r['latency_p95_ms'])}",
                num(r["train_minutes"], 1),
                num(r["steps"]),
            ]
        )
    return table(header, cells)


def report_tables() -> list[ReportTable]:
    """The tables this script writes: (report, marker, table from the results JSON)."""
    return [(REPORTS / "arch.md", "arch", arch_table)]


def build_parser() -> argparse.ArgumentParser:
    ap = argparse.ArgumentParser(
        prog="python -m benchmarks.arch",
        description=__doc__,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    add_report_arg(ap, "benchmarks/reports/arch.md")
    ap.add_argument("--archs", default="tiny,small,smollm2")
    ap.add_argument("--min-steps", type=int, default=400)
    ap.add_argument("--max-steps", type=int, default=1500)
    ap.add_argument("--max-minutes", type=float, default=25.0, help="cap for non-tiny archs")
    ap.add_argument("--beams", type=int, default=4)
    ap.add_argument("--threads", type=int, default=1)
    ap.add_argument("--dev-limit", type=int, default=0)
    ap.add_argument("--data", type=Path, help="training pairs (default: GeoQuery's 600 train)")
    ap.add_argument("--tag", default="", help="names the run and results/arch/arch_<tag>.json")
    return ap


def main() -> None:
    args = parse_args(build_parser())
    if args.report_only:
        write_report(report_tables())
        return
    geo = shared_data() / "geoquery"
    started = time.time()
    cmd = command_line("benchmarks.arch", args)
    measured = [
        run_arch(a, geo, args) | {"command": cmd, "measured_at": time.strftime("%Y-%m-%d %H:%M")}
        for a in args.archs.split(",")
    ]
    out = f"arch_{args.tag}" if args.tag else "arch"
    rows = kept_rows(OUT / f"{out}.json", measured)
    rows_md = markdown_table(rows, COLUMNS)
    print(f"\nGeoQuery dev, trained on {args.data or 'the 600 human train pairs'}\n{rows_md}")
    minutes = (time.time() - started) / 60
    write_result("arch", out, {"rows": rows, "command": cmd, "minutes": minutes})
    (OUT / f"{out}.md").write_text(f"`{cmd}` (other rows: their own `command`)\n\n{rows_md}\n")
    write_report(report_tables())


def kept_rows(path: Path, measured: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """This run's rows plus the previous file's rows of the other architectures (with the
    command that measured them: older rows without one name the file's command)."""
    previous = json.loads(path.read_text()) if path.is_file() else {}
    new = {r["arch"] for r in measured}
    old = [
        {"command": previous.get("command"), **r}
        for r in previous.get("rows", [])
        if r["arch"] not in new
    ]
    order = list(ARCHS)
    return sorted(
        old + measured, key=lambda r: order.index(r["arch"]) if r["arch"] in order else 99
    )


if __name__ == "__main__":
    main()
