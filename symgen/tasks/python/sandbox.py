"""Run untrusted Python (LLM candidates, MBPP asserts) in an operating-system sandbox.

The boundary is the kernel, not the interpreter: a candidate may take over its whole Python
process (ctypes, `_posixsubprocess`, rewriting any policy object) and still finds nothing to
reach. `bubblewrap` starts it in new mount, PID, network, IPC and UTS namespaces whose only
files are the interpreter (read-only) and a fresh temporary directory; no network device but a
down loopback; `--die-with-parent`, and when the PID namespace's first process ends the kernel
kills whatever the candidate left running. Started as root it runs as `nobody` (setpriv, no
new privileges); otherwise as the user inside a user namespace, with no capabilities.
Resource limits (CPU seconds, address space, file size, open files, processes) come on top,
and the wall-clock timeout kills the whole sandbox.

Inside, `_sandbox_runner` keeps the results honest (a supervisor the candidate cannot reach
answers the host; test expectations never enter the candidate's memory), and an audit hook
remains as a first filter that names attempts early. Where the OS cannot give this isolation
(no `bwrap`, user namespaces disabled), running code is refused with the reason: never a
silent fall-back to weaker fences.
"""

from __future__ import annotations

import contextlib
import functools
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

from symgen.errors import MissingResource

RUNNER = Path(__file__).with_name("_sandbox_runner.py")
NOBODY = 65534
WORKDIR = "/sandbox"  # the temporary directory, as the candidate sees it
_ENV = {"PATH": "/usr/bin:/bin", "HOME": WORKDIR, "LANG": "C.UTF-8"}


class SandboxUnavailable(MissingResource):
    """The OS cannot isolate generated code here; the message says why and what to do."""


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


def _rlimits(limits: Limits) -> None:
    """In the child between fork and exec of bwrap: limits the whole sandbox inherits."""
    cpu = math.ceil(limits.timeout_s) + 1
    resource.setrlimit(resource.RLIMIT_CPU, (cpu, cpu + 1))
    mem = limits.memory_mb * 1024 * 1024
    resource.setrlimit(resource.RLIMIT_AS, (mem, mem))
    fsize = limits.fsize_mb * 1024 * 1024
    resource.setrlimit(resource.RLIMIT_FSIZE, (fsize, fsize))
    resource.setrlimit(resource.RLIMIT_NOFILE, (limits.nofile, limits.nofile))
    resource.setrlimit(resource.RLIMIT_CORE, (0, 0))


def _system_dirs() -> list[str]:
    """/usr read-only, and /bin, /lib, ... as the host has them (links on a merged /usr)."""
    args = ["--ro-bind", "/usr", "/usr"]
    for top in ("/bin", "/sbin", "/lib", "/lib32", "/lib64"):
        if os.path.islink(top):
            args += ["--symlink", os.readlink(top), top]
        elif os.path.isdir(top):
            args += ["--ro-bind", top, top]
    return args


def interpreter() -> str:
    """The real interpreter file (a venv's `python` is a link into a prefix we bind)."""
    return os.path.realpath(sys.executable)


def bwrap_command(bwrap: str, workdir: Path, read_only: Sequence[str] = ()) -> list[str]:
    """The bubblewrap command line, before the program to run inside it.

    Only /usr, the interpreter's prefix, `read_only` paths (each at its own path) and the
    temporary directory (as /sandbox, writable) exist inside; /proc belongs to the new PID
    namespace and /dev holds null, zero, random and the like.
    """
    cmd = [bwrap, "--unshare-pid", "--unshare-net", "--unshare-ipc", "--unshare-uts"]
    cmd += ["--unshare-cgroup-try", "--die-with-parent", "--new-session", "--clearenv"]
    if os.geteuid() != 0:
        cmd += ["--unshare-user", "--cap-drop", "ALL"]
    else:  # keep only what setpriv needs to become nobody; setuid clears the rest
        cmd += ["--cap-drop", "ALL", "--cap-add", "CAP_SETUID", "--cap-add", "CAP_SETGID"]
    for key, value in _ENV.items():
        cmd += ["--setenv", key, value]
    cmd += _system_dirs()
    cmd += [
        "--proc",
        "/proc",
        "--dev",
        "/dev",
        "--tmpfs",
        "/tmp",
    ]  # before binds that may be in /tmp
    prefixes = {os.path.realpath(p) for p in (sys.base_prefix, sys.base_exec_prefix)}
    binds = [
        path
        for path in sorted(prefixes | {os.path.realpath(p) for p in read_only})
        if not path.startswith("/usr/") and path != "/usr"
    ]
    parents = sorted({str(a) for path in binds for a in Path(path).parents if str(a) != "/"})
    for parent in parents:  # bwrap would make them 0700 (as root: closed to nobody)
        cmd += ["--perms", "0755", "--dir", parent]
    for path in binds:
        cmd += ["--ro-bind", path, path]
    cmd += ["--bind", str(workdir), WORKDIR]  # the runner enters it (as root, bwrap may not)
    if os.geteuid() == 0:
        cmd += ["--", "/usr/bin/setpriv", f"--reuid={NOBODY}", f"--regid={NOBODY}"]
        cmd += ["--clear-groups", "--no-new-privs"]
    else:
        cmd += ["--"]
    return cmd


