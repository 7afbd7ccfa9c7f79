"""Run untrusted Python (LLM candidates, MBPP asserts) in a separate, fenced process.

Layers, each enough on its own for the common cases and together for the hostile ones:
  * a new process (`python -I`, empty environment) in a fresh temporary directory, its own
    session, killed as a process group at the wall-clock timeout;
  * resource limits: CPU seconds, address space (~1 GB), file size, open files, processes;
  * no network: a new network namespace when we are root (loopback only, down), and the audit
    hook refuses sockets anyway;
  * when started as root: the runner drops to `nobody` after preloading the stdlib modules
    candidates import, so the kernel refuses writes to anybody's files and `RLIMIT_NPROC` (not
    enforced for root) bounds fork bombs; `PR_SET_NO_NEW_PRIVS` stops setuid binaries;
  * an audit hook (`sys.addaudithook`) that refuses process creation, `os.system`, sockets,
    ctypes, and file access outside the temporary directory (reads also from the interpreter's
    library paths). Attempts are recorded, so a candidate that swallows the error is still
    reported as `blocked`.
The temporary directory is deleted afterwards; nothing outside it is written.
"""

from __future__ import annotations

import contextlib
import ctypes
import ctypes.util
import json
import math
import os
import resource
import shutil
import signal
import subprocess
import sys
import tempfile
import time
from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

RUNNER = Path(__file__).with_name("_sandbox_runner.py")
NOBODY = 65534
_CLONE_NEWNET = 0x40000000
_PR_SET_NO_NEW_PRIVS = 38


@dataclass(frozen=True)
class Limits:
    timeout_s: float = 5.0  # wall clock for the whole run (program + probes)
    memory_mb: int = 1024  # address space
    fsize_mb: int = 16  # largest file the program may write (stdout included)
    nproc: int = 8  # processes of the sandbox user (fork bombs stop here)
    nofile: int = 64


@dataclass(frozen=True)
class Probe:
    """One probe's outcome: the canonical value of an expression, or the exception's class."""

    ok: bool
    value: str | None = None
    error: str | None = None


@dataclass
class SandboxResult:
    """`status`: ok | syntax | error | timeout | memory | blocked | crash."""

    status: str
    probes: list[Probe] = field(default_factory=list)
    violations: list[str] = field(default_factory=list)
    error: str | None = None
    seconds: float = 0.0

    @property
    def ok(self) -> bool:
        return self.status == "ok"


_libc: Any = None


def _load_libc() -> Any:
    global _libc
    if _libc is None:
        name = ctypes.util.find_library("c")
        _libc = ctypes.CDLL(name, use_errno=True) if name else False
    return _libc


def _preexec(limits: Limits, isolate_net: bool) -> None:
    """In the child between fork and exec: limits, no new privileges, a private network."""
    libc = _libc
    cpu = math.ceil(limits.timeout_s) + 1
    resource.setrlimit(resource.RLIMIT_CPU, (cpu, cpu + 1))
    mem = limits.memory_mb * 1024 * 1024
    resource.setrlimit(resource.RLIMIT_AS, (mem, mem))
    fsize = limits.fsize_mb * 1024 * 1024
    resource.setrlimit(resource.RLIMIT_FSIZE, (fsize, fsize))
    resource.setrlimit(resource.RLIMIT_NOFILE, (limits.nofile, limits.nofile))
    resource.setrlimit(resource.RLIMIT_CORE, (0, 0))
    if libc:
        if isolate_net:
            libc.unshare(_CLONE_NEWNET)  # best effort: fails harmlessly without the capability
        libc.prctl(_PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0)


def run_python(
    program: str,
    probes: Sequence[str] = (),
    *,
    setup: str = "",
    limits: Limits | None = None,
    audit_hook: bool = True,
) -> SandboxResult:
    """Execute `setup` + `program`, then evaluate each probe (expression or statement).

    `audit_hook=False` leaves only the process, limit, uid and network layers (tests use it to
    check that each layer holds on its own).
    """
    limits = limits or Limits()
    is_root = os.geteuid() == 0
    _load_libc()
    start = time.monotonic()
    tmp = Path(tempfile.mkdtemp(prefix="symgen-sandbox-"))
    try:
        shutil.copy(RUNNER, tmp / "runner.py")
        if is_root:
            os.chown(tmp, NOBODY, NOBODY)
        tmp.chmod(0o700)
        job = {
            "program": program,
            "probes": list(probes),
            "setup": setup,
            "nproc": limits.nproc,
            "uid": NOBODY if is_root else None,
            "gid": NOBODY if is_root else None,
            "audit": audit_hook,
        }
        proc = subprocess.Popen(
            [sys.executable, "-I", "-B", str(tmp / "runner.py")],
            cwd=tmp,
            env={"PATH": "/usr/bin:/bin", "HOME": str(tmp), "LANG": "C.UTF-8"},
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            stderr=subprocess.DEVNULL,
            start_new_session=True,
            preexec_fn=lambda: _preexec(limits, is_root),
        )
        try:
            out, _ = proc.communicate(json.dumps(job).encode(), timeout=limits.timeout_s)
        except subprocess.TimeoutExpired:
            _kill_group(proc)
            return SandboxResult("timeout", seconds=time.monotonic() - start)
        finally:
            _kill_group(proc)  # anything the program left behind in its group
        return _parse(out, proc.returncode, time.monotonic() - start)
    finally:
        shutil.rmtree(tmp, ignore_errors=True)


def _kill_group(proc: subprocess.Popen[bytes]) -> None:
    with contextlib.suppress(ProcessLookupError, PermissionError):
        os.killpg(proc.pid, signal.SIGKILL)
    with contextlib.suppress(subprocess.TimeoutExpired):
        proc.wait(timeout=5)


def _parse(out: bytes, returncode: int, seconds: float) -> SandboxResult:
    line = out.strip().splitlines()[-1] if out.strip() else b""
    try:
        data = json.loads(line)
    except (json.JSONDecodeError, UnicodeDecodeError):
        data = None
    if not isinstance(data, dict):
        if returncode in (-signal.SIGXCPU, -signal.SIGKILL):
            return SandboxResult("timeout", seconds=seconds)
        if returncode == -signal.SIGXFSZ:
            return SandboxResult("blocked", violations=["file size limit"], seconds=seconds)
        # an allocation that fails outside Python's own MemoryError ends the process
        return SandboxResult("crash", error=f"exit {returncode}", seconds=seconds)
    probes = [Probe(bool(p.get("ok")), p.get("value"), p.get("error")) for p in data["probes"]]
    status = str(data.get("status", "crash"))
    if status == "ok" and any(p.error == "MemoryError" for p in probes):
        status = "memory"
    return SandboxResult(
        status, probes, list(data.get("violations", [])), data.get("error"), seconds
    )


@dataclass
class SandboxCounter:
    """Tally of sandbox outcomes for a run's statistics (how many were stopped, and why)."""

    counts: Counter[str] = field(default_factory=Counter)

    def add(self, result: SandboxResult) -> SandboxResult:
        self.counts[result.status] += 1
        return result
