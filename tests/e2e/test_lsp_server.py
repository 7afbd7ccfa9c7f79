"""The language server end to end over stdio, with a real ONNX model and a real database."""

from __future__ import annotations

import asyncio
import json
import shutil
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from lsprotocol import types

from symgen.databases.sqlite import ReadOnlyDatabase
from symgen_server.client import RawSession, Session, lsp_session
from tests.conftest import FIXTURES
from tests.fixture_files import json_cases, params


@pytest.fixture()
def workspace(tmp_path: Path, exported: Path) -> Path:
    """A workspace whose newest model is the test model (found without any setting)."""
    shutil.copytree(exported, tmp_path / ".symgen" / "models" / "geo")
    return tmp_path


def first_pair(pairs: Path) -> dict[str, str]:
    return json.loads(pairs.read_text().splitlines()[0])


def run(coro):  # type: ignore[no-untyped-def]
    return asyncio.run(asyncio.wait_for(coro, 300))


def same_rows(db: Path, a: str, b: str) -> bool:
    with ReadOnlyDatabase(db) as conn:
        return conn.execute(a).rows == conn.execute(b).rows


def test_inline_and_classic_completion_for_a_comment_and_nothing_elsewhere(
    workspace: Path, pairs: Path, geo_dir: Path
) -> None:
    pair = first_pair(pairs)
    db = geo_dir / "geography.sqlite"
    uri = (workspace / "q.sql").as_uri()
    text = f"SELECT 1; -- trailing words here\n-- {pair['question']}\n\nSELECT state_name FROM state;\n"

    async def go() -> None:
        async with lsp_session(workspace, {"database": str(db)}) as s:
            s.open(uri, text)
            comment_end = len(f"-- {pair['question']}")
            got = await s.inline(uri, 1, comment_end)
            assert got is not None and len(got.items) == 1, s.stderr[-5:]
            insert = got.items[0].insert_text
            assert isinstance(insert, str) and insert.startswith("\n")
            assert same_rows(db, insert.strip(), pair["query"]), insert
            below = await s.inline(uri, 2, 0)
            assert below is not None and below.items[0].insert_text == insert.strip()
            classic = await s.complete(uri, 2, 0)
            items = classic.items if isinstance(classic, types.CompletionList) else classic
            assert len(items) == 1 and items[0].text_edit.new_text == insert.strip()
            assert "```sql" in items[0].documentation.value
            # nowhere else: inside the comment, after a trailing comment, in code, past the end
            assert await s.inline(uri, 1, 3) is None
            assert await s.inline(uri, 0, len("SELECT 1; -- trailing words here")) is None
            assert await s.inline(uri, 3, 7) is None
            assert await s.inline(uri, 4, 0) is None
            status = await s.command("symgen.status")
            assert status["ready"] and status["recent_completions"] >= 1

    run(go())


def test_typed_prefix_narrows_and_unicode_junk_is_harmless(
    workspace: Path, pairs: Path, geo_dir: Path
) -> None:
    pair = first_pair(pairs)
    uri = (workspace / "junk.sql").as_uri()
    junk = "\x00\x01ÿ 日本語 😀 " * 2000 + "\n"
    text = junk * 50 + f"-- {pair['question']}\nSELECT \n"

    async def go() -> None:
        async with lsp_session(workspace, {"database": str(geo_dir / "geography.sqlite")}) as s:
            s.open(uri, text)
            got = await s.inline(uri, 51, len("SELECT "))
            assert got is not None, s.stderr[-5:]
            item = got.items[0]
            assert item.range is not None and item.range.start.character == 0
            assert isinstance(item.insert_text, str) and item.insert_text.upper().startswith(
                "SELECT "
            )
            assert await s.inline(uri, 10, 5) is None  # inside binary junk

    run(go())


LSP_FIXTURES = FIXTURES / "lsp"
_, BAD_SETTINGS = json_cases(LSP_FIXTURES / "bad_settings.json", required=("setting", "value"))


