"""The pygls wiring: LSP requests and commands → comments / completer / jobs.

Handlers stay thin. Decoding runs on one worker thread so the event loop keeps answering; a
newer request for the same document, or the client's $/cancelRequest, stops an older decode
between two decoding steps.
"""

from __future__ import annotations

import asyncio
import itertools
import logging
import shutil
import threading
import time
import uuid
from concurrent.futures import ThreadPoolExecutor
from dataclasses import replace
from datetime import datetime
from pathlib import Path
from typing import Any
from urllib.parse import unquote

from lsprotocol import types
from pygls.exceptions import FeatureRequestError, JsonRpcParseError
from pygls.lsp.server import LanguageServer
from pygls.uris import to_fs_path

from symgen_server import __version__
from symgen_server.comments import LANGUAGES, Request, find_request
from symgen_server.completer import CODE_TASKS, Completer, CompletionFailed, Suggestion
from symgen_server.jobs import JobResult, run_job, run_steps, symgen_command
from symgen_server.protocol import OneLine, SymgenProtocol, is_parse_error
from symgen_server.selection import pairs_from_selection
from symgen_server.settings import Settings, parse_settings

log = logging.getLogger("symgen_server")
EXTENSIONS = {".sql": "sql", ".py": "python", ".sh": "bash", ".bash": "bash"}


class SymgenServer(LanguageServer):
    protocol: SymgenProtocol

    def __init__(self) -> None:
        super().__init__("symgen-server", __version__, protocol_cls=SymgenProtocol)
        for name in ("pygls.server", "pygls.protocol.json_rpc"):
            logging.getLogger(name).addFilter(OneLine())
        self.completer = Completer()
        self.decoder = ThreadPoolExecutor(max_workers=1, thread_name_prefix="symgen-decode")
        self.latest: dict[str, int] = {}
        self.counter = itertools.count(1)
        self.root: Path | None = None
        self.told: set[str] = set()  # messages said (tell_once) and not solved since
        self.setting_problems: list[str] = []
        self.jobs: dict[str, str] = {}  # progress token -> job kind
        self._last_reload_check = 0.0
        self.protocol_ms: list[float] = []

    def report_server_error(self, error: Exception, source: Any) -> None:
        """pygls's hook for errors outside a request: a body that is not JSON is answered
        (ParseError, id null, as JSON-RPC says); the rest is logged in one line, not shown."""
        if is_parse_error(error):
            log.warning("answered a body that is not JSON: %s", error)
            self.protocol.send_error(None, JsonRpcParseError(message=f"Parse error: {error}"))
        elif source is not FeatureRequestError:  # a request's error is in its reply already
            log.error("%s: %s", getattr(source, "__name__", source), error)

    def cancel_jobs(self) -> int:
        """Mark every running job cancelled (its watcher SIGINTs the child); how many there are."""
        for token in list(self.jobs):
            self.jobs[token] = "cancel"
        return len(self.jobs)

    # ---- user-facing messages, each said once -------------------------------------------
    def tell_once(self, message: str, kind: types.MessageType = types.MessageType.Warning) -> None:
        """Log and show `message` the first time only: a missing model is not news on every
        keystroke. `report` forgets a problem once it is solved, so a relapse is said again."""
        if message in self.told:
            return
        self.told.add(message)
        log.warning(message)
        self.window_log_message(types.LogMessageParams(type=kind, message=message))
        self.window_show_message(types.ShowMessageParams(type=kind, message=message))

    def report(self, problems: list[str]) -> None:
        """Tell the configuration's new problems; forget the ones it no longer has."""
        current = {*problems, *self.completer.code_problems.values()}
        self.told &= current
        for problem in problems:
            self.tell_once(problem)

    def apply_settings(self, raw: Any) -> None:
        settings, self.setting_problems = parse_settings(raw, self.completer.settings)
        self.report(self.setting_problems + self.completer.configure(settings, self.root))
        if self.completer.ready:
            status = self.completer.status()
            self.window_log_message(
                types.LogMessageParams(
                    type=types.MessageType.Info,
                    message=f"SymGen: model {status['model']} on {status['database']}",
                )
            )

    def maybe_reload(self) -> None:
        now = time.monotonic()
        if now - self._last_reload_check < 1.0:
            return
        self._last_reload_check = now
        configured = self.completer.configured
        loaded = self.completer.reload_if_changed()
        if self.completer.configured != configured:
            self.report(self.setting_problems + self.completer.problems)
        if loaded:
            self.window_log_message(
                types.LogMessageParams(
                    type=types.MessageType.Info,
                    message=f"SymGen: reloaded {self.completer.model_dir}",
                )
            )

    def language_of(self, uri: str, language_id: str | None) -> str:
        if language_id and language_id in LANGUAGES:
            return LANGUAGES[language_id]
        return EXTENSIONS.get(Path(uri).suffix.lower(), language_id or "")


