"""Would a reviewer score sharpen the verifier? Coder-reviewer reranking, measured on gold.

The verifier keeps the largest group of samples that agree on an execution result. A wrong
majority passes it, and it says nothing about whether the question asks for what the program
does. The reviewer (Zhang et al. 2022, "Coder Reviewer Reranking for Code Generation") scores
the other direction: log p(question | program), the generator reading the program back under the
describe prompt (seeds shown SQL -> question). Here both are measured on the same samples of
GeoQuery train questions, whose gold SQL is known (as `benchmarks/pipeline.py`):

  selection (which answer a question gets), exec accuracy of the pick:
    vote            the verifier's pick: largest group, ties to the summed sample logprob
    coder           the single sample with the highest mean token logprob
    reviewer        the program whose question likelihood is highest
    coder+reviewer  the sum of both (the paper's product of probabilities)
    vote+reviewer   log share of votes + reviewer
  filtering (which pairs become training data), precision at the keep rates of votes >= m,
    for the vote's or the reviewer's pick, ranked by votes or by share+pmi: the log share of
    votes plus the reviewer minus the question's own likelihood under the gen-q prompt (so
    plain, common wording does not pass for agreement with the program)

    python -m benchmarks.reviewer --questions 100
    python -m benchmarks.reviewer --report-only     # the report's tables from the JSON again

Samples, then scores, are cached per question in .symgen/bench/reviewer/ (resumable; each phase
runs over all questions so llama.cpp keeps one prompt prefix cached at a time). Writes
benchmarks/results/reviewer/reviewer_<first>-<last>.json, then the tables of
benchmarks/reports/reviewer.md from the slices it reports (1-100 and 101-200; 1-300).
"""

from __future__ import annotations

import argparse
import math
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

from benchmarks.common import (
    REPORTS,
    ROOT,
    ReportTable,
    add_report_arg,
    markdown_table,
    parse_args,
    pct,
    read_result,
    table,
    write_report,
    write_result,
)
from benchmarks.pipeline import is_correct, train_questions
from symgen.dataset import Pair, read_jsonl, write_jsonl
from symgen.generators.base import open_generator
from symgen.generators.llama import LlamaGenerator
from symgen.lab.reviewer import reviewed_verdict
from symgen.progress import bar
from symgen.tasks.sql.augment import with_augmented
from symgen.tasks.sql.context import SqlContext
from symgen.verify import (
    Candidate,
    MinVotes,
    Verdict,
    execute_candidates,
    verify,
)

WORK = ROOT / ".symgen" / "bench" / "reviewer"
Record = dict[str, Any]


def sample_phase(
    gen: LlamaGenerator,
    ctx: SqlContext,
    items: Sequence[Pair],
    path: Path,
    k: int,
    seed: int,
    first: int = 0,
) -> list[Record]:
    """K samples per question from the answer prompt, as `symgen generate` draws them; the
    i-th train question (from `first`) is sampled with seed + i, whatever the slice."""
    done = {r["question"]: r for r in (read_jsonl(path) if path.exists() else [])}
    for i, item in enumerate(bar(iterable=items, desc="sample", unit="q"), start=first):
        if item.question in done:
            continue
        cands = ctx.candidates(gen, item.question, samples=k, temperature=0.8, seed=seed + i)
        rec = {
            "question": item.question,
            "gold": item.query,
            "samples": [{"program": c.program, "logprob": c.logprob} for c in cands],
        }
        done[item.question] = rec
        write_jsonl(path, list(done.values()))
    return [done[i.question] for i in items]