def test_bad_settings_are_reported_and_defaults_used(
    workspace: Path, pairs: Path, geo_dir: Path
) -> None:
    pair = first_pair(pairs)
    uri = (workspace / "q.sql").as_uri()
    bad = {case["setting"]: case["value"] for case in BAD_SETTINGS}
    assert len(bad) == len(BAD_SETTINGS), "bad_settings.json names a setting twice"
    options = {"database": str(geo_dir / "geography.sqlite"), **bad}

    async def go() -> None:
        async with lsp_session(workspace, options) as s:
            s.open(uri, f"-- {pair['question']}\n")
            got = await s.inline(uri, 0, len(pair["question"]) + 3)
            assert got is not None, s.messages
            joined = " ".join(s.messages)
            for case in BAD_SETTINGS:
                assert case["setting"] in joined, (case["name"], joined)
            # a later bad change is reported too, and disabling works
            s.client.workspace_did_change_configuration(
                types.DidChangeConfigurationParams(
                    settings={"symgen": {"enabled": False, "debounceMs": "x"}}
                )
            )
            await asyncio.sleep(0.5)
            assert await s.inline(uri, 0, len(pair["question"]) + 3) is None
            assert any("debounceMs" in m for m in s.messages)

    run(go())


def test_missing_model_says_so_once_then_hot_loads_a_new_one(
    tmp_path: Path, exported: Path, pairs: Path, geo_dir: Path
) -> None:
    pair = first_pair(pairs)
    uri = (tmp_path / "q.sql").as_uri()
    line = f"-- {pair['question']}"

    async def go() -> None:
        async with lsp_session(tmp_path, {"database": str(geo_dir / "geography.sqlite")}) as s:
            s.open(uri, line + "\n")
            assert await s.inline(uri, 0, len(line)) is None
            assert await s.inline(uri, 0, len(line)) is None
            missing = [m for m in s.messages if "no model found" in m]
            assert len(missing) == 1 and "symgen demo" in missing[0]
            shutil.copytree(exported, tmp_path / ".symgen" / "models" / "new")
            await asyncio.sleep(1.2)
            got = await s.inline(uri, 0, len(line))
            assert got is not None, s.logs[-3:]
            assert any("reloaded" in m for m in s.logs)

    run(go())


def test_newer_request_supersedes_and_client_cancel_works(
    workspace: Path, pairs: Path, geo_dir: Path
) -> None:
    pair = first_pair(pairs)
    uri = (workspace / "q.sql").as_uri()
    line = f"-- {pair['question']}"

    async def go() -> None:
        options = {"database": str(geo_dir / "geography.sqlite"), "debounceMs": 300}
        async with lsp_session(workspace, options) as s:
            s.open(uri, line + "\n")
            first = asyncio.ensure_future(s.inline(uri, 0, len(line)))
            await asyncio.sleep(0.05)
            second = asyncio.ensure_future(s.inline(uri, 0, len(line)))
            assert await first is None, "the older request must be superseded"
            assert await second is not None
            params = types.InlineCompletionParams(
                context=types.InlineCompletionContext(
                    trigger_kind=types.InlineCompletionTriggerKind.Invoked
                ),
                text_document=types.TextDocumentIdentifier(uri),
                position=types.Position(0, len(line)),
            )
            future = s.client.protocol.send_request(types.TEXT_DOCUMENT_INLINE_COMPLETION, params)
            await asyncio.sleep(0.05)
            future.cancel()  # pygls's client sends $/cancelRequest
            await asyncio.sleep(0.5)
            # the server is still responsive afterwards
            status = await s.command("symgen.status")
            assert status["ready"]

    run(go())


