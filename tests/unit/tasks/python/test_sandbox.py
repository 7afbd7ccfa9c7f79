"""The Python sandbox against hostile candidates: each is stopped and counted, the run goes on,
and nothing outside the sandbox's temporary directory changes."""

from __future__ import annotations

import hashlib
import os
import tempfile
from pathlib import Path

import pytest

from symgen.tasks.python.sandbox import Limits, SandboxCounter, run_python

LIMITS = Limits(timeout_s=3.0)


@pytest.fixture()
def sentinel(tmp_path: Path) -> Path:
    """A directory of the user's files the candidates try to damage."""
    home = tmp_path / "home"
    home.mkdir()
    (home / "precious.txt").write_text("do not touch\n")
    home.chmod(0o755)
    return home


def snapshot(root: Path) -> dict[str, str]:
    return {
        str(p.relative_to(root)): hashlib.sha256(p.read_bytes()).hexdigest() if p.is_file() else ""
        for p in sorted(root.rglob("*"))
    }


def leftovers() -> set[str]:
    return {p for p in os.listdir(tempfile.gettempdir()) if p.startswith("symgen-sandbox-")}


# (name, program, expected status, expected violation substring or None)
HOSTILE = [
    ("infinite loop", "while True:\n    pass", "timeout", None),
    ("fork bomb", "import os\nwhile True:\n    os.fork()", "blocked", "os.fork"),
    ("10 GB allocation", "x = bytearray(10 * 1024**3)", "memory", None),
    ("write outside", "open('{home}/precious.txt', 'w').write('owned')", "blocked", "open"),
    ("delete outside", "import os\nos.remove('{home}/precious.txt')", "blocked", "os.remove"),
    ("new file outside", "open('{home}/new.txt', 'x')", "blocked", "open"),
    ("rmtree outside", "import shutil\nshutil.rmtree('{home}')", "blocked", "shutil.rmtree"),
    (
        "socket",
        "import socket\nsocket.create_connection(('1.1.1.1', 80), timeout=1)",
        "blocked",
        "socket",
    ),
    ("os.system", "import os\nos.system('touch {home}/pwned')", "blocked", "os.system"),
    (
        "subprocess",
        "import subprocess\nsubprocess.run(['touch', '{home}/pwned'])",
        "blocked",
        "subprocess",
    ),
    (
        "ctypes",
        "import ctypes\nctypes.CDLL(None).system(b'touch {home}/pwned')",
        "blocked",
        "ctypes",
    ),
    (
        "swallowed violation",
        "import os\ntry:\n    os.system('id')\nexcept Exception:\n    pass\ndef f():\n    return 1",
        "blocked",
        "os.system",
    ),
    ("read user file", "open('{home}/precious.txt').read()", "blocked", "open"),
    ("exit", "raise SystemExit(3)", "error", None),
    ("huge output", "while True:\n    print('x' * 10000)", "error", None),
]


@pytest.mark.parametrize(
    ("name", "program", "status", "violation"), HOSTILE, ids=[h[0] for h in HOSTILE]
)
def test_hostile_candidate_is_stopped(
    sentinel: Path, name: str, program: str, status: str, violation: str | None
) -> None:
    before, temp_before = snapshot(sentinel), leftovers()
    result = run_python(program.format(home=sentinel), ["f()"], limits=LIMITS)
    assert result.status == status, (name, result)
    if violation:
        assert any(violation in v for v in result.violations), result.violations
    assert snapshot(sentinel) == before
    assert leftovers() <= temp_before


def test_the_run_goes_on_and_counts_every_stop(sentinel: Path) -> None:
    counter = SandboxCounter()
    for _, program, _, _ in HOSTILE[:3]:
        counter.add(run_python(program.format(home=sentinel), limits=LIMITS))
    good = counter.add(run_python("def f(x):\n    return x * 2", ["f(21)"], limits=LIMITS))
    assert good.ok and good.probes[0].value == "42"
    assert counter.counts == {"timeout": 1, "blocked": 1, "memory": 1, "ok": 1}


@pytest.mark.skipif(os.geteuid() != 0, reason="the uid and network layers need root to set up")
@pytest.mark.parametrize(
    ("program", "expect"),
    [
        ("open('{home}/precious.txt', 'w').write('owned')", "error"),  # kernel: not our file
        ("import os\nos.system('touch {home}/pwned')", "ok"),  # runs, as nobody: touch fails
        ("import socket\nsocket.create_connection(('1.1.1.1', 80), timeout=1)", "error"),
        ("import os\nwhile True:\n    os.fork()", "error"),  # RLIMIT_NPROC as nobody
    ],
    ids=["write", "system", "socket", "fork bomb"],
)
def test_layers_hold_without_the_audit_hook(sentinel: Path, program: str, expect: str) -> None:
    before = snapshot(sentinel)
    result = run_python(program.format(home=sentinel), limits=LIMITS, audit_hook=False)
    assert result.status in (expect, "timeout"), result
    assert snapshot(sentinel) == before


# (program, probes, expected values or error classes)
BEHAVIOUR = [
    ("def f(x):\n    return {x, x + 1}", ["f(1)"], ["{1, 2}"]),
    ("def f():\n    return {'b': 1, 'a': 2}", ["f()"], ["dict{'a': 2, 'b': 1}"]),
    ("def f():\n    return 0.1 + 0.2", ["f()"], ["0.3"]),
    ("def f():\n    return (i for i in range(3))", ["f()"], ["iter[0, 1, 2]"]),
    ("def f(x):\n    return 1 / x", ["f(0)", "f(2)"], ["!ZeroDivisionError", "0.5"]),
    ("import math\ndef f(x):\n    return math.sqrt(x)", ["f(16)"], ["4.0"]),
    ("import re\ndef f(s):\n    return re.findall('[0-9]+', s)", ["f('a1b22')"], ["['1', '22']"]),
    (
        "def f(x):\n    return x",
        ["assert f(1) == 1", "assert f(1) == 2"],
        [None, "!AssertionError"],
    ),
]


@pytest.mark.parametrize(("program", "probes", "expected"), BEHAVIOUR)
def test_probe_values_are_canonical(
    program: str, probes: list[str], expected: list[str | None]
) -> None:
    result = run_python(program, probes, limits=LIMITS)
    assert result.ok, result
    got = [p.value if p.ok else f"!{p.error}" for p in result.probes]
    assert got == expected


def test_syntax_error_and_setup_code() -> None:
    assert run_python("def f(:\n  pass", limits=LIMITS).status == "syntax"
    res = run_python("def g():\n    return K", ["g()"], setup="K = 7", limits=LIMITS)
    assert res.ok and res.probes[0].value == "7"
