"""Code tasks side by side (issue 6): Bash on NL2Bash, Python on MBPP, in one run per task.

Rows per task, all scored by `symgen.evaluate.evaluate_code` on the same test items:
  llm_10shot     the generator LLM, 10-shot prompt from the seeds, greedy
  task_symgen    task model trained on pairs the LLM generated (and the verifier kept) from the
                 10 seeds, plus the seeds
  task_human     task model trained on the same number of human pairs
  task_llm_answers  (Bash, diagnostic) task model trained on the generator's verified answers to
                 the human row's questions: human questions, LLM answers, so beside the other
                 two rows it tells whether the gap comes from the questions or the answers
  task_history   (Bash) task model on history-first pairs: the first --history-commands pool
                 commands stand for the user's shell history (commands without requests), the
                 LLM writes each one's request and the answers to it must agree with the command
                 (`symgen generate --questions-from history`), plus the seeds
  task_history_human  (Bash, diagnostic) the users' own requests for the same kept commands
Bash: character BLEU and exact match on a fixed NL2Bash test split (every 10th pair, shuffled
with seed 0; the rest is the train pool the seeds and human pairs come from). Python: pass@1 on
MBPP's asserts (sandboxed) for the test split, tasks 11-510; seeds are tasks 1-10, human pairs
come from tasks 601-974. Python also measures the verifier's precision: the pipeline answers
MBPP train questions (601-...) with its own test calls and vote, and the kept programs are
checked against MBPP's asserts.

    python -m benchmarks.code_tasks --task bash  # writes results/code_tasks/code_tasks_bash.json
    python -m benchmarks.code_tasks --task python
    python -m benchmarks.code_tasks --report             # tables + chart from both results
    python -m benchmarks.code_tasks --recipe benchmarks/recipes/code_tasks_bash.toml  # the report's
    python -m benchmarks.code_tasks --task bash --arch smollm2-slim --tag slim   # beside them
    python -m benchmarks.code_tasks --task bash --rows llm_10shot,task_human --human-pairs 11336 \
        --tag human_all                                  # only the rows named

The SymGen data is written to benchmarks/generated/ (tracked; a rerun resumes it and more
--questions extend it; `--generate-only --gen-minutes M` adds to it in bounded sessions);
training runs and the LLM rows' caches stay in .symgen/bench/code/. Results go to
benchmarks/results/code_tasks/; `--report` (also after every run) writes code_tasks.md and .png
there and the tables of benchmarks/reports/code_tasks.md ("Where it stands", Python) from the
results JSON.
"""

from __future__ import annotations

import argparse
import json
import math
import random
import time
from pathlib import Path
from typing import Any

from benchmarks.common import (
    REPORTS,
    ROOT,
    ReportTable,
    add_recipe_arg,
    markdown_table,
    num,
    params,
    parse_args,
    pct,
    read_result,
    results_dir,
    table,
    write_report,
    write_result,
)
from symgen.config import AnswerGenConfig, QuestionGenConfig, VerifyConfig, vote_defaults
from symgen.dataset import read_jsonl, write_jsonl
from symgen.engine.model import TaskModel
from symgen.evaluate import CodeItem, evaluate_code, read_code_items
from symgen.export.onnx import export
from symgen.generate.run import RunStats, run_generate
from symgen.generators.base import open_generator
from symgen.generators.registry import generated_dir, load_registry, model_path
from symgen.interrupts import stop_like_ctrl_c
from symgen.tasks.bash.commands import read_commands
from symgen.tasks.code import build_context, read_code_seeds
from symgen.tasks.python.task import passes_asserts
from symgen.train.loop import TrainConfig, label_smoothing_for, placeholders_for, train
from symgen.verify import MinVotes

WORK = ROOT / ".symgen" / "bench" / "code"
OUT = results_dir("code_tasks")
COLUMNS = {
    "bash": ["name", "n", "char_bleu", "exact_match", "latency_p50_ms", "latency_p95_ms", "train_pairs", "params"],
    "python": ["name", "n", "pass_at_1", "latency_p50_ms", "latency_p95_ms", "train_pairs", "params"],
}  # fmt: skip


def shared(name: str) -> Path:
    import os

    path = Path(os.environ.get("SYMGEN_SHARED_DATA", ROOT.parent / "shared" / "data")) / name
    if not path.is_file():
        raise SystemExit(f"benchmark data not found at {path}; set SYMGEN_SHARED_DATA")
    return path


