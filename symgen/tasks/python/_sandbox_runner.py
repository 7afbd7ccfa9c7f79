"""Runs inside the sandbox (see `symgen.tasks.python.sandbox`); standalone: imports no symgen code.

`symgen.tasks.python.sandbox` starts it under bubblewrap, so the operating system is the boundary: this file
only has to keep the *results* honest. It splits into two processes at once:

* the **supervisor** (this process) holds the only descriptor to the host (stdout), reads the
  job from stdin, makes itself non-dumpable (so the candidate cannot ptrace it or open its
  /proc/<pid>/fd), and answers the host with one JSON object it composed itself;
* the **candidate** (a fork made before the job is read, so the expected values of the tests
  never enter its memory) gets only the program, the setup and the *expressions* to evaluate
  over a pipe, runs them, and reports each outcome back on another pipe.

For a test `assert EXPR == LITERAL` (MBPP's form) the candidate is sent `EXPR` alone, returns
its value as tagged JSON, and the supervisor compares it with the literal: a candidate that takes
over its interpreter can still lie about its own values, but cannot pass a test whose expected
value it never saw. A value that is not plain data fails such a test (`unencodable`): running
the whole assert instead would show the candidate what it is expected to say. The audit hook in the candidate stays as a first filter that names
attempts early; each attempt is written to the supervisor the moment it happens, so a candidate
that swallows the error cannot erase the record.
"""

from __future__ import annotations

import ast
import contextlib
import json
import operator
import os
import resource
import sys
from typing import Any

# Imported before the audit hook, because importing them trips it (ctypes opens libraries):
# a candidate may import them, only their use is refused. Every other module loads on demand
# (the OS boundary no longer needs them loaded before a drop of privileges).
PRELOAD = ["ctypes"]
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
_PR_SET_DUMPABLE = 4
MAX_REPORT_BYTES = 4 * 1024 * 1024  # what the supervisor reads from the candidate at most
_EXACT = (("decimal", "Decimal"), ("fractions", "Fraction"))


class SandboxViolation(PermissionError):
    """Raised by the audit hook; also reported at once, so swallowing it hides nothing."""


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


# ---- plain data across the pipe --------------------------------------------------------------
class Unencodable(Exception):
    """A value that is not plain data (its own class, an array, ...)."""


def encode(value: Any, depth: int = 0) -> Any:
    """Tagged JSON for plain data, exact enough that `decode(encode(v)) == v` keeps `==`."""
    if depth > 30:
        raise Unencodable("too deep")
    kind = type(value)
    if value is None or kind is bool or kind is str:
        return value
    if isinstance(value, int) and not isinstance(value, bool):
        return ["int", str(int(value))]
    if isinstance(value, float):
        return ["float", repr(float(value))]
    if isinstance(value, str):
        return str(value)
    if isinstance(value, complex):
        return ["complex", repr(value.real), repr(value.imag)]
    if isinstance(value, (bytes, bytearray)):
        return ["bytes", bytes(value).hex()]
    exact = tuple(
        getattr(sys.modules[m], c) for m, c in _EXACT if m in sys.modules
    )  # a module the candidate never imported holds none of its values: skip the import
    if exact and isinstance(value, exact):
        return [type(value).__name__, str(value)]
    if hasattr(value, "__index__") and not hasattr(value, "__len__"):  # numpy's integers
        return ["int", str(operator.index(value))]
    real = getattr(sys.modules.get("numbers"), "Real", None)
    if real and isinstance(value, real) and not hasattr(value, "__len__"):
        return ["float", repr(float(value))]
    if isinstance(value, (list, tuple, set, frozenset)) and len(value) <= 100_000:
        tag = next(t for t in (list, tuple, frozenset, set) if isinstance(value, t)).__name__
        return [tag, [encode(v, depth + 1) for v in value]]
    if isinstance(value, dict) and len(value) <= 100_000:
        return ["dict", [[encode(k, depth + 1), encode(v, depth + 1)] for k, v in value.items()]]
    raise Unencodable(type(value).__name__)


def decode(data: Any) -> Any:
    """The inverse of `encode`, building only plain data (never runs the candidate's code)."""
    if data is None or isinstance(data, (bool, str)):
        return data
    tag = data[0]
    if tag == "int":
        return int(data[1])
    if tag == "float":
        return float(data[1])
    if tag == "complex":
        return complex(float(data[1]), float(data[2]))
    if tag == "bytes":
        return bytes.fromhex(data[1])
    if tag in ("Decimal", "Fraction"):
        import decimal
        import fractions

        return (decimal.Decimal if tag == "Decimal" else fractions.Fraction)(data[1])
    if tag == "dict":
        return {decode(k): decode(v) for k, v in data[1]}
    items = [decode(v) for v in data[1]]
    return {"list": list, "tuple": tuple, "set": set, "frozenset": frozenset}[tag](items)


