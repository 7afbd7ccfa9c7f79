"""The OpenAI-compatible generator against a real llama.cpp server (llama_cpp.server) on loopback."""

from __future__ import annotations

import socket
import subprocess
import sys
import time
import urllib.request
from collections.abc import Iterator
from pathlib import Path

import pytest

from symgen.errors import SymgenError
from symgen.generators.base import open_generator
from symgen.generators.openai import OpenAIGenerator

pytestmark = pytest.mark.llm


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@pytest.fixture(scope="module")
def server(model_file, tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:  # type: ignore[no-untyped-def]
    port = free_port()
    log = tmp_path_factory.mktemp("srv") / "server.log"
    with log.open("w") as fh:
        proc = subprocess.Popen(
            [
                sys.executable,
                "-m",
                "llama_cpp.server",
                "--model",
                str(model_file("smollm2-135m")),
                "--host",
                "127.0.0.1",
                "--port",
                str(port),
                "--n_ctx",
                "1024",
                "--n_threads",
                "2",
            ],
            stdout=fh,
            stderr=subprocess.STDOUT,
        )
    url = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 120
        while True:
            try:
                urllib.request.urlopen(f"{url}/v1/models", timeout=2).read()
                break
            except OSError:
                if proc.poll() is not None or time.monotonic() > deadline:
                    pytest.fail(f"llama_cpp.server did not start: {Path(log).read_text()[-2000:]}")
                time.sleep(0.5)
        yield url
    finally:
        proc.terminate()
        proc.wait(timeout=30)


def test_samples_with_logprobs_and_stops(server: str) -> None:
    gen = open_generator(f"openai:{server}")
    assert isinstance(gen, OpenAIGenerator)
    prompt = (
        "CREATE TABLE river (river_name text, length int);\n-- Question: list all rivers\nSELECT"
    )
    greedy = gen.sample(prompt, n=1, temperature=0, max_tokens=20, stop=[";", "\n"])
    assert len(greedy) == 1 and greedy[0].text.strip()
    assert ";" not in greedy[0].text and greedy[0].logprob < 0 and greedy[0].n_tokens > 0
    many = gen.sample(prompt, n=3, temperature=1.0, max_tokens=10, stop=[";"], seed=1)
    assert len(many) == 3


def test_unreachable_endpoint_is_a_clear_error() -> None:
    gen = OpenAIGenerator(f"http://127.0.0.1:{free_port()}")
    with pytest.raises(SymgenError, match="cannot reach the completions endpoint"):
        gen.sample("SELECT", max_tokens=2)
