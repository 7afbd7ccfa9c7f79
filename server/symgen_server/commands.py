"""The workspace commands: generate training data from a selection, train, reload, status and
cancel; the long ones run `symgen` as a child process with $/progress and cancellation."""

from __future__ import annotations

import shutil
import uuid
from datetime import datetime
from pathlib import Path
from typing import Any

from lsprotocol import types

from symgen_server import __version__
from symgen_server.jobs import JobResult, run_job, run_steps, symgen_command
from symgen_server.lsp_server import SymgenServer, log, server
from symgen_server.selection import pairs_from_selection


def _workspace_dir(ls: SymgenServer, *parts: str) -> Path:
    if ls.root is None:
        raise ValueError("SymGen needs a workspace folder to store data and models")
    path = ls.root.joinpath(".symgen", *parts)
    path.mkdir(parents=True, exist_ok=True)
    return path


_COMPANIONS = (".questions.jsonl", ".rejected.jsonl", ".run.json")  # written beside a data file


def _fresh(directory: Path, stem: str, suffix: str) -> Path:
    """A path that does not exist yet (never overwrite earlier data)."""
    path = directory / f"{stem}{suffix}"
    n = 1
    while path.exists() or path.with_suffix(".seeds.jsonl").exists():
        path = directory / f"{stem}-{n}{suffix}"
        n += 1
    return path


async def _with_progress(
    ls: SymgenServer, title: str, kind: str, steps: list[tuple[str, list[str]]]
) -> JobResult:
    token = str(uuid.uuid4())
    try:
        await ls.work_done_progress.create_async(token)
    except Exception:  # clients without window.workDoneProgress still get the job run
        log.info("client did not accept a progress token; continuing without")
    ls.work_done_progress.begin(
        token, types.WorkDoneProgressBegin(title=title, cancellable=True, percentage=0)
    )
    ls.jobs[token] = kind

    def cancelled() -> bool:
        future = ls.work_done_progress.tokens.get(token)
        return bool(future is not None and future.cancelled()) or ls.jobs.get(token) == "cancel"

    def step_factory(label: str, argv: list[str]):  # type: ignore[no-untyped-def]
        def on_progress(line: dict[str, Any]) -> None:
            done, total = line.get("done") or 0, line.get("total")
            pct = int(100 * float(done) / float(total)) if total else None
            extra = ", ".join(
                f"{k} {v}" for k, v in line.items() if k not in ("progress", "done", "total")
            )
            message = f"{label}: {line.get('progress')} {done}/{total or '?'}" + (
                f" ({extra})" if extra else ""
            )
            ls.work_done_progress.report(
                token,
                types.WorkDoneProgressReport(message=message, percentage=pct, cancellable=True),
            )

        return lambda: run_job(argv, on_progress, cancelled, cwd=str(ls.root) if ls.root else None)

    try:
        result = await run_steps([step_factory(label, argv) for label, argv in steps])
    finally:
        ls.jobs.pop(token, None)
    end = "cancelled" if result.cancelled else ("done" if result.ok else "failed")
    ls.work_done_progress.end(token, types.WorkDoneProgressEnd(message=f"{title}: {end}"))
    return result


@server.command("symgen.cancelJobs")
def cancel_jobs(ls: SymgenServer, *args: Any) -> dict[str, int]:
    """Cancel running jobs (for clients without a progress cancel button)."""
    return {"cancelled": ls.cancel_jobs()}


@server.command("symgen.generateFromSelection")
async def generate_from_selection(ls: SymgenServer, *args: Any) -> dict[str, Any]:
    """Args: uri, range (LSP Range). Seeds from the selection → generate + verify in the background."""
    try:
        uri, rng = _selection_args(args)
        doc = ls.workspace.get_text_document(uri)
        text = doc.text_in_client_range(rng)
    except (ValueError, KeyError, TypeError, OSError) as exc:  # OSError: not an open/real file
        ls.tell_once(
            f"SymGen: generateFromSelection needs (uri, range): {exc}", types.MessageType.Error
        )
        return {"ok": False, "error": str(exc)}
    found = pairs_from_selection(text)
    if not found.pairs:
        msg = (
            "SymGen: no usable pair in the selection. Select one or more examples, each an NL "
            "comment line (-- question) directly followed by its SELECT statement ending in ';'."
        )
        if found.skipped:
            msg += " Skipped: " + "; ".join(found.skipped[:3])
        ls.window_show_message(types.ShowMessageParams(type=types.MessageType.Warning, message=msg))
        return {"ok": False, "error": msg}
    db = ls.completer.db if ls.completer.db else None
    if db is None:
        msg = (
            "SymGen: set symgen.database (a SQLite or DuckDB file, or a postgresql:// URL) "
            "before generating data."
        )
        ls.window_show_message(types.ShowMessageParams(type=types.MessageType.Error, message=msg))
        return {"ok": False, "error": msg}
    try:
        data_dir = _workspace_dir(ls, "data")
    except ValueError as exc:
        ls.window_show_message(
            types.ShowMessageParams(type=types.MessageType.Error, message=str(exc))
        )
        return {"ok": False, "error": str(exc)}
    out = _fresh(data_dir, datetime.now().strftime("%Y%m%d-%H%M%S"), ".jsonl")
    seeds = out.with_suffix(".seeds.jsonl")
    import json

    seeds.write_text("".join(json.dumps(p | {"db": db.name}) + "\n" for p in found.pairs))
    s = ls.completer.settings
    argv = symgen_command(
        "generate",
        "--db",
        db.spec,
        "--seeds",
        str(seeds),
        "--out",
        str(out),
        "--questions",
        str(s.generate_questions),
        "--samples",
        str(s.samples),
        "--min-votes",
        s.min_votes,
    ) + (["--generator", s.generator] if s.generator else [])
    result = await _with_progress(
        ls,
        f"SymGen: generating data from {len(found.pairs)} examples",
        "generate",
        [("generate", argv)],
    )
    if result.cancelled:  # a cancelled job leaves no partial files behind
        for path in (out, seeds, *(out.with_name(out.stem + sfx) for sfx in _COMPANIONS)):
            path.unlink(missing_ok=True)
    kept = sum(1 for line in out.read_text().splitlines() if line.strip()) if out.exists() else 0
    message = (
        f"SymGen: {kept} verified pairs in {out}"
        if result.ok
        else f"SymGen: generation {'cancelled, nothing kept' if result.cancelled else 'failed'}: "
        + " | ".join(result.log_tail[-3:])
    )
    ls.window_show_message(
        types.ShowMessageParams(
            type=types.MessageType.Info if result.ok else types.MessageType.Warning, message=message
        )
    )
    return {
        "ok": result.ok,
        "cancelled": result.cancelled,
        "out": str(out),
        "seeds": str(seeds),
        "pairs": len(found.pairs),
        "kept": kept,
        "log": result.log_tail[-5:],
    }