def split_assert(probe: str) -> tuple[str, str, Any] | None:
    """(expression, how, expected) for `assert E == LITERAL`, `assert E`, `assert not E`.

    The candidate is sent only E; the supervisor judges. None: run the probe as it is.
    """
    try:
        tree = ast.parse(probe)
    except (SyntaxError, ValueError):
        return None
    if len(tree.body) != 1 or not isinstance(tree.body[0], ast.Assert) or tree.body[0].msg:
        return None
    test = tree.body[0].test
    if isinstance(test, ast.Compare) and len(test.ops) == 1 and isinstance(test.ops[0], ast.Eq):
        for side, other in ((test.comparators[0], test.left), (test.left, test.comparators[0])):
            try:
                expected = ast.literal_eval(side)
            except (ValueError, TypeError, SyntaxError, MemoryError, RecursionError):
                continue
            return ast.unparse(other), "eq", expected
        return None
    if isinstance(test, ast.UnaryOp) and isinstance(test.op, ast.Not):
        return ast.unparse(test.operand), "false", None
    return ast.unparse(test), "true", None


def judge(how: str, value: Any, expected: Any) -> bool:
    if how == "eq":
        return bool(value == expected)
    return bool(value) if how == "true" else not value


# ---- the candidate's side --------------------------------------------------------------------
def _write_all(fd: int, data: bytes, write: Any = os.write) -> None:
    while data:
        data = data[write(fd, data) :]


def _send(fd: int, record: dict[str, Any], write: Any = _write_all) -> None:
    write(fd, json.dumps(record).encode() + b"\n")


def _read_all(fd: int, cap: int = MAX_REPORT_BYTES) -> bytes:
    chunks: list[bytes] = []
    size = 0
    while True:
        chunk = os.read(fd, 65536)
        if not chunk:
            return b"".join(chunks)
        if size < cap:
            chunks.append(chunk[: cap - size])
        size += len(chunk)


