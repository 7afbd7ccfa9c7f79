"""A real LSP client session against `python -m symgen_server` over stdio (pygls's client).

Used by the end-to-end tests and `benchmarks/lsp_latency.py`, so both drive the server exactly
as an editor does.
"""

from __future__ import annotations

import asyncio
import itertools
import json
import subprocess
import sys
import threading
import time
from collections.abc import AsyncIterator, Sequence
from contextlib import asynccontextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from lsprotocol import types
from pygls.lsp.client import LanguageClient


@dataclass
class Session:
    client: LanguageClient
    messages: list[str] = field(default_factory=list)  # window/showMessage
    logs: list[str] = field(default_factory=list)  # window/logMessage
    progress: list[Any] = field(default_factory=list)  # $/progress values
    stderr: list[str] = field(default_factory=list)

    def open(self, uri: str, text: str, language: str = "sql") -> None:
        self.client.text_document_did_open(
            types.DidOpenTextDocumentParams(types.TextDocumentItem(uri, language, 1, text))
        )

    def change(self, uri: str, version: int, text: str) -> None:
        """Replace the whole document (what an editor sends after a paste)."""
        self.client.text_document_did_change(
            types.DidChangeTextDocumentParams(
                types.VersionedTextDocumentIdentifier(version=version, uri=uri),
                [types.TextDocumentContentChangeWholeDocument(text=text)],
            )
        )

    async def inline(self, uri: str, line: int, col: int) -> types.InlineCompletionList | None:
        params = types.InlineCompletionParams(
            context=types.InlineCompletionContext(
                trigger_kind=types.InlineCompletionTriggerKind.Automatic
            ),
            text_document=types.TextDocumentIdentifier(uri),
            position=types.Position(line, col),
        )
        result = await self.client.text_document_inline_completion_async(params)
        if result is None or isinstance(result, types.InlineCompletionList):
            return result
        return types.InlineCompletionList(items=list(result))

    async def complete(self, uri: str, line: int, col: int) -> Any:
        params = types.CompletionParams(
            types.TextDocumentIdentifier(uri), types.Position(line, col)
        )
        return await self.client.text_document_completion_async(params)

    async def command(self, name: str, *args: Any) -> Any:
        return await self.client.workspace_execute_command_async(
            types.ExecuteCommandParams(command=name, arguments=list(args))
        )


@asynccontextmanager
async def lsp_session(
    root: Path, options: dict[str, Any] | None, server_args: Sequence[str] = ()
) -> AsyncIterator[Session]:
    client = LanguageClient("symgen-test", "1")
    session = Session(client)

    @client.feature(types.WINDOW_SHOW_MESSAGE)  # type: ignore[untyped-decorator]
    def _show(params: types.ShowMessageParams) -> None:
        session.messages.append(params.message)

    @client.feature(types.WINDOW_LOG_MESSAGE)  # type: ignore[untyped-decorator]
    def _log(params: types.LogMessageParams) -> None:
        session.logs.append(params.message)

    @client.feature(types.WINDOW_WORK_DONE_PROGRESS_CREATE)  # type: ignore[untyped-decorator]
    def _create(params: types.WorkDoneProgressCreateParams) -> None:
        return None

    @client.feature(types.PROGRESS)  # type: ignore[untyped-decorator]
    def _progress(params: types.ProgressParams) -> None:
        session.progress.append(params.value)

    await client.start_io(sys.executable, "-m", "symgen_server", *server_args)
    server = client._server
    assert server is not None and server.stderr is not None

    async def drain(stream: asyncio.StreamReader) -> None:
        async for line in stream:
            session.stderr.append(line.decode("utf-8", "replace").rstrip())

    drainer = asyncio.ensure_future(drain(server.stderr))
    await client.initialize_async(
        types.InitializeParams(
            capabilities=types.ClientCapabilities(
                window=types.WindowClientCapabilities(work_done_progress=True)
            ),
            root_uri=root.as_uri(),
            workspace_folders=[types.WorkspaceFolder(root.as_uri(), root.name)],
            initialization_options=options,
        )
    )
    client.initialized(types.InitializedParams())
    try:
        yield session
    finally:
        await client.shutdown_async(None)
        client.exit(None)
        await asyncio.wait_for(client.stop(), 30)  # type: ignore[no-untyped-call]
        drainer.cancel()


