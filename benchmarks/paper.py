"""The SymGen paper's comparison on GeoQuery dev, measured here, side by side in one run.

Rows (all evaluated by the same code, `symgen.evaluate`, on the same dev questions):
  llm_10shot_greedy            generator LLM, 10-shot informative prompt, greedy
  llm_10shot_selfconsistency   same prompt, K samples, majority of execution results
  task_symgen_10seeds          task model trained on SymGen data generated from the 10 seeds
  task_seeds_only              task model trained on the 10 seeds alone
  task_human_100               task model trained on 100 human pairs (GeoQuery train)
  task_human_600               task model trained on all 600 human pairs

    python -m benchmarks.paper                      # everything (resumes finished pieces)
    python -m benchmarks.paper --sc-limit 100       # self-consistency on the first 100 only
    python -m benchmarks.paper --rows task_human_600,llm_10shot_greedy   # some rows only
    python -m benchmarks.paper --arch smollm2 --augment 8 --max-minutes 60 --tag smollm2 \
        --rows llm_10shot_greedy,task_symgen_10seeds    # another setting, kept beside the main one
    python -m benchmarks.paper --recipe benchmarks/recipes/paper_1.5b.toml   # the main table
    python -m benchmarks.paper --recipe benchmarks/recipes/paper_1.5b.toml --seed 1 \
        --rows task_symgen_10seeds --tag seed1          # a recipe, with flags overriding it
    python -m benchmarks.paper --report-only            # report tables from paper.json again

Task models train for a fixed number of steps (epochs clamped to [--min-steps, --max-steps]),
not a time budget, so rows are comparable however busy the machine is (`--max-minutes` adds a
cap, for the pretrained base whose steps cost seconds). The SymGen row trains on the generated
pairs plus the 10 seeds they came from, value-swapped (`symgen augment`) with `--augment N`.
`--tag T` writes the rows under "geoquery_T" and paper_T.md/png, leaving the main table alone.
`--held-out-train` also scores the rows that never train on human pairs (SymGen, seeds only) on
GeoQuery train without the seed questions (589): the split to choose data on, dev being the one
the table reports.

Generated data (the LLM's hours) lives in benchmarks/generated/, tracked in git, so a run on a
fresh machine resumes it instead of paying for it again, and the data behind a row is in the
commit that reports it. Training runs and derived files are cached under .symgen/bench/; the LLM
rows are cached per (generator, questions, samples) in .symgen/bench/rows/. Task-model
evaluation is redone every run. Writes benchmarks/results/paper/paper.json, paper.md and
paper.png (paper_T.md/png with --tag T), then the main table in benchmarks/reports/paper.md and
README.md from paper.json (between `<!-- table:paper -->` and `<!-- /table -->`).
"""

from __future__ import annotations

import argparse
import hashlib
import json
import math
import random
import shlex
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any, NamedTuple

from benchmarks.common import (
    DASH,
    REPORTS,
    ROOT,
    ReportTable,
    add_recipe_arg,
    add_report_arg,
    command_line,
    markdown_table,
    merge_result,
    ms,
    num,
    params,
    parse_args,
    pct,
    read_result,
    results_dir,
    shared_data,
    table,
    write_report,
)
from symgen.config import (
    GROUNDING,
    PROGRAM_FIRST_MIN_VOTES,
    PROGRAM_FIRST_SAMPLES,
    REVIEWER_MIN_VOTES,
    AnswerGenConfig,
    QuestionGenConfig,
    VerifyConfig,
)
from symgen.databases.base import open_database
from symgen.dataset import question_key, read_jsonl, read_pairs, write_jsonl
from symgen.evaluate import Item, evaluate, evaluate_in_fresh_process, read_items
from symgen.export.onnx import export
from symgen.generate.answer import answer
from symgen.generate.run import run_generate
from symgen.generators.base import Generator, open_generator
from symgen.generators.registry import generated_dir, load_registry, model_path
from symgen.interrupts import stop_like_ctrl_c
from symgen.lab.compose_run import run_compose
from symgen.lab.direction_flip import with_flips
from symgen.lab.ensemble import make_ensemble
from symgen.lab.reviewer import MIN_PMI, ReviewedAnswerer
from symgen.lab.teachers import TeacherLoss
from symgen.tasks.sql.augment import AugmentStats, with_augmented
from symgen.tasks.sql.context import SqlContext, build_context
from symgen.tasks.sql.number_grounding import drop_unstated
from symgen.train.loop import TrainConfig, train
from symgen.train.models import get_arch
from symgen.verify import MinVotes