def candidate(job_fd: int, report_fd: int) -> None:
    """Run the program and the probes; report each outcome on `report_fd` as it happens."""
    job = json.loads(_read_all(job_fd))
    os.close(job_fd)
    tmp = os.path.realpath(os.getcwd())
    for fd, name in ((1, "stdout.txt"), (2, "stderr.txt")):
        target = os.open(os.path.join(tmp, name), os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
        os.dup2(target, fd)
        os.close(target)
    for name in PRELOAD:
        __import__(name)
    sys.path.extend(p for p in job.get("paths", ()) if os.path.isdir(p))
    nproc = int(job.get("nproc", 8))
    resource.setrlimit(resource.RLIMIT_NPROC, (nproc, nproc))
    if job.get("audit", True):
        sys.addaudithook(_audit_hook(tmp, report_fd))
    namespace: dict[str, Any] = {"__name__": "__candidate__"}
    status, error = "ok", None
    try:
        exec(compile(job["setup"] + "\n" + job["program"], "<candidate>", "exec"), namespace)
    except SyntaxError as exc:
        status, error = "syntax", f"SyntaxError: {exc.msg}"
    except MemoryError:
        status, error = "memory", "MemoryError"
    except SandboxViolation as exc:
        status, error = "blocked", str(exc)
    except BaseException as exc:  # the program's own failure, SystemExit included
        status, error = "error", type(exc).__name__
    _send(report_fd, {"status": status, "error": error})
    if status == "ok":
        for index, (kind, text) in enumerate(job["probes"]):
            _send(report_fd, {"probe": index, **_evaluate(kind, text, namespace)})
    _send(report_fd, {"done": True})
    os._exit(0)  # skip interpreter teardown: candidate objects' finalisers never run


def _audit_hook(tmp: str, report_fd: int) -> Any:
    read_roots = [os.path.realpath(p) for p in sys.path if p and os.path.isdir(p)]

    def inside(path: Any, roots: list[str]) -> bool:
        if isinstance(path, int):
            return True
        try:
            real = os.path.realpath(os.fsdecode(path))
        except (TypeError, ValueError):
            return False
        return any(real == r or real.startswith(r.rstrip("/") + "/") for r in roots)

    def deny(event: str, detail: str = "", send: Any = _send) -> None:
        send(report_fd, {"violation": f"{event} {detail}".strip()[:200]})
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

    return hook


def _evaluate(kind: str, text: str, namespace: dict[str, Any]) -> dict[str, Any]:
    """One probe: `value` (canonical text), `data` (tagged plain data) or `run` (a statement)."""
    try:
        if kind == "run":
            try:
                code = compile(text, "<probe>", "eval")
            except SyntaxError:
                exec(compile(text, "<probe>", "exec"), namespace)
                return {"ok": True, "value": None}
            return {"ok": True, "value": canon(eval(code, namespace))[:4000]}
        value = eval(compile(text, "<probe>", "eval"), namespace)
        try:
            return {"ok": True, "data": encode(value)}
        except (Unencodable, RecursionError):
            return {"ok": True, "unencodable": True}
    except SyntaxError as exc:
        return {"ok": False, "error": f"SyntaxError: {exc.msg}"}
    except BaseException as exc:
        return {"ok": False, "error": type(exc).__name__}


# ---- the supervisor's side -------------------------------------------------------------------
def _undumpable() -> None:
    """No ptrace, no /proc/<pid>/fd for the candidate, which runs as the same user."""
    import ctypes

    libc = ctypes.CDLL(None, use_errno=True)  # libc is linked in; find_library would fork
    if libc.prctl(_PR_SET_DUMPABLE, 0, 0, 0, 0) != 0:
        raise OSError(ctypes.get_errno(), "prctl(PR_SET_DUMPABLE, 0) failed")


def _start_candidate() -> tuple[int, int, int]:
    """Fork the candidate before the job is read; (pid, job writer, report reader)."""
    job_r, job_w = os.pipe()
    rep_r, rep_w = os.pipe()
    pid = os.fork()
    if pid == 0:
        os.close(job_w)
        os.close(rep_r)
        os.close(0)  # the host's pipes: stdin (the job) and stdout (the result)
        os.close(1)
        try:
            candidate(job_r, rep_w)
        finally:
            os._exit(70)
    os.close(job_r)
    os.close(rep_w)
    return pid, job_w, rep_r


def _exchange(
    pid: int, job_w: int, rep_r: int, child_job: dict[str, Any]
) -> tuple[list[bytes], int]:
    """Send the candidate its job, read its reports to the end, reap it."""
    with contextlib.suppress(BrokenPipeError):  # it died before reading: its exit says why
        _write_all(job_w, json.dumps(child_job).encode())
    os.close(job_w)
    records = _read_all(rep_r).splitlines()
    os.close(rep_r)
    _, wait_status = os.waitpid(pid, 0)
    return records, wait_status


def supervise() -> None:
    os.chdir(os.path.dirname(os.path.abspath(__file__)))  # the sandbox's temporary directory
    pid, job_w, rep_r = _start_candidate()
    _undumpable()
    job = json.loads(sys.stdin.buffer.read())
    plans = [split_assert(p) if job.get("split_asserts", True) else None for p in job["probes"]]
    sent = [
        ("run", p) if plan is None else ("data", plan[0])
        for p, plan in zip(job["probes"], plans, strict=True)
    ]
    child_job = {k: job[k] for k in ("program", "setup", "nproc", "audit", "paths") if k in job}
    child_job["probes"] = sent
    records, wait_status = _exchange(pid, job_w, rep_r, child_job)
    out = compose(records, plans, wait_status)
    sys.stdout.buffer.write(json.dumps(out).encode() + b"\n")
    sys.stdout.flush()
    os._exit(0)


def compose(records: list[bytes], plans: list[Any], wait_status: int) -> dict[str, Any]:
    """The answer to the host, from what the candidate reported and how its process ended."""
    out: dict[str, Any] = {"status": "crash", "probes": [], "violations": [], "error": None}
    results: dict[int, dict[str, Any]] = {}
    done = False
    for line in records:
        try:
            record = json.loads(line)
        except (ValueError, UnicodeDecodeError):
            return {**out, "error": "garbled report"}
        if not isinstance(record, dict):
            return {**out, "error": "garbled report"}
        if "violation" in record:
            out["violations"].append(str(record["violation"])[:200])
        elif "status" in record:
            out["status"], out["error"] = str(record["status"]), record.get("error")
        elif "probe" in record and isinstance(record["probe"], int):
            results.setdefault(record["probe"], record)
        elif record.get("done"):
            done = True
    signal_no = os.WTERMSIG(wait_status) if os.WIFSIGNALED(wait_status) else 0
    if not done:
        out["status"] = {24: "timeout", 9: "timeout", 25: "fsize"}.get(signal_no, "crash")
        out["error"] = out["error"] or (f"signal {signal_no}" if signal_no else "no report")
    if out["status"] == "ok":
        for index, plan in enumerate(plans):
            result = results.get(index, {"ok": False, "error": "missing"})
            out["probes"].append(_judged(result, plan))
    if out["violations"]:
        out["status"] = "blocked"
    out["violations"] = out["violations"][:20]
    return out


def _judged(result: dict[str, Any], plan: tuple[str, str, Any] | None) -> dict[str, Any]:
    if not result.get("ok"):
        return {"ok": False, "error": str(result.get("error"))[:200]}
    if plan is None:
        value = result.get("value")
        return {"ok": True, "value": None if value is None else str(value)[:4000]}
    if "data" not in result:
        return {"ok": False, "error": "unencodable"}
    try:
        passed = judge(plan[1], decode(result["data"]), plan[2])
    except Exception:  # a malformed value: the candidate's fault
        return {"ok": False, "error": "garbled value"}
    return {"ok": True, "value": None} if passed else {"ok": False, "error": "AssertionError"}


if __name__ == "__main__":
    supervise()