class RawSession:
    """The server over stdio with hand-made JSON-RPC framing, for what no real client sends:
    invalid params, bodies that are not JSON, floods of cancels. A reader thread files every
    frame the server writes; server-to-client requests are answered with null."""

    def __init__(self, root: Path, server_args: Sequence[str] = ()) -> None:
        self.proc = subprocess.Popen(
            [sys.executable, "-m", "symgen_server", *server_args],
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            cwd=root,
        )
        self.root = root
        self.replies: dict[Any, dict[str, Any]] = {}
        self.null_replies: list[dict[str, Any]] = []  # errors whose id is null
        self.notifications: list[dict[str, Any]] = []
        self.stderr: list[str] = []
        self._arrived = threading.Condition()
        self._ids = itertools.count(1)
        self._write = threading.Lock()
        threading.Thread(target=self._read_stdout, daemon=True).start()
        threading.Thread(target=self._read_stderr, daemon=True).start()

    # ---- transport ------------------------------------------------------------------------------
    def send_body(self, body: bytes) -> None:
        """One frame, whatever its body holds."""
        assert self.proc.stdin is not None
        with self._write:
            self.proc.stdin.write(b"Content-Length: %d\r\n\r\n" % len(body) + body)
            self.proc.stdin.flush()

    def send(self, message: Any) -> None:
        # lone surrogates (from hostile text) are sent as JSON escapes, as a JS client would
        self.send_body(json.dumps(message).encode())

    def request(self, method: str, params: Any = None, **extra: Any) -> int:
        msg_id = next(self._ids)
        self.send({"jsonrpc": "2.0", "id": msg_id, "method": method, "params": params} | extra)
        return msg_id

    def notify(self, method: str, params: Any = None) -> None:
        self.send({"jsonrpc": "2.0", "method": method, "params": params})

    def wait(self, msg_id: Any, timeout: float = 5.0) -> dict[str, Any]:
        """The reply to `msg_id`; AssertionError if none comes within `timeout` seconds."""
        deadline = time.monotonic() + timeout
        with self._arrived:
            while msg_id not in self.replies:
                left = deadline - time.monotonic()
                assert left > 0, f"no reply to {msg_id} in {timeout} s; stderr: {self.stderr[-5:]}"
                assert self.proc.poll() is None, f"server exited: {self.stderr[-20:]}"
                self._arrived.wait(min(left, 0.5))
            return self.replies[msg_id]

    def call(self, method: str, params: Any = None, timeout: float = 5.0) -> dict[str, Any]:
        return self.wait(self.request(method, params), timeout)

    def wait_null_replies(self, n: int, timeout: float = 5.0) -> list[dict[str, Any]]:
        deadline = time.monotonic() + timeout
        with self._arrived:
            while len(self.null_replies) < n and time.monotonic() < deadline:
                self._arrived.wait(0.2)
            return list(self.null_replies)

    # ---- LSP ------------------------------------------------------------------------------------
    def initialize(self, options: dict[str, Any] | None) -> dict[str, Any]:
        reply = self.call(
            "initialize",
            {
                "processId": None,
                "rootUri": self.root.as_uri(),
                "capabilities": {},
                "initializationOptions": options,
            },
            timeout=60,
        )
        self.notify("initialized", {})
        return reply

    def messages(self, method: str = "window/showMessage") -> list[str]:
        with self._arrived:
            return [n["params"]["message"] for n in self.notifications if n["method"] == method]

    def rss_kb(self) -> int:
        status = Path(f"/proc/{self.proc.pid}/status").read_text()
        return int(status.split("VmRSS:")[1].split()[0])

    def close(self) -> int:
        """shutdown + exit; the server's exit code (killed after 20 s)."""
        try:
            self.call("shutdown", None, timeout=20)
            self.notify("exit")
            return self.proc.wait(20)
        finally:
            if self.proc.poll() is None:
                self.proc.kill()
                self.proc.wait()

    # ---- reader threads ---------------------------------------------------------------------
    def _read_stdout(self) -> None:
        out = self.proc.stdout
        assert out is not None
        while True:
            length = None
            while (line := out.readline()) not in (b"\r\n", b""):
                if line.lower().startswith(b"content-length:"):
                    length = int(line.split(b":")[1])
            if not line or length is None:
                break
            self._file(json.loads(out.read(length)))
        with self._arrived:
            self._arrived.notify_all()

    def _file(self, message: dict[str, Any]) -> None:
        if "method" in message and "id" in message:  # the server asks: answer null
            self.send({"jsonrpc": "2.0", "id": message["id"], "result": None})
            return
        with self._arrived:
            if "method" in message:
                self.notifications.append(message)
            elif message.get("id") is None:
                self.null_replies.append(message)
            else:
                self.replies[message["id"]] = message
            self._arrived.notify_all()

    def _read_stderr(self) -> None:
        assert self.proc.stderr is not None
        for raw in self.proc.stderr:
            self.stderr.append(raw.decode("utf-8", "replace").rstrip())