def group_phase(ctx: SqlContext, rec: Record) -> list[Record]:
    """Distinct runnable programs with their execution group, votes and correctness."""
    cands = [Candidate(s["program"], s["logprob"]) for s in rec["samples"]]
    run = execute_candidates(ctx.task, cands)
    gid = {id(g): i for i, g in enumerate(run.groups.values())}
    right = [is_correct(ctx, g[0].program, rec["gold"]) for g in run.groups.values()]
    return [
        {
            "program": same[0].program.strip(),
            "group": gid[id(group)],
            "group_votes": len(group),
            "group_logprob": sum(c.logprob for c in group),
            "logprob": max(c.logprob for c in same),
            "correct": right[gid[id(group)]],  # one result, one verdict
        }
        for same, group in run.programs()
    ]


def score_phase(
    gen: LlamaGenerator, ctx: SqlContext, records: list[Record], path: Path
) -> list[Record]:
    """Reviewer log p(question | program) per distinct program, and the question's own
    likelihood without it (PMI baselines): under the gen-q prompt, and under the reviewer's own
    prompt with an empty program (which `symgen generate` can score from its cached prefix)."""
    done = {r["question"]: r for r in (read_jsonl(path) if path.exists() else [])}
    todo = [r for r in records if r["question"] not in done]
    for rec in bar(iterable=todo, desc="review", unit="q"):
        programs = group_phase(ctx, rec)
        for p in programs:
            [p["reviewer"]] = gen.score(ctx.describe_prompt(p["program"]), [" " + rec["question"]])
        done[rec["question"]] = {**rec, "programs": programs}
        write_jsonl(path, list(done.values()))
    baselines = {
        "baseline": ctx.question_prompt([d.question for d in ctx.demos]),
        "baseline_nosql": ctx.describe_prompt(""),  # same prompt as the reviewer, no program
    }
    for key, prompt in baselines.items():  # one prompt prefix at a time
        for rec in bar(iterable=list(done.values()), desc=key, unit="q"):
            if key not in rec:
                [rec[key]] = gen.score(prompt, [" " + rec["question"]])
    write_jsonl(path, list(done.values()))
    return [done[r["question"]] for r in records]


# ---- analysis: pure functions over the scored records --------------------------------------
def _share(p: Record, k: int) -> float:
    return math.log(p["group_votes"] / k)


SELECT: dict[str, Callable[[Record, int], Any]] = {
    "vote": lambda p, k: (p["group_votes"], p["group_logprob"]),
    "coder": lambda p, k: p["logprob"],
    "reviewer": lambda p, k: p["reviewer"],
    "coder+reviewer": lambda p, k: p["logprob"] + p["reviewer"],
    "vote+reviewer": lambda p, k: _share(p, k) + p["reviewer"],
}


def pick(rec: Record, key: Callable[[Record, int], Any], k: int) -> Record | None:
    programs = rec["programs"]
    return max(programs, key=lambda p: key(p, k)) if programs else None


def selection_table(records: list[Record], k: int) -> list[Record]:
    n = len(records)
    rows = []
    for name, key in SELECT.items():
        picks = [pick(r, key, k) for r in records]
        rows.append(
            {"selection": name, "exec_acc": sum(bool(p and p["correct"]) for p in picks) / n}
        )
    oracle = sum(any(p["correct"] for p in r["programs"]) for r in records) / n
    rows.append({"selection": "oracle (any sample right)", "exec_acc": oracle})
    return rows


def precision_at(scored: list[tuple[float, bool]], keep: int) -> float | None:
    """Precision of the `keep` best-scored picks."""
    top = sorted(scored, key=lambda s: -s[0])[:keep]
    return sum(ok for _, ok in top) / len(top) if top else None


FILTER: dict[str, Callable[[Record, Record, int], float]] = {
    "votes": lambda r, p, k: p["group_votes"] + 1e-3 * p["group_logprob"],
    "share+reviewer": lambda r, p, k: _share(p, k) + p["reviewer"],
    "share+pmi": lambda r, p, k: _share(p, k) + p["reviewer"] - r["baseline"],
    "share+pmi(nosql)": lambda r, p, k: _share(p, k) + p["reviewer"] - r["baseline_nosql"],
}
# (pick, filter) pairs reported; the first is the verifier as it stands
PLANS = [
    ("vote", "votes"),
    ("vote", "share+pmi"),
    ("reviewer", "votes"),
    ("reviewer", "share+pmi"),
    ("reviewer", "share+pmi(nosql)"),
]


