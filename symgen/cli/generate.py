"""`symgen generate`: questions → LLM candidates → verified pairs, budgeted and resumable."""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path
from typing import TYPE_CHECKING, Any

from symgen.cli.common import (
    DB_HELP,
    add_generator,
    add_task,
    expected_outputs,
    open_gen,
)
from symgen.config import (
    PROGRAM_FIRST_MIN_VOTES,
    PROGRAM_FIRST_SAMPLES,
    PYTHON_EXPECTED_OUTPUTS,
    PYTHON_MIN_VOTES,
    PYTHON_SAMPLES,
    AnswerGenConfig,
    QuestionGenConfig,
    VerifyConfig,
    vote_defaults,
)
from symgen.errors import SymgenError
from symgen.tasks.registry import CONTEXT_CLASSES, context_for, task_for

if TYPE_CHECKING:
    from symgen.generate.answer import Answerer


def add_parser(sub: Any, common: argparse.ArgumentParser) -> None:
    gen = sub.add_parser(
        "generate",
        parents=[common],
        help="generate verified (question, program) pairs: SQL, Bash or Python",
    )
    add_arguments(gen)
    gen.set_defaults(func=run, outputs=[("out", "file")])


def add_arguments(gen: argparse.ArgumentParser) -> None:
    """The verb's options, also the base of `symgen lab generate` (which adds the reviewer)."""
    acfg, vcfg = AnswerGenConfig(), VerifyConfig()
    add_task(gen)
    gen.add_argument("--db", default=None, help=DB_HELP + " (--task sql)")
    gen.add_argument(
        "--seed-dialect",
        default=None,
        help="SQL dialect of the seeds (sqlite, postgres, duckdb, ...; sqlglot names); they are "
        "transpiled to the database's. Default: as written if they run, else from SQLite",
    )
    gen.add_argument(
        "--seeds",
        required=True,
        help="JSONL seed pairs: question/query (also nl/command/cmd for bash, MBPP text/code/"
        "test_list for python)",
    )
    gen.add_argument(
        "--out", required=True, help="output JSONL (rerun with the same path to resume)"
    )
    gen.add_argument(
        "--questions", type=int, default=100, help="questions to generate (default 100)"
    )
    gen.add_argument(
        "--questions-from",
        choices=("llm", "programs", "paraphrases", "history"),
        default="llm",
        help="llm: new questions sampled from the seed questions (the paper's gen-q); programs "
        "(--task sql): SQL sampled from a grammar over the whole schema, described by the LLM and "
        "kept when --min-votes of the --samples answers to that question agree with it; "
        "paraphrases (--task sql): the questions of --paraphrase's verified pairs reworded by the "
        "LLM, each checked against its pair's SQL the same way; history (--task bash): the "
        "commands of --history (your shell history), most used first, each described by the "
        "LLM and kept when --min-votes of the answers to that request agree with it",
    )
    gen.add_argument(
        "--history",
        default=None,
        metavar="FILE",
        help="with --questions-from history: a bash, zsh or fish history file, or one command per "
        "line (lines naming a password, token or key are left out); --questions counts requests",
    )
    gen.add_argument(
        "--paraphrase",
        default=None,
        metavar="PAIRS.jsonl",
        help="with --questions-from paraphrases: verified pairs to reword (e.g. an earlier "
        "`symgen generate` output); --questions counts the rewrites",
    )
    gen.add_argument(
        "--paraphrases-per-pair",
        type=int,
        default=QuestionGenConfig.paraphrases_per_pair,
        help=f"rewrites sampled per pair (default {QuestionGenConfig.paraphrases_per_pair})",
    )
    gen.add_argument(
        "--templates",
        default="",
        help="with --questions-from programs: only these grammar templates, comma-separated "
        "(default all; a wrong name lists them)",
    )
    gen.add_argument(
        "--describe-results",
        choices=("on", "off"),
        default="on" if QuestionGenConfig.describe_results else "off",
        help="with --questions-from programs: show the LLM what each SQL returns when it writes "
        "the question (default %(default)s)",
    )
    gen.add_argument(
        "--focus-commands",
        default="",
        metavar="common|pipelines|FILE",
        help="--task bash: each gen-q call asks for requests done with the next command of this "
        "list (`common`: 126 usual GNU/Linux tools; `pipelines`: 91 usual pipelines such as "
        "`du | sort | head`; or a file with one name or `a | b` pipeline per line), so the data "
        "covers more than the seeds' commands (default: off, the seeds alone steer)",
    )
    gen.add_argument(
        "--samples",
        type=int,
        default=None,
        help=f"samples per question (default {acfg.samples}; {PROGRAM_FIRST_SAMPLES} with "
        f"--questions-from programs, {PYTHON_SAMPLES} with --task python)",
    )
    gen.add_argument(
        "--round-size",
        type=int,
        default=acfg.round_size,
        help="adaptive sampling: draw the samples this many at a time and stop once the vote "
        f"is decided (default {acfg.round_size}: all at once)",
    )
    gen.add_argument(
        "--grammar",
        action=argparse.BooleanOptionalAction,
        default=acfg.grammar,
        help="--task sql: sample answers under a grammar of the database's tables and columns, "
        "so no candidate names an unknown one or fails to parse (embedded generator only; "
        f"default {'on' if acfg.grammar else 'off'})",
    )
    gen.add_argument(
        "--max-tokens",
        type=int,
        default=acfg.max_tokens,
        help=f"token limit of one answer (default {acfg.max_tokens}; 0: sized from the seeds' "
        "longest program)",
    )
    gen.add_argument("--temperature", type=float, default=acfg.temperature)
    gen.add_argument(
        "--min-votes",
        default=None,
        help=f"agreeing samples needed: count, fraction or 'all' (default {vcfg.min_votes}; "
        f"{PROGRAM_FIRST_MIN_VOTES} with --questions-from programs, {PYTHON_MIN_VOTES} with "
        "--task python)",
    )
    gen.add_argument(
        "--expected-outputs",
        type=float,
        default=None,
        help="python: share of the outputs the LLM predicted for its test calls that the vote's "
        f"winner must reproduce (default {PYTHON_EXPECTED_OUTPUTS}: all of them; 0: the vote alone)",
    )
    gen.add_argument("--allow-empty", action="store_true", help="let empty results win the vote")
    gen.add_argument(
        "--value-hints",
        action="store_true",
        help="add a `-- Values:` line naming columns that hold values the question mentions",
    )
    gen.add_argument(
        "--max-minutes",
        type=float,
        default=None,
        help="a time budget: questions are written and answered in rounds, and no new one is "
        "started after this many minutes (a rerun resumes)",
    )
    gen.add_argument("--quiet", action="store_true", help="no progress bars")
    add_generator(gen)


