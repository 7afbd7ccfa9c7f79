"""The pygls server: its state, lifecycle and settings; the features are one module each
(`completion`, `commands`), registered on `server` when this module is imported.

Handlers stay thin. Decoding runs on one worker thread so the event loop keeps answering; a
newer request for the same document, or the client's $/cancelRequest, stops an older decode
between two decoding steps.
"""

from __future__ import annotations

import asyncio
import itertools
import logging
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

from lsprotocol import types
from pygls.exceptions import FeatureRequestError, JsonRpcParseError
from pygls.lsp.server import LanguageServer
from pygls.uris import to_fs_path

from symgen_server import __version__
from symgen_server.comments import LANGUAGES
from symgen_server.completer import Completer
from symgen_server.protocol import OneLine, SymgenProtocol, is_parse_error
from symgen_server.settings import parse_settings

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


# The features register their handlers on `server` (decorators) as they are imported.
from symgen_server import commands, completion  # noqa: E402

__all__ = ["SymgenServer", "commands", "completion", "server"]