def bash_splits(
    n_test: int,
) -> tuple[list[dict[str, Any]], list[dict[str, Any]], list[dict[str, Any]]]:
    """(seeds, human pool, test) from NL2Bash: every 10th pair is test, fixed by seed 0."""
    rows = read_jsonl(shared("nl2bash/pairs.jsonl"))
    test = [r for i, r in enumerate(rows) if i % 10 == 0]
    pool = [r for i, r in enumerate(rows) if i % 10 != 0]
    random.Random(0).shuffle(test)
    random.Random(1).shuffle(pool)
    seeds = [r for r in pool if len(r["command"]) <= 80][:10]
    return seeds, [r for r in pool if r not in seeds], test[:n_test]


def python_splits(
    n_test: int,
) -> tuple[list[dict[str, Any]], list[dict[str, Any]], list[dict[str, Any]]]:
    """(seeds = tasks 1-10, human pool = tasks 601-974, test = tasks 11-510) from MBPP."""
    rows = read_jsonl(shared("mbpp/mbpp.jsonl"))
    by = {r["task_id"]: r for r in rows}
    seeds = [by[i] for i in range(1, 11)]
    pool = [by[i] for i in range(601, 975) if i in by]
    test = [by[i] for i in range(11, 511) if i in by]
    return seeds, pool, test[:n_test]


def llm_row(
    task: str, seeds_path: Path, items: list[CodeItem], args: argparse.Namespace
) -> dict[str, Any]:
    cache = WORK / f"{task}-llm-{args.generator}-{len(items)}.json"
    if cache.is_file():
        return dict(json.loads(cache.read_text())) | {"cached": True}
    ctx = build_context(task, read_code_seeds(seeds_path))
    gen = open_generator(args.generator, n_threads=args.threads)

    def predict(question: str) -> str:
        if task == "python":  # its own test calls, then the function, greedy (no vote)
            _, cands = ctx.answer(gen, question, samples=1, temperature=0.0, min_votes=MinVotes(1))
            return cands[0].program if cands else ""
        raw = gen.sample(
            ctx.prompt(question), n=1, temperature=0.0, max_tokens=96, stop=ctx.task.stop
        )
        return ctx.task.postprocess(raw[0].text) if raw else ""

    try:
        res = evaluate_code(predict, items, task, label=f"{task} llm")
    finally:
        gen.close()
    _, specs = load_registry()
    spec = specs[args.generator]
    row = {"name": "llm_10shot", **res["summary"], "params": spec.params, "train_pairs": 10}
    row["mb"] = round(model_path(spec).stat().st_size / 1e6, 1)
    row["records"] = res["records"]
    cache.write_text(json.dumps(row, indent=2))
    return row


# The LLM's output is the expensive part (hours for Bash at scale), so like the GeoQuery data it
# is tracked in git: a rerun on a fresh clone resumes it, and more questions extend it.
GENERATED = ROOT / "benchmarks" / "generated"
DATASET = {"bash": "nl2bash", "python": "mbpp"}


def generated_path(task: str, generator: str, part: str = "symgen") -> Path:
    """`part`: `symgen` (gen-q from the seeds) or `focus[.LIST]` (gen-q asking about one command
    or pipeline at a time, `--focus-commands`): runs each resumable on its own."""
    return generated_dir(GENERATED, generator) / f"{DATASET[task]}.{part}.jsonl"


def focus_part(spec: str) -> str:
    """The focused run's file part: `focus` for `common` (as first measured), else named by the
    list, so two lists never resume each other's run."""
    return "focus" if spec == "common" else f"focus.{Path(spec).stem}"


def symgen_data(
    task: str, seeds_path: Path, args: argparse.Namespace, focus: tuple[str, int] | None = None
) -> Path:
    """One generated run, extended within `--gen-minutes`: gen-q from the seeds, or with
    `focus=(list, n)` n questions each asking about the next command of `--focus-commands`."""
    part = "symgen" if focus is None else focus_part(focus[0])
    out = generated_path(task, args.generator, part)
    stats = run_generate(
        task=task,
        db_path=None,
        seeds_path=seeds_path,
        out_path=out,
        open_gen=lambda: open_generator(args.generator, n_threads=args.threads),
        n_questions=args.questions if focus is None else focus[1],
        qcfg=QuestionGenConfig(focus=() if focus is None else read_commands(focus[0])),
        acfg=AnswerGenConfig(samples=args.samples),
        # the vote alone, as the README's table was measured (Python's default then; since
        # 2026-12-04 `symgen generate --task python` also wants every predicted output)
        vcfg=VerifyConfig(min_votes=args.min_votes, expected_outputs=0.0),
        seed=0,
        max_minutes=args.gen_minutes,
    )
    print(f"{task} SymGen data ({part}): {json.dumps(stats.as_dict())}")
    return out


