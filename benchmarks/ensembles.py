"""Ensembles of task models trained on the same data: every member alone, every pair, and all
of them, on GeoQuery dev (280) and held-out train (GeoQuery train minus the seeds' questions).

    python -m benchmarks.ensembles --member s0_4000=DIR --member s1_4000=DIR ... [--threads 2]

Members are exported model dirs (`symgen export`); ensembles are built with `symgen lab ensemble`
into .symgen/bench/ensembles/ and scored like any model (`symgen eval` in a fresh process).
Writes benchmarks/results/ensembles/ensembles.json and ensembles.md (ensembles_TAG.* with
--tag).
"""

from __future__ import annotations

import argparse
import itertools
from pathlib import Path
from typing import Any

from benchmarks.common import (
    add_member_arg,
    command_line,
    markdown_table,
    named_members,
    results_dir,
    shared_data,
    write_result,
)
from benchmarks.paper import WORK, held_out_items
from symgen.evaluate import Item, evaluate_in_fresh_process, read_items
from symgen.lab.ensemble import make_ensemble


def score(model: Path, items: list[Item], db: Path, threads: int) -> dict[str, Any]:
    summary: dict[str, Any] = evaluate_in_fresh_process(model, items, [db], threads=threads)[
        "summary"
    ]
    return summary


def build_parser() -> argparse.ArgumentParser:
    ap = argparse.ArgumentParser(description=__doc__)
    add_member_arg(ap)
    ap.add_argument("--threads", type=int, default=2, help="onnxruntime threads per eval")
    ap.add_argument("--tag", default="", help="name the results ensembles_TAG.json / .md")
    return ap


def main() -> None:
    args = build_parser().parse_args()
    members = named_members(args)
    if len(members) < 2:
        raise SystemExit("give at least two --member NAME=DIR")
    geo = shared_data() / "geoquery"
    db = geo / "geography.sqlite"
    splits = {
        "dev": read_items(geo / "dev.jsonl", "geography"),
        "held_out": held_out_items(geo, geo / "seed_10.jsonl"),
    }
    combos: list[tuple[str, ...]] = [(n,) for n in members]
    combos += itertools.combinations(members, 2)
    if len(members) > 2:
        combos.append(tuple(members))
    rows = []
    for combo in combos:
        model = Path(members[combo[0]])
        if len(combo) > 1:
            model = WORK / "ensembles" / (args.tag or "") / "+".join(combo)
            make_ensemble([members[n] for n in combo], model)
        row: dict[str, Any] = {"model": " + ".join(combo), "members": len(combo)}
        for split, items in splits.items():
            s = score(model, items, db, args.threads)
            row |= {
                f"{split}_exec": s["exec_acc"],
                f"{split}_exact": s["exact_match"],
                f"{split}_p50_ms": s["latency_p50_ms"],
                f"{split}_p95_ms": s["latency_p95_ms"],
            }
        rows.append(row)
        print(row, flush=True)
    cols = ["model", "dev_exec", "dev_exact", "held_out_exec", "held_out_exact"]
    cols += ["dev_p50_ms", "dev_p95_ms"]
    table = markdown_table(rows, cols)
    cmd = command_line("benchmarks.ensembles", args)
    print(table)
    name = f"ensembles_{args.tag}" if args.tag else "ensembles"
    write_result("ensembles", name, {"command": cmd, "rows": rows})
    (results_dir("ensembles") / f"{name}.md").write_text(f"`{cmd}`\n\n{table}\n")


if __name__ == "__main__":
    main()