@pytest.mark.llm
def test_generate_from_selection_writes_verified_data(
    workspace: Path, geo_dir: Path, model_file
) -> None:  # type: ignore[no-untyped-def]
    model_file("qwen2.5-coder-0.5b")
    uri = (workspace / "examples.sql").as_uri()
    seeds = [json.loads(x) for x in (geo_dir / "seed_10.jsonl").read_text().splitlines()]
    text = "".join(f"-- {p['question']}\n{p['query']}\n\n" for p in seeds[:6])
    text += "-- just a note with no query\n\nSELECT 1;\n"
    n_lines = text.count("\n")
    db = geo_dir / "geography.sqlite"
    options = {"database": str(db), "generateQuestions": 2, "samples": 4, "minVotes": "2"}

    async def running_job(s: Session) -> asyncio.Future[Any]:
        """Start a generate job and return once its child is running (begin, then a report)."""
        n_progress = len(s.progress)
        job = asyncio.ensure_future(
            s.command(
                "symgen.generateFromSelection",
                uri,
                {"start": {"line": 0, "character": 0}, "end": {"line": 6, "character": 0}},
            )
        )
        while len(s.progress) < n_progress + 2:
            await asyncio.sleep(0.2)
        return job

    async def go() -> None:
        async with lsp_session(workspace, options) as s:
            s.open(uri, text)
            empty = await s.command(
                "symgen.generateFromSelection",
                uri,
                {
                    "start": {"line": n_lines - 3, "character": 0},
                    "end": {"line": n_lines, "character": 0},
                },
            )
            assert not empty["ok"] and "no usable pair" in empty["error"]
            started = time.monotonic()
            result = await s.command(
                "symgen.generateFromSelection",
                uri,
                {"start": {"line": 0, "character": 0}, "end": {"line": n_lines, "character": 0}},
            )
            assert result["ok"], result
            assert result["pairs"] == 6
            out = Path(result["out"])
            assert out.parent == workspace / ".symgen" / "data" and out.exists()
            rows = [json.loads(x) for x in out.read_text().splitlines()]
            assert len(rows) == result["kept"]
            for row in rows:  # verified: each kept query runs and has its votes recorded
                assert row["votes"] >= 2 and row["db"] == "geography"
                with ReadOnlyDatabase(db) as conn:
                    assert conn.execute(row["query"]).rows
            kinds = [
                v.get("kind") if isinstance(v, dict) else getattr(v, "kind", None)
                for v in s.progress
            ]
            assert kinds[0] == "begin" and "report" in kinds and kinds[-1] == "end"
            assert time.monotonic() - started < 600
            # a second run never overwrites the first
            again = await s.command(
                "symgen.generateFromSelection",
                uri,
                {"start": {"line": 0, "character": 0}, "end": {"line": 3, "character": 0}},
            )
            assert again["out"] != result["out"] and out.exists()
            # cancelling a running job stops it and leaves no partial files
            before = sorted((workspace / ".symgen" / "data").iterdir())
            job = await running_job(s)
            assert (await s.command("symgen.cancelJobs"))["cancelled"] == 1
            stopped = await asyncio.wait_for(job, 60)
            assert stopped["cancelled"] and not stopped["ok"]
            assert sorted((workspace / ".symgen" / "data").iterdir()) == before
            # the editor quitting mid-job: shutdown stops the child and both requests answer
            last = await running_job(s)
            assert _children_in(workspace)
        # the session's shutdown succeeded (pygls 2.1 alone fails on a pending request) ...
        assert last.done() and last.result()["cancelled"]
        assert not _children_in(workspace)  # ... and left no `symgen generate` running

    run(go())


def _children_in(workspace: Path) -> list[str]:
    """Command lines of live processes that name `workspace` (the server's job children)."""
    found = []
    for cmdline in Path("/proc").glob("[0-9]*/cmdline"):
        try:
            argv = cmdline.read_bytes().split(b"\0")
        except OSError:
            continue
        if any(str(workspace).encode() in a for a in argv) and b"generate" in argv:
            found.append(b" ".join(argv).decode(errors="replace"))
    return found


def test_command_line_model_and_db_without_any_settings(
    tmp_path: Path, exported: Path, pairs: Path, geo_dir: Path
) -> None:
    """`symgen-server --model M --db DB`, as `symgen demo` prints: no workspace model needed."""
    pair = first_pair(pairs)
    uri = (tmp_path / "q.sql").as_uri()
    args = ["--model", str(exported), "--db", str(geo_dir / "geography.sqlite")]

    async def go() -> None:
        async with lsp_session(tmp_path, None, args) as s:
            s.open(uri, f"-- {pair['question']}\n")
            got = await s.inline(uri, 1, 0)
            assert got is not None, s.stderr[-5:]
            status = await s.command("symgen.status")
            assert status["model"] == str(exported)

    run(go())


def test_execution_guidance_setting(
    exported: Path, pairs: Path, geo_dir: Path, tmp_path: Path
) -> None:
    """On by default (a read-only guide on the configured database), off when asked; the
    completion is the memorised answer either way."""
    from symgen_server.completer import Completer
    from symgen_server.settings import parse_settings

    pair = first_pair(pairs)
    base = {"model": str(exported), "database": str(geo_dir / "geography.sqlite")}
    completer = Completer()
    for guided in (True, False):
        settings, problems = parse_settings({"symgen": base | {"executionGuided": guided}})
        assert not problems and not completer.configure(settings, tmp_path)
        assert (completer.guide is not None) == guided
        got = completer.complete(pair["question"])
        assert got is not None and got.valid
        with ReadOnlyDatabase(geo_dir / "geography.sqlite") as db:
            assert db.execute(got.sql).rows == db.execute(pair["query"]).rows