def focus_runs(args: argparse.Namespace) -> list[tuple[str, int]]:
    """`--focus-commands A,B --focus-questions N,M` → [(A, N), (B, M)] (one N for every list)."""
    lists = [x for x in args.focus_commands.split(",") if x]
    counts = [int(x) for x in str(args.focus_questions).split(",") if x]
    if not counts:
        return []
    if len(counts) == 1:
        counts *= len(lists)
    if len(counts) != len(lists):
        raise SystemExit("--focus-questions needs one count, or one per --focus-commands list")
    return [(name, n) for name, n in zip(lists, counts, strict=True) if n > 0]


def data_as_is(args: argparse.Namespace) -> bool:
    """`--no-generate` in a training run: every LLM-data row reads its tracked file, no LLM call
    (`run_generate` answers at least one question per call, so a rerun would train on other
    pairs); with `--generate-only` only the seeds' run is left alone."""
    return bool(args.no_generate and not args.generate_only)


def symgen_files(task: str, seeds_path: Path, args: argparse.Namespace) -> list[Path]:
    """The SymGen row's generated files: the seeds' run and, with `--focus-questions`, one focused
    run per `--focus-commands` list, as they are or extended (`data_as_is`)."""
    focus = focus_runs(args)
    if data_as_is(args):
        return [
            as_generated(task, args),
            *(as_generated(task, args, focus_part(n)) for n, _ in focus),
        ]
    first = as_generated(task, args) if args.no_generate else symgen_data(task, seeds_path, args)
    return [first, *(symgen_data(task, seeds_path, args, f) for f in focus)]


def answer_given(
    task: str,
    seeds_path: Path,
    out: Path,
    questions: list[str],
    args: argparse.Namespace,
    *,
    extend: bool = False,
    max_minutes: float | None = None,
) -> RunStats:
    """The generator's verified answers to given questions: gen-q is skipped, because a
    questions file written first is what `run_generate` answers (resumable). The vote alone
    decides, as the README's tables were measured. `extend`: more questions than the file
    holds extend it (its questions must be the new list's first ones)."""
    q_path = out.with_name(out.stem + ".questions.jsonl")
    have = [r["question"] for r in read_jsonl(q_path)] if q_path.exists() else []
    if extend and have[: len(questions)] != questions[: len(have)]:
        raise SystemExit(f"{q_path} holds other questions; move it aside to start over")
    if not have or (extend and len(have) < len(questions)):
        write_jsonl(q_path, [{"question": q} for q in questions])
    return run_generate(
        task=task,
        db_path=None,
        seeds_path=seeds_path,
        out_path=out,
        open_gen=lambda: open_generator(args.generator, n_threads=args.threads),
        n_questions=len(questions),
        qcfg=QuestionGenConfig(),
        acfg=AnswerGenConfig(samples=args.samples),
        vcfg=VerifyConfig(min_votes=args.min_votes, expected_outputs=0.0),
        seed=0,
        max_minutes=max_minutes,
    )


def llm_answers(seeds_path: Path, questions: list[str], args: argparse.Namespace) -> Path:
    """`answer_given` on human questions, tracked in benchmarks/generated like the SymGen run."""
    if data_as_is(args):
        return as_generated("bash", args, "humanq")
    out = generated_path("bash", args.generator, "humanq")
    stats = answer_given(
        "bash", seeds_path, out, questions, args, extend=True, max_minutes=args.gen_minutes
    )
    print(f"bash LLM answers to human questions: {json.dumps(stats.as_dict())}")
    return out


def history_data(seeds_path: Path, pool: list[dict[str, Any]], args: argparse.Namespace) -> Path:
    """History-first pairs: the pool's first `--history-commands` commands, written newest last
    as a history file (so the most recent, ranked first among equals, is the pool's first), each
    described and checked with `symgen generate`'s defaults for program-anchored questions."""
    if data_as_is(args):
        return as_generated("bash", args, "history")
    history = WORK / f"bash.pool{args.history_commands}.history"
    commands = [r["command"] for r in pool[: args.history_commands]]
    history.write_text("\n".join(reversed(commands)) + "\n")
    samples, votes = vote_defaults("bash", True, False)
    out = generated_path("bash", args.generator, "history")
    stats = run_generate(
        task="bash",
        db_path=None,
        seeds_path=seeds_path,
        out_path=out,
        open_gen=lambda: open_generator(args.generator, n_threads=args.threads),
        n_questions=args.history_questions,
        qcfg=QuestionGenConfig(source="history"),
        acfg=AnswerGenConfig(samples=samples),
        vcfg=VerifyConfig(min_votes=votes),
        max_minutes=args.gen_minutes,
        history_from=history,
    )
    print(f"bash history-first data: {json.dumps(stats.as_dict())}")
    return out


