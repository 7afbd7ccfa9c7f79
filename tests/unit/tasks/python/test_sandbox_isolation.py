"""The OS boundary around generated Python: hostile candidates from a fixture file, each run
with and without the in-interpreter audit hook, must leave the user's files, network and
processes untouched and never bring the user's secret back; results cannot be forged."""

from __future__ import annotations

import hashlib
import os
import socket
import threading
import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest

from symgen.tasks.python import sandbox
from symgen.tasks.python.sandbox import Limits, SandboxResult, SandboxUnavailable, run_python
from tests.conftest import FIXTURES

CASES_FILE = FIXTURES / "hostile" / "python.txt"
SECRET = "SYMGEN-TEST-SECRET-4b1d"
LIMITS = Limits(timeout_s=4.0)


@dataclass(frozen=True)
class Case:
    name: str
    audit: bool
    expect: tuple[str, ...]  # statuses allowed; empty: any
    program: str


def load_cases(path: Path = CASES_FILE) -> list[Case]:
    """`== name | on/off | status[/status] or any`, then the program up to the next header."""
    cases: list[Case] = []
    for block in path.read_text().split("\n== ")[1:]:
        head, _, body = block.partition("\n")
        name, audit, expect = (part.strip() for part in head.split("|"))
        assert audit in ("on", "off"), (path, name)
        statuses = () if expect == "any" else tuple(expect.split("/"))
        cases.append(Case(name, audit == "on", statuses, body.rstrip() + "\n"))
    return cases


@pytest.fixture()
def home(tmp_path: Path) -> Path:
    """The user's files: a secret and a shell start-up file (readable by anybody, as at home)."""
    home = tmp_path / "home"
    home.mkdir()
    (home / "secret.txt").write_text(SECRET + "\n")
    (home / ".bashrc").write_text("# the user's\n")
    for path in (tmp_path, home, home / "secret.txt", home / ".bashrc"):
        path.chmod(0o755 if path.is_dir() else 0o644)
    return home


@pytest.fixture()
def listener() -> Iterator[tuple[int, list[bytes]]]:
    """A TCP server on 127.0.0.1 that records every connection it accepts."""
    server = socket.create_server(("127.0.0.1", 0))
    server.settimeout(0.2)
    received: list[bytes] = []
    stop = threading.Event()

    def serve() -> None:
        while not stop.is_set():
            try:
                conn, _ = server.accept()
            except OSError:
                continue
            with conn:
                conn.settimeout(1)
                received.append(conn.recv(100) or b"<connected>")

    thread = threading.Thread(target=serve, daemon=True)
    thread.start()
    yield server.getsockname()[1], received
    stop.set()
    thread.join(2)
    server.close()


def digest(root: Path) -> dict[str, str]:
    return {str(p): hashlib.sha256(p.read_bytes()).hexdigest() for p in sorted(root.rglob("*"))}


def processes_with(marker: str) -> list[int]:
    found = []
    for pid in filter(str.isdigit, os.listdir("/proc")):
        try:
            if marker.encode() in Path(f"/proc/{pid}/cmdline").read_bytes():
                found.append(int(pid))
        except OSError:
            pass
    return found


def outcome(result: SandboxResult) -> str:
    """The status, with a failing `f()` probe counted as `error` (where it failed is no matter)."""
    if result.ok and result.probes and not result.probes[0].ok:
        return "error"
    return result.status


def fill(program: str, **values: object) -> str:
    for key, value in values.items():
        program = program.replace("{" + key + "}", str(value))
    return program


CASES = load_cases()


def test_the_fixture_file_holds_the_issue_cases() -> None:
    names = {c.name for c in CASES}
    assert len(CASES) >= 15
    assert {n for n in names if "(issue 58)" in n} == {
        "fork_exec bypasses the hook (issue 58)",
        "runner policy overwritten (issue 58)",
        "symlink and dir_fd (issue 58)",
    }


@pytest.mark.parametrize("case", CASES, ids=[c.name for c in CASES])
def test_hostile_candidate_stays_inside(
    case: Case, home: Path, listener: tuple[int, list[bytes]]
) -> None:
    port, received = listener
    marker = f"symgen-escapee-{uuid.uuid4().hex[:8]}"
    before = digest(home)
    program = fill(case.program, home=home, port=port, marker=marker)
    result = run_python(program, ["f()"], limits=LIMITS, audit_hook=case.audit)
    if case.expect:
        assert outcome(result) in case.expect, result
    assert digest(home) == before, "the user's files changed"
    assert received == [], "the candidate reached a socket on 127.0.0.1"
    assert processes_with(marker) == [], "a process outlived the sandbox"
    shown = repr(result)
    assert SECRET not in shown and "root:x:0:0" not in shown, result
    assert "forged" not in shown, result
    if case.name.startswith("ptrace"):
        assert not result.ok or result.probes[0].value == "[]", result