# ---- hostile and broken input (issue #58): every request answered, each problem said once ----
INVALID_SPEC, INVALID_REQUESTS = json_cases(
    LSP_FIXTURES / "invalid_requests.json",
    required=("code", "says"),
    optional=("set", "delete", "params", "method", "id", "jsonrpc", "body", "body_hex", "null_id"),
)


def _frame(case: dict[str, Any], valid: dict[str, Any], msg_id: int) -> bytes:
    """The request (or raw body) a case of invalid_requests.json describes."""
    if "body" in case or "body_hex" in case:
        return case["body"].encode() if "body" in case else bytes.fromhex(case["body_hex"])
    params = json.loads(json.dumps(valid))
    for path, value in case.get("set", {}).items():
        *parents, leaf = path.split(".")
        node = params
        for key in parents:
            node = node[key]
        node[leaf] = value
    for key in case.get("delete", []):
        del params[key]
    message = {"jsonrpc": "2.0", "id": msg_id, "method": "textDocument/inlineCompletion"}
    message["params"] = case.get("params", params)
    for key in ("method", "id", "jsonrpc", "params"):
        if case.get(key) == "<absent>":
            del message[key]
        elif key in case:
            message[key] = case[key]
    return json.dumps(message).encode()


@pytest.fixture(scope="class")
def raw_server(
    tmp_path_factory: pytest.TempPathFactory,
) -> Iterator[tuple[RawSession, str, dict[str, Any]]]:
    """For TestInvalidRequests (torn down after it): a raw session, initialised, with one
    document open, as (session, its uri, valid inlineCompletion params)."""
    root = tmp_path_factory.mktemp("invalid-requests")
    uri = (root / "q.sql").as_uri()
    valid = json.loads(json.dumps(INVALID_SPEC["valid"]).replace("{uri}", uri))
    s = RawSession(root)
    try:
        early = s.call("textDocument/inlineCompletion", valid, timeout=60)  # server start-up
        assert early["error"]["code"] == -32002, early  # ServerNotInitialized
        s.initialize({})
        s.notify("textDocument/didOpen", {"textDocument": {"uri": uri, "languageId": "sql", "version": 1, "text": "-- how many rivers are there\n"}})  # fmt: skip
        yield s, uri, valid
    finally:
        assert s.close() == 0
    assert not [line for line in s.stderr if "Traceback" in line], s.stderr


class TestInvalidRequests:
    """pygls alone logs a traceback and never replies to a request whose params fail
    validation (`line: -1`, no `context`): the editor waits forever. Each case of
    fixtures/lsp/invalid_requests.json must get its JSON-RPC error, naming what is wrong, from
    one server that keeps serving afterwards and exits cleanly."""

    @pytest.mark.parametrize("case", params(INVALID_REQUESTS))
    def test_every_invalid_request_is_answered(
        self, raw_server: tuple[RawSession, str, dict[str, Any]], case: dict[str, Any]
    ) -> None:
        s, _, valid = raw_server
        n = 1000 + INVALID_REQUESTS.index(case)
        nulls = len(s.null_replies)
        s.send_body(_frame(case, valid, n))
        reply = s.wait_null_replies(nulls + 1)[nulls] if case.get("null_id") else s.wait(n)
        error = reply.get("error")
        assert error and error["code"] == case["code"], (case["name"], reply)
        for part in case["says"]:
            assert part in error["message"], (case["name"], error["message"])

    def test_still_serving_after_the_invalid_requests(
        self, raw_server: tuple[RawSession, str, dict[str, Any]]
    ) -> None:
        s, uri, valid = raw_server
        assert s.call("textDocument/inlineCompletion", valid)["result"] is None
        # a change to a document that was never opened is ignored, not an error shown to the user
        s.notify("textDocument/didChange", {"textDocument": {"uri": uri + "x", "version": 2}, "contentChanges": [{"text": "x"}]})  # fmt: skip
        assert "error" not in s.call("workspace/executeCommand", {"command": "symgen.status"})
        assert not [m for m in s.messages() if "Error in server" in m]


