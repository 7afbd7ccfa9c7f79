"""A real LSP client session against `python -m symgen_server` over stdio (pygls's client).

Used by the end-to-end tests and `benchmarks/lsp_latency.py`, so both drive the server exactly
as an editor does.
"""

from __future__ import annotations

import asyncio
import sys
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