def test_expected_values_never_enter_the_candidate() -> None:
    """The candidate searches its memory for the number its test expects, to return it."""
    program = (
        "import gc\n"
        "def f():\n"
        "    for o in gc.get_objects():\n"
        "        for v in (o.values() if isinstance(o, dict) else o if isinstance(o, (list, tuple)) else ()):\n"
        "            if isinstance(v, str) and v.startswith('assert f() == '):\n"
        "                try:\n"
        "                    return int(v.rsplit(' ', 1)[1])\n"
        "                except ValueError:\n"
        "                    pass\n"
        "    return 0\n"
    )
    result = run_python(program, ["assert f() == 987654321"], limits=LIMITS)
    assert result.ok, result
    assert not result.probes[0].ok and result.probes[0].error == "AssertionError", result


def test_a_swallowed_attempt_cannot_be_erased() -> None:
    program = (
        "import os, gc\n"
        "try:\n    os.system('id')\nexcept Exception:\n    pass\n"
        "for o in gc.get_objects():\n"
        "    if isinstance(o, list):\n"
        "        o[:] = [x for x in o if not (isinstance(x, str) and 'os.system' in x)]\n"
        "def f():\n    return 1\n"
    )
    result = run_python(program, ["f()"], limits=LIMITS)
    assert result.status == "blocked" and any("os.system" in v for v in result.violations)


@pytest.mark.parametrize(
    ("probe", "passes"),
    [
        ("assert f(2) == 4", True),
        ("assert f(2) == 4.0", True),  # == semantics, not the text
        ("assert f(2) == 5", False),
        ("assert 4 == f(2)", True),
        ("assert f(0)", False),
        ("assert not f(0)", True),
        ("assert g() == (1, [2, {'a': {3}}])", True),
        ("assert g() == [1, [2, {'a': {3}}]]", False),  # a tuple is not a list
        ("assert h() == 0.5", True),  # a Fraction
        ("assert obj() == 1", False),  # not plain data: fails rather than show the literal
        ("assert f(2) == f(2)", True),  # no literal side: run whole, as before
    ],
)
def test_asserts_are_judged_outside_the_candidate(probe: str, passes: bool) -> None:
    program = (
        "from fractions import Fraction\n"
        "def f(x):\n    return x * 2\n"
        "def g():\n    return (1, [2, {'a': {3}}])\n"
        "def h():\n    return Fraction(1, 2)\n"
        "class One:\n    def __eq__(self, other):\n        return other == 1\n"
        "def obj():\n    return One()\n"
    )
    result = run_python(program, [probe], limits=LIMITS)
    assert result.ok, result
    assert result.probes[0].ok is passes, result.probes[0]


def test_refuses_without_isolation(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("SYMGEN_BWRAP", "/nonexistent/bwrap")
    sandbox.isolation_problem.cache_clear()
    try:
        with pytest.raises(SandboxUnavailable, match="apt-get install bubblewrap"):
            run_python("def f():\n    return 1", ["f()"], limits=LIMITS)
    finally:
        monkeypatch.delenv("SYMGEN_BWRAP")
        sandbox.isolation_problem.cache_clear()
    assert run_python("def f():\n    return 1", ["f()"], limits=LIMITS).ok


# What the runner preloaded before the OS boundary: each still imports under the audit hook.
FORMERLY_PRELOADED = (
    "array base64 binascii bisect calendar cmath collections copy ctypes dataclasses datetime "
    "decimal enum fractions functools glob hashlib heapq io itertools json math numbers operator "
    "pathlib queue random re shutil socket statistics string struct subprocess tempfile textwrap "
    "time typing unicodedata encodings.idna"
)


def test_standard_modules_import_under_the_hook() -> None:
    program = "\n".join(f"import {m}" for m in FORMERLY_PRELOADED.split()) + "\nx = 1\n"
    result = run_python(program, ["x"], limits=LIMITS)
    assert result.ok and result.probes[0].value == "1", result


def test_read_only_paths_are_visible_and_read_only(tmp_path: Path) -> None:
    data = tmp_path / "data"
    data.mkdir()
    (data / "t.csv").write_text("a,b\n1,2\n")
    tmp_path.chmod(0o755)
    data.chmod(0o755)
    (data / "t.csv").chmod(0o666)  # only the read-only mount stands in the way (EROFS)
    program = (
        f"rows = open({str(data / 't.csv')!r}).read().splitlines()\n"
        "def f():\n"
        "    try:\n"
        f"        open({str(data / 't.csv')!r}, 'a').write('x')\n"
        "    except OSError as exc:\n"
        "        return rows, type(exc).__name__\n"
    )
    result = run_python(program, ["f()"], limits=LIMITS, read_only=[str(data)], audit_hook=False)
    assert result.ok and result.probes[0].value == "(['a,b', '1,2'], 'OSError')", result
    assert (data / "t.csv").read_text() == "a,b\n1,2\n"