server = SymgenServer()


# ---- lifecycle and settings ------------------------------------------------------------------
@server.feature(types.INITIALIZE)
def on_initialize(ls: SymgenServer, params: types.InitializeParams) -> None:
    folder = None
    if params.workspace_folders:
        folder = params.workspace_folders[0].uri
    elif params.root_uri:
        folder = params.root_uri
    path = to_fs_path(folder) if folder else None
    ls.root = Path(path) if path else None
    ls._initial_options = params.initialization_options  # type: ignore[attr-defined]


@server.feature(types.INITIALIZED)
def on_initialized(ls: SymgenServer, params: types.InitializedParams) -> None:
    ls.apply_settings(getattr(ls, "_initial_options", None))


@server.feature(types.WORKSPACE_DID_CHANGE_CONFIGURATION)
def on_configuration(ls: SymgenServer, params: types.DidChangeConfigurationParams) -> None:
    ls.apply_settings(params.settings)


@server.feature(types.SHUTDOWN)
async def on_shutdown(ls: SymgenServer, *args: Any) -> None:
    """Stop running jobs and let their requests answer before the server goes.

    A `symgen` child left running would outlive the editor; SIGINT makes it save its work.
    Requests still pending afterwards are cancelled here, from a copy: pygls 2.1's own shutdown
    cancels them while iterating the dict their cancel callbacks delete from, and fails.
    """
    ls.cancel_jobs()
    own: object = asyncio.current_task()  # this handler's own entry among the requests
    current = ls.protocol.msg_id  # the shutdown request, answered after this handler

    def others() -> list[tuple[Any, Any]]:
        futures = list(getattr(ls.protocol, "_request_futures", {}).items())  # pygls 2.x
        return [(k, f) for k, f in futures if k != current and f is not own and not f.done()]

    deadline = time.monotonic() + 40  # run_job kills a child that ignores SIGINT after 30 s
    while ls.jobs and time.monotonic() < deadline:
        await asyncio.sleep(0.1)
    grace = time.monotonic() + 2  # a finished job's command still reports and returns
    while others() and time.monotonic() < grace:
        await asyncio.sleep(0.05)
    for _, future in others():
        future.cancel()