WORK = ROOT / ".symgen" / "bench"
OUT = results_dir("paper")
DATA = ROOT / "benchmarks" / "generated"  # tracked: generated pairs outlive the machine
ROWS = [
    "llm_10shot_greedy",
    "llm_10shot_selfconsistency",
    "task_symgen_10seeds",
    "task_seeds_only",
    "task_human_100",
    "task_human_600",
]
# Rows whose training data holds no human train pair but the seeds: `--held-out-train` also
# scores them on GeoQuery train without the seed questions.
HELD_OUT_ROWS = ("llm_10shot_greedy", "task_symgen_10seeds", "task_seeds_only")
COLUMNS = [
    "name",
    "exec_acc",
    "exact_match",
    "params",
    "mb",
    "latency_p50_ms",
    "latency_p95_ms",
    "train_minutes",
    "train_pairs",
]


def llm_rows(
    args: argparse.Namespace,
    contexts: Callable[[], dict[str, SqlContext]],
    items: list[Item],
    db_paths: dict[str, Path],
    wanted: set[str],
    cache_dir: Path = WORK / "rows",
    held_out: list[Item] | None = None,
) -> list[dict[str, Any]]:
    """The generator's own accuracy, prompted per database by `contexts()` (built only when a
    row is not cached: these rows take the longest); greedy also on `held_out` when given, as
    its own cached run whose accuracy joins the dev row (`exec_acc_train`)."""
    _, specs = load_registry()
    spec = specs[args.generator]
    base = {
        "params": spec.params,
        "mb": round(model_path(spec).stat().st_size / 1e6, 1),
        "train_minutes": 0.0,
    }
    plan = [
        ("llm_10shot_greedy", 1, items, "dev"),
        ("llm_10shot_selfconsistency", args.sc_samples, items[: args.sc_limit or None], "dev"),
    ]
    if held_out:
        plan.append(("llm_10shot_greedy", 1, held_out, "held_out"))
    rows: list[dict[str, Any]] = []
    todo = []
    for name, samples, subset, split in plan:
        which = hashlib.sha256(repr([(i.db, i.question) for i in subset]).encode()).hexdigest()
        key = f"{name}-{args.generator}-{samples}s-{len(subset)}q-{which[:8]}-{gen_threads(args)}t"
        cache = cache_dir / f"{key}.json"
        if name not in wanted:
            continue
        if cache.is_file():
            rows.append(json.loads(cache.read_text()) | {"cached": True, "split": split})
        else:
            todo.append((name, samples, subset, split, cache))
    if not todo:
        return _held_out_joined(rows)
    ctxs = contexts()
    base["train_pairs"] = sum(len(c.demos) for c in ctxs.values())
    gen: Generator = open_generator(args.generator, n_threads=gen_threads(args))
    try:
        for name, samples, subset, split, cache in todo:

            def predict(db: str, q: str, k: int = samples) -> str:
                verdict, cands = answer(
                    gen,
                    ctxs[db],
                    q,
                    samples=k,
                    temperature=0.8 if k > 1 else 0.0,
                    min_votes=MinVotes(1),
                    seed=0,
                )
                fallback = cands[0].program if cands else ""
                # greedy: the LLM's answer as is; self-consistency: the vote, else a sample
                return fallback if k == 1 else (verdict.program or fallback)

            res = evaluate(predict, subset, db_paths, label=name)
            row = {"name": name, **res["summary"], **base, "records": res["records"]}
            row["measured_at"] = time.strftime("%Y-%m-%d %H:%M")
            cache.parent.mkdir(parents=True, exist_ok=True)
            cache.write_text(json.dumps(row, indent=2))
            rows.append(row | {"split": split})
    finally:
        gen.close()
    return _held_out_joined(rows)