def test_wrong_typed_setting_keeps_the_working_model(
    tmp_path: Path, exported: Path, pairs: Path, geo_dir: Path
) -> None:
    """`model: 12` typed over a working model is refused, said once, and the model stays on
    (it used to reset to the default, "the newest workspace model": here there is none)."""
    pair = first_pair(pairs)
    uri = (tmp_path / "q.sql").as_uri()
    line = f"-- {pair['question']}"
    options = {"model": str(exported), "database": str(geo_dir / "geography.sqlite")}

    async def go() -> None:
        async with lsp_session(tmp_path, options) as s:
            s.open(uri, line + "\n")
            assert await s.inline(uri, 0, len(line)) is not None, s.messages
            for _ in range(2):  # the same bad value twice: one message
                s.client.workspace_did_change_configuration(
                    types.DidChangeConfigurationParams(settings={"symgen": {"model": 12}})
                )
                await asyncio.sleep(0.3)
                assert await s.inline(uri, 0, len(line)) is not None, s.messages
            said = [m for m in s.messages if "model=12" in m]
            assert len(said) == 1, s.messages
            assert "expected a string" in said[0] and str(exported) in said[0]
            assert (await s.command("symgen.status"))["model"] == str(exported)

    asyncio.run(asyncio.wait_for(go(), 300))


def _break(model: Path, how: str) -> Path:
    """Damage an exported model the way a crashed copy or a bad sync does; the file broken."""
    manifest: dict[str, str] = json.loads((model / "symgen.json").read_text())
    if how == "truncated graph":
        graph = model / (
            manifest["onnx_int8"] if manifest.get("default_int8") else manifest["onnx"]
        )
        graph.write_bytes(graph.read_bytes()[: graph.stat().st_size // 3])
        return graph
    if how == "missing tokenizer":
        tokenizer = model / manifest["tokenizer"]
        tokenizer.unlink()
        return tokenizer
    (model / "symgen.json").write_text("")
    return model / "symgen.json"


@pytest.mark.parametrize("how", ["truncated graph", "missing tokenizer", "empty manifest"])
def test_broken_model_is_named_once_answers_empty_and_recovers(
    how: str, tmp_path: Path, exported: Path, pairs: Path, geo_dir: Path
) -> None:
    """A broken model used to fail every request with -32603 until the setting changed."""
    pair = first_pair(pairs)
    model = tmp_path / "model"
    shutil.copytree(exported, model)
    broken = _break(model, how)
    uri = (tmp_path / "q.sql").as_uri()
    line = f"-- {pair['question']}"
    options = {"model": str(model), "database": str(geo_dir / "geography.sqlite")}

    async def go() -> None:
        async with lsp_session(tmp_path, options) as s:
            s.open(uri, line + "\n")
            for _ in range(3):
                assert await s.inline(uri, 0, len(line)) is None
                await asyncio.sleep(0.4)  # past the 1 s hot-reload check: no retry, no repeat
            said = [m for m in s.messages if "cannot load model" in m]
            assert len(said) == 1 and str(broken) in said[0], s.messages
            assert len([m for m in s.logs if "cannot load model" in m]) == 1, s.logs
            shutil.copytree(exported, model, dirs_exist_ok=True)  # the file is fixed
            await asyncio.sleep(1.2)
            got = await s.inline(uri, 0, len(line))
            assert got is not None, s.messages
            assert any("reloaded" in m for m in s.logs)
            assert not [x for x in s.stderr if "Traceback" in x], s.stderr

    asyncio.run(asyncio.wait_for(go(), 300))


def test_no_model_no_database_each_warning_once(tmp_path: Path) -> None:
    """Every completion request used to repeat both warnings in the log."""
    uri = (tmp_path / "q.sql").as_uri()
    line = "-- how many rivers are there"

    async def go() -> None:
        async with lsp_session(tmp_path, {}) as s:
            s.open(uri, line + "\n")
            for _ in range(4):
                assert await s.inline(uri, 0, len(line)) is None
            for said in (s.messages, s.logs, s.stderr):
                for warning in ("no model found", "no database set"):
                    assert len([m for m in said if warning in m]) == 1, (warning, said)

    asyncio.run(asyncio.wait_for(go(), 300))
