"""Verified pairs per CPU-minute of the answer stage (gen-a + verify), old pipeline vs new.

    python -m benchmarks.throughput                            # GeoQuery train + 4 Spider dev dbs
    python -m benchmarks.throughput --dbs geoquery,world_1 --questions 20
    python -m benchmarks.throughput --report-only              # rewrite the report's table

Questions whose gold SQL is known (GeoQuery train questions, a Spider dev database's dev
questions after its 10 seeds, a fixed draw) are answered by each setting in turn, question by
question, so the machine's noise falls on all of them alike. Per question it records the CPU time
of this process (llama.cpp's threads included: `time.process_time`), the samples drawn, whether
the pair was kept and whether the kept SQL gives the gold result. Settings:

* `old`: all K = 8 samples in one batch, at least 3 agreeing (the pipeline before #60);
* `rounds2`, `rounds4`: adaptive sampling (`--round-size`), the K samples drawn 2 or 4 at a time,
  stopping once the vote is decided;
* `seedtokens`: the answer's token limit sized from the seeds' longest SQL (`--max-tokens 0`)
  instead of 160; `rounds2_seedtokens`: both.

The Spider databases are ones no setting was ever tuned on (the issue's list); GeoQuery train is
development data. Records are cached per (database, setting, generator) under
.symgen/bench/throughput/, so an interrupted run resumes and a larger `--questions` only answers
the new ones. Writes results/throughput/throughput.json (`databases` rows: old vs `--new`) and
the table in reports/throughput.md.
"""

from __future__ import annotations

import argparse
import time
from pathlib import Path
from typing import Any

from benchmarks.common import (
    REPORTS,
    ROOT,
    ReportTable,
    add_recipe_arg,
    add_report_arg,
    command_line,
    merge_result,
    num,
    parse_args,
    pct,
    read_result,
    shared_data,
    table,
    write_report,
    write_result,
)
from benchmarks.spider import split
from symgen.config import AnswerGenConfig, VerifyConfig
from symgen.dataset import JsonlAppender, read_jsonl, read_pairs
from symgen.generators.base import open_generator
from symgen.tasks.sql.context import SqlContext, build_context
from symgen.verify import MinVotes

WORK = ROOT / ".symgen" / "bench" / "throughput"
RESULT = ROOT / "benchmarks" / "results" / "throughput" / "throughput.json"
SETTINGS: dict[str, AnswerGenConfig] = {
    "old": AnswerGenConfig(round_size=0),
    "rounds2": AnswerGenConfig(round_size=2),
    "rounds4": AnswerGenConfig(round_size=4),
    "seedtokens": AnswerGenConfig(max_tokens=0),  # the token limit sized from the seeds
    "rounds2_seedtokens": AnswerGenConfig(round_size=2, max_tokens=0),
    "grammar": AnswerGenConfig(grammar=True),  # schema-constrained decoding (--grammar)
    "rounds4_grammar": AnswerGenConfig(round_size=4, grammar=True),
    "rounds4_grammar_seedtokens": AnswerGenConfig(round_size=4, grammar=True, max_tokens=0),
}
DEFAULT_DBS = "geoquery,world_1,car_1,dog_kennels,student_transcripts_tracking"


def questions_of(db: str, n: int, n_seeds: int = 10) -> tuple[Path, Path, list[dict[str, str]]]:
    """(database file, seeds file, the first `n` questions with gold SQL) of `db`."""
    data = shared_data()
    if db == "geoquery":
        geo = data / "geoquery"
        seeds = geo / "seed_10.jsonl"
        seen = {p.question for p in read_pairs(seeds)}
        rows = [r for r in read_jsonl(geo / "train.jsonl") if r["question"] not in seen]
        return geo / "geography.sqlite", seeds, rows[:n]
    seed_files, items, paths = split(data / "spider", [db], n_seeds)  # spider.py's fixed draw
    tests = [{"question": i.question, "query": i.query} for i in items]
    return paths[db], seed_files[db], tests[:n]


def answer_one(
    ctx: SqlContext, generator: Any, row: dict[str, str], i: int, min_votes: MinVotes
) -> dict[str, Any]:
    """One question through gen-a + verify: CPU seconds, samples, kept, right."""
    start_cpu, start_wall = time.process_time(), time.monotonic()
    verdict, _ = ctx.answer(
        generator,
        row["question"],
        samples=ctx.answer_cfg.samples,
        temperature=ctx.answer_cfg.temperature,
        min_votes=min_votes,
        seed=i,
    )
    cpu, wall = time.process_time() - start_cpu, time.monotonic() - start_wall
    right = None
    if verdict.kept and verdict.program:
        got, gold = ctx.task.execute(verdict.program), ctx.task.execute(row["query"])
        right = got.key is not None and got.key == gold.key
    return {
        "i": i,
        "question": row["question"],
        "cpu_s": round(cpu, 3),
        "wall_s": round(wall, 3),
        "samples": verdict.n_samples,
        "kept": verdict.kept,
        "right": right,
        "reason": verdict.reason,
    }


