"""The Python verifier's precision under many rules, from one LLM run (issue 6).

For MBPP train tasks (601-...), the generator does what `symgen generate --task python` does
for a question: writes test calls and the outputs it predicts (greedy), then K candidate
functions. Every distinct candidate runs in the sandbox on those calls (the vote's key) and,
for this benchmark only, on MBPP's own asserts (never shown to the LLM). Everything is saved
per task, so any rule — votes among the first k samples, a share of predicted outputs the
winner must reproduce — is replayed offline through the library's own `vote_and_expect`,
without another LLM call.

The tasks are split in two halves: a rule is *chosen* on the first (the least strict rule
reaching the target precision there, i.e. the most pairs kept) and *confirmed* on the second.

    python -m benchmarks.python_verifier --tasks 60 --samples 8  # results/python_verifier/*.json
    python -m benchmarks.python_verifier --tasks 60 --samples 8 --show-calls 1 --tag calls1

`--show-calls 1`: the request also shows how MBPP calls the function (its first assert's call,
inputs only). Rerunning a command replays the rules from the saved candidates without loading
the LLM when every task is answered.
"""

from __future__ import annotations

import argparse
import functools
import json
import time
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from benchmarks.code_tasks import WORK, python_splits, shared
from benchmarks.common import markdown_table, write_result
from symgen.config import AnswerGenConfig, VerifyConfig
from symgen.dataset import JsonlAppender, read_jsonl, write_jsonl
from symgen.generators.base import open_generator
from symgen.generators.registry import generated_dir
from symgen.interrupts import stop_like_ctrl_c
from symgen.progress import bar as progress_bar
from symgen.tasks.base import Outcome
from symgen.tasks.code import build_context, read_code_seeds
from symgen.tasks.python.program import calls_from_asserts, canonical
from symgen.tasks.python.task import PythonTask, passes_asserts, run_asserts, vote_and_expect
from symgen.verify import Candidate, MinVotes

TARGET = 0.8
SHARES = (0.0, 0.5, 1.0)


class Replay(PythonTask):
    """The Python task with every distinct program's outcome read from the saved run."""

    def __init__(self, tests: Sequence[str], outcomes: dict[str, Outcome]) -> None:
        super().__init__(tests)
        self.outcomes = outcomes

    def execute(self, program: str) -> Outcome:
        return self.outcomes[canonical(program)]


def answer_task(
    ctx: Any, gen: Any, row: dict[str, Any], samples: int, show_calls: int
) -> dict[str, Any]:
    """One MBPP task through gen-a, each distinct candidate's sandbox outcome and assert check.
    `show_calls`: how many of MBPP's calls (inputs only, never the result) the request shows."""
    question = " ".join(row["text"].split())
    given = calls_from_asserts(row["test_list"])[:show_calls]
    _, cands = ctx.answer(
        gen,
        question,
        samples=samples,
        temperature=ctx.answer_cfg.temperature,
        min_votes=MinVotes(1),
        seed=row["task_id"],
        given=given,
    )
    task = ctx.task.with_tests(ctx.last_tests)
    programs: dict[str, dict[str, Any]] = {}
    for cand in cands:
        key = canonical(cand.program)
        if key in programs or task.static_check(cand.program.strip()) is not None:
            continue
        outcome = task.execute(cand.program.strip())
        programs[key] = {
            "key": list(outcome.key) if isinstance(outcome.key, tuple) else None,
            "failure": outcome.failure,
            "passes": passes_asserts(cand.program, row["test_list"]),
        }
    return {
        "task_id": row["task_id"],
        "question": question,
        "given": given,
        "tests": list(ctx.last_tests),
        "outputs": list(ctx.last_outputs),
        "candidates": [{"program": c.program, "logprob": c.logprob} for c in cands],
        "programs": programs,
    }


@functools.cache
def signature_mismatch(task_id: int, program: str) -> bool:
    """Every one of MBPP's asserts fails with a TypeError: the function is called with
    arguments it does not take (MBPP's `find_Min_Sum(a, b, n)` passes lengths a request never
    mentions), a convention no verifier of the request alone can know."""
    result = run_asserts(program, mbpp()[task_id]["test_list"])
    return bool(result.probes) and all(
        (p.error or "").startswith("TypeError") for p in result.probes
    )


@functools.cache
def mbpp() -> dict[int, dict[str, Any]]:
    return {r["task_id"]: r for r in read_jsonl(shared("mbpp/mbpp.jsonl"))}


def decide(rec: dict[str, Any], k: int, votes: int, share: float) -> tuple[bool, bool | None, str]:
    """(kept, kept program passes MBPP's asserts, the kept program) for one task under one
    rule: the first k samples, at least `votes` of them agreeing, the winner reproducing `share`
    of the predicted outputs."""
    outcomes = {
        p: Outcome(key=tuple(v["key"]) if v["key"] is not None else None, failure=v["failure"])
        for p, v in rec["programs"].items()
    }
    task = Replay(rec["tests"], outcomes)
    cands = [Candidate(c["program"], c["logprob"]) for c in rec["candidates"][:k]]
    if not task.tests:
        return False, None, ""
    verdict, _ = vote_and_expect(task, cands, MinVotes(votes), rec["outputs"], share)
    if not verdict.kept or verdict.program is None:
        return False, None, ""
    return True, bool(rec["programs"][canonical(verdict.program)]["passes"]), verdict.program


