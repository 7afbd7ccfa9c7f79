"""Completion: `# comment` / `-- comment` lines answered inline (textDocument/inlineCompletion)
and in the completion list, decoded on the server's one decoding thread."""

from __future__ import annotations

import asyncio
import threading
from dataclasses import replace
from urllib.parse import unquote

from lsprotocol import types

from symgen_server.comments import Request, find_request
from symgen_server.completer import CODE_TASKS, DATABASE_TASKS, CompletionFailed, Suggestion
from symgen_server.lsp_server import SymgenServer, log, server
from symgen_server.settings import Settings


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
    if language not in (*DATABASE_TASKS, *CODE_TASKS):
        return None
    reads_db = language in DATABASE_TASKS
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
    if not reads_db and language not in ls.completer.code_models:
        ls.tell_once(ls.completer.code_problems.get(language, f"SymGen: no {language} model"))
        return None
    if reads_db and not ls.completer.ready:
        for problem in ls.completer.problems:
            ls.tell_once(problem)
        return None
    stop_flag = threading.Event()

    def should_stop() -> bool:
        return stop_flag.is_set() or ls.latest.get(uri) != gen

    def decode() -> Suggestion | None:
        if reads_db:
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
