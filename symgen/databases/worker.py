"""Bounded execution of one candidate, in a child process, for every adapter.

An engine's own limits do not bound everything: SQLite checks its timeout between steps, and one
step can run for seconds (`printf('%.*c', 1e9, 'x')`: 6.5 s); DuckDB allocates outside its
`memory_limit` (a scalar `repeat`, `range` or list reached 2 GB under a 512 MB limit, and one
such call ignored the interrupt for 110 s); libpq holds a whole row (a 500 MB PostgreSQL value
cost the client 1.5 GB). So every adapter runs candidates in a `Worker`: a child process whose
data segment is capped (RLIMIT_DATA), killed when it overruns the timeout, and whose results
come back as plain values only.
"""

from __future__ import annotations

import contextlib
import datetime as dt
import importlib
import io
import os
import pickle
import select
import signal
import struct
import subprocess
import sys
import threading
import time
import weakref
from collections.abc import Iterable, Sequence
from decimal import Decimal
from pathlib import Path
from typing import Any, ClassVar, Protocol

from symgen.config import SQL_RESULT_BYTES
from symgen.databases.base import Execution
from symgen.errors import SymgenError


def result_cap(memory_limit: int) -> int:
    """Bytes a result may hold: `SQL_RESULT_BYTES`, or less under a smaller memory limit."""
    return min(SQL_RESULT_BYTES, memory_limit)


def value_bytes(value: Any) -> int:
    """Rough bytes a fetched value holds: text and blobs by length, containers by their items."""
    if isinstance(value, (str, bytes, bytearray, memoryview)):
        return len(value)
    if isinstance(value, (list, tuple)):
        return 8 + sum(value_bytes(v) for v in value)
    if isinstance(value, dict):
        return 8 + sum(value_bytes(k) + value_bytes(v) for k, v in value.items())
    return 8


def take_rows(
    rows: Iterable[Sequence[Any]], row_cap: int, byte_cap: int
) -> tuple[tuple[Any, ...], ...] | str:
    """The rows, read lazily so a result stops as soon as it passes a cap: at most `row_cap`
    rows ("row_cap" beyond) holding at most `byte_cap` bytes ("out_of_memory" beyond)."""
    out: list[tuple[Any, ...]] = []
    size = 0
    for row in rows:
        if len(out) == row_cap:
            return "row_cap"
        size += 16 + sum(value_bytes(v) for v in row)
        if size > byte_cap:
            return "out_of_memory"
        out.append(tuple(row))
    return tuple(out)


class Runner(Protocol):
    """An adapter that can run a candidate in this process (what a `Worker` child calls)."""

    def run_here(self, sql: str) -> Execution: ...


_FRAME = struct.Struct(">Q")
_START_S = 60.0  # a worker's start-up (imports, connecting) is not part of any query's time
_SOURCE_ROOT = str(Path(__file__).resolve().parents[2])
_CRASH_SIGNALS = {signal.SIGKILL, signal.SIGABRT, signal.SIGSEGV, signal.SIGBUS}
_SLACK = 64 * 2**20  # the worker's own allocations besides the engine's and the result's


def _send(fd: int, obj: object) -> None:
    data = pickle.dumps(obj, protocol=pickle.HIGHEST_PROTOCOL)
    view = memoryview(_FRAME.pack(len(data)) + data)
    while view:
        view = view[os.write(fd, view) :]


def _read_exact(fd: int, n: int, deadline: float | None) -> bytes:
    buf = bytearray()
    while len(buf) < n:
        if deadline is not None:
            left = deadline - time.monotonic()
            if left <= 0 or not select.select([fd], [], [], left)[0]:
                raise TimeoutError
        chunk = os.read(fd, min(n - len(buf), 1 << 20))
        if not chunk:
            raise EOFError
        buf += chunk
    return bytes(buf)


class _PlainUnpickler(pickle.Unpickler):
    """Unpickles the few value types a worker sends (`_plain`), nothing that runs code."""

    _ALLOWED: ClassVar[set[tuple[str, str]]] = {
        ("decimal", "Decimal"),
        *(("datetime", n) for n in ("date", "time", "datetime", "timedelta", "timezone")),
    }

    def find_class(self, module: str, name: str) -> Any:
        if (module, name) not in self._ALLOWED:
            raise pickle.UnpicklingError(f"worker sent a {module}.{name}")
        return super().find_class(module, name)


