"""Long jobs (generate, train) as `symgen` subprocesses with JSON progress and cancellation.

A subprocess keeps the server light (no torch, no llama.cpp in the editor's process), and an
interrupted job is resumable because the CLI saves its work on SIGINT.
"""

from __future__ import annotations

import asyncio
import json
import os
import signal
import sys
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass, field

from symgen.databases.base import public_spec, url_password

OnProgress = Callable[[dict[str, object]], None]


@dataclass
class JobResult:
    returncode: int
    cancelled: bool
    log_tail: list[str] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        return self.returncode == 0 and not self.cancelled


def symgen_command(*args: str) -> list[str]:
    return [sys.executable, "-m", "symgen", *args]


async def run_job(
    argv: Sequence[str],
    on_progress: OnProgress,
    is_cancelled: Callable[[], bool],
    cwd: str | None = None,
) -> JobResult:
    """Run one command; relay its JSON progress lines; SIGINT it when cancelled.

    A database password in a postgresql:// argument moves to PGPASSWORD, so it never shows in
    the process list.
    """
    env = dict(os.environ, SYMGEN_PROGRESS="json", PYTHONUNBUFFERED="1")
    for arg in argv:
        password = url_password(arg)
        if password is not None:
            env["PGPASSWORD"] = password
    argv = [public_spec(a) for a in argv]
    proc = await asyncio.create_subprocess_exec(
        *argv,
        stdin=asyncio.subprocess.DEVNULL,
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.PIPE,
        cwd=cwd,
        env=env,
    )
    tail: list[str] = []
    cancelled = False

    async def read(stream: asyncio.StreamReader | None) -> None:
        if stream is None:
            return
        async for raw in stream:
            line = raw.decode("utf-8", "replace").rstrip()
            if line.startswith('{"progress"'):
                try:
                    on_progress(json.loads(line))
                    continue
                except ValueError:
                    pass
            if line:
                tail.append(line)
                del tail[:-20]

    async def watch() -> None:
        nonlocal cancelled
        while proc.returncode is None:
            if is_cancelled() and not cancelled:
                cancelled = True
                proc.send_signal(signal.SIGINT)
                try:
                    await asyncio.wait_for(proc.wait(), 30)
                except TimeoutError:
                    proc.kill()
            await asyncio.sleep(0.2)

    watcher = asyncio.ensure_future(watch())
    await asyncio.gather(read(proc.stdout), read(proc.stderr))
    code = await proc.wait()
    watcher.cancel()
    return JobResult(code, cancelled, tail)


async def run_steps(steps: Sequence[Callable[[], Awaitable[JobResult]]]) -> JobResult:
    """Run jobs in order, stopping at the first that fails or is cancelled."""
    result = JobResult(0, False)
    for step in steps:
        result = await step()
        if not result.ok:
            break
    return result
