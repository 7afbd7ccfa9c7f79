"""JSON-RPC that answers every request, however malformed: an editor waits for each reply.

pygls 2.1 raises from `structure_message` when a message fails validation (`line: -1`, a missing
`context`); the exception escapes to its reader loop, which logs a traceback and drops the
message, so the client waits forever. Here such a message becomes a `Rejected` placeholder and
`handle_message` answers it: InvalidParams (-32602) naming the bad fields, InvalidRequest
(-32600) for what is no request at all. A bad notification has no one to answer: it is logged in
one line. Bodies that are not JSON never reach the protocol; `SymgenServer.report_server_error`
answers those (ParseError, -32700).
"""

from __future__ import annotations

import logging
import re
from collections.abc import Generator
from typing import Any
from urllib.parse import unquote

import attrs
from cattrs import BaseValidationError, transform_error
from cattrs.v import format_exception
from lsprotocol import types
from pygls.exceptions import (
    JsonRpcException,
    JsonRpcInternalError,
    JsonRpcInvalidParams,
    JsonRpcInvalidRequest,
    JsonRpcServerNotInitialized,
)
from pygls.protocol import LanguageServerProtocol, lsp_method
from pygls.protocol.json_rpc import RPCRequest

log = logging.getLogger("symgen_server")


@attrs.define
class Rejected:
    """A message that could not be structured, kept so that it can still be answered."""

    id: int | str | None  # None: a notification, or an id that is not a JSON-RPC id
    method: str | None  # None: a reply to one of the server's requests
    is_request: bool
    error: JsonRpcException


def _camel(name: str) -> str:
    """lsprotocol's attribute name as the client spelt it (`text_document` -> `textDocument`)."""
    head, *rest = name.rstrip("_").split("_")
    return head + "".join(part.title() for part in rest)


def _describe(exc: BaseException, expected: type | None) -> str:
    """cattrs's wording, but a failed validator says its own message (`Position.line should be
    in range [0:2147483647], but was -1.`) instead of just `invalid value`."""
    if isinstance(exc, ValueError) and str(exc) and not isinstance(exc, BaseValidationError):
        return str(exc).rstrip(".")
    return format_exception(exc, expected)


def field_errors(exc: BaseException | None) -> list[str]:
    """One `what @ params.field.path` line per bad field, in the client's spelling."""
    if exc is None:
        return ["malformed message"]
    if not isinstance(exc, BaseValidationError):
        return [f"{type(exc).__name__}: {exc}"]
    found = []
    for line in transform_error(exc, path="", format_exception=_describe):
        what, _, path = line.rpartition(" @ ")
        path = ".".join(_camel(p) for p in re.split(r"\.", path.lstrip(".")) if p)
        found.append(f"{what} @ {path}" if path else what)
    return found


def _invalid(method: str | None, cause: BaseException | None) -> JsonRpcException:
    """InvalidParams naming each bad field; InvalidRequest if the envelope itself is bad."""
    errors = field_errors(cause)
    if all(" @ params" in e for e in errors):
        text = f"Invalid params for {method}: " + "; ".join(errors)
        return JsonRpcInvalidParams(message=text, data=errors)
    return JsonRpcInvalidRequest(message="; ".join(errors), data=errors)


def _msg_id(data: dict[str, Any]) -> int | str | None:
    """The request's id if it is a valid JSON-RPC id (else None: the reply's id is null)."""
    value = data.get("id")
    return value if isinstance(value, (int, str)) and not isinstance(value, bool) else None