def _held_out_joined(rows: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """Each held-out run as two columns of its dev row."""
    dev = [r for r in rows if r["split"] == "dev"]
    for extra in (r for r in rows if r["split"] != "dev"):
        for r in dev:
            if r["name"] == extra["name"]:
                r["exec_acc_train"] = extra["exec_acc"]
                r["exact_match_train"] = extra["exact_match"]
    return [{k: v for k, v in r.items() if k != "split"} for r in dev]


class Source(NamedTuple):
    """One of the SymGen row's data sources."""

    questions_from: str  # symgen generate --questions-from
    templates: tuple[str, ...]  # only these grammar templates (programs)
    file: str  # under benchmarks/generated/<generator>/
    count_flag: str  # the flag (args attribute) that sets how many questions
    describe_results: bool = False  # programs described with their results


COMPOUND = ("superlative", "nested", "extreme", "ranking", "count")
# The first program-first files were generated before the describer saw results (and are pinned
# to that); the `*_results` ones describe the same sampled programs with them.
SOURCES = {
    "llm": Source("llm", (), "geoquery.symgen.jsonl", "symgen_questions"),
    "programs": Source("programs", (), "geoquery.programs.jsonl", "program_questions"),
    "attribute": Source(
        "programs", ("attribute",), "geoquery.attribute.jsonl", "attribute_questions"
    ),
    "compound": Source("programs", COMPOUND, "geoquery.compound.jsonl", "compound_questions"),
    "attribute_results": Source(
        "programs",
        ("attribute",),
        "geoquery.attribute.results.jsonl",
        "attribute_results_questions",
        describe_results=True,
    ),
    "compound_results": Source(
        "programs",
        COMPOUND,
        "geoquery.compound.results.jsonl",
        "compound_results_questions",
        describe_results=True,
    ),
    "paraphrases": Source("paraphrases", (), "geoquery.paraphrases.jsonl", "paraphrase_questions"),
}
EXTRA_SOURCES = ("attribute", "compound", "attribute_results", "compound_results")


def generate(
    args: argparse.Namespace,
    db: Path,
    seeds: Path,
    out: Path,
    source: str,
    paraphrase_from: Path | None = None,
) -> Path:
    """One resumable `symgen generate` run on `db` from `seeds` into `out`: the paper's gen-q
    (`llm`, --symgen-questions), program-first (`programs`, --program-questions), program-first
    on the attribute template only (`attribute`, --attribute-questions), on the templates of
    superlatives, nesting, rankings and counts (`compound`, --compound-questions), or rewrites
    of the pairs in `paraphrase_from` (`paraphrases`, --paraphrase-questions); the `*_results`
    sources are the attribute and compound ones described with each program's result."""
    spec = SOURCES[source]
    programs = spec.questions_from in ("programs", "paraphrases")
    stats = run_generate(
        db_path=db,
        seeds_path=seeds,
        out_path=out,
        open_gen=lambda: open_generator(args.generator, n_threads=gen_threads(args)),
        n_questions=getattr(args, spec.count_flag),
        qcfg=QuestionGenConfig(
            source=spec.questions_from,
            templates=spec.templates,
            describe_results=spec.describe_results,
        ),
        acfg=AnswerGenConfig(samples=PROGRAM_FIRST_SAMPLES) if programs else AnswerGenConfig(),
        vcfg=VerifyConfig(min_votes=PROGRAM_FIRST_MIN_VOTES)
        if programs
        else VerifyConfig(min_votes=REVIEWER_MIN_VOTES)
        if args.reviewer
        else VerifyConfig(),
        seed=0,
        paraphrase_from=paraphrase_from,
        answerer=ReviewedAnswerer(MIN_PMI) if args.reviewer and not programs else None,
    )
    print(f"SymGen data ({source}) on {db.stem}: {json.dumps(stats.as_dict())}")
    return out


def first_questions(out: Path, n: int, work: Path) -> Path:
    """The kept pairs of `out` whose question is among its first `n` generated ones, so a row's
    command names its data even after a later run extended the same file."""
    questions = read_jsonl(out.with_name(out.stem + ".questions.jsonl"), ("question",))
    first = {question_key(q["question"]) for q in questions[:n]}
    kept = [r for r in read_jsonl(out) if question_key(r["question"]) in first]
    path = work / f"{out.stem}.first{n}.jsonl"
    write_jsonl(path, kept)
    return path


def symgen_data(args: argparse.Namespace, db: Path, seeds: Path, work: Path) -> list[Path]:
    """The SymGen row's training files: the generated pairs (--questions-from) and the seeds,
    value-swapped into one file when `--augment N` asks (as `symgen demo` does)."""
    sources = ["llm", "programs"] if args.questions_from == "both" else [args.questions_from]
    sources += [s for s in EXTRA_SOURCES if getattr(args, SOURCES[s].count_flag, 0)]
    names = {s: spec.file for s, spec in SOURCES.items()}
    if args.reviewer:
        names["llm"] = "geoquery.symgen.reviewed.jsonl"
    store, work = generated_dir(DATA, args.generator), generated_dir(work, args.generator)
    outs = [
        first_questions(
            generate(args, db, seeds, store / names[s], s),
            getattr(args, SOURCES[s].count_flag),
            work,
        )
        for s in sources
    ]
    if getattr(args, "paraphrase_questions", 0):
        # every kept pair so far and the seeds, in a fixed shuffled order, so a budget of
        # rewrites covers all sources alike
        pairs = [r for out in outs for r in read_jsonl(out)] + read_jsonl(seeds)
        random.Random(0).shuffle(pairs)
        from_path = work / "geoquery.paraphrase_sources.jsonl"
        write_jsonl(from_path, [{"question": r["question"], "query": r["query"]} for r in pairs])
        out = generate(args, db, seeds, store / names["paraphrases"], "paraphrases", from_path)
        outs.append(first_questions(out, args.paraphrase_questions, work))
    seed_pairs = [(r["question"], r["query"]) for r in read_jsonl(seeds)]
    unstated = 0
    for i, out in enumerate(outs):
        # data generated before the verifier refused unstated numbers gets the same rule here
        kept, dropped = drop_unstated(read_jsonl(out), seed_pairs)
        if dropped:
            outs[i] = out.with_name(f"{out.stem}.stated.jsonl")
            write_jsonl(outs[i], kept)
            unstated += dropped
    print(f"unstated numbers: {unstated} generated pairs dropped")
    parts = list(outs)  # both kinds compose the verified pairs, not each other's output
    if getattr(args, "composition_questions", 0):
        outs.append(compose(args, db, seeds, parts, store, work))
    if getattr(args, "restriction_questions", 0):
        outs.append(compose(args, db, seeds, parts, store, work, kind="restrict"))
    pseudo = [Path(p) for p in getattr(args, "pseudo_labels", "").split(",") if p]
    for path in pseudo:  # `symgen lab label` output: the task models' agreed answers (transfer set)
        kept, dropped = drop_unstated(read_jsonl(path), seed_pairs)
        outs.append(work / f"{path.stem}.stated.jsonl")
        write_jsonl(outs[-1], kept)
        print(f"{path}: {len(kept)} pseudo-labelled pairs, {dropped} with unstated numbers dropped")
    if not args.augment:
        return [*outs, seeds]
    records = [r for out in outs for r in read_jsonl(out)] + read_jsonl(seeds)
    with open_database(db) as database:
        aug: AugmentStats
        if getattr(args, "flip", False):
            records, aug = with_flips(records, database, per_pair=args.augment, seed=0)
        else:
            records, aug = with_augmented(records, database, per_pair=args.augment, seed=0)
    reviewed = ".reviewed" if args.reviewer else ""
    programs = "".join(f".{s}" for s in EXTRA_SOURCES if s in sources)
    para = ".para" if getattr(args, "paraphrase_questions", 0) else ""
    para += (
        f".comp{args.composition_questions}" if getattr(args, "composition_questions", 0) else ""
    )
    para += (
        f".restr{args.restriction_questions}" if getattr(args, "restriction_questions", 0) else ""
    )
    flip = ".flip" if getattr(args, "flip", False) else ""
    labels = "".join(f".{p.stem}" for p in pseudo)
    path = (
        work
        / f"geoquery.{args.questions_from}{reviewed}{programs}{para}{flip}{labels}.aug{args.augment}.jsonl"
    )
    write_jsonl(path, records)
    print(f"value-swapped: {aug}, {len(records)} pairs in {path}")
    return [path]


def gen_threads(args: argparse.Namespace) -> int:
    threads: int = getattr(args, "generator_threads", None) or args.threads
    return threads


def compose(
    args: argparse.Namespace,
    db: Path,
    seeds: Path,
    outs: list[Path],
    store: Path,
    work: Path,
    kind: str = "replace",
) -> Path:
    """Nested pairs composed from the kept ones (`symgen lab compose`): one pair's answer replaces
    a value another pair's question names (--composition-questions), or narrows a whole-table
    superlative to the rows it names (--restriction-questions); the first N kept."""
    restrict = kind == "restrict"
    n = args.restriction_questions if restrict else args.composition_questions
    out = store / ("geoquery.restrictions.jsonl" if restrict else "geoquery.compositions.jsonl")
    outcome = run_compose(
        db_path=db,
        seeds_path=seeds,
        pairs_paths=outs,
        out_path=out,
        open_gen=lambda: open_generator(args.generator, n_threads=gen_threads(args)),
        n_questions=n,
        kinds=(kind,),
    )
    print(f"SymGen data ({out.stem}) on {db.stem}: {json.dumps(dict(outcome))}")
    path = work / f"{out.stem}.first{n}.jsonl"
    write_jsonl(path, read_jsonl(out)[:n])
    return path


def human_subset(geo: Path, n: int) -> Path:
    rows = [json.loads(line) for line in (geo / "train.jsonl").read_text().splitlines() if line]
    random.Random(0).shuffle(rows)
    path = WORK / f"human_{n}.jsonl"
    write_jsonl(path, rows[:n])
    return path


def train_config(n_pairs: int, args: argparse.Namespace) -> TrainConfig:
    """The architecture's epochs, clamped so every row trains [min_steps, max_steps] steps."""
    arch = get_arch(args.arch)
    per_epoch = math.ceil(n_pairs / arch.batch_size)
    steps = min(args.max_steps, max(args.min_steps, per_epoch * arch.epochs))
    return TrainConfig(
        arch=args.arch,
        epochs=math.ceil(steps / per_epoch),
        max_steps=steps,
        max_minutes=getattr(args, "max_minutes", None),
        threads=getattr(args, "threads", None),
        seed=getattr(args, "seed", 0),
        dropout=getattr(args, "dropout", 0.0),
        ema_decay=getattr(args, "ema_decay", None),
        label_smoothing=getattr(args, "label_smoothing", 0.0),
    )


def teacher_loss(args: argparse.Namespace) -> TeacherLoss | None:
    """`--teachers`' distillation term for the training loop, or None without teachers."""
    teachers = [t for t in getattr(args, "teachers", "").split(",") if t]
    if not teachers:
        return None
    return TeacherLoss(
        teachers, getattr(args, "distill_weight", 0.5), getattr(args, "distill_temperature", 2.0)
    )


def held_out_items(geo: Path, seeds: Path) -> list[Item]:
    """GeoQuery train without the seeds' questions: ~590 human questions the SymGen row never
    trains on: twice as many as dev, so data choices can be read here instead of tuned on dev
    (two training seeds of the main table's data: 56.8 / 52.9% on dev, 60.8 / 60.2% here)."""
    seen = {question_key(r["question"]) for r in read_jsonl(seeds)}
    return [
        i
        for i in read_items(geo / "train.jsonl", "geography")
        if question_key(i.question) not in seen
    ]


def task_row(
    name: str,
    data: list[Path],
    db_paths: list[Path],
    items: list[Item],
    args: argparse.Namespace,
    work: Path = WORK,
    held_out: list[Item] | None = None,
) -> dict[str, Any]:
    """Train (resumable), export int8 ONNX and evaluate one task model through the engine, as
    the editor runs it (`evaluate_in_fresh_process`); also on `held_out` when given. With
    `--ensemble-steps A,B`, one model per value (at most that many steps, seed `--seed` + i),
    joined by `symgen lab ensemble`; the first is the row's usual run."""
    n_pairs = sum(len(read_jsonl(p)) for p in data)
    steps = ensemble_steps(args)
    k = len(steps)
    members = [name] + [f"{name}.seed{args.seed + i}.cap{steps[i]}" for i in range(1, k)]
    metas, manifests = [], []
    for i, member in enumerate(members):
        run_dir, onnx_dir = work / "runs" / member, work / "onnx" / member
        own = argparse.Namespace(**vars(args) | {"max_steps": steps[i], "seed": args.seed + i})
        config = train_config(n_pairs, own)
        metas.append(train(data, db_paths, run_dir, config, extra_loss=teacher_loss(own)))
        manifests.append(export(run_dir, onnx_dir, int8=True, name=member))
    manifest = manifests[0]
    if k > 1:
        onnx_dir = work / "onnx" / f"{name}.ensemble{k}"
        manifest = make_ensemble([work / "onnx" / m for m in members], onnx_dir, name=name)
    agreements = [m["int8_agreement"] for m in manifests if m.get("int8_agreement") is not None]

    def score(questions: list[Item]) -> dict[str, Any]:
        return evaluate_in_fresh_process(
            onnx_dir,
            questions,
            db_paths,
            beams=args.beams,
            decode=args.decode,
            execution_guided=args.guided,
            ground_literals=getattr(args, "ground_literals", "prefer"),
        )

    res = score(items)
    extra: dict[str, Any] = {}
    if held_out:
        summary = score(held_out)["summary"]
        extra = {"exec_acc_train": summary["exec_acc"], "exact_match_train": summary["exact_match"]}
    return {
        "name": name,
        **res["summary"],
        **extra,
        "records": res["records"],
        "params": sum(m["params"] for m in metas),
        "mb": manifest["mb_on_disk"],
        "train_minutes": round(sum(m["train_minutes"] for m in metas), 2),
        "train_pairs": metas[0]["examples"],
        "int8_default": manifest["default_int8"],
        "int8_agreement": min(agreements) if len(agreements) == k else None,
        **({"ensemble": k} if k > 1 else {}),
    }


def ensemble_steps(args: argparse.Namespace) -> list[int]:
    """Each member's step cap: `--ensemble-steps`, else the one model `--max-steps` trains."""
    spec = getattr(args, "ensemble_steps", "")
    if not spec:
        return [args.max_steps]
    try:
        steps = [int(x) for x in spec.split(",")]
    except ValueError:
        raise SystemExit(f"--ensemble-steps {spec!r}: comma-separated step counts") from None
    if len(steps) < 2 or min(steps) < 1:
        raise SystemExit(f"--ensemble-steps {spec!r}: two or more positive step counts")
    return steps


def score_prefix(rows: list[dict[str, Any]], n_sc: int) -> int:
    """Self-consistency may run on a prefix of dev only: score every row on that prefix too
    (and drop the per-question records from the rows)."""
    for row in rows:
        records = row.pop("records", None) or []
        if len(records) >= n_sc:
            row[f"exec_acc_first{n_sc}"] = sum(r["exec"] for r in records[:n_sc]) / n_sc
        elif row.get("n") == n_sc:
            row[f"exec_acc_first{n_sc}"] = row["exec_acc"]
    return n_sc


def chart(rows: list[dict[str, Any]], path: Path, what: str = "GeoQuery dev") -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, (ax1, ax2) = plt.subplots(1, 2, figsize=(11, 4))
    names = [r["name"] + (f" (first {r['n']})" if r["n"] != rows[0]["n"] else "") for r in rows]
    colors = ["#999999" if n.startswith("llm") else "#2a7ab9" for n in names]
    ax1.barh(names, [100 * r["exec_acc"] for r in rows], color=colors)
    ax1.set_xlabel(f"execution accuracy on {what} (%)")
    ax1.invert_yaxis()
    ax2.barh(names, [r["latency_p50_ms"] for r in rows], color=colors)
    ax2.set_xscale("log")
    ax2.set_xlabel("latency p50 per question (ms, log scale)")
    ax2.invert_yaxis()
    ax2.set_yticklabels([])
    fig.tight_layout()
    fig.savefig(path, dpi=110)


def build_parser() -> argparse.ArgumentParser:
    ap = argparse.ArgumentParser(
        prog="python -m benchmarks.paper",
        description=__doc__,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    add_recipe_arg(ap)
    add_report_arg(ap, "benchmarks/reports/paper.md and README.md")
    ap.add_argument("--generator", default="qwen2.5-coder-0.5b")
    ap.add_argument("--symgen-questions", type=int, default=600)
    ap.add_argument("--sc-samples", type=int, default=8)
    ap.add_argument(
        "--sc-limit", type=int, default=0, help="self-consistency on first N dev (0 = all)"
    )
    ap.add_argument("--dev-limit", type=int, default=0, help="first N dev questions (0 = all 280)")
    ap.add_argument("--arch", default="tiny")
    ap.add_argument("--min-steps", type=int, default=400, help="training steps, at least")
    ap.add_argument("--max-steps", type=int, default=1500, help="training steps, at most")
    ap.add_argument("--beams", type=int, default=4)
    ap.add_argument("--decode", choices=("greedy-fallback", "beam"), default="greedy-fallback")
    ap.add_argument("--threads", type=int, default=2)
    ap.add_argument(
        "--generator-threads",
        type=int,
        help="threads of the generator LLM (default: --threads; task models keep --threads)",
    )
    ap.add_argument(
        "--guided",
        action=argparse.BooleanOptionalAction,
        default=False,
        help="score task rows with execution guidance (off by default, as in the editor)",
    )
    ap.add_argument(
        "--ground-literals",
        choices=GROUNDING,
        default="prefer",
        help="task rows' quoted values from the question (symgen eval --ground-literals)",
    )
    ap.add_argument("--rows", default="", help="comma-separated row names (default: all)")
    ap.add_argument(
        "--questions-from",
        choices=("llm", "programs", "both"),
        default="llm",
        help="SymGen row's data: the paper's gen-q, program-first gen-q, or both together",
    )
    ap.add_argument(
        "--program-questions", type=int, default=1000, help="program-first questions to generate"
    )
    ap.add_argument(
        "--paraphrase-questions",
        type=int,
        default=0,
        help="rewrites of the SymGen row's kept pairs and seeds, each checked against its pair's "
        "SQL (symgen generate --questions-from paraphrases); 0: none",
    )
    ap.add_argument(
        "--attribute-questions",
        type=int,
        default=0,
        help="also program-first questions on the attribute template only ('how long is the "
        "ohio river'), added to the SymGen row's data (0: none)",
    )
    ap.add_argument(
        "--compound-questions",
        type=int,
        default=0,
        help="also program-first questions on the superlative, nested, extreme, ranking and "
        "count templates ('the capital of the state with the largest population'), added to "
        "the SymGen row's data (0: none)",
    )
    for kind in ("attribute", "compound"):
        ap.add_argument(
            f"--{kind}-results-questions",
            type=int,
            default=0,
            help=f"also --{kind}-questions' templates described with each program's result "
            "(`symgen generate --describe-results on`; the same sampled programs first), added "
            "to the SymGen row's data (0: none)",
        )
    ap.add_argument(
        "--composition-questions",
        type=int,
        default=0,
        help="also nested pairs composed from the SymGen row's kept pairs and seeds (one "
        "pair's answer replacing a value another's question names; symgen compose), 0: none",
    )
    ap.add_argument(
        "--restriction-questions",
        type=int,
        default=0,
        help="also nested superlatives composed from the kept pairs and seeds (a whole-table "
        "superlative taken over the rows another pair's answer names: 'the largest state "
        "bordering texas'; symgen compose --kind restrict), 0: none",
    )
    ap.add_argument("--augment", type=int, default=0, help="value swaps per SymGen pair (0: off)")
    ap.add_argument(
        "--flip",
        action=argparse.BooleanOptionalAction,
        default=False,
        help="with --augment: also each SymGen pair's direction flip ('largest'/max → "
        "'smallest'/min; symgen augment --flip)",
    )
    ap.add_argument(
        "--reviewer",
        action=argparse.BooleanOptionalAction,
        default=False,
        help="gen-q pairs kept by `symgen generate --reviewer` (own data file)",
    )
    ap.add_argument("--max-minutes", type=float, help="cap on each task model's training")
    ap.add_argument("--seed", type=int, default=0, help="task models' training seed")
    ap.add_argument(
        "--ensemble-steps",
        default="",
        help="each task row: one model per comma-separated step cap (seeds seed, seed+1, ...; "
        "replaces --max-steps), decoded as one (`symgen lab ensemble`)",
    )
    ap.add_argument("--dropout", type=float, default=0.0, help="task models' residual dropout")
    ap.add_argument(
        "--label-smoothing", type=float, default=0.0, help="task models' label smoothing"
    )
    ap.add_argument("--ema-decay", type=float, help="task models' weight average (symgen train)")
    ap.add_argument(
        "--teachers",
        default="",
        help="each task row: distil from these finished `symgen train` runs on the same data "
        "(comma-separated run directories; symgen train --teacher)",
    )
    ap.add_argument(
        "--pseudo-labels",
        default="",
        help="SymGen row: also train on these `symgen lab label` outputs (comma-separated JSONL; "
        "value-swapped with the rest under --augment)",
    )
    ap.add_argument("--distill-weight", type=float, default=0.5, help="with --teacher")
    ap.add_argument("--distill-temperature", type=float, default=2.0, help="with --teacher")
    ap.add_argument("--tag", default="", help="write geoquery_<tag> and paper_<tag>.md/png")
    ap.add_argument(
        "--held-out-train",
        action=argparse.BooleanOptionalAction,
        default=False,
        help=f"also score {', '.join(HELD_OUT_ROWS)} on GeoQuery train without the seeds",
    )
    return ap


SYMGEN_ROW = "task_symgen_10seeds"
FULL = ("exec_acc", "exact_match")  # over every question: only rows that answered all
LABELS = {  # the report's row names
    "llm_10shot_greedy": "LLM 10-shot, greedy",
    "llm_10shot_selfconsistency": "LLM 10-shot, self-consistency ({sc_samples})",
    "task_symgen_10seeds": "task model on SymGen data from the 10 seeds",
    "task_seeds_only": "task model on the 10 seeds alone",
    "task_human_100": "task model on 100 human pairs",
    "task_human_600": "task model on all 600 human pairs",
}


def recorded_args(command: str) -> argparse.Namespace:
    """The options of a command recorded in paper.json, as this parser reads them."""
    return build_parser().parse_args(shlex.split(command)[3:])


def results_table(
    rows: list[dict[str, Any]], labels: dict[str, str] = LABELS, **fields: Any
) -> str:
    """The report's table of paper.json rows: a row's accuracy over all questions only when it
    answered all of them (self-consistency may run on the first N), formatted for reading; in
    bold, the better of the generator's rows and the SymGen row on each accuracy and on p50."""
    n = max(r["n"] for r in rows)
    first = sorted({k for r in rows for k in r if k.startswith("exec_acc_first")})
    first = [k for k in first if k != f"exec_acc_first{n}"]
    held_out = any("exec_acc_train" in r for r in rows)
    compared = [r for r in rows if r["name"].startswith("llm") or r["name"] == SYMGEN_ROW]
    compared = compared if len(compared) > 1 else []

    def cell(r: dict[str, Any], key: str, text: str, lowest: bool = False) -> str:
        values = [
            c[key] for c in compared if c.get(key) is not None and (c["n"] == n or key not in FULL)
        ]
        best = (min if lowest else max)(values, default=None)
        return f"**{text}**" if r in compared and best is not None and r.get(key) == best else text

    header = ["row", f"exec acc ({n})", "exact"]
    header += [f"exec acc (first {k.removeprefix('exec_acc_first')})" for k in first]
    header += ["held-out exec", "held-out exact"] if held_out else []
    header += ["params", "MB", "latency p50 / p95 (ms)", "train min", "train pairs"]
    cells = []
    for r in rows:
        full = r["n"] == n
        line = [labels.get(r["name"], r["name"]).format(**fields)]
        for key in FULL:
            line.append(cell(r, key, pct(r[key])) if full else DASH)
        line += [cell(r, k, pct(r.get(k))) for k in first]
        if held_out:
            line += [cell(r, k, pct(r.get(k))) for k in ("exec_acc_train", "exact_match_train")]
        latency = f"{ms(r['latency_p50_ms'])} / {ms(r['latency_p95_ms'])}"
        line += [
            params(r["params"]),
            num(r["mb"], 0 if r["mb"] >= 1000 else 1),
            cell(r, "latency_p50_ms", latency, lowest=True),
            num(r["train_minutes"], 1) if r["train_minutes"] else DASH,
            num(r["train_pairs"]),
        ]
        cells.append(line)
    return table(header, cells)


def main_table() -> str:
    """The main table (paper.json's untagged run) as the report and the README show it."""
    result = read_result("paper", "paper")
    return results_table(result["geoquery"], sc_samples=recorded_args(result["command"]).sc_samples)


def report_tables() -> list[ReportTable]:
    """The tables this script writes: (report, marker, table from the results JSON)."""
    return [(REPORTS / "paper.md", "paper", main_table), (ROOT / "README.md", "paper", main_table)]


def report() -> None:
    write_report(report_tables())


def main() -> None:
    args = parse_args(build_parser())
    if args.report_only:
        report()
        return
    stop_like_ctrl_c()  # Ctrl-C or `kill`, even in a background job: generation state is saved

    geo = shared_data() / "geoquery"
    WORK.mkdir(parents=True, exist_ok=True)
    items = read_items(geo / "dev.jsonl", "geography")[: args.dev_limit or None]
    started = time.time()
    rows: list[dict[str, Any]] = []
    wanted = set(args.rows.split(",")) if args.rows else set(ROWS)
    if unknown := wanted - set(ROWS):
        raise SystemExit(f"unknown rows {sorted(unknown)}; choose from {', '.join(ROWS)}")
    db, seeds = geo / "geography.sqlite", geo / "seed_10.jsonl"
    work = WORK / args.tag if args.tag else WORK

    def symgen_rows() -> list[Path]:
        return symgen_data(args, db, seeds, WORK)

    data: dict[str, Callable[[], list[Path]]] = {
        "task_symgen_10seeds": symgen_rows,
        "task_seeds_only": lambda: [seeds],
        "task_human_100": lambda: [human_subset(geo, 100)],
        "task_human_600": lambda: [geo / "train.jsonl"],
    }

    def contexts() -> dict[str, SqlContext]:
        return {"geography": build_context(db, read_pairs(seeds))}

    held_out = held_out_items(geo, seeds) if args.held_out_train else None
    if wanted & {"llm_10shot_greedy", "llm_10shot_selfconsistency"}:
        rows += llm_rows(args, contexts, items, {"geography": db}, wanted, held_out=held_out)
    for name, files in data.items():
        if name in wanted:
            unseen = held_out if name in HELD_OUT_ROWS else None
            rows.append(task_row(name, files(), [db], items, args, work=work, held_out=unseen))
    rows.sort(key=lambda r: ROWS.index(r["name"]))
    n_sc = score_prefix(rows, min(len(items), args.sc_limit or len(items)))
    print(
        f"\nGeoQuery dev ({len(items)} questions), generator {args.generator}, task arch {args.arch}"
    )
    columns = [*COLUMNS[:3], f"exec_acc_first{n_sc}", *COLUMNS[3:]]
    if held_out:
        columns[4:4] = ["exec_acc_train", "exact_match_train"]
    rows_md = markdown_table(rows, columns)
    print(rows_md)
    cmd = command_line("benchmarks.paper", args)
    suffix = f"_{args.tag}" if args.tag else ""
    minutes = round((time.time() - started) / 60, 1)
    setting = {  # what made the rows: the generator named, as the comparison needs
        "generator": args.generator,
        "arch": args.arch,
        "augment": args.augment,
        "flip": args.flip,
        "questions_from": args.questions_from,
        "execution_guided": args.guided,
        "ground_literals": args.ground_literals,
        "seed": args.seed,
        "ensemble_steps": args.ensemble_steps,
        "dropout": args.dropout,
        "label_smoothing": args.label_smoothing,
        "ema_decay": args.ema_decay,
        "teachers": args.teachers.split(",") if args.teachers else [],
        "pseudo_labels": args.pseudo_labels.split(",") if args.pseudo_labels else [],
        "distill_weight": args.distill_weight if args.teachers else None,
        "distill_temperature": args.distill_temperature if args.teachers else None,
    }
    payload = {f"geoquery{suffix}": rows, f"geoquery{suffix}_setting": setting}
    if args.tag:
        merge_result("paper", "paper", payload | {f"geoquery{suffix}_command": cmd})
    else:
        merge_result("paper", "paper", payload | {"command": cmd, "minutes": minutes})
    (OUT / f"paper{suffix}.md").write_text(f"`{cmd}`\n\n{rows_md}\n")
    chart(rows, OUT / f"paper{suffix}.png")
    print(f"\nwrote {OUT / 'paper.json'}, paper{suffix}.md, paper{suffix}.png")
    report()


if __name__ == "__main__":
    main()