@functools.cache
def isolation_problem() -> str | None:
    """Why this machine cannot sandbox code (None: it can); checked once by a trial run."""
    bwrap = os.environ.get("SYMGEN_BWRAP") or shutil.which("bwrap")
    if not bwrap or not os.access(bwrap, os.X_OK):
        return (
            "bubblewrap (bwrap) is not installed; it isolates generated code from your files "
            "and network: install it (Debian/Ubuntu: apt-get install bubblewrap)"
        )
    if os.geteuid() == 0 and not os.access("/usr/bin/setpriv", os.X_OK):
        return "running as root needs /usr/bin/setpriv (util-linux) to drop to nobody"
    with tempfile.TemporaryDirectory(prefix="symgen-sandbox-") as tmp:
        if os.geteuid() == 0:
            os.chown(tmp, NOBODY, NOBODY)
        try:
            done = subprocess.run(
                [*bwrap_command(bwrap, Path(tmp)), interpreter(), "-I", "-c", "print(42)"],
                capture_output=True,
                timeout=30,
                check=False,
            )
        except (OSError, subprocess.TimeoutExpired) as exc:
            return f"{bwrap} could not start a sandbox: {exc}"
    if done.stdout.strip() != b"42":
        reason = done.stderr.decode(errors="replace").strip().splitlines()[-1:] or ["no output"]
        return (
            f"{bwrap} could not start a sandbox ({reason[0]}); user namespaces may be "
            "disabled (sysctl kernel.unprivileged_userns_clone=1, user.max_user_namespaces > 0)"
        )
    return None


def require_isolation() -> str:
    """The bwrap path, or SandboxUnavailable saying why generated code cannot run here."""
    problem = isolation_problem()
    if problem:
        raise SandboxUnavailable(f"refusing to run generated code: {problem}")
    return os.environ.get("SYMGEN_BWRAP") or shutil.which("bwrap") or "bwrap"


def run_python(
    program: str,
    probes: Sequence[str] = (),
    *,
    setup: str = "",
    limits: Limits | None = None,
    audit_hook: bool = True,
    read_only: Sequence[str] = (),
) -> SandboxResult:
    """Execute `setup` + `program`, then evaluate each probe (expression or statement).

    `read_only`: more paths the program may read (each at its own path; e.g. site-packages
    or data files). `audit_hook=False` leaves only the OS layers (tests use it to check that
    they hold on their own). Raises SandboxUnavailable where the OS cannot isolate.
    """
    bwrap = require_isolation()
    limits = limits or Limits()
    start = time.monotonic()
    tmp = Path(tempfile.mkdtemp(prefix="symgen-sandbox-"))
    try:
        shutil.copy(RUNNER, tmp / "runner.py")
        if os.geteuid() == 0:
            os.chown(tmp, NOBODY, NOBODY)
        tmp.chmod(0o700)
        job = {
            "program": program,
            "probes": list(probes),
            "setup": setup,
            "nproc": limits.nproc,
            "audit": audit_hook,
            "paths": [os.path.realpath(p) for p in read_only],
        }
        info_r, info_w = os.pipe()
        cmd = bwrap_command(bwrap, tmp, read_only)
        cmd[1:1] = ["--info-fd", str(info_w)]  # bwrap says the namespace's first PID there
        try:
            proc = subprocess.Popen(
                [*cmd, interpreter(), "-I", "-B", f"{WORKDIR}/runner.py"],
                env=dict(_ENV),
                stdin=subprocess.PIPE,
                stdout=subprocess.PIPE,
                stderr=subprocess.DEVNULL,
                start_new_session=True,
                pass_fds=(info_w,),
                preexec_fn=lambda: _rlimits(limits),
            )
        finally:
            os.close(info_w)
        try:
            out, _ = proc.communicate(json.dumps(job).encode(), timeout=limits.timeout_s)
            proc.wait(timeout=max(0.5, start + limits.timeout_s - time.monotonic()))
        except subprocess.TimeoutExpired:
            return SandboxResult("timeout", seconds=time.monotonic() - start)
        finally:
            _kill_group(proc)  # bwrap's death takes the sandbox's PID namespace with it
            _await_namespace_end(info_r)
        return _parse(out, proc.returncode, time.monotonic() - start)
    finally:
        shutil.rmtree(tmp, ignore_errors=True)


def _await_namespace_end(info_fd: int, timeout_s: float = 2.0) -> None:
    """Return once the sandbox's first process is gone: the kernel empties its PID namespace
    before that, so nothing the candidate started outlives `run_python`."""
    with os.fdopen(info_fd, "rb") as info:
        try:
            pid = int(json.loads(info.read() or b"{}").get("child-pid", 0))
        except (ValueError, AttributeError):
            return
    deadline = time.monotonic() + timeout_s
    while pid and time.monotonic() < deadline:
        try:
            state = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0]
        except (OSError, IndexError):
            return
        if state in ("Z", "X"):
            return
        time.sleep(0.002)


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
        # an allocation that fails outside Python's own MemoryError ends the process
        return SandboxResult("crash", error=f"exit {returncode}", seconds=seconds)
    probes = [Probe(bool(p.get("ok")), p.get("value"), p.get("error")) for p in data["probes"]]
    status = str(data.get("status", "crash"))
    if status == "fsize":
        return SandboxResult("blocked", violations=["file size limit"], seconds=seconds)
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