def same_commands_human(kept: Path, pool: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """The pool's own pairs for the commands `kept` holds: the users' requests, where the
    history row has the LLM's, for a paired comparison."""
    from symgen.tasks.bash.task import normalise

    by_command = {normalise(r["command"]): r for r in reversed(pool)}
    return [by_command[normalise(r["query"])] for r in read_jsonl(kept)]


def human_questions(pool: list[dict[str, Any]], n: int) -> list[str]:
    """The human row's questions, for the generator to answer (`task_llm_answers`)."""
    return [" ".join(r["question"].split()) for r in pool[:n]]


def augmented(task: str, name: str, data: list[Path], per_pair: int, values: str) -> Path:
    """One file: the row's pairs followed by their argument swaps (Bash only, no LLM)."""
    if task != "bash":
        raise SystemExit("--augment applies to --task bash only")
    from symgen.tasks.bash.augment import with_augmented_bash

    records = [r for p in data for r in read_jsonl(p)]
    out, stats = with_augmented_bash(records, per_pair=per_pair, values=values)
    print(f"{name}: {len(records)} pairs + {stats.written} argument swaps ({dict(stats.rejected)})")
    path = WORK / f"{task}.{name}.aug{per_pair}{_values_key(values)}.jsonl"
    write_jsonl(path, out)
    return path


def _values_key(values: str) -> str:
    return "" if values == "data" else f"-{values}"


def as_generated(task: str, args: argparse.Namespace, part: str = "symgen") -> Path:
    """One generated run as earlier runs left it (no LLM call), refused when there is none."""
    path = generated_path(task, args.generator, part)
    if not path.is_file():
        raise SystemExit(f"--no-generate: no generated data at {path}; run without it first")
    print(f"{task} generated data as is: {len(read_jsonl(path))} kept pairs in {path}")
    return path


# rows whose data an LLM made: another generator's data is another run, even at the same count
LLM_DATA_ROWS = ("task_symgen", "task_llm_answers", "task_history")


def row_dirs(name: str, task: str, n_pairs: int, args: argparse.Namespace) -> tuple[Path, Path]:
    """A row's training and ONNX dirs, keyed by what changes the model: more data later trains a
    new run, not a clash, and so does another generator's data (the default's keep their paths)."""
    key = f"{task}-{name}-{args.arch}-{n_pairs}"
    key += f"-aug{args.augment}{_values_key(args.augment_values)}" if args.augment else ""
    smoothing = label_smoothing_for(task, args.label_smoothing)
    key += f"-ls{smoothing:g}" if smoothing else ""
    key += f"-seed{args.seed}" if args.seed else ""
    key += "-ph" if placeholders_for(task, args.placeholders) else ""
    work = generated_dir(WORK, args.generator) if name in LLM_DATA_ROWS else WORK
    return work / "runs" / key, work / "onnx" / key


def task_row(
    name: str, task: str, data: list[Path], items: list[CodeItem], args: argparse.Namespace
) -> dict[str, Any]:
    if args.augment:
        data = [augmented(task, name, data, args.augment, args.augment_values)]
    n_pairs = sum(len(read_jsonl(p)) for p in data)
    run_dir, onnx_dir = row_dirs(name, task, n_pairs, args)
    smoothing = label_smoothing_for(task, args.label_smoothing)
    placeholders = placeholders_for(task, args.placeholders)
    per_epoch = math.ceil(n_pairs / 16)
    steps = min(args.max_steps, max(args.min_steps, per_epoch * 60))
    cfg = TrainConfig(
        arch=args.arch,
        epochs=math.ceil(steps / per_epoch),
        max_steps=steps,
        max_minutes=args.train_minutes,
        threads=args.threads,
        label_smoothing=smoothing,
        seed=args.seed,
        placeholders=placeholders,
    )
    meta = train(data, [], run_dir, cfg, task=task)
    manifest = export(run_dir, onnx_dir, int8=True, name=name)
    model = TaskModel(onnx_dir, threads=args.threads)
    res = evaluate_code(
        lambda q: model.complete_code(q, beams=args.beams).sql, items, task, label=f"{task} {name}"
    )
    return {
        "name": name,
        **res["summary"],
        "records": res["records"],
        "params": meta["params"],
        "mb": manifest["mb_on_disk"],
        "train_minutes": meta["train_minutes"],
        "train_pairs": meta["examples"],
    }


def precision(
    seeds_path: Path, pool: list[dict[str, Any]], args: argparse.Namespace
) -> dict[str, Any]:
    """Share of the verifier's kept Python pairs that pass MBPP's own asserts (train tasks),
    overall and under stricter rules read off the same run: more votes, and the winner
    reproducing the LLM's predicted outputs (every kept record carries both)."""
    rows = pool[: args.precision_questions]
    out = generated_dir(WORK, args.generator) / (
        f"python.precision.s{args.samples}.v{args.min_votes}.jsonl"
    )
    # the vote alone: every record carries its predicted-output match, read by `by_rule`
    stats = answer_given(
        "python", seeds_path, out, [" ".join(r["text"].split()) for r in rows], args
    )
    by_q = {" ".join(r["text"].split()): r for r in rows}
    kept = [k for k in (read_jsonl(out) if out.exists() else []) if k["question"] in by_q]
    ok = [passes_asserts(k["query"], by_q[k["question"]]["test_list"]) for k in kept]
    return {
        "questions": len(rows),
        "kept": len(ok),
        "kept_pass_asserts": sum(ok),
        "precision": sum(ok) / len(ok) if ok else None,
        "by_rule": precision_by_rule(kept, ok, args.samples),
        "failures": stats.as_dict()["failures"],
    }


def precision_by_rule(
    kept: list[dict[str, Any]], ok: list[bool], samples: int
) -> list[dict[str, Any]]:
    """Kept pairs and their precision if the verifier had been stricter: at least v votes,
    and the winner reproducing at least a share e of the predicted outputs."""
    from symgen.tasks.python.task import expectation_met

    out = []
    for votes in range(1, samples + 1):
        for share in (0.0, 0.5, 1.0):
            hits = [
                good
                for rec, good in zip(kept, ok, strict=True)
                if rec.get("votes", 0) >= votes
                and expectation_met(
                    (rec.get("expected_matched", 0), rec.get("expected_checked", 0)), share
                )
            ]
            if hits or votes == 1:
                out.append(
                    {
                        "min_votes": votes,
                        "expected_outputs": share,
                        "kept": len(hits),
                        "pass": sum(hits),
                        "precision": round(sum(hits) / len(hits), 3) if hits else None,
                    }
                )
    return out


ROWS = (
    "llm_10shot",
    "task_symgen",
    "task_human",
    "task_llm_answers",
    "task_history",
    "task_history_human",
)
BASH_ONLY = ("task_llm_answers", "task_history", "task_history_human")


def rows_wanted(spec: str, human_pairs: int, task: str = "bash") -> list[str]:
    """The rows `--rows` names (all but the diagnostic by default). The human rows alone need
    `--human-pairs`: by default they have as many pairs as the SymGen row, which then is not
    there to count. `task_llm_answers` is Bash's only."""
    wanted = [r.strip() for r in spec.split(",") if r.strip()] or list(ROWS[:3])
    unknown = sorted(set(wanted) - set(ROWS))
    if unknown:
        raise SystemExit(f"unknown row(s) {', '.join(unknown)}; choose from {', '.join(ROWS)}")
    for row in ("task_human", "task_llm_answers"):
        if row in wanted and "task_symgen" not in wanted and not human_pairs:
            raise SystemExit(f"--rows {row} without task_symgen needs --human-pairs N")
    for row in BASH_ONLY:
        if row in wanted and task != "bash":
            raise SystemExit(f"--rows {row} is for --task bash")
    return wanted


def run_task(task: str, args: argparse.Namespace) -> None:
    WORK.mkdir(parents=True, exist_ok=True)
    seeds, pool, test = (bash_splits if task == "bash" else python_splits)(args.test_limit)
    seeds_path, test_path = WORK / f"{task}.seeds.jsonl", WORK / f"{task}.test.jsonl"
    write_jsonl(seeds_path, seeds)
    write_jsonl(test_path, test)
    if args.precision_only:
        started = time.time()
        result = precision(seeds_path, pool, args)
        payload = {
            "generator": args.generator,
            "settings": vars(args),
            "verifier_precision": result,
            "minutes": round((time.time() - started) / 60, 1),
            "measured_at": time.strftime("%Y-%m-%d %H:%M"),
        }
        print(markdown_table(result["by_rule"], list(result["by_rule"][0])))
        name = "code_tasks_python_precision" + (f"_{args.tag}" if args.tag else "")
        print(f"wrote {write_result('code_tasks', name, payload)}")
        return
    items = read_code_items(test_path)
    wanted = rows_wanted(args.rows, args.human_pairs, task)
    started = time.time()
    if args.generate_only:
        if "task_llm_answers" in wanted:
            llm_answers(seeds_path, human_questions(pool, args.human_pairs), args)
        if "task_symgen" in wanted:
            symgen_files(task, seeds_path, args)
        if "task_history" in wanted:
            history_data(seeds_path, pool, args)
        return
    rows = [llm_row(task, seeds_path, items, args)] if "llm_10shot" in wanted else []
    generated: list[Path] = []
    if "task_symgen" in wanted:
        generated = symgen_files(task, seeds_path, args)
        rows.append(task_row("task_symgen", task, [*generated, seeds_path], items, args))
    n_human = args.human_pairs
    if not n_human and generated:  # the comparison: as many as the SymGen row
        n_human = sum(len(read_jsonl(g)) for g in generated) + len(seeds)
    if "task_human" in wanted:
        human_path = WORK / f"{task}.human_{n_human}.jsonl"
        write_jsonl(human_path, pool[:n_human])
        rows.append(task_row("task_human", task, [human_path], items, args))
    if "task_llm_answers" in wanted:
        questions = human_questions(pool, n_human)
        asked = set(questions)  # the run may hold answers to more of the pool than this row's
        answers = WORK / f"{task}.llm_answers_{n_human}.jsonl"
        kept = read_jsonl(llm_answers(seeds_path, questions, args))
        write_jsonl(answers, [r for r in kept if r["question"] in asked])
        rows.append(task_row("task_llm_answers", task, [answers, seeds_path], items, args))
    if {"task_history", "task_history_human"} & set(wanted):
        history = history_data(seeds_path, pool, args)
        if "task_history" in wanted:
            rows.append(task_row("task_history", task, [history, seeds_path], items, args))
        if "task_history_human" in wanted:
            same = WORK / f"{task}.history_human_{len(read_jsonl(history))}.jsonl"
            write_jsonl(same, same_commands_human(history, pool))
            rows.append(task_row("task_history_human", task, [same, seeds_path], items, args))
    # the precision of the verifier that made the SymGen row: measured with that row only
    with_precision = task == "python" and "task_symgen" in wanted
    extra = {"verifier_precision": precision(seeds_path, pool, args)} if with_precision else {}
    records = {r["name"]: r.pop("records", []) for r in rows}
    payload = {
        "task": task,
        "test_items": len(items),
        "generator": args.generator,
        "settings": vars(args),
        "rows": rows,
        **extra,
        "minutes": round((time.time() - started) / 60, 1),
        "measured_at": time.strftime("%Y-%m-%d %H:%M"),
    }
    name = f"code_tasks_{task}" + (f"_{args.tag}" if args.tag else "")
    write_jsonl(
        WORK / f"{name}.records.jsonl", [{"row": k, **r} for k, rs in records.items() for r in rs]
    )
    path = write_result("code_tasks", name, payload)
    print(markdown_table(rows, COLUMNS[task]))
    print(f"wrote {path}")


def report() -> None:
    """Markdown tables and a chart from whichever task results exist."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
    from matplotlib.ticker import NullFormatter

    parts, results = [], {}
    for task in ("bash", "python"):
        path = OUT / f"code_tasks_{task}.json"
        if path.is_file():
            results[task] = json.loads(path.read_text())
            parts.append(f"### {task}\n\n" + markdown_table(results[task]["rows"], COLUMNS[task]))
    (OUT / "code_tasks.md").write_text("\n\n".join(parts) + "\n")
    fig, axes = plt.subplots(len(results), 2, figsize=(11, 2.6 * len(results)), squeeze=False)
    for (task, res), (ax1, ax2) in zip(results.items(), axes, strict=True):
        names = [r["name"] for r in res["rows"]]
        metric = "char_bleu" if task == "bash" else "pass_at_1"
        colors = ["#999999" if n.startswith("llm") else "#2a7ab9" for n in names]
        scores = [r[metric] for r in res["rows"]]
        ax1.bar_label(ax1.barh(names, scores, color=colors), fmt="%.3f", padding=3)
        ax1.set_xlim(0, max(scores, default=0) * 1.2 or 1)
        ax1.set_xlabel(f"{task}: {metric} ({res['test_items']} test items)")
        ax1.invert_yaxis()
        latency = [r["latency_p50_ms"] for r in res["rows"]]
        ax2.bar_label(ax2.barh(names, latency, color=colors), fmt="%.0f ms", padding=3)
        ax2.set_xscale("log")
        ax2.set_xlim(min(latency) / 2, max(latency) * 4)
        ax2.xaxis.set_minor_formatter(NullFormatter())  # a narrow log range labels minor ticks
        ax2.set_xlabel("latency p50 (ms, log)")
        ax2.invert_yaxis()
        ax2.set_yticklabels([])
    fig.tight_layout()
    fig.savefig(OUT / "code_tasks.png", dpi=110)
    print((OUT / "code_tasks.md").read_text())
    write_report(report_tables())


def generator_name(name: str) -> str:
    """qwen2.5-coder-0.5b → Qwen2.5-Coder-0.5B."""
    return "-".join(
        p.upper() if p[:1].isdigit() else p[:1].upper() + p[1:] for p in name.split("-")
    )


# The rows of other runs the report's tables show under the main run's: (task, tag, row, label)
EXTRA_ROWS = [
    (
        "bash",
        "human4355_s1",
        "task_human",
        "same, training seed 1 (`--rows task_human --human-pairs 4355 --seed 1 --tag "
        "human4355_s1`, next, alone)",
    ),
    (
        "python",
        "smollm2",
        "task_symgen",
        "`smollm2` (SmolLM2-135M, fine-tuned {max_steps} steps) on SymGen data",
    ),
    ("python", "smollm2", "task_human", "`smollm2` on as many human pairs"),
]


def code_table(task: str) -> str:
    """The report's table of code_tasks_TASK.json and the EXTRA_ROWS of other runs; in bold,
    the main run's best score and lowest p50."""
    result = read_result("code_tasks", f"code_tasks_{task}")
    rows, n = result["rows"], result["test_items"]
    metric = "char_bleu" if task == "bash" else "pass_at_1"
    metrics = [metric, "exact_match"] if task == "bash" else [metric]
    labels = {
        "llm_10shot": f"generator ({generator_name(result['generator'])}), 10-shot, greedy"
        if task == "bash"
        else "generator, 10-shot, greedy (own test calls, then the function)",
        "task_symgen": "`tiny` on SymGen data from the 10 seeds",
        "task_human": "`tiny` on as many human pairs",
    }
    best = {k: max(r[k] for r in rows) for k in metrics}
    fastest = min(r["latency_p50_ms"] for r in rows)
    seeds = next((r["train_pairs"] for r in rows if r["name"] == "llm_10shot"), 0)

    def line(r: dict[str, Any], label: str, main: bool) -> list[str]:
        def bold(text: str, on: bool) -> str:
            return f"**{text}**" if main and on else text

        score = [
            bold(num(r[k], 3) if k == "char_bleu" else pct(r[k], 0), r[k] == best[k])
            for k in metrics
        ]
        latency = f"{num(r['latency_p50_ms'])} / {num(r['latency_p95_ms'])}"
        pairs = num(r["train_pairs"])
        if task == "python" and main and r["name"] == "task_symgen":
            kept = r["train_pairs"] - seeds
            pairs += f" ({kept} kept of {result['settings']['questions']} + seeds)"
        return [
            label,
            *score,
            bold(latency, r["latency_p50_ms"] == fastest),
            pairs,
            params(r["params"]),
        ]

    cells = [line(r, labels.get(r["name"], r["name"]), True) for r in rows]
    for extra_task, tag, name, label in EXTRA_ROWS:
        if extra_task == task:
            other = read_result("code_tasks", f"code_tasks_{task}_{tag}")
            row = next(r for r in other["rows"] if r["name"] == name)
            cells.append(line(row, label.format(**other["settings"]), False))
    what = (
        f"Bash ({n} NL2Bash test pairs), one run"
        if task == "bash"
        else f"Python ({n} MBPP test tasks)"
    )
    header = [what, "char BLEU", "exact"] if task == "bash" else [what, "pass@1"]
    return table([*header, "p50 / p95 ms", "train pairs", "params"], cells)


def report_tables() -> list[ReportTable]:
    """The tables this script writes: (report, marker, table from the results JSON)."""
    report = REPORTS / "code_tasks.md"
    return [
        (report, "code_tasks_bash", lambda: code_table("bash")),
        (report, "code_tasks_python", lambda: code_table("python")),
    ]


def build_parser() -> argparse.ArgumentParser:
    ap = argparse.ArgumentParser(
        prog="python -m benchmarks.code_tasks",
        description=__doc__,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    add_recipe_arg(ap)
    ap.add_argument("--task", choices=("bash", "python"))
    ap.add_argument(
        "--report",
        action="store_true",
        help="the tables and chart from the results JSON (and benchmarks/reports/code_tasks.md's "
        "tables); alone, nothing else runs",
    )
    ap.add_argument("--generator", default="qwen2.5-coder-0.5b")
    ap.add_argument("--test-limit", type=int, default=100)
    ap.add_argument("--questions", type=int, default=100, help="questions generated from seeds")
    ap.add_argument(
        "--samples", type=int, default=None, help="default: `symgen generate`'s for the task"
    )
    ap.add_argument(
        "--gen-minutes",
        type=float,
        default=None,
        help="bound generation's wall time; a rerun answers the questions left",
    )
    ap.add_argument("--min-votes", default=None, help="default: `symgen generate`'s for the task")
    ap.add_argument(
        "--focus-questions",
        default="0",
        help="Bash: also a gen-q run of this many questions per --focus-commands list (N, or "
        "N,M for two lists), each call asking about the next command of the list "
        "(benchmarks/generated/nl2bash.focus*.jsonl); the SymGen row trains on every run",
    )
    ap.add_argument(
        "--focus-commands",
        default="common",
        help="`common`, `pipelines` or a file, comma-separated for several runs (default "
        "common; other lists than common write nl2bash.focus.<name>.jsonl)",
    )
    ap.add_argument(
        "--history-commands",
        type=int,
        default=1600,
        help="Bash history rows: the first N pool commands stand for the user's shell history",
    )
    ap.add_argument(
        "--history-questions",
        type=int,
        default=1030,
        help="Bash history rows: requests to write (the rest of the history is left)",
    )
    ap.add_argument(
        "--human-pairs",
        type=int,
        default=0,
        help="human row's pairs (default: as many as the SymGen row, the issue's comparison)",
    )
    ap.add_argument(
        "--rows", default="", help=f"comma-separated rows (default: all of {', '.join(ROWS)})"
    )
    ap.add_argument(
        "--generate-only",
        action="store_true",
        help="only extend the SymGen data (within --gen-minutes); no rows are measured",
    )
    ap.add_argument(
        "--no-generate",
        action="store_true",
        help="train the rows on the LLM data benchmarks/generated already holds (no LLM call); "
        "with --generate-only, extend only the --focus-commands runs and the human questions' "
        "answers",
    )
    ap.add_argument("--precision-questions", type=int, default=30)
    ap.add_argument(
        "--precision-only",
        action="store_true",
        help="python: only the verifier's precision (writes code_tasks_python_precision[_tag])",
    )
    ap.add_argument(
        "--augment",
        type=int,
        default=0,
        help="bash: argument swaps per pair added to both task rows' data (symgen augment)",
    )
    ap.add_argument(
        "--augment-values",
        choices=("data", "invented", "mixed"),
        default="data",
        help="bash: where a swap's new argument comes from (symgen augment --values)",
    )
    ap.add_argument(
        "--label-smoothing",
        type=float,
        default=None,
        help="task models' (default: symgen train's for the task; tables before 2026-12-04 used 0)",
    )
    ap.add_argument(
        "--seed",
        type=int,
        default=0,
        help="task models' training seed (the tables use 0)",
    )
    ap.add_argument(
        "--placeholders",
        action=argparse.BooleanOptionalAction,
        default=None,
        help="bash: task models read and write placeholders for the request's values (default: "
        "symgen train's for the task; tables before 2026-12-05 had none)",
    )
    ap.add_argument("--min-steps", type=int, default=200)
    ap.add_argument("--max-steps", type=int, default=500)
    ap.add_argument("--beams", type=int, default=4)
    ap.add_argument("--arch", default="tiny", help="task model architecture (symgen train --arch)")
    ap.add_argument(
        "--train-minutes", type=float, default=None, help="cap each training run's wall time"
    )
    ap.add_argument("--threads", type=int, default=1)
    ap.add_argument(
        "--tag",
        default="",
        help="write results/code_tasks/code_tasks_<task>_<tag>.json (another setting)",
    )
    return ap


def main() -> None:
    args = parse_args(build_parser())
    stop_like_ctrl_c()  # Ctrl-C or `kill`, even in a background job: generation state is saved
    if args.task:
        samples, votes = vote_defaults(args.task, programs=False, reviewer=False)
        args.samples, args.min_votes = args.samples or samples, args.min_votes or votes
        run_task(args.task, args)
    if args.report or not args.task:
        report()
    elif not args.generate_only:
        write_report(report_tables())  # the report's tables from the results JSON


if __name__ == "__main__":
    main()
