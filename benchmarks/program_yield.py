"""How many program-first questions each grammar template turns into kept pairs.

Reads a program-first run (`<out>.questions.jsonl` with each question's template, `<out>.jsonl`
kept, `<out>.rejected.jsonl`) and prints, per block of questions, the share of answered
questions kept per template. Blocks let one run compare grammar versions: questions are appended
in order, so `--blocks 1500` splits the ones written before and after a grammar change.

    python -m benchmarks.program_yield --data .symgen/bench/geoquery.programs.jsonl --blocks 1500
    python -m benchmarks.program_yield --report-only   # the report's table from the JSON again

Writes benchmarks/results/program_yield/program_yield.json and program_yield.md, then the table
of benchmarks/reports/program_yield.md from program_yield.json.
"""

from __future__ import annotations

import argparse
import itertools
from collections import Counter
from pathlib import Path
from typing import Any

from benchmarks.common import (
    REPORTS,
    ReportTable,
    add_report_arg,
    command_line,
    markdown_table,
    parse_args,
    read_result,
    results_dir,
    write_report,
    write_result,
)
from symgen.dataset import read_jsonl

OUT = results_dir("program_yield")


def block_yield(
    questions: list[dict[str, Any]], kept: set[str], rejected: set[str]
) -> dict[str, Any]:
    """Answered, kept and kept share per template, for one block of the questions file."""
    answered: Counter[str] = Counter()
    good: Counter[str] = Counter()
    for q in questions:
        if q["question"] in kept or q["question"] in rejected:
            answered[q["template"]] += 1
            good[q["template"]] += q["question"] in kept
    per = {
        t: {"answered": answered[t], "kept": good[t], "yield": round(good[t] / answered[t], 3)}
        for t in sorted(answered)
    }
    total = sum(answered.values())
    return {
        "answered": total,
        "kept": sum(good.values()),
        "yield": round(sum(good.values()) / total, 3) if total else None,
        "templates": per,
    }


def yield_table(blocks: dict[str, Any]) -> str:
    """Per block: answered, kept, the kept share, and kept/answered per template."""
    templates = sorted({t for b in blocks.values() for t in b["templates"]})
    rows = [
        {"questions": name, "answered": b["answered"], "kept": b["kept"]}
        | {"all": f"{b['yield']:.0%}" if b["yield"] is not None else "–"}
        | {
            t: (f"{s['kept']}/{s['answered']}" if (s := b["templates"].get(t)) else "–")
            for t in templates
        }
        for name, b in blocks.items()
    ]
    return markdown_table(rows, ["questions", "answered", "kept", "all", *templates])


def report_tables() -> list[ReportTable]:
    """The tables this script writes: (report, marker, table from the results JSON)."""
    return [
        (
            REPORTS / "program_yield.md",
            "program_yield",
            lambda: yield_table(read_result("program_yield", "program_yield")["blocks"]),
        )
    ]


def build_parser() -> argparse.ArgumentParser:
    ap = argparse.ArgumentParser(
        prog="python -m benchmarks.program_yield", description=__doc__.splitlines()[0]
    )
    add_report_arg(ap, "benchmarks/reports/program_yield.md")
    ap.add_argument("--data", type=Path, required=True, help="the run's --out (kept pairs)")
    ap.add_argument("--blocks", default="", help="comma-separated question indices to split at")
    return ap


def main() -> None:
    args = parse_args(build_parser())
    if args.report_only:
        write_report(report_tables())
        return
    stem = args.data.with_suffix("")
    questions = read_jsonl(stem.with_name(stem.name + ".questions.jsonl"), ("question",))
    kept = {r["question"] for r in read_jsonl(args.data, ("question",))}
    rejected_path = stem.with_name(stem.name + ".rejected.jsonl")
    rejected = (
        {r["question"] for r in read_jsonl(rejected_path)} if rejected_path.exists() else set()
    )
    cuts = [0, *(int(c) for c in args.blocks.split(",") if c), len(questions)]
    blocks = {
        f"{lo + 1}-{hi}": block_yield(questions[lo:hi], kept, rejected)
        for lo, hi in itertools.pairwise(cuts)
        if hi > lo
    }
    table = yield_table(blocks)
    command = command_line("benchmarks.program_yield", args)
    print(table)
    payload = {"command": command, "data": str(args.data), "blocks": blocks}
    write_result("program_yield", "program_yield", payload)
    (OUT / "program_yield.md").write_text(f"`{command}`\n\n{table}\n")
    write_report(report_tables())


if __name__ == "__main__":
    main()