def _selection_args(args: tuple[Any, ...]) -> tuple[str, types.Range]:
    if len(args) == 1 and isinstance(args[0], dict):
        args = (args[0].get("uri"), args[0].get("range"))
    if len(args) < 2:
        raise ValueError("expected two arguments")
    uri, raw = args[0], args[1]
    if not isinstance(uri, str):
        raise TypeError("uri must be a string")
    rng = (
        raw
        if isinstance(raw, types.Range)
        else server.protocol._converter.structure(raw, types.Range)
    )
    return uri, rng


@server.command("symgen.train")
async def train_command(ls: SymgenServer, *args: Any) -> dict[str, Any]:
    """Train + export from .symgen/data/*.jsonl into .symgen/models/<name>."""
    try:
        data_dir = _workspace_dir(ls, "data")
    except ValueError as exc:
        return {"ok": False, "error": str(exc)}
    data = sorted(
        p
        for p in data_dir.glob("*.jsonl")
        if not p.name.endswith((".questions.jsonl", ".rejected.jsonl")) and p.stat().st_size
    )
    db = ls.completer.db if ls.completer.db else None
    if not data or db is None:
        msg = (
            "SymGen: nothing to train on: run 'Generate Training Data from Selection' first"
            if not data
            else "SymGen: set symgen.database first"
        )
        ls.window_show_message(types.ShowMessageParams(type=types.MessageType.Warning, message=msg))
        return {"ok": False, "error": msg}
    s = ls.completer.settings
    name = f"model-{datetime.now().strftime('%Y%m%d-%H%M%S')}"
    run_dir, model_dir = _workspace_dir(ls, "runs") / name, _workspace_dir(ls, "models") / name
    train_argv = symgen_command(
        "train",
        "--out",
        str(run_dir),
        "--db",
        db.spec,
        "--arch",
        s.arch,
        "--max-minutes",
        str(s.train_minutes),
    )
    for path in data:
        train_argv += ["--data", str(path)]
    export_argv = symgen_command(
        "export", "--model", str(run_dir), "--out", str(model_dir), "--int8", "--name", name
    )
    result = await _with_progress(
        ls,
        f"SymGen: training on {len(data)} data files",
        "train",
        [("train", train_argv), ("export", export_argv)],
    )
    if result.cancelled:  # no half-trained run or half-exported model is left behind
        shutil.rmtree(run_dir, ignore_errors=True)
        shutil.rmtree(model_dir, ignore_errors=True)
    if result.ok:
        ls.apply_settings({"model": str(model_dir)} if s.model else {})
    ls.window_show_message(
        types.ShowMessageParams(
            type=types.MessageType.Info if result.ok else types.MessageType.Warning,
            message=f"SymGen: model {model_dir}"
            if result.ok
            else "SymGen: training failed: " + " | ".join(result.log_tail[-3:]),
        )
    )
    return {
        "ok": result.ok,
        "cancelled": result.cancelled,
        "model": str(model_dir),
        "log": result.log_tail[-5:],
    }


@server.command("symgen.reloadModel")
def reload_model(ls: SymgenServer, *args: Any) -> dict[str, Any]:
    ls.apply_settings({})
    return ls.completer.status()


@server.command("symgen.status")
def status(ls: SymgenServer, *args: Any) -> dict[str, Any]:
    st = ls.completer.status()
    data_dir = ls.root / ".symgen" / "data" if ls.root else None
    files = [p for p in data_dir.glob("*.jsonl")] if data_dir and data_dir.is_dir() else []
    st["data_files"] = len(
        [
            p
            for p in files
            if not p.name.endswith((".questions.jsonl", ".rejected.jsonl", ".seeds.jsonl"))
        ]
    )
    st["data_pairs"] = sum(
        sum(1 for line in p.read_text().splitlines() if line.strip())
        for p in files
        if not p.name.endswith((".questions.jsonl", ".rejected.jsonl", ".seeds.jsonl"))
    )
    st["jobs"] = sorted(set(ls.jobs.values()))
    st["version"] = __version__
    return st