def _recv(fd: int, deadline: float | None) -> Any:
    """One frame; TimeoutError past `deadline`, EOFError when the other side has gone."""
    (size,) = _FRAME.unpack(_read_exact(fd, _FRAME.size, deadline))
    return _PlainUnpickler(io.BytesIO(_read_exact(fd, size, deadline))).load()


_PLAIN = (type(None), bool, int, float, str, bytes, Decimal, dt.date, dt.timedelta)


def _plain(value: Any) -> Any:
    """A value as one of the types `_PlainUnpickler` accepts: result comparison already reads
    UUIDs, addresses, ranges and the like as their text (`symgen.tasks.sql.task._norm_value`)."""
    if isinstance(value, (dt.datetime, dt.time)) and value.tzinfo is not None:
        offset = value.utcoffset()
        fixed = dt.timezone(offset) if offset is not None else None
        return value.replace(tzinfo=fixed)
    if type(value) in _PLAIN or type(value) in (dt.datetime, dt.time):
        return value
    for base in (bool, int, float, str):  # a subclass (an enum, a text type) as its base
        if isinstance(value, base):
            return base(value)
    if isinstance(value, (list, tuple)):
        return (
            type(value)(map(_plain, value))
            if type(value) in (list, tuple)
            else list(map(_plain, value))
        )
    if isinstance(value, dict):
        return {_plain(k): _plain(v) for k, v in value.items()}
    if isinstance(value, (bytes, bytearray, memoryview)):
        return bytes(value)
    return str(value)


def _data_segment() -> int | None:
    """This process's data segment (VmData) in bytes, what RLIMIT_DATA limits (Linux)."""
    try:
        with open("/proc/self/status") as fh:
            for line in fh:
                if line.startswith("VmData:"):
                    return int(line.split()[1]) * 1024
    except (OSError, ValueError):
        pass
    return None


def _cap_data_segment(growth: int) -> None:
    """Let the data segment grow by `growth` bytes at most, for good (soft = hard limit)."""
    import resource

    now = _data_segment()
    if now is not None:
        limit = now + growth
        resource.setrlimit(resource.RLIMIT_DATA, (limit, limit))


def serve() -> None:
    """A worker's side: build the adapter the first frame names, cap the data segment, then
    answer each query frame with (rows, error, seconds) until stdin closes."""
    signal.signal(signal.SIGINT, signal.SIG_IGN)  # Ctrl-C is the adapter's to handle
    inp, out = sys.stdin.fileno(), os.dup(sys.stdout.fileno())
    os.dup2(sys.stderr.fileno(), sys.stdout.fileno())  # a stray print must not break the channel
    module, name, args, kwargs, growth = _recv(inp, None)
    try:
        adapter: Runner = getattr(importlib.import_module(module), name)(*args, **kwargs)
    except SymgenError as exc:
        _send(out, ("error", str(exc)))
        return
    _cap_data_segment(growth)
    _send(out, ("ready", ""))
    while True:
        try:
            (sql,) = _recv(inp, None)
        except EOFError:
            return
        reply: tuple[Any, str | None, float] = (None, "out_of_memory", 0.0)
        with contextlib.suppress(MemoryError):
            run = adapter.run_here(sql)
            rows = None if run.rows is None else tuple(tuple(map(_plain, r)) for r in run.rows)
            reply = (rows, run.error, run.seconds)
        try:
            _send(out, reply)
        except MemoryError:  # pickling a large result: drop it, say why
            reply = rows = run = None  # type: ignore[assignment]
            _send(out, (None, "out_of_memory", 0.0))


def _stop(proc: subprocess.Popen[bytes]) -> int:
    if proc.poll() is None:
        proc.kill()
    code = proc.wait()
    for pipe in (proc.stdin, proc.stdout):
        if pipe is not None:
            pipe.close()
    return code


