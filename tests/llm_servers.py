"""OpenAI-compatible LLM servers on loopback for tests and benchmarks: llama-cpp-python's
`llama_cpp.server` (installed with the `gen` extra), or llama.cpp's own `llama-server` binary
when one is given (`--parallel N` continuous batching; see benchmarks/throughput.py)."""

from __future__ import annotations

import signal
import socket
import subprocess
import sys
import time
from pathlib import Path

import httpx


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


class LlmServer:
    """One server process; `start()` waits until /v1/models answers, `kill()` is a crash."""

    def __init__(
        self,
        model: Path,
        log: Path,
        *,
        port: int | None = None,
        threads: int = 1,
        n_ctx: int = 2048,
        binary: Path | None = None,
        parallel: int = 1,
    ) -> None:
        self.model, self.log, self.port = model, log, port or free_port()
        self.threads, self.n_ctx, self.binary, self.parallel = threads, n_ctx, binary, parallel
        self.proc: subprocess.Popen[bytes] | None = None

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def command(self) -> list[str]:
        if self.binary is not None:  # llama.cpp's server: slots share one context
            return [
                str(self.binary), "--model", str(self.model), "--host", "127.0.0.1",
                "--port", str(self.port), "--threads", str(self.threads),
                "--ctx-size", str(self.n_ctx * self.parallel), "--parallel", str(self.parallel),
                "--cont-batching",
            ]  # fmt: skip
        return [
            sys.executable, "-m", "llama_cpp.server", "--model", str(self.model),
            "--host", "127.0.0.1", "--port", str(self.port), "--n_ctx", str(self.n_ctx),
            "--n_threads", str(self.threads),
        ]  # fmt: skip

    def start(self, wait_s: float = 180) -> str:
        with self.log.open("a") as fh:
            self.proc = subprocess.Popen(self.command(), stdout=fh, stderr=subprocess.STDOUT)
        deadline = time.monotonic() + wait_s
        while True:
            try:
                httpx.get(f"{self.url}/v1/models", timeout=2).raise_for_status()
                return self.url
            except httpx.HTTPError:
                if self.proc.poll() is not None or time.monotonic() > deadline:
                    self.kill()
                    raise RuntimeError(
                        f"LLM server did not start: {self.log.read_text()[-2000:]}"
                    ) from None
                time.sleep(0.3)

    def kill(self) -> None:
        """SIGKILL: the server dies as a crashed one would, mid-request."""
        if self.proc is not None and self.proc.poll() is None:
            self.proc.send_signal(signal.SIGKILL)
            self.proc.wait(timeout=30)
        self.proc = None

    def __enter__(self) -> LlmServer:
        self.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.kill()