def summary(records: list[dict[str, Any]]) -> dict[str, Any]:
    kept = [r for r in records if r["kept"]]
    cpu_min = sum(r["cpu_s"] for r in records) / 60
    return {
        "questions": len(records),
        "kept": len(kept),
        "cpu_minutes": round(cpu_min, 2),
        "pairs_per_cpu_min": round(len(kept) / cpu_min, 2) if cpu_min else None,
        "precision": round(sum(bool(r["right"]) for r in kept) / len(kept), 3) if kept else None,
        "samples_per_pair": round(sum(r["samples"] for r in records) / len(kept), 2)
        if kept
        else None,
        "samples_per_question": round(sum(r["samples"] for r in records) / len(records), 2)
        if records
        else None,
    }


def run(args: argparse.Namespace) -> dict[str, Any]:
    settings = args.settings.split(",")
    unknown = sorted(set(settings) - set(SETTINGS))
    if unknown:
        raise SystemExit(f"unknown settings {unknown}; choose from {sorted(SETTINGS)}")
    generator = open_generator(args.generator, n_threads=args.threads)
    rows: list[dict[str, Any]] = []
    try:
        for db in args.dbs.split(","):
            db_path, seeds, questions = questions_of(db, args.questions)
            ctxs = {
                s: build_context(db_path, read_pairs(seeds), SETTINGS[s], VerifyConfig())
                for s in settings
            }
            records: dict[str, list[dict[str, Any]]] = {}
            files = {s: WORK / f"{db}.{s}.{generator.name}.jsonl" for s in settings}
            for s, f in files.items():
                records[s] = read_jsonl(f) if f.is_file() else []
            min_votes = MinVotes.parse(VerifyConfig.min_votes)
            for i, row in enumerate(questions):
                for s in settings:  # side by side: each question by every setting in turn
                    if i < len(records[s]):
                        continue
                    rec = answer_one(ctxs[s], generator, row, i, min_votes)
                    with JsonlAppender(files[s]) as out:
                        out.write(rec)
                    records[s].append(rec)
                print(f"{db} {i + 1}/{len(questions)}", flush=True)
            for s in settings:
                rows.append({"db": db, "setting": s, **summary(records[s][: len(questions)])})
    finally:
        generator.close()
    return {
        "command": command_line("benchmarks.throughput", args),
        "generator": generator.name,
        "new": args.new,
        "rows": rows,
        "databases": databases(rows, args.new),
    }


def databases(rows: list[dict[str, Any]], new: str) -> list[dict[str, Any]]:
    """The issue's shape: per database, old vs the setting named new."""
    out = []
    for db in dict.fromkeys(r["db"] for r in rows):
        by = {r["setting"]: r for r in rows if r["db"] == db}
        if "old" not in by or new not in by:
            continue
        old, nw = by["old"], by[new]
        out.append(
            {
                "db": db,
                "old_pairs_per_cpu_min": old["pairs_per_cpu_min"],
                "new_pairs_per_cpu_min": nw["pairs_per_cpu_min"],
                "old_precision": old["precision"],
                "new_precision": nw["precision"],
                "old_samples_per_pair": old["samples_per_pair"],
                "new_samples_per_pair": nw["samples_per_pair"],
            }
        )
    return out


def throughput_table() -> str:
    result = read_result("throughput", "throughput")
    base = {r["db"]: r for r in result["rows"] if r["setting"] == "old"}
    cells = []
    for r in result["rows"]:
        old = base.get(r["db"])
        ratio = (
            f"{r['pairs_per_cpu_min'] / old['pairs_per_cpu_min']:.2f}x"
            if old and old["pairs_per_cpu_min"] and r["pairs_per_cpu_min"] is not None
            else "–"
        )
        cells.append(
            [
                r["db"],
                r["setting"],
                num(r["questions"]),
                num(r["kept"]),
                num(r["cpu_minutes"], 1),
                num(r["pairs_per_cpu_min"], 2),
                ratio,
                pct(r["precision"]),
                num(r["samples_per_pair"], 1),
                num(r["samples_per_question"], 1),
            ]
        )
    header = ["db", "setting", "questions", "kept", "CPU min", "pairs / CPU min", "vs old"]
    header += ["precision", "samples / kept pair", "samples / question"]
    return table(header, cells)


def report_tables() -> list[ReportTable]:
    return [
        (REPORTS / "throughput.md", "throughput", throughput_table),
        (REPORTS / "throughput.md", "concurrency", concurrency_table),
    ]


