"""`symgen demo`: the newcomer's main job, `symgen build` on the bundled GeoQuery database.

The build runs the shipped recipe from the 10 human seeds in the demo's budget (generation with
the agreement verifier, value swaps, training, ONNX export, scoring on held-back pairs); the
demo then compares the task model with the generator LLM on GeoQuery dev questions, side by
side in one run. Resumable at every stage: a rerun goes on where it stopped.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

from symgen.errors import MissingResource
from symgen.generators.base import open_generator

BUNDLED = Path(__file__).resolve().parent / "data" / "geoquery"


def demo_data_dir(explicit: str | None = None) -> Path:
    """--data, else $SYMGEN_SHARED_DATA, else the copy bundled in the package (so a plain clone
    or an installed wheel runs the demo with nothing beside it)."""
    if explicit:  # a wrong --data is an error, never a quiet switch to other data
        candidates = [Path(explicit)]
    else:
        env = os.environ.get("SYMGEN_SHARED_DATA")
        candidates = [Path(env), BUNDLED] if env else [BUNDLED]
    for base in candidates:
        for path in (base, base / "geoquery"):
            if (path / "geography.sqlite").is_file() and (path / "seed_10.jsonl").is_file():
                return path
    raise MissingResource(
        "demo data not found: looked for geoquery/geography.sqlite and seed_10.jsonl under "
        + ", ".join(str(c) for c in candidates)
        + "; pass --data DIR or set SYMGEN_SHARED_DATA"
    )


def run_demo(
    *,
    data: str | None,
    out_dir: Path,
    generator: str,
    threads: int | None,
    budget: float = 17.0,
    recipe: Path | None = None,
    compare: int = 100,
    workspace: Path | None = Path("."),
) -> int:
    """build → compare; the build resumes or reuses finished work."""
    from symgen.build.recipe import default_recipe, load_recipe
    from symgen.build.run import run_build

    geo = demo_data_dir(data)
    db, seeds = geo / "geography.sqlite", geo / "seed_10.jsonl"
    print(f"SymGen demo on {db}: symgen build from the 10 seed pairs in {seeds.name}")
    print(f"work dir: {out_dir} (rerun to resume)\n", flush=True)
    run_build(
        db=str(db),
        seeds_path=seeds,
        out=out_dir,
        recipe=load_recipe(recipe or default_recipe("sql")),
        budget=budget,
        generator=generator,
        open_gen=lambda: open_generator(generator, n_threads=threads),
        threads=threads,
        workspace=workspace,
        name="geoquery-demo",
    )
    model_dir = out_dir / "model"
    print(f"\nbuild report: {out_dir / 'report.md'}")
    print(f"\ncompare on the first {compare} GeoQuery dev questions")
    rows = compare_with_generator(geo, model_dir, generator, threads, compare)
    print("\n| model | exec acc | p50 ms | p95 ms |\n|---|---|---|---|")
    for name, s in rows:
        print(f"| {name} | {s['exec_acc']:.1%} | {s['latency_p50_ms']} | {s['latency_p95_ms']} |")
    where = workspace / ".symgen" / "models" / "geoquery-demo" if workspace else model_dir
    print(
        "\nUse it in your editor: start the language server with\n"
        f"    symgen-server --model {where} --db {db}\n"
        "or ask it directly:\n"
        f'    symgen complete --model {where} --db {db} "rivers longer than 500 km in texas"'
    )
    return 0


def compare_with_generator(
    geo: Path, model_dir: Path, generator: str, threads: int | None, n: int
) -> list[tuple[str, dict[str, Any]]]:
    """Task model vs the generator's 10-shot greedy answers on the first `n` dev questions,
    measured one after the other in one run (the machine is noisy; ratios need one run)."""
    from symgen.dataset import read_pairs
    from symgen.engine.manifest import load_manifest
    from symgen.evaluate import evaluate, evaluate_in_fresh_process, read_items
    from symgen.generate.answer import answer
    from symgen.tasks.sql.context import build_context
    from symgen.verify import MinVotes

    db = geo / "geography.sqlite"
    items = read_items(geo / "dev.jsonl", "geography")[:n]
    # as the editor runs it: a fresh process (no torch about), one thread
    print(f"task model on {len(items)} questions (symgen eval, one onnxruntime thread) ...")
    task = evaluate_in_fresh_process(model_dir, items, [db])
    name = load_manifest(model_dir).get("name", model_dir.name)
    ctx = build_context(db, read_pairs(geo / "seed_10.jsonl"))
    gen = open_generator(generator, n_threads=threads)
    gen_name = gen.name  # the registry default's name when --generator was not given
    try:

        def llm(d: str, q: str) -> str:
            _, cands = answer(gen, ctx, q, samples=1, temperature=0.0, min_votes=MinVotes(1))
            return cands[0].program if cands else ""

        base = evaluate(llm, items, {"geography": db}, label="generator LLM")
    finally:
        gen.close()
    return [
        (f"task model ({name})", task["summary"]),
        (f"LLM {gen_name} 10-shot greedy", base["summary"]),
    ]