def rules(samples: int) -> list[tuple[int, int, float]]:
    """(k, votes, share): every vote threshold among the first 4 samples and among all."""
    ks = sorted({min(4, samples), samples})
    return [(k, v, s) for k in ks for v in range(1, k + 1) for s in SHARES]


def score(records: Sequence[dict[str, Any]], rule: tuple[int, int, float]) -> dict[str, Any]:
    decisions = [(r["task_id"], *decide(r, *rule)) for r in records]
    kept = [good for _, is_kept, good, _ in decisions if is_kept]
    mismatch = sum(
        signature_mismatch(task_id, program)
        for task_id, is_kept, good, program in decisions
        if is_kept and not good
    )
    return {
        "kept": len(kept),
        "pass": sum(bool(g) for g in kept),
        "precision": round(sum(bool(g) for g in kept) / len(kept), 3) if kept else None,
        "signature_mismatch": mismatch,
    }


def table(records: list[dict[str, Any]], samples: int) -> list[dict[str, Any]]:
    half = len(records) // 2
    choose, confirm = records[:half], records[half:]
    rows = []
    for k, votes, share in rules(samples):
        a, b = score(choose, (k, votes, share)), score(confirm, (k, votes, share))
        c = score(records, (k, votes, share))
        rows.append(
            {
                "samples": k,
                "min_votes": votes,
                "expected_outputs": share,
                "choose_kept": a["kept"],
                "choose_precision": a["precision"],
                "confirm_kept": b["kept"],
                "confirm_pass": b["pass"],
                "confirm_precision": b["precision"],
                "all_kept": c["kept"],
                "all_precision": c["precision"],
                # kept pairs failing only on MBPP's signature; precision without them
                "all_signature_mismatch": c["signature_mismatch"],
                "all_precision_same_signature": round(
                    c["pass"] / (c["kept"] - c["signature_mismatch"]), 3
                )
                if c["kept"] > c["signature_mismatch"]
                else None,
            }
        )
    return rows


def chosen(rows: list[dict[str, Any]], min_kept: int = 5) -> dict[str, Any] | None:
    """The rule that keeps the most pairs on the choosing half at >= TARGET precision there
    (ties: fewer samples, then the laxer rule)."""
    ok = [
        r
        for r in rows
        if r["choose_precision"] is not None
        and r["choose_precision"] >= TARGET
        and r["choose_kept"] >= min_kept
    ]
    if not ok:
        return None
    return max(ok, key=lambda r: (r["choose_kept"], -r["samples"], -r["min_votes"]))


def run(args: argparse.Namespace, out: Path) -> list[dict[str, Any]]:
    seeds, pool, _ = python_splits(0)
    seeds_path = WORK / "python.seeds.jsonl"
    WORK.mkdir(parents=True, exist_ok=True)
    write_jsonl(seeds_path, seeds)
    rows = pool[args.start : args.start + args.tasks]
    done = {r["task_id"]: r for r in read_jsonl(out)} if out.exists() else {}
    todo = [r for r in rows if r["task_id"] not in done]
    if todo:
        ctx = build_context(
            "python",
            read_code_seeds(seeds_path),
            AnswerGenConfig(samples=args.samples),
            VerifyConfig(expected_outputs=0.0),
        )
        gen = open_generator(args.generator, n_threads=args.threads)
        sink = JsonlAppender(out)
        bar = progress_bar(total=len(todo), desc="python tasks", unit="task")
        try:
            for row in todo:
                rec = answer_task(ctx, gen, row, args.samples, args.show_calls)
                sink.write(rec)
                done[rec["task_id"]] = rec
                bar.update(1)
        finally:
            bar.close()
            gen.close()
    return [done[r["task_id"]] for r in rows if r["task_id"] in done]


def main() -> None:
    ap = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    ap.add_argument("--generator", default="qwen2.5-coder-1.5b")
    ap.add_argument("--tasks", type=int, default=60, help="MBPP train tasks from --start")
    ap.add_argument("--start", type=int, default=0, help="index into tasks 601-974")
    ap.add_argument("--samples", type=int, default=8)
    ap.add_argument("--threads", type=int, default=2)
    ap.add_argument(
        "--show-calls",
        type=int,
        default=0,
        help="the request shows this many of MBPP's test calls (inputs only, no results)",
    )
    ap.add_argument("--tag", default="")
    args = ap.parse_args()
    stop_like_ctrl_c()  # Ctrl-C or `kill`, even in a background job: generation state is saved
    out = generated_dir(WORK, args.generator) / (
        f"python.verifier.s{args.samples}.from{args.start}"
        + (f".calls{args.show_calls}" if args.show_calls else "")
        + ".jsonl"
    )
    started = time.time()
    records = run(args, out)
    rows = table(records, args.samples)
    pick = chosen(rows)
    print(markdown_table(rows, list(rows[0])))
    print(f"chosen on the first half: {json.dumps(pick)}")
    payload = {
        "generator": args.generator,
        "settings": vars(args),
        "tasks": [r["task_id"] for r in records],
        "candidates_file": str(out),
        "rules": rows,
        "chosen": pick,
        "minutes": round((time.time() - started) / 60, 1),
        "measured_at": time.strftime("%Y-%m-%d %H:%M"),
    }
    name = "python_verifier" + (f"_{args.tag}" if args.tag else "")
    print(f"wrote {write_result('python_verifier', name, payload)}")


if __name__ == "__main__":
    main()
