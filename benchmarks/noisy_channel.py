"""Noisy-channel reranking: does a reverse model, log p(question | SQL), pick a better beam?

The served answer (greedy, beam search only as a fallback) is often not the model's only idea:
a right answer may sit among the beams. This measures how often (the oracle), and whether a
reverse model trained on the same pairs finds it: each candidate is scored by the forward
log-probability plus `weight` times the reverse one, among candidates that pass the schema
check and name only quoted values the question contains (what the engine prefers anyway).

The reverse model is the `tiny` architecture trained on the forward model's pairs flipped
(canonical SQL in, question out) through the code-task path, whose input is one request text
with no schema: exactly a reverse model's shape (`--task bash` only names its constant prefix).
The weight and the gate (rerank only when the served answer's log-probability is below it, so
confident answers keep single-model latency) are read on the held-out split (GeoQuery train
without the seeds' questions), then reported on dev.

    python -m benchmarks.noisy_channel --model ONNX_DIR --data PAIRS.jsonl [--tag T]

Writes benchmarks/results/noisy_channel/noisy_channel[_T].json and .md; work files under
.symgen/bench.
"""

from __future__ import annotations

import argparse
import json
import statistics
import time
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

from benchmarks.common import (
    ROOT,
    command_line,
    markdown_table,
    results_dir,
    run_symgen,
    shared_data,
)
from benchmarks.paper import held_out_items
from symgen.databases.base import Database, open_database
from symgen.dataset import read_jsonl, write_jsonl
from symgen.engine.grounding import grounded_in
from symgen.engine.model import TaskModel
from symgen.evaluate import Item, execution_match, percentile, read_items
from symgen.tasks.format import canonical_sql, code_question, code_schema, code_target
from symgen.tasks.sql.model_input import DbKnowledge
from symgen.tasks.sql.schema_check import problem

REVERSE_TASK = "bash"  # the code-task path's constant prefix; the reverse model reads SQL


def reverse_target(question: str) -> str:
    """The question as the reverse model writes it (training and scoring must agree)."""
    return " ".join(question.lower().split())


def flipped(pairs: Sequence[dict[str, Any]]) -> list[dict[str, str]]:
    """(question, SQL) pairs as (request = canonical SQL, program = the question)."""
    return [
        {"question": canonical_sql(p["query"]), "code": reverse_target(p["question"])}
        for p in pairs
    ]


def reverse_logprob(reverse: TaskModel, question: str, sql: str) -> float:
    """log p(question | sql) under the reverse model, in the format it was trained on."""
    return reverse.logprob(
        code_schema(REVERSE_TASK),
        code_question(REVERSE_TASK, canonical_sql(sql)),
        code_target(REVERSE_TASK, reverse_target(question)),
    )


def train_reverse(data: Path, work: Path, steps: int, threads: int) -> Path:
    """The reverse model's ONNX dir (trained and exported once; a rerun resumes or reuses)."""
    pairs, run, onnx = work / "reverse.pairs.jsonl", work / "run", work / "onnx"
    if not pairs.is_file():
        write_jsonl(pairs, flipped(read_jsonl(data)))
    if not (onnx / "symgen.json").is_file():
        run_symgen("train", "--task", REVERSE_TASK, "--data", str(pairs), "--out", str(run),
                   "--max-steps", str(steps), "--threads", str(threads), "--quiet")  # fmt: skip
        run_symgen("export", "--model", str(run), "--out", str(onnx), "--int8")
    return onnx


def measure(
    items: Sequence[Item], model: TaskModel, reverse: TaskModel, db: Database, beams: int
) -> list[dict[str, Any]]:
    """Per question: the served answer, the beams, each candidate's scores, right or not, times."""
    know = DbKnowledge.load(db.spec)
    out = []
    for item in items:
        t0 = time.perf_counter()
        served = model.suggest(know, item.question, beams=beams)
        t1 = time.perf_counter()
        found = model.complete(know, item.question, beams=beams).beams
        t2 = time.perf_counter()
        first = served.beams[served.beam_index] if served.beams else None
        texts = [served.sql, *(b.text for b in found)]
        forward = [first.logprob if first else float("-inf"), *(b.logprob for b in found)]
        rev = {t: reverse_logprob(reverse, item.question, t) for t in dict.fromkeys(texts)}
        t3 = time.perf_counter()
        out.append(
            {
                "question": item.question,
                "served_ms": (t1 - t0) * 1000,
                "beam_ms": (t2 - t1) * 1000,
                "reverse_ms": (t3 - t2) * 1000,
                "candidates": [
                    {
                        "sql": t,
                        "forward": f,
                        "reverse": rev[t],
                        "ok": execution_match(db, item.query, t),
                        "eligible": problem(t, know.columns, know.dialect) is None
                        and grounded_in(item.question)(t),
                    }
                    for t, f in zip(texts, forward, strict=True)
                ],
            }
        )
    return out


