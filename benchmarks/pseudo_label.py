"""How right are `symgen label`'s agreed answers? Measured where the gold SQL is known.

The transfer set is labelled on generated questions, which have no gold; the same rule is run
here on GeoQuery train without the seed questions (589 human questions no SymGen model trains
on), and every kept answer is checked against the gold rows. Reports, for each model alone and
for the agreement of all of them: how many questions get an answer and how many of those are
right (precision), so the rule's trade of coverage for precision is a number, not a hope.

    python -m benchmarks.pseudo_label --model A_ONNX --model B_ONNX [--tag T]

Writes benchmarks/results/pseudo_label/pseudo_label[_T].json and .md.
"""

from __future__ import annotations

import argparse
import json
import tempfile
from pathlib import Path
from typing import Any

from benchmarks.common import command_line, markdown_table, results_dir, shared_data
from benchmarks.paper import held_out_items
from symgen.databases.base import open_database
from symgen.dataset import read_jsonl
from symgen.engine.model import TaskModel
from symgen.evaluate import execution_match
from symgen.lab.pseudo_label import label_questions, model_answerer
from symgen.tasks.sql.model_input import DbKnowledge


def row(name: str, answered: int, right: int, n: int) -> dict[str, Any]:
    return {
        "labeller": name,
        "questions": n,
        "answered": answered,
        "coverage": round(answered / n, 3),
        "right": right,
        "precision": round(right / answered, 3) if answered else None,
    }


def build_parser() -> argparse.ArgumentParser:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument(
        "--model", action="extend", nargs="+", required=True, help="exported SQL model dir"
    )
    ap.add_argument("--threads", type=int, default=1)
    ap.add_argument("--tag", default="")
    return ap


def main() -> None:
    args = build_parser().parse_args()
    geo = shared_data() / "geoquery"
    db_path = geo / "geography.sqlite"
    items = held_out_items(geo, geo / "seed_10.jsonl")
    gold = {i.question: i.query for i in items}
    knowledge = DbKnowledge.load(db_path)
    models = [TaskModel(m, threads=args.threads) for m in args.model]
    questions = list(gold)
    # each model decodes every question once; the agreement rule below reads the same answers
    answers = [{q: model_answerer(m, knowledge)(q) for q in questions} for m in models]
    rows = []
    with open_database(db_path, timeout_s=5.0) as db, tempfile.TemporaryDirectory() as tmp:
        for path, own in zip(args.model, answers, strict=True):
            sqls = [own[q][0] for q in questions]
            runs = [bool(s) and bool(db.execute(s).rows) for s in sqls]
            right = sum(
                ok and execution_match(db, gold[q], s)
                for q, s, ok in zip(questions, sqls, runs, strict=True)
            )
            rows.append(row(str(path), sum(runs), right, len(questions)))
        out = Path(tmp) / "labels.jsonl"
        stats = label_questions(
            questions,
            [own.__getitem__ for own in answers],
            db,
            out,
            db_name=knowledge.name,
            model_names=[m.name for m in models],
        )
        kept = read_jsonl(out)
        right = sum(execution_match(db, gold[r["question"]], r["query"]) for r in kept)
        rows.append(
            row(f"all {len(models)} agree (symgen label)", len(kept), right, len(questions))
        )
    table = markdown_table(rows, list(rows[0]))
    cmd = command_line("benchmarks.pseudo_label", args)
    print(table)
    print(f"rejected: {dict(stats.rejected)}")
    suffix = f"_{args.tag}" if args.tag else ""
    payload = {"command": cmd, "rows": rows, "rejected": dict(stats.rejected)}
    out = results_dir("pseudo_label")
    out.mkdir(parents=True, exist_ok=True)
    (out / f"pseudo_label{suffix}.json").write_text(json.dumps(payload, indent=1) + "\n")
    (out / f"pseudo_label{suffix}.md").write_text(f"`{cmd}`\n\n{table}\n")


if __name__ == "__main__":
    main()