class SymgenProtocol(LanguageServerProtocol):
    """pygls's LSP protocol, with a reply for every request it receives."""

    def structure_message(self, data: dict[str, Any]) -> Any:
        """pygls's structuring; a message that fails it becomes `Rejected` instead of raising."""
        if "jsonrpc" not in data:
            return data  # a nested object, or a top-level one handle_message rejects
        method = data.get("method")
        is_request = "id" in data and "method" in data
        if "method" in data and not isinstance(method, str):
            why = JsonRpcInvalidRequest(message=f"method must be a string, got {method!r:.80}")
            return Rejected(_msg_id(data), "", is_request, why)
        if is_request and _msg_id(data) is None:
            why = JsonRpcInvalidRequest(message=f"id must be a string or an integer: {method}")
            return Rejected(None, method, True, why)
        try:
            message = super().structure_message(data)
        except JsonRpcException as exc:
            return Rejected(_msg_id(data), method, is_request, _invalid(method, exc.__cause__))
        if is_request and not isinstance(message, RPCRequest):  # structured as a notification
            why = JsonRpcInvalidRequest(message=f"{method} is a notification: it takes no id")
            return Rejected(_msg_id(data), method, True, why)
        return message

    def handle_message(self, message: Any) -> None:
        """Answer what pygls would drop; hand the rest to pygls."""
        if isinstance(message, Rejected):
            self._reject(message)
        elif not hasattr(message, "jsonrpc"):  # an array, a number, an object without "jsonrpc"
            self._not_a_message(message)
        elif (refusal := self._refusal(message)) is None:
            super().handle_message(message)
        elif isinstance(message, RPCRequest):
            self.send_error(message.id, refusal)
        else:
            log.warning("ignored %s: %s", getattr(message, "method", "a reply"), refusal.message)

    def _refusal(self, message: Any) -> JsonRpcException | None:
        """Why pygls would drop this message, or fail on it, if it would."""
        method = getattr(message, "method", None)
        if message.jsonrpc != self.VERSION:
            return JsonRpcInvalidRequest(message=f'jsonrpc must be "{self.VERSION}"')
        if self._shutdown and method != types.EXIT:
            return JsonRpcInvalidRequest(message="the server is shut down")
        if self._workspace is None and method not in (None, types.INITIALIZE, types.EXIT):
            return JsonRpcServerNotInitialized(message=f"{method} before initialize")
        return None

    def _reject(self, message: Rejected) -> None:
        if message.is_request:
            log.warning("answered %s with an error: %s", message.method, message.error.message)
            self.send_error(message.id, message.error)
        elif message.method is None and message.id is not None:
            log.warning("a reply failed: %s", message.error.message)  # fail what awaits it
            self._handle_response(message.id, None, message.error.to_response_error())
        else:
            log.warning("ignored %r notification: %s", message.method, message.error.message)

    def _not_a_message(self, message: Any) -> None:
        """A JSON body that is no JSON-RPC object (an array, a number, no "jsonrpc" key)."""
        if isinstance(message, dict) and "method" in message and "id" not in message:
            log.warning("ignored a notification without jsonrpc: %.80r", message)
            return
        msg_id = _msg_id(message) if isinstance(message, dict) else None
        why = JsonRpcInvalidRequest(message=f"not a JSON-RPC 2.0 message: {message!r:.80}")
        self.send_error(msg_id, why)

    def send_error(self, msg_id: int | str | None, error: JsonRpcException) -> None:
        if msg_id is not None:
            self._send_response(msg_id, error=error.to_response_error())
            return
        # JSON-RPC wants `"id": null` here; lsprotocol's converter would leave the key out
        body: dict[str, Any] = {"code": error.code, "message": error.message}
        if error.data:
            body["data"] = error.data
        self._send_data({"jsonrpc": self.VERSION, "id": None, "error": body})

    def _handle_cancel_notification(self, msg_id: Any) -> None:
        """pygls's cancel, for ids that can name a request (its converter lets `[1]` through)."""
        if isinstance(msg_id, (int, str)) and not isinstance(msg_id, bool):
            super()._handle_cancel_notification(msg_id)
        else:
            log.warning("ignored $/cancelRequest for id %.80r: not a request id", msg_id)

    @lsp_method(types.TEXT_DOCUMENT_DID_CHANGE)
    def lsp_text_document__did_change(
        self, params: types.DidChangeTextDocumentParams
    ) -> Generator[Any, Any, None]:
        """pygls's update, minus its KeyError for a document that was never opened."""
        uri = params.text_document.uri
        if unquote(uri) not in self.workspace.text_documents:
            log.warning("ignored didChange for %.200s: not an open document", uri)
            return
        yield from super().lsp_text_document__did_change(params)


class OneLine(logging.Filter):
    """pygls logs a traceback for errors that are answered, not bugs: a message that failed
    structuring (answered here), a body that is not JSON (answered by the server), a handler's
    deliberate JSON-RPC error such as an unknown command's InvalidParams (in its reply). Those
    records lose the traceback; an internal error keeps it."""

    def filter(self, record: logging.LogRecord) -> bool:
        if not isinstance(record.msg, str):
            return True
        if record.msg.startswith("Unable to deserialize message"):
            return False  # SymgenProtocol logs the message and its bad fields in one line
        error = record.exc_info[1] if record.exc_info else None
        if record.msg.startswith("Unable to handle message") and is_parse_error(error):
            return False  # SymgenServer.report_server_error logs and answers it
        if isinstance(error, JsonRpcException) and not isinstance(error, JsonRpcInternalError):
            record.msg, record.args = f"{record.getMessage()}: {error}", None
            record.exc_info = record.exc_text = None
            record.levelno, record.levelname = logging.WARNING, "WARNING"  # the client's mistake
        return True


def is_parse_error(error: BaseException | None) -> bool:
    """A body `json.loads` refused: not JSON, not UTF-8, or nested too deep to parse."""
    return isinstance(error, (ValueError, RecursionError)) and not isinstance(
        error, BaseValidationError
    )
