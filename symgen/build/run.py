"""`symgen build`: database + seeds → verified data → trained, exported, scored model, in a budget.

Files in the build directory DIR:
  build.json         what the build is and how far each stage got (a rerun resumes from it)
  data/seeds.jsonl   the seeds whose SQL runs (a failing seed is listed and left out)
  data/<stage>.jsonl each generation stage's verified pairs (+ its questions/rejected/run files)
  data/pairs.jsonl, data/held_out.jsonl, data/train.jsonl   training pairs, held-back pairs,
                     training pairs with their value swaps
  train/  model/     the training run and the exported ONNX model
  report.md + *.png  what was built and how good it is
"""

from __future__ import annotations

import hashlib
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

from symgen.build import stages
from symgen.build.plan import allot, check_budget, format_minutes, format_plan
from symgen.build.recipe import Recipe, Stage
from symgen.build.state import BuildState
from symgen.dataset import read_pairs, write_jsonl
from symgen.errors import SymgenError
from symgen.generators.base import Generator

MIN_SEEDS = 3


def check_seeds_file(
    db: str, seeds_path: Path, out: Path, seed_dialect: str | None
) -> tuple[Path, str, str]:
    """Write the seeds that run to `out` and return (it, the database's name, its dialect).
    Failing seeds are listed and left out; fewer than MIN_SEEDS left stops the build (exit 2)."""
    from symgen.databases.base import open_database, public_spec
    from symgen.tasks.sql.context import check_seeds

    seeds = read_pairs(seeds_path)
    with open_database(db) as database:
        good, bad, notes = check_seeds(database, seeds, seed_dialect)
        name, dialect = database.name, database.dialect
    for note in notes:
        stages.log(note)
    for pair, why in bad:
        stages.log(f"seed {pair.id} skipped, its SQL fails on {public_spec(db)}: {why}")
    if len(good) < MIN_SEEDS:
        raise SymgenError(
            f"{seeds_path}: only {len(good)} of {len(seeds)} seeds run on {public_spec(db)} "
            f"(a build needs at least {MIN_SEEDS}); fix the failing ones listed above"
        )
    write_jsonl(out, [{"question": p.question, "query": p.query, "id": p.id} for p in good])
    return out, name, dialect


def identity(db: str, seeds: Path, recipe: Recipe, budget: float, generator: str) -> dict[str, Any]:
    from symgen.databases.base import is_url, public_spec

    return {
        "db": public_spec(db) if is_url(db) else str(Path(db).resolve()),
        "seeds_sha": hashlib.sha256(seeds.read_bytes()).hexdigest()[:16],
        "recipe": recipe.path.name,
        "recipe_sha": recipe.sha[:16],
        "budget_minutes": budget,
        "generator": generator,
    }


def run_build(
    *,
    db: str,
    seeds_path: Path,
    out: Path,
    recipe: Recipe,
    budget: float,
    generator: str,
    open_gen: Callable[[], Generator],
    threads: int | None = None,
    eval_path: Path | None = None,
    workspace: Path | None = None,
    name: str | None = None,
    seed_dialect: str | None = None,
    dry_run: bool = False,
    progress: bool = True,
) -> dict[str, Any]:
    """Run (or resume) the build; returns its record (`build.json`'s stages)."""
    check_budget(recipe, budget)
    state = BuildState.open(out / "build.json", identity(db, seeds_path, recipe, budget, generator))
    if dry_run:
        stages.log(
            format_plan(recipe, budget, allot(recipe, budget, state.used, state.done), state.used)
        )
        return state.stages
    if eval_path is not None:  # read now: a bad file fails before an hour of generation
        from symgen.evaluate import read_items

        read_items(eval_path, None)
    checked, db_name, dialect = check_seeds_file(
        db, seeds_path, out / "data" / "seeds.jsonl", seed_dialect
    )
    b = stages.BuildInputs(
        db=db, db_name=db_name, dialect=dialect, seeds=checked, out=out, recipe=recipe,
        budget=budget, open_gen=open_gen, threads=threads, eval_path=eval_path,
        workspace=workspace, name=name or f"{db_name}-symgen", progress=progress,
    )  # fmt: skip
    if state.done >= {s.name for s in recipe.stages}:
        stages.log(f"{out} is built already: {out / 'report.md'}")
        return state.stages
    plan = allot(recipe, budget, state.used, state.done)
    stages.log(format_plan(recipe, budget, plan, state.used))
    if state.stages:
        stages.log(f"resuming {out}: {', '.join(sorted(state.done)) or 'no stage'} done")
    total = len(recipe.stages)
    for i, s in enumerate(recipe.stages, 1):
        if s.name in state.done:
            continue
        minutes = _minutes_for(recipe, budget, state, s)
        left = budget - sum(state.used.values())
        eta = time.strftime("%H:%M", time.localtime(time.time() + 60 * max(0.0, left)))
        stages.log(
            f"\n[{i}/{total}] {s.name} ({s.run}): {minutes:.1f} min; "
            f"{format_minutes(max(0.0, left))} of the budget left, done by about {eta}"
        )
        if s.share and minutes < s.min_minutes and s.run != "train":
            stages.log(f"    skipped: {minutes:.1f} min left for it, under its {s.min_minutes:g}")
            state.record(s.name, 0.0, True, skipped=True)
            continue
        _run_stage(b, state, s, max(minutes, s.min_minutes) if s.run == "train" else minutes)
    from symgen.build.report import write_report

    report = write_report(b, state)
    stages.log(f"\nbuilt: {b.model_dir}\nreport: {report}")
    return state.stages


