"""`symgen build`: your database and ~10 examples → a verified, trained, exported, scored model."""

from __future__ import annotations

import argparse
from pathlib import Path
from typing import Any

from symgen.cli.common import DB_HELP, add_generator, open_gen


def add_parser(sub: Any, common: argparse.ArgumentParser) -> None:
    p = sub.add_parser(
        "build",
        parents=[common],
        help="database + seeds -> generated, verified data -> trained, exported, scored model "
        "(the measured recipe, in a time budget)",
    )
    p.add_argument("--db", required=True, help=DB_HELP)
    p.add_argument("--seeds", required=True, help="JSONL seed pairs: question/query, ~10")
    p.add_argument("--out", required=True, help="build directory (rerun with it to resume)")
    p.add_argument(
        "--budget",
        default="30m",
        help="wall time for the whole build: 45, 90m, 2h, 1h30m (default %(default)s); split "
        "between the stages as the printed plan says",
    )
    p.add_argument(
        "--recipe",
        default=None,
        help="a recipe file (default: the shipped symgen/build/recipes/sql.toml)",
    )
    p.add_argument(
        "--eval",
        default=None,
        metavar="PAIRS.jsonl",
        help="your own held-out question/query pairs, scored in the report",
    )
    p.add_argument(
        "--workspace",
        default=".",
        help="the model is installed in WORKSPACE/.symgen/models/NAME, where the editor server "
        "finds it (default: the current directory)",
    )
    p.add_argument("--no-install", action="store_true", help="leave the model in OUT/model only")
    p.add_argument("--name", default=None, help="the model's name (default: DB-symgen)")
    p.add_argument(
        "--seed-dialect", default=None, help="SQL dialect of the seeds (as for generate)"
    )
    p.add_argument("--dry-run", action="store_true", help="print the plan and stop")
    p.add_argument("--quiet", action="store_true", help="no progress bars")
    add_generator(p)
    p.set_defaults(func=run, outputs=[("out", "dir")])


def generator_name(spec: str) -> str:
    """The registry's default by name, so a build started without --generator resumes with it."""
    if spec:
        return spec
    from symgen.generators import registry

    return registry.load_registry()[0]


def run(args: argparse.Namespace) -> int:
    from symgen.build.plan import parse_budget
    from symgen.build.recipe import default_recipe, load_recipe
    from symgen.build.run import run_build

    recipe = load_recipe(args.recipe or default_recipe("sql"))
    budget = parse_budget(args.budget)
    run_build(
        db=args.db,
        seeds_path=Path(args.seeds),
        out=Path(args.out),
        recipe=recipe,
        budget=budget,
        generator=generator_name(args.generator),
        open_gen=open_gen(args),
        threads=args.threads,
        eval_path=Path(args.eval) if args.eval else None,
        workspace=None if args.no_install else Path(args.workspace),
        name=args.name,
        seed_dialect=args.seed_dialect,
        dry_run=args.dry_run,
        progress=not args.quiet,
    )
    return 0