def run(args: argparse.Namespace, answerer: Answerer | None = None) -> int:
    """`answerer`: a replacement for the answer step (the lab's reviewer); None: the vote."""
    from symgen.generate.run import run_generate
    from symgen.tasks.sql.programs import template_names

    templates = tuple(t for t in args.templates.split(",") if t)
    if templates and args.questions_from != "programs":
        raise SymgenError("--templates is for --questions-from programs")
    template_names(templates)  # a wrong name fails here, before a model is loaded
    paraphrases = args.questions_from == "paraphrases"
    if paraphrases != bool(args.paraphrase):
        raise SymgenError("--questions-from paraphrases and --paraphrase PAIRS.jsonl go together")
    if (args.questions_from == "history") != bool(args.history):
        raise SymgenError("--questions-from history and --history FILE go together")
    if args.paraphrases_per_pair < 1:
        raise SymgenError("--paraphrases-per-pair must be at least 1")
    focus: tuple[str, ...] = ()
    if args.focus_commands:
        if not context_for(args.task).takes_focus or args.questions_from != "llm":
            able = " or ".join(t for t in CONTEXT_CLASSES if context_for(t).takes_focus)
            raise SymgenError(f"--focus-commands is for --task {able} (with LLM questions)")
        from symgen.tasks.bash.commands import read_commands

        focus = read_commands(args.focus_commands)
    qcfg = QuestionGenConfig(
        source=args.questions_from,
        templates=templates,
        paraphrases_per_pair=args.paraphrases_per_pair,
        describe_results=args.describe_results == "on",
        focus=focus,
    )
    # paraphrases and history commands are checked against their program, as program-first
    # questions are
    programs = args.questions_from in ("programs", "paraphrases", "history")
    default_samples, default_votes = vote_defaults(args.task, programs, answerer is not None)
    samples = args.samples or default_samples
    if args.max_tokens < 0:
        raise SymgenError("--max-tokens must be 0 (sized from the seeds) or more")
    if args.round_size < 0:
        raise SymgenError("--round-size must be 0 (all samples at once) or more")
    acfg = AnswerGenConfig(
        samples=samples,
        temperature=args.temperature,
        value_hints=args.value_hints,
        round_size=args.round_size,
        max_tokens=args.max_tokens,
        grammar=args.grammar,
    )
    vcfg = VerifyConfig(
        min_votes=args.min_votes or default_votes,
        allow_empty=args.allow_empty,
        expected_outputs=expected_outputs(args),
    )
    if task_for(args.task).needs_database and not args.db:
        raise SymgenError(f"--task {args.task} needs --db (the database its programs run on)")
    stats = run_generate(
        task=args.task,
        db_path=args.db,
        seeds_path=Path(args.seeds),
        out_path=Path(args.out),
        open_gen=open_gen(args),
        n_questions=args.questions,
        qcfg=qcfg,
        acfg=acfg,
        vcfg=vcfg,
        seed=args.seed,
        progress=not args.quiet,
        seed_dialect=args.seed_dialect,
        max_minutes=args.max_minutes,
        paraphrase_from=Path(args.paraphrase) if args.paraphrase else None,
        history_from=Path(args.history).expanduser() if args.history else None,
        answerer=answerer,
    )
    print(json.dumps(stats.as_dict()), file=sys.stderr)
    print(f"{stats.kept} verified pairs in {args.out} ({stats.rejected} questions rejected)")
    return 0