def _minutes_for(recipe: Recipe, budget: float, state: BuildState, s: Stage) -> float:
    """A stage's minutes: fixed once it has started (a resumed stage goes on with what is left
    of its part; training's own clock counts across resumes, so it keeps its whole part)."""
    entry = state.stages.get(s.name, {})
    if "allotted" not in entry:
        plan = {a.stage.name: a.minutes for a in allot(recipe, budget, state.used, state.done)}
        entry = state.stages.setdefault(s.name, {})
        entry["allotted"] = round(plan[s.name], 2)
        state.save()
    allotted = float(entry["allotted"])
    return allotted if s.run == "train" else max(0.0, allotted - float(entry.get("minutes", 0.0)))


def _run_stage(b: stages.BuildInputs, state: BuildState, s: Stage, minutes: float) -> None:
    started = time.monotonic()

    def spent() -> float:
        return (time.monotonic() - started) / 60

    try:
        if s.run == "generate":
            probed = bool(state.stages.get(s.name, {}).get("probed"))
            result = stages.generate(b, s, minutes, probed) | {"probed": True}
        else:
            if s.run in ("augment", "train") and "collected" not in state.stages:
                state.stages["collected"] = stages.collect(b) | {"done": True}
                c = state.stages["collected"]
                stages.log(
                    f"    {c['pairs']} verified pairs (seeds included): {c['train']} to train on, "
                    f"{c['held_out']} held back to score the model"
                )
            if s.run == "augment":
                result = stages.augment(b, s)
            elif s.run == "train":
                result = stages.train(b, s, minutes)
            elif s.run == "export":
                result = stages.export(b, s)
            else:
                result = stages.evaluate(b, s)
    except (KeyboardInterrupt, SymgenError):  # what it spent counts; a rerun goes on
        state.record(s.name, spent(), False)
        raise
    state.record(s.name, spent(), True, **result)
    stages.log("    " + _one_line(s, result))


def _one_line(s: Stage, r: dict[str, Any]) -> str:
    if s.run == "generate":
        return f"{r['kept']} verified pairs, {r['rejected']} questions rejected"
    if s.run == "augment":
        return f"{r['swapped']} value swaps -> {r['train_pairs']} training pairs"
    if s.run == "train":
        return f"{r['params'] / 1e6:.1f}M parameters, {r['steps']} steps on {r['examples']} pairs"
    if s.run == "export":
        return f"{r['model']} ({r['mb']} MB)" + (
            f", installed in {r['installed']}" if "installed" in r else ""
        )
    return "; ".join(
        f"{k}: {v['exec_acc']:.1%} exec on {v['n']}, p50 {v['latency_p50_ms']} ms, p95 {v['latency_p95_ms']} ms"
        for k, v in r.items()
    )