def filter_table(records: list[Record], k: int) -> list[Record]:
    """Precision of the kept pairs at the keep rates the vote thresholds give (votes >= m):
    each plan picks an answer per question, ranks the questions by its filter score and keeps
    as many as the threshold would."""
    votes = [p for p in (pick(r, SELECT["vote"], k) for r in records) if p is not None]
    scored = {}
    for how, filt in PLANS:
        picks = [(r, pick(r, SELECT[how], k)) for r in records]
        scored[f"{how} pick, {filt}"] = [
            (FILTER[filt](r, p, k), bool(p["correct"])) for r, p in picks if p is not None
        ]
    rows = []
    for m in range(1, k + 1):
        keep = sum(p["group_votes"] >= m for p in votes)
        if not keep:
            break
        row: Record = {"min_votes": m, "kept": keep}
        for name, pairs in scored.items():
            row[name] = precision_at(pairs, keep)
        rows.append(row)
    return rows


RULES = [  # (name, min votes, min pmi or None for the plain vote)
    ("vote, min_votes 3 (the default)", 3, None),
    ("vote, min_votes 2", 2, None),
    ("reviewed, min_votes 2, min_pmi 0.5", 2, 0.5),
    ("reviewed, min_votes 2, min_pmi 0", 2, 0.0),
    ("reviewed, min_votes 3, min_pmi 0.5", 3, 0.5),
]


def rule_verdicts(ctx: SqlContext, records: list[Record]) -> dict[str, list[Verdict]]:
    """The verifier's own functions (`verify`, `reviewed_verdict`) on the cached samples and
    scores, per rule: each question's verdict exactly as `symgen generate` would give it."""
    out: dict[str, list[Verdict]] = {}
    for name, m, min_pmi in RULES:
        verdicts = out.setdefault(name, [])
        for rec in records:
            cands = [Candidate(s["program"], s["logprob"]) for s in rec["samples"]]
            if min_pmi is None:
                verdicts.append(verify(ctx.task, cands, MinVotes(m)))
                continue
            scored: dict[str, float] = {p["program"]: p["reviewer"] for p in rec["programs"]}
            verdicts.append(
                reviewed_verdict(
                    ctx.task,
                    cands,
                    MinVotes(m),
                    lambda programs: [scored[p] for p in programs],  # noqa: B023 (used at once)
                    lambda: rec["baseline_nosql"],  # noqa: B023
                    min_pmi,
                )
            )
    return out


def nested(sql: str) -> bool:
    """A subquery: the shape generated data lacks most (README, program-first data)."""
    return sql.lower().count("select") > 1


def rules_table(
    ctx: SqlContext, records: list[Record], verdicts: dict[str, list[Verdict]]
) -> list[Record]:
    """Kept pairs and how many are right, per rule, overall and by the gold SQL's shape: how
    many questions of each shape there are, and how many each rule keeps and gets right."""
    rows = []
    shapes = [nested(r["gold"]) for r in records]
    for name, vs in verdicts.items():
        right = [
            v.kept and is_correct(ctx, v.program, r["gold"])
            for v, r in zip(vs, records, strict=True)
        ]
        row: Record = {"rule": name, "kept": sum(v.kept for v in vs), "right": sum(right)}
        row["precision"] = row["right"] / row["kept"] if row["kept"] else None
        for shape, label in ((True, "nested"), (False, "flat")):
            idx = [i for i, s in enumerate(shapes) if s == shape]
            row[f"{label} (of {len(idx)}) kept/right"] = (
                f"{sum(vs[i].kept for i in idx)} / {sum(right[i] for i in idx)}"
            )
        rows.append(row)
    return rows