# ---- completion ----------------------------------------------------------------------------------
async def suggest(
    ls: SymgenServer, uri: str, position: types.Position
) -> tuple[Request, Suggestion, types.Range, str] | None:
    """The request at the cursor, the model's SQL or code for it, the range, the language; or
    None (offer nothing). `.sql` uses the SQL model, `.sh`/`.py` their own task's model."""
    settings: Settings = ls.completer.settings
    doc = ls.workspace.text_documents.get(unquote(uri))
    if not settings.enabled or doc is None:
        return None  # only open documents: pygls would read any other URI from disk
    language = ls.language_of(uri, doc.language_id)
    if language not in ("sql", *CODE_TASKS):
        return None
    gen = next(ls.counter)
    ls.latest[uri] = gen
    if settings.debounce_ms:
        await asyncio.sleep(settings.debounce_ms / 1000)
        if ls.latest.get(uri) != gen:
            return None
    # one snapshot: didChange may edit the document while the model decodes
    source, codec = doc.source, doc.position_codec
    lines = source.splitlines(True)
    if position.line > len(lines):
        return None  # past the end (pygls would move the cursor to the last line)
    try:
        pos = codec.position_from_client_units(lines, position)
        request = find_request(source, pos.line, pos.character, language, settings.comment_prefixes)
    except (ValueError, IndexError, UnicodeError) as exc:
        log.debug("no request at %s:%s: %s", uri, position, exc)
        return None
    if request is None:
        return None
    ls.maybe_reload()
    if language != "sql" and language not in ls.completer.code_models:
        ls.tell_once(ls.completer.code_problems.get(language, f"SymGen: no {language} model"))
        return None
    if language == "sql" and not ls.completer.ready:
        for problem in ls.completer.problems:
            ls.tell_once(problem)
        return None
    stop_flag = threading.Event()

    def should_stop() -> bool:
        return stop_flag.is_set() or ls.latest.get(uri) != gen

    def decode() -> Suggestion | None:
        if language == "sql":
            return ls.completer.complete(request.text, should_stop)
        return ls.completer.complete_code(language, request.text, should_stop)

    loop = asyncio.get_running_loop()
    try:
        suggestion = await loop.run_in_executor(ls.decoder, decode)
    except asyncio.CancelledError:
        stop_flag.set()
        raise
    except CompletionFailed as exc:
        log.warning("%s: %r", exc, exc.__cause__)
        ls.tell_once(str(exc))
        return None
    if suggestion is None or not suggestion.valid:
        return None
    if "\n" in suggestion.sql or request.newline_first:
        comment_line = source.split("\n")[request.last_line]
        suggestion = _indented(suggestion, comment_line, request.newline_first)
    sql = suggestion.sql
    if request.typed:
        typed = " ".join(request.typed.split()).lower()
        if not " ".join(sql.split()).lower().startswith(typed):
            return None
        typed_start = types.Position(pos.line, pos.character - len(request.typed))
        start = codec.position_to_client_units(lines, typed_start)
    else:
        start = position
    return request, suggestion, types.Range(start=start, end=position), language


def _indented(suggestion: Suggestion, comment_line: str, newline_first: bool) -> Suggestion:
    """Code under an indented comment (a method's body) starts at the comment's column."""
    indent = comment_line[: len(comment_line) - len(comment_line.lstrip())]
    if not indent:
        return suggestion
    body = suggestion.sql.replace("\n", "\n" + indent)
    return replace(suggestion, sql=indent + body if newline_first else body)


@server.feature(types.TEXT_DOCUMENT_INLINE_COMPLETION, types.InlineCompletionOptions())
async def inline_completion(
    ls: SymgenServer, params: types.InlineCompletionParams
) -> types.InlineCompletionList | None:
    found = await suggest(ls, params.text_document.uri, params.position)
    if found is None:
        return None
    request, suggestion, rng, _ = found
    text = ("\n" if request.newline_first else "") + suggestion.sql
    return types.InlineCompletionList(
        items=[types.InlineCompletionItem(insert_text=text, range=rng)]
    )


@server.feature(types.TEXT_DOCUMENT_COMPLETION, types.CompletionOptions(trigger_characters=[" "]))
async def completion(
    ls: SymgenServer, params: types.CompletionParams
) -> types.CompletionList | None:
    found = await suggest(ls, params.text_document.uri, params.position)
    if found is None:
        return None
    request, suggestion, rng, language = found
    text = ("\n" if request.newline_first else "") + suggestion.sql
    item = types.CompletionItem(
        label=suggestion.sql if len(suggestion.sql) <= 60 else suggestion.sql[:57] + "...",
        kind=types.CompletionItemKind.Snippet,
        detail=f"SymGen: {request.text}",
        documentation=types.MarkupContent(
            kind=types.MarkupKind.Markdown, value=f"```{language}\n{suggestion.sql}\n```"
        ),
        text_edit=types.TextEdit(range=rng, new_text=text),
        insert_text_format=types.InsertTextFormat.PlainText,
        filter_text=request.typed or suggestion.sql,
        sort_text="0",
        preselect=True,
    )
    return types.CompletionList(is_incomplete=True, items=[item])


# ---- commands ------------------------------------------------------------------------------------
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
