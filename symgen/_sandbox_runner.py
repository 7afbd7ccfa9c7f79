"""Runs inside the sandbox process (see `symgen.sandbox`); standalone: imports no symgen code.

Started as `python -I _sandbox_runner.py` in a fresh temporary directory with resource limits
already set. It reads the job from stdin, preloads the standard modules candidates use (after
dropping root, an interpreter under /root may not be readable any more), drops
root to an unprivileged uid when it has it, installs an audit hook that refuses processes,
sockets, ctypes and any file access outside the temporary directory (reads are also allowed
from the interpreter's own library paths), then runs the program and the probes. stdout and
stderr of the program go to capped files in the temporary directory; the result is one JSON
object written to the original stdout.
"""

from __future__ import annotations

import json
import os
import resource
import sys
from typing import Any

PRELOAD = [
    "array",
    "base64",
    "binascii",
    "bisect",
    "calendar",
    "cmath",
    "collections",
    "copy",
    "ctypes",
    "dataclasses",
    "datetime",
    "decimal",
    "enum",
    "fractions",
    "functools",
    "glob",
    "hashlib",
    "heapq",
    "io",
    "itertools",
    "json",
    "math",
    "numbers",
    "operator",
    "pathlib",
    "queue",
    "random",
    "re",
    "shutil",
    "socket",
    "statistics",
    "string",
    "struct",
    "subprocess",
    "tempfile",
    "textwrap",
    "time",
    "typing",
    "unicodedata",
    "encodings.idna",
]
_MUTATING = {
    "os.remove": 1,
    "os.rename": 2,
    "os.rmdir": 1,
    "os.mkdir": 1,
    "os.chmod": 1,
    "os.chown": 1,
    "os.link": 2,
    "os.symlink": 2,
    "os.truncate": 1,
    "os.utime": 1,
    "shutil.rmtree": 1,
    "shutil.copyfile": 2,
    "shutil.copytree": 2,
    "shutil.move": 2,
    "os.chdir": 1,
}
_LISTING = ("os.listdir", "os.scandir", "glob.glob")
_FORBIDDEN_PREFIXES = (
    "os.system",
    "os.exec",
    "os.posix_spawn",
    "os.spawn",
    "os.fork",
    "os.forkpty",
    "os.kill",
    "os.killpg",
    "subprocess.",
    "pty.",
    "socket.",
    "ctypes.",
    "signal.pthread_kill",
    "sys.remote_exec",
    "webbrowser.",
)
_WRITE_FLAGS = os.O_WRONLY | os.O_RDWR | os.O_CREAT | os.O_TRUNC | os.O_APPEND


class SandboxViolation(PermissionError):
    """Raised by the audit hook; also recorded, so swallowing it does not hide the attempt."""


def canon(value: Any, depth: int = 0) -> str:
    """A deterministic text for a value: sets and dicts sorted, floats rounded, no addresses."""
    if depth > 20:
        return "..."
    if isinstance(value, bool) or value is None:
        return repr(value)
    if isinstance(value, int):
        return repr(value)
    if isinstance(value, float):
        return "nan" if value != value else repr(round(value, 6))
    if isinstance(value, complex):
        return f"complex({canon(value.real)}, {canon(value.imag)})"
    if isinstance(value, (str, bytes)):
        return repr(value)
    if isinstance(value, (list, tuple)):
        inner = ", ".join(canon(v, depth + 1) for v in value[:1000])
        return f"[{inner}]" if isinstance(value, list) else f"({inner})"
    if isinstance(value, (set, frozenset)):
        return "{" + ", ".join(sorted(canon(v, depth + 1) for v in value)) + "}"
    if isinstance(value, dict):
        items = sorted(f"{canon(k, depth + 1)}: {canon(v, depth + 1)}" for k, v in value.items())
        return "dict{" + ", ".join(items) + "}"
    if hasattr(value, "__next__"):  # a generator or iterator: its first items
        import itertools

        return "iter" + canon(list(itertools.islice(value, 1000)), depth + 1)
    text = repr(value)
    return type(value).__name__ if " at 0x" in text else text


