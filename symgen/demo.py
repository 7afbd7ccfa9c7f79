"""`symgen demo`: the newcomer's main job on the bundled GeoQuery demo database.

Runs the whole loop from the 10 human seeds: LLM generation with the agreement verifier,
value-swap augmentation of the verified pairs (symgen.tasks.sql.augment), training a small task model, ONNX
export, and a side-by-side comparison with the generator LLM on GeoQuery dev questions. Budgeted
for ~20 minutes on 2 cores — generation by time (`--generate-minutes`, 12 by default), so a
slower CPU answers fewer questions rather than running long; resumable at every stage (a rerun
answers the questions a budget left).
"""

from __future__ import annotations

import json
import os
from pathlib import Path
from typing import Any

from symgen.config import AnswerGenConfig, QuestionGenConfig, VerifyConfig
from symgen.databases.base import open_database
from symgen.dataset import read_jsonl, write_jsonl
from symgen.errors import MissingResource
from symgen.generate.run import run_generate
from symgen.generators.base import open_generator
from symgen.generators.registry import generated_dir
from symgen.progress import bar as progress_bar
from symgen.tasks.sql.augment import with_augmented
from symgen.train.data import data_hash

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
    questions: int,
    generator: str,
    threads: int | None,
    train_minutes: float = 4.0,
    generate_minutes: float | None = 12.0,
    compare: int = 100,
    augment_per_pair: int = 8,
) -> int:
    """generate → verify → train → export → eval; every stage resumes or reuses finished work."""
    geo = demo_data_dir(data)
    db, seeds = geo / "geography.sqlite", geo / "seed_10.jsonl"
    out = generated_dir(out_dir, generator) / "geoquery.symgen.jsonl"
    print(f"SymGen demo on {db}: {questions} questions from the 10 seed pairs in {seeds.name}")
    print(f"work dir: {out_dir} (rerun to resume)\n")

    print("[1/4] generate + verify with the local LLM")
    stats = run_generate(
        db_path=db,
        seeds_path=seeds,
        out_path=out,
        open_gen=lambda: open_generator(generator, n_threads=threads),
        n_questions=questions,
        qcfg=QuestionGenConfig(),
        acfg=AnswerGenConfig(),
        vcfg=VerifyConfig(),
        max_minutes=generate_minutes,
    )
    kept = read_jsonl(out) if out.exists() else []
    print(f"    {len(kept)} execution-verified pairs ({json.dumps(stats.as_dict())})")
    for pair in kept[:3]:
        print(
            f"      Q: {pair['question']}\n      SQL: {pair['query']}  [{pair['votes']}/{pair['n_samples']} votes]"
        )

    # Swap the values each verified pair names for other values of the same column (each swap
    # executed): the tiny model needs entities to vary before it learns to copy them.
    train_file = out_dir / "geoquery.train.jsonl"
    with open_database(db) as database:
        train_pairs, aug = with_augmented(
            kept + read_jsonl(seeds),
            database,
            per_pair=augment_per_pair,
        )
    write_jsonl(train_file, train_pairs)
    print(
        f"    + {aug.written} value-swapped pairs from {aug.with_slots} of {aug.pairs} "
        f"(verified + seeds), each executed -> {train_file.name}"
    )

    print(f"\n[2/4] train the task model (<= {train_minutes} min)")
    from symgen.train.loop import TrainConfig, train

    # One run per training set: a rerun with more questions trains anew, an unchanged one resumes.
    run_dir = out_dir / "runs" / data_hash([train_file])[:12]
    model_dir = out_dir / "models" / "geoquery"
    with progress_bar(desc="train", unit="step") as bar:

        def progress(step: int, total: int, loss: float) -> None:
            bar.total = total
            bar.update(step - bar.n)
            bar.set_postfix(loss=f"{loss:.3f}")

        meta = train(
            [train_file],
            [db],
            run_dir,
            TrainConfig(max_minutes=train_minutes, threads=threads),
            progress=progress,
        )
    print(
        f"    {meta['params'] / 1e6:.1f}M parameters, {meta['examples']} pairs, {meta['train_minutes']} min"
    )

    print("\n[3/4] export to ONNX (parity-checked, int8 measured)")
    from symgen.export.onnx import export

    manifest = export(run_dir, model_dir, int8=True, name="geoquery-demo")
    print(
        f"    {model_dir}: {manifest['mb_on_disk']} MB, parity {manifest['parity']['max_abs_diff']:.1e}"
    )

    print(f"\n[4/4] compare on the first {compare} GeoQuery dev questions")
    rows = compare_with_generator(geo, model_dir, generator, threads, compare)
    print("\n| model | exec acc | p50 ms | p95 ms |\n|---|---|---|---|")
    for name, s in rows:
        print(f"| {name} | {s['exec_acc']:.1%} | {s['latency_p50_ms']} | {s['latency_p95_ms']} |")
    print(
        "\nUse it in your editor: start the language server with\n"
        f"    symgen-server --model {model_dir} --db {db}\n"
        "or ask it directly:\n"
        f'    symgen complete --model {model_dir} --db {db} "rivers longer than 500 km in texas"'
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