def choose(candidates: Sequence[dict[str, Any]], weight: float) -> int:
    """Index of the eligible candidate with the best forward + weight * reverse score; the
    served answer (index 0) when none is eligible. Ties keep the earlier (served first)."""
    best, best_score = 0, float("-inf")
    for i, c in enumerate(candidates):
        score = c["forward"] + weight * c["reverse"]
        if c["eligible"] and score > best_score:
            best, best_score = i, score
    return best


def rule_row(
    name: str, records: Sequence[dict[str, Any]], pick: Callable[[dict[str, Any]], int | None]
) -> dict[str, Any]:
    """Accuracy and latency of a rule; `pick` None = serve the greedy answer, no extra work."""
    right, ms, reranked = 0, [], 0
    for r in records:
        i = pick(r)
        right += r["candidates"][0 if i is None else i]["ok"]
        extra = 0.0 if i is None else r["beam_ms"] + r["reverse_ms"]
        reranked += i is not None
        ms.append(r["served_ms"] + extra)
    n = len(records)
    return {
        "rule": name,
        "exec_acc": round(right / n, 3),
        "reranked": round(reranked / n, 3),
        "p50_ms": round(statistics.median(ms), 1),
        "p95_ms": round(percentile(ms, 0.95), 1),
    }


def rerank_rule(weight: float, gate: float | None = None) -> Callable[[dict[str, Any]], int | None]:
    """`choose` with `weight`; with `gate`, only when the served answer's log-prob is below it."""

    def pick(record: dict[str, Any]) -> int | None:
        candidates = record["candidates"]
        if gate is not None and candidates[0]["forward"] >= gate:
            return None
        return choose(candidates, weight)

    return pick


def rule_rows(
    records: Sequence[dict[str, Any]], weights: Sequence[float], gates: Sequence[float]
) -> list[dict[str, Any]]:
    rows = [rule_row("served (greedy, beam fallback)", records, lambda r: None)]
    oracle = [{**r, "candidates": [{"ok": any(c["ok"] for c in r["candidates"])}]} for r in records]
    rows.append(
        rule_row("oracle: any candidate right", oracle, lambda r: 0)
        | {"reranked": "–", "p50_ms": "–", "p95_ms": "–"}
    )
    for w in weights:
        rows.append(rule_row(f"rerank, weight {w}", records, rerank_rule(w)))
        rows += [
            rule_row(f"rerank, weight {w}, when served log-prob < {g}", records, rerank_rule(w, g))
            for g in gates
        ]
    return rows


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--model", required=True, help="the forward model's exported dir")
    ap.add_argument("--data", required=True, help="the pairs it was trained on")
    ap.add_argument("--beams", type=int, default=4)
    ap.add_argument("--reverse-steps", type=int, default=3000)
    ap.add_argument("--weights", default="0.5,1,2")
    ap.add_argument("--gates", default="-1,-2")
    ap.add_argument("--threads", type=int, default=1, help="onnxruntime threads when scoring")
    ap.add_argument("--tag", default="")
    args = ap.parse_args()
    suffix = f"_{args.tag}" if args.tag else ""
    geo = shared_data() / "geoquery"
    work = ROOT / ".symgen" / "bench" / f"noisy_channel{suffix}"
    reverse_dir = train_reverse(Path(args.data), work, args.reverse_steps, threads=2)
    model = TaskModel(args.model, threads=args.threads)
    reverse = TaskModel(reverse_dir, threads=args.threads)
    weights = [float(w) for w in args.weights.split(",")]
    gates = [float(g) for g in args.gates.split(",")]
    splits = {
        "held_out": held_out_items(geo, geo / "seed_10.jsonl"),
        "dev": read_items(geo / "dev.jsonl", "geography"),
    }
    results: dict[str, Any] = {"command": command_line("benchmarks.noisy_channel", args)}
    with open_database(geo / "geography.sqlite", timeout_s=5.0) as db:
        for split, items in splits.items():
            records = measure(items, model, reverse, db, args.beams)
            results[split] = rule_rows(records, weights, gates)
            (work / f"{split}.records.json").write_text(json.dumps(records))
    out = results_dir("noisy_channel")
    out.mkdir(parents=True, exist_ok=True)
    (out / f"noisy_channel{suffix}.json").write_text(json.dumps(results, indent=1) + "\n")
    cols = ["rule", "exec_acc", "reranked", "p50_ms", "p95_ms"]
    md = f"`{results['command']}`\n"
    for split in splits:
        md += f"\n## {split} ({len(splits[split])} questions)\n\n"
        md += markdown_table(results[split], cols) + "\n"
    (out / f"noisy_channel{suffix}.md").write_text(md)
    print(md)


if __name__ == "__main__":
    main()