def concurrency_curve(args: argparse.Namespace) -> list[dict[str, Any]]:
    """Pairs per wall-minute through a real `llama-server --parallel N` at each concurrency of
    `--concurrency`, the same GeoQuery questions each time, in rounds (1, 2, 4, 8, then the
    next round) so the machine's drift falls on all of them alike."""
    import tempfile

    from symgen.generate.answer import answer_stage
    from symgen.generate.run import RunStats
    from symgen.generators import registry
    from symgen.generators.openai import OpenAIGenerator
    from tests.llm_servers import LlmServer

    binary = Path(args.server)
    if not binary.is_file():
        raise SystemExit(f"{binary}: no llama-server; build it with scripts/build-llama-server.sh")
    _, specs = registry.load_registry()
    model = registry.fetch(specs[args.generator])
    db_path, seeds, questions = questions_of("geoquery", args.concurrency_questions)
    ctx = build_context(db_path, read_pairs(seeds), AnswerGenConfig(), VerifyConfig())
    levels = [int(c) for c in args.concurrency.split(",")]
    totals: dict[int, dict[str, float]] = {
        c: {"kept": 0, "s": 0.0, "calls": 0, "tokens": 0} for c in levels
    }
    with tempfile.TemporaryDirectory() as tmp, LlmServer(
        model, Path(tmp) / "server.log", threads=args.threads, binary=binary,
        parallel=args.parallel, n_ctx=4096,
    ) as server:  # fmt: skip
        for rnd in range(args.concurrency_rounds):
            for c in levels:
                gen = OpenAIGenerator(server.url, concurrency=c)
                stats, out = RunStats(), Path(tmp) / f"{rnd}.{c}.jsonl"
                start = time.monotonic()
                answer_stage(
                    gen, ctx, [q["question"] for q in questions], {}, out,
                    out.with_suffix(".rejected.jsonl"), ctx.answer_cfg,
                    MinVotes.parse(VerifyConfig.min_votes), 0, stats, False,
                )  # fmt: skip
                t = totals[c]
                t["s"] += time.monotonic() - start
                t["kept"] += stats.kept
                t["calls"] += gen.stats.calls
                t["tokens"] += gen.stats.generated_tokens
                gen.close()
                print(
                    f"round {rnd + 1} concurrency {c}: {stats.kept} kept in {time.monotonic() - start:.0f} s",
                    flush=True,
                )
    base = totals[levels[0]]["kept"] / totals[levels[0]]["s"] if totals[levels[0]]["s"] else 0
    rows = []
    for c in levels:
        t = totals[c]
        ppm = 60 * t["kept"] / t["s"] if t["s"] else None
        rows.append(
            {
                "concurrency": c,
                "pairs_per_min": round(ppm, 2) if ppm is not None else None,
                "vs_1": round(ppm / (60 * base), 2) if ppm and base else None,
                "requests_per_s": round(t["calls"] / t["s"], 2) if t["s"] else None,
                "tokens_per_s": round(t["tokens"] / t["s"], 1) if t["s"] else None,
                "questions": len(questions) * args.concurrency_rounds,
                "seconds": round(t["s"], 1),
                "server_parallel": args.parallel,
            }
        )
    return rows


def concurrency_table() -> str:
    result = read_result("throughput", "throughput")
    cells = [
        [
            num(r["concurrency"]),
            num(r["server_parallel"]),
            num(r["questions"]),
            num(r["seconds"]),
            num(r["pairs_per_min"], 2),
            f"{r['vs_1']:.2f}x" if r.get("vs_1") else "–",
            num(r["requests_per_s"], 2),
            num(r["tokens_per_s"], 1),
        ]
        for r in result.get("concurrency", [])
    ]
    header = ["concurrency", "server --parallel", "questions", "seconds", "pairs / min", "vs 1"]
    return table([*header, "requests / s", "generated tokens / s"], cells)


def build_parser() -> argparse.ArgumentParser:
    ap = argparse.ArgumentParser(
        prog="python -m benchmarks.throughput",
        description=__doc__,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    add_recipe_arg(ap)
    add_report_arg(ap, "benchmarks/reports/throughput.md")
    ap.add_argument("--dbs", default=DEFAULT_DBS, help="geoquery and/or Spider dev databases")
    ap.add_argument("--questions", type=int, default=30, help="questions per database")
    ap.add_argument("--settings", default=",".join(SETTINGS), help="comma-separated")
    ap.add_argument("--new", default="rounds4", help="the setting the issue's table compares")
    ap.add_argument("--generator", default="qwen2.5-coder-0.5b")
    ap.add_argument("--threads", type=int, default=2)
    ap.add_argument(
        "--concurrency",
        default="",
        help="instead of the settings: pairs per minute against a real llama-server at these "
        "concurrencies (e.g. 1,2,4,8)",
    )
    ap.add_argument("--server", default=str(ROOT / ".symgen" / "bin" / "llama-server"))
    ap.add_argument("--parallel", type=int, default=4, help="the server's --parallel slots")
    ap.add_argument("--concurrency-questions", type=int, default=12)
    ap.add_argument("--concurrency-rounds", type=int, default=2)
    return ap


def main() -> None:
    args = parse_args(build_parser())
    if not args.report_only and args.concurrency:
        merge_result("throughput", "throughput", {"concurrency": concurrency_curve(args)})
    elif not args.report_only:
        result = run(args)
        previous = read_result("throughput", "throughput") if RESULT.is_file() else {}
        result["concurrency"] = previous.get("concurrency", [])  # the other part's rows stay
        write_result("throughput", "throughput", result)
    write_report(report_tables())
    print(throughput_table())
    if RESULT.is_file() and read_result("throughput", "throughput").get("concurrency"):
        print(concurrency_table())


if __name__ == "__main__":
    main()