def training_sets(
    ctx: SqlContext, records: list[Record], verdicts: dict[str, list[Verdict]]
) -> dict[str, list[Record]]:
    """Pairs to train a task model on, the same questions answered four ways: gold SQL for
    every question (perfect labels, full coverage), the kept answers of the default vote and of
    the reviewer (what `symgen generate` would write), and gold SQL for the questions the vote
    keeps (its coverage, without its wrong labels)."""
    gold = [{"question": r["question"], "query": r["gold"], "db": ctx.db.name} for r in records]
    vote, reviewed = verdicts[RULES[0][0]], verdicts[RULES[2][0]]

    def kept(verdicts: list[Verdict]) -> list[Record]:
        return [
            ctx.record(r["question"], v) for r, v in zip(records, verdicts, strict=True) if v.kept
        ]

    return {
        "gold_all": gold,
        "vote": kept(vote),
        "reviewed": kept(reviewed),
        "vote_questions_gold": [g for g, v in zip(gold, vote, strict=True) if v.kept],
    }


def write_training_sets(
    sets: dict[str, list[Record]], ctx: SqlContext, n: int, augment: int
) -> list[Path]:
    """Each set plus the 10 seeds, value-swapped `augment` times as the SymGen row is, in
    .symgen/bench/reviewer/data/ (train them with `benchmarks.variance --data FILE`)."""
    seeds = [{"question": d.question, "query": d.query, "db": ctx.db.name} for d in ctx.demos]
    paths = []
    for name, pairs in sets.items():
        records, stats = with_augmented([*pairs, *seeds], ctx.db, per_pair=augment, seed=0)
        path = WORK / "data" / f"q{n}_{name}_aug{augment}.jsonl"
        path.parent.mkdir(parents=True, exist_ok=True)
        write_jsonl(path, records)
        print(f"{path}: {len(pairs)} pairs + {len(seeds)} seeds -> {len(records)} ({stats})")
        paths.append(path)
    return paths


SHIPPED = "reviewed, min_votes 2, min_pmi 0.5"  # what `symgen generate --reviewer` keeps
RULE_LABELS = {  # the report's words for each rule
    "vote, min_votes 3 (the default)": "vote, `--min-votes 3` (default)",
    "vote, min_votes 2": "vote, `--min-votes 2`",
    SHIPPED: "**`--reviewer`** (2 votes, PMI ≥ 0.5)",
    "reviewed, min_votes 2, min_pmi 0": "`--reviewer --min-pmi 0`",
    "reviewed, min_votes 3, min_pmi 0.5": "`--reviewer --min-votes 3`",
}


def slices_table(slices: Sequence[str]) -> str:
    """The rules side by side on several question slices (`reviewer_<slice>.json`), the
    shipped rule's precision in bold."""
    results = {
        s: {r["rule"]: r for r in read_result("reviewer", f"reviewer_{s}")["rules"]} for s in slices
    }
    header = ["rule (what `symgen generate` keeps)"]
    for s in slices:
        header += [f"{s.replace('-', '–')}: kept / right", "precision"]
    cells = []
    for rule in results[slices[0]]:
        line = [RULE_LABELS.get(rule, rule)]
        for s in slices:
            r = results[s][rule]
            precision = pct(r["precision"])
            line += [
                f"{r['kept']} / {r['right']}",
                f"**{precision}**" if rule == SHIPPED else precision,
            ]
        cells.append(line)
    return table(header, cells)