class Worker:
    """Runs one adapter's candidates in a child process (see the module docstring): the child
    builds `factory` = (module, class, args, kwargs) with `isolated=False`, and its data segment
    may then grow by `memory_limit` (the engine), twice the result cap (the rows, then their
    pickle) and _SLACK. Started at the first query; a query still running `grace_s`
    after its timeout is "timeout" and the child is killed (the next query starts another); a
    child that dies while it runs one ran out of memory."""

    def __init__(
        self,
        factory: tuple[str, str, tuple[Any, ...], dict[str, Any]],
        memory_limit: int,
        grace_s: float = 1.0,
    ) -> None:
        self._factory = factory
        self._growth = memory_limit + 2 * result_cap(memory_limit) + _SLACK
        self._grace_s = grace_s
        self._proc: subprocess.Popen[bytes] | None = None
        self._finalizer: weakref.finalize[Any, Any] | None = None

    @property
    def pid(self) -> int | None:
        return self._proc.pid if self._proc is not None else None

    def _start(self) -> None:
        path = os.environ.get("PYTHONPATH")
        env = {**os.environ, "PYTHONPATH": _SOURCE_ROOT + (os.pathsep + path if path else "")}
        proc = subprocess.Popen(
            [sys.executable, "-c", "from symgen.databases.worker import serve; serve()"],
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            stderr=subprocess.DEVNULL,
            env=env,
        )
        self._proc = proc
        self._finalizer = weakref.finalize(self, _stop, proc)
        assert proc.stdin is not None and proc.stdout is not None
        _send(proc.stdin.fileno(), (*self._factory, self._growth))
        status, message = _recv(proc.stdout.fileno(), time.monotonic() + _START_S)
        if status != "ready":
            self.close()
            raise SymgenError(message)

    def run(self, sql: str, timeout_s: float) -> Execution:
        try:
            if self._proc is None:
                self._start()
        except SymgenError as exc:
            return Execution(None, f"error: {exc}")
        except (OSError, EOFError, TimeoutError, pickle.UnpicklingError) as exc:
            self.close()
            return Execution(None, f"error: the query worker did not start ({exc!r})")
        proc = self._proc
        assert proc is not None and proc.stdin is not None and proc.stdout is not None
        start = time.monotonic()
        try:
            _send(proc.stdin.fileno(), (sql,))
            rows, error, seconds = _recv(proc.stdout.fileno(), start + timeout_s + self._grace_s)
        except TimeoutError:
            self.close()
            return Execution(None, "timeout", time.monotonic() - start)
        except (EOFError, OSError):  # the child went away while it ran the query
            code = self.close(wait_s=1.0)
            died = code is not None and code < 0 and -code in _CRASH_SIGNALS
            reason = "out_of_memory" if died else f"error: the query worker exited ({code})"
            return Execution(None, reason, time.monotonic() - start)
        except (pickle.UnpicklingError, ValueError) as exc:
            self.close()
            return Execution(None, f"error: the query worker's reply was refused ({exc})")
        return Execution(rows, error, seconds)

    def close(self, wait_s: float = 0.0) -> int | None:
        """Stop the child (if any; after `wait_s` for it to exit by itself); its exit status."""
        proc, self._proc = self._proc, None
        if proc is None or self._finalizer is None:
            return None
        self._finalizer.detach()
        with contextlib.suppress(subprocess.TimeoutExpired):
            proc.wait(timeout=wait_s)
        return _stop(proc)


class WorkerPool:
    """An adapter's `Worker`s, started as concurrent queries need them: a serial run only ever
    starts one, and a run that verifies answers in threads (a remote generator's, see
    `symgen.generate.answer`) gets one child per thread up to `size`, so verification is a
    process pool without a setting. Each child keeps its own data-segment cap."""

    def __init__(
        self,
        factory: tuple[str, str, tuple[Any, ...], dict[str, Any]],
        memory_limit: int,
        size: int | None = None,
    ) -> None:
        self._factory, self._memory_limit = factory, memory_limit
        self._size = max(1, size or os.cpu_count() or 1)
        self._idle: list[Worker] = []
        self._started = 0
        self._closed = False
        self._cond = threading.Condition()

    def _take(self) -> Worker:
        with self._cond:
            while not self._idle and self._started >= self._size:
                self._cond.wait()
            if self._idle:
                return self._idle.pop()
            self._started += 1
        return Worker(self._factory, self._memory_limit)

    def _give_back(self, worker: Worker) -> None:
        with self._cond:
            if not self._closed:
                self._idle.append(worker)
                self._cond.notify()
                return
        worker.close()

    def run(self, sql: str, timeout_s: float) -> Execution:
        worker = self._take()
        try:
            return worker.run(sql, timeout_s)
        finally:
            self._give_back(worker)

    @property
    def started(self) -> int:
        """How many children were asked for so far (tests and the benchmark read it)."""
        return self._started

    def close(self) -> None:
        """Stop the idle children; one still running a query stops when it is given back."""
        with self._cond:
            self._closed, idle, self._idle = True, self._idle, []
        for worker in idle:
            worker.close()