def main() -> None:
    job = json.loads(sys.stdin.read())
    tmp = os.path.realpath(os.getcwd())
    read_roots = [os.path.realpath(p) for p in sys.path if p and os.path.isdir(p)]
    result_fd = os.dup(1)
    for fd, name in ((1, "stdout.txt"), (2, "stderr.txt")):
        target = os.open(os.path.join(tmp, name), os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
        os.dup2(target, fd)
        os.close(target)
    for name in PRELOAD:
        __import__(name)
    if os.geteuid() == 0 and job.get("uid") is not None:
        os.setgroups([])
        os.setgid(int(job["gid"]))
        os.setuid(int(job["uid"]))
    nproc = int(job.get("nproc", 8))
    resource.setrlimit(resource.RLIMIT_NPROC, (nproc, nproc))
    violations: list[str] = []

    def inside(path: Any, roots: list[str]) -> bool:
        if isinstance(path, int):
            return True
        try:
            real = os.path.realpath(os.fsdecode(path))
        except (TypeError, ValueError):
            return False
        return any(real == r or real.startswith(r.rstrip("/") + "/") for r in roots)

    def deny(event: str, detail: str = "") -> None:
        violations.append(f"{event} {detail}".strip()[:200])
        raise SandboxViolation(f"sandbox: {event} is not allowed")

    def hook(event: str, args: tuple[Any, ...]) -> None:
        if event.startswith(_FORBIDDEN_PREFIXES):
            deny(event)
        elif event == "open":
            path, mode, flags = ([*list(args), None, None, 0])[:3]
            writing = bool(mode and any(c in str(mode) for c in "wax+")) or bool(
                isinstance(flags, int) and flags & _WRITE_FLAGS
            )
            if not inside(path, [tmp] if writing else [tmp, *read_roots]):
                deny(event, repr(path))
        elif event in _LISTING:
            if args and args[0] is not None and not inside(args[0], [tmp, *read_roots]):
                deny(event, repr(args[0]))
        elif event in _MUTATING:
            for path in args[: _MUTATING[event]]:
                if path is not None and not inside(path, [tmp]):
                    deny(event, repr(path))

    if job.get("audit", True):
        sys.addaudithook(hook)
    out: dict[str, Any] = {"status": "ok", "probes": [], "error": None}
    namespace: dict[str, Any] = {"__name__": "__candidate__"}
    try:
        try:
            exec(compile(job["setup"] + "\n" + job["program"], "<candidate>", "exec"), namespace)
        except SyntaxError as exc:
            out.update(status="syntax", error=f"SyntaxError: {exc.msg}")
        except MemoryError:
            out.update(status="memory", error="MemoryError")
        except SandboxViolation as exc:
            out.update(status="blocked", error=str(exc))
        except BaseException as exc:  # the program's own failure, SystemExit included
            out.update(status="error", error=type(exc).__name__)
        if out["status"] == "ok":
            for probe in job["probes"]:
                out["probes"].append(_probe(probe, namespace))
    finally:
        if violations:
            out["status"] = "blocked"
        out["violations"] = violations[:20]
        os.write(result_fd, json.dumps(out).encode() + b"\n")
    os._exit(0)  # skip interpreter teardown: candidate objects' finalisers never run


def _probe(probe: str, namespace: dict[str, Any]) -> dict[str, Any]:
    """Evaluate one expression (its value) or statement (e.g. an assert: pass or fail)."""
    try:
        try:
            code = compile(probe, "<probe>", "eval")
        except SyntaxError:
            exec(compile(probe, "<probe>", "exec"), namespace)
            return {"ok": True, "value": None}
        return {"ok": True, "value": canon(eval(code, namespace))[:4000]}
    except SyntaxError as exc:
        return {"ok": False, "error": f"SyntaxError: {exc.msg}"}
    except BaseException as exc:
        return {"ok": False, "error": type(exc).__name__}


if __name__ == "__main__":
    main()
