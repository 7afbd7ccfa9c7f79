"""An ensemble decoded token by token vs drafted by its member 0 (`symgen.engine.drafting`), beside
member 0 alone, on GeoQuery dev (280) and held-out train (589).

    python -m benchmarks.drafting --member s0_4000=DIR --member s1_6000=DIR [--threads 1]

This machine's speed drifts by a third within an hour, so the three are timed side by side in
one process: each block of 10 questions is decoded by all three in turn, in rotating order, as
`symgen eval` decodes (greedy, beam search only when greedy fails the checks, grounding rescue).
The ensemble is built with `symgen lab ensemble` into .symgen/bench/ensembles/drafting/. Writes
benchmarks/results/drafting/drafting.json and drafting.md (drafting_TAG.* with --tag), then the
tables of benchmarks/reports/drafting.md from them (`--report-only`: only that).
"""

from __future__ import annotations

import argparse
import re
import statistics
from pathlib import Path
from typing import Any

from benchmarks.common import (
    DASH,
    REPORTS,
    ReportTable,
    add_member_arg,
    add_report_arg,
    command_line,
    markdown_table,
    named_members,
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
from benchmarks.paper import WORK, held_out_items
from symgen.engine.model import TaskModel
from symgen.evaluate import Item, evaluate, latency_summary, read_items
from symgen.lab.ensemble import make_ensemble
from symgen.tasks.sql.model_input import DbKnowledge

BLOCK = 10
OUT = results_dir("drafting")


def build_parser() -> argparse.ArgumentParser:
    ap = argparse.ArgumentParser(prog="python -m benchmarks.drafting", description=__doc__)
    add_report_arg(ap, "benchmarks/reports/drafting.md")
    add_member_arg(ap)
    ap.add_argument("--threads", type=int, default=1, help="onnxruntime threads per session")
    ap.add_argument("--tag", default="", help="name the results drafting_TAG.json / .md")
    return ap


def side_by_side(
    models: dict[str, TaskModel], items: list[Item], db: Path
) -> dict[str, list[dict[str, Any]]]:
    """Every model's `symgen eval` records for `items`, blocks of questions taken in turn."""
    knowledge = DbKnowledge.load(db)
    records: dict[str, list[dict[str, Any]]] = {name: [] for name in models}
    names = list(models)
    for b, start in enumerate(range(0, len(items), BLOCK)):
        block = items[start : start + BLOCK]
        for name in names[b % len(names) :] + names[: b % len(names)]:
            model = models[name]

            def predict(_db: str, question: str, model: TaskModel = model) -> str:
                return model.suggest(knowledge, question).sql

            result = evaluate(
                predict,
                block,
                {"geography": db},
                progress=False,
            )
            records[name] += result["records"]
    return records


def summary(records: list[dict[str, Any]]) -> dict[str, Any]:
    n = len(records) or 1
    return {
        "exec": sum(r["exec"] for r in records) / n,
        "exact": sum(r["exact"] for r in records) / n,
        **latency_summary([r["ms"] for r in records]),
    }


CAPTIONS = {"restr": "`mini` + 250 restrictions"}  # the report's words for a tag's models


def short(member: str) -> str:
    """s0_4000 → s0 4k, as the reports name ensemble members."""
    return re.sub(r"_(\d+)000$", r" \1k", member)


def drafting_table(tag: str) -> str:
    """The report's table of drafting_TAG.json: in bold, the better of the pair token by token
    and drafted on each column (a tie to the drafted pair, which is also named in bold)."""
    result = read_result("drafting", f"drafting_{tag}" if tag else "drafting")
    alone, plain, drafted = result["rows"]
    first, second = short(alone["model"].removesuffix(" alone")), short(result["second"])

    def mark(r: dict[str, Any], key: str, text: str, lowest: bool = False) -> str:
        a, b = plain[key], drafted[key]
        winner = drafted if (b <= a if lowest else b >= a) else plain
        return f"**{text}**" if r is winner else text

    header = [CAPTIONS.get(tag, "model"), "dev exec", "dev exact", "held-out exec"]
    header += ["dev p50 / p95 ms", "held-out p50 / p95 ms"]
    header += ["median time per question vs token by token", "same SQL as token by token"]
    names = [
        f"member 0 ({first}) alone",
        f"pair {first} + {second}, token by token",
        "**the pair, drafted by member 0**",
    ]
    cells = []
    for name, r in zip(names, (alone, plain, drafted), strict=True):
        ratio = r["dev_ms_vs_token_by_token"]
        same = [r.get(f"{s}_same_sql_as_token_by_token") for s in ("dev", "held_out")]
        cells.append(
            [
                name,
                *(mark(r, k, pct(r[k])) for k in ("dev_exec", "dev_exact", "held_out_exec")),
                *(
                    mark(r, f"{s}_p50_ms", num(r[f"{s}_p50_ms"], 1), lowest=True)
                    + f" / {num(r[f'{s}_p95_ms'])}"
                    for s in ("dev", "held_out")
                ),
                "1"
                if r is plain
                else mark(r, "dev_ms_vs_token_by_token", f"{num(ratio, 2)}x", True),
                ", ".join(x for x in same if x) or DASH,
            ]
        )
    return table(header, cells)


def report_tables() -> list[ReportTable]:
    """The tables this script writes: (report, marker, table from the results JSON)."""
    return [(REPORTS / "drafting.md", "drafting_restr", lambda: drafting_table("restr"))]


def main() -> None:
    args = parse_args(build_parser())
    if args.report_only:
        write_report(report_tables())
        return
    members = named_members(args)
    if len(members) != 2:
        raise SystemExit("give two --member NAME=DIR (member 0 first: it drafts)")
    (first, first_dir), (second, _) = members.items()
    out = WORK / "ensembles" / "drafting" / "+".join(members)
    make_ensemble(list(members.values()), out)
    models = {
        f"{first} alone": TaskModel(first_dir, threads=args.threads),
        "ensemble, token by token": TaskModel(out, threads=args.threads, draft=False),
        "ensemble, drafted by member 0": TaskModel(out, threads=args.threads),
    }
    assert models["ensemble, drafted by member 0"].draft is not None
    geo = shared_data() / "geoquery"
    db = geo / "geography.sqlite"
    splits = {
        "dev": read_items(geo / "dev.jsonl", "geography"),
        "held_out": held_out_items(geo, geo / "seed_10.jsonl"),
    }
    rows: list[dict[str, Any]] = [{"model": name} for name in models]
    for split, items in splits.items():
        records = side_by_side(models, items, db)
        plain, drafted = (
            records["ensemble, token by token"],
            records["ensemble, drafted by member 0"],
        )
        for row in rows:
            s = summary(records[row["model"]])
            row |= {
                f"{split}_exec": round(s["exec"], 4),
                f"{split}_exact": round(s["exact"], 4),
                f"{split}_p50_ms": s["latency_p50_ms"],
                f"{split}_p95_ms": s["latency_p95_ms"],
            }
            ratios = [r["ms"] / p["ms"] for r, p in zip(records[row["model"]], plain, strict=True)]
            row[f"{split}_ms_vs_token_by_token"] = round(statistics.median(ratios), 3)
        same = sum(a["pred"] == b["pred"] for a, b in zip(plain, drafted, strict=True))
        rows[2][f"{split}_same_sql_as_token_by_token"] = f"{same}/{len(items)}"
        print(rows, flush=True)
    cols = ["model", "dev_exec", "dev_exact", "held_out_exec", "dev_p50_ms", "dev_p95_ms"]
    cols += ["held_out_p50_ms", "held_out_p95_ms", "dev_ms_vs_token_by_token"]
    cols += ["dev_same_sql_as_token_by_token", "held_out_same_sql_as_token_by_token"]
    rows_md = markdown_table(rows, cols)
    cmd = command_line("benchmarks.drafting", args)
    print(rows_md)
    name = f"drafting_{args.tag}" if args.tag else "drafting"
    payload = {"command": cmd, "ensemble": str(out), "second": second, "rows": rows}
    write_result("drafting", name, payload)
    (OUT / f"{name}.md").write_text(f"`{cmd}`\n\n{rows_md}\n")
    write_report(report_tables())


if __name__ == "__main__":
    main()