def shapes_table(slice_: str) -> str:
    """One slice's rules with the kept pairs split by the gold SQL's shape, the shipped rule's
    right pairs and precision in bold."""
    rows = read_result("reviewer", f"reviewer_{slice_}")["rules"]
    shapes = [k for k in rows[0] if k.endswith(" kept/right")]
    header = [f"rule, questions {slice_.replace('-', '–')}", "kept / right", "precision"]
    header += [
        f"{k.split(' (of ')[0]} gold ({k.split(' (of ')[1].split(')')[0]}): kept / right"
        for k in shapes
    ]
    cells = []
    for r in rows:
        bold = r["rule"] == SHIPPED

        def right(kept: object, ok: object, bold: bool = bold) -> str:
            return f"{kept} / **{ok}**" if bold else f"{kept} / {ok}"

        precision = pct(r["precision"])
        line = [RULE_LABELS.get(r["rule"], r["rule"]), right(r["kept"], r["right"])]
        line += [f"**{precision}**" if bold else precision]
        line += [right(*r[k].split(" / ")) for k in shapes]
        cells.append(line)
    return table(header, cells)


def report_tables() -> list[ReportTable]:
    """The tables this script writes: (report, marker, table from the results JSON)."""
    report = REPORTS / "reviewer.md"
    return [
        (report, "reviewer", lambda: slices_table(["1-100", "101-200"])),
        (report, "reviewer_1-300", lambda: shapes_table("1-300")),
    ]


def build_parser() -> argparse.ArgumentParser:
    ap = argparse.ArgumentParser(
        prog="python -m benchmarks.reviewer",
        description=__doc__,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    add_report_arg(ap, "benchmarks/reports/reviewer.md")
    ap.add_argument("--questions", type=int, default=100)
    ap.add_argument(
        "--offset", type=int, default=0, help="skip this many questions (a held-out slice)"
    )
    ap.add_argument("--samples", type=int, default=8)
    ap.add_argument("--generator", default="qwen2.5-coder-0.5b")
    ap.add_argument("--threads", type=int, default=2)
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument(
        "--write-data",
        action="store_true",
        help="also write training sets of these questions: gold, vote-kept, reviewer-kept",
    )
    ap.add_argument("--augment", type=int, default=8, help="value swaps per pair (--write-data)")
    return ap


def main() -> None:
    args = parse_args(build_parser())
    if args.report_only:
        write_report(report_tables())
        return

    ctx, items = train_questions(args.offset + args.questions, args.seed)
    items = items[args.offset :]
    WORK.mkdir(parents=True, exist_ok=True)
    stem = f"{args.generator}-{args.samples}s-seed{args.seed}"  # more questions extend it
    gen = open_generator(args.generator, n_threads=args.threads)
    assert isinstance(gen, LlamaGenerator), "the reviewer needs llama.cpp's scoring"
    try:
        sampled = sample_phase(
            gen, ctx, items, WORK / f"{stem}.samples.jsonl", args.samples, args.seed, args.offset
        )
        records = score_phase(gen, ctx, sampled, WORK / f"{stem}.scored.jsonl")
    finally:
        gen.close()
    select, filt = selection_table(records, args.samples), filter_table(records, args.samples)
    verdicts = rule_verdicts(ctx, records)
    rules = rules_table(ctx, records, verdicts)
    print(
        f"\nGeoQuery train questions {args.offset + 1}-{args.offset + len(records)}, "
        f"{args.generator}, {args.samples} samples"
    )
    print(markdown_table(select, ["selection", "exec_acc"]))
    print()
    print(markdown_table(filt, ["min_votes", "kept", *(f"{h} pick, {f}" for h, f in PLANS)]))
    print()
    print(markdown_table(rules, list(rules[0])))
    if args.write_data:
        n = args.offset + len(records)
        write_training_sets(training_sets(ctx, records, verdicts), ctx, n, args.augment)
    path = write_result(
        "reviewer",
        f"reviewer_{args.offset + 1}-{args.offset + len(records)}",
        {
            "generator": args.generator,
            "questions": len(records),
            "offset": args.offset,
            "samples": args.samples,
            "selection": select,
            "filtering": filt,
            "rules": rules,
        },
    )
    print(f"wrote {path}")
    write_report(report_tables())


if __name__ == "__main__":
    main()
