"""The OpenAI-compatible generator against a real llama.cpp server (llama_cpp.server) on loopback."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from symgen.errors import SymgenError
from symgen.generators.base import open_generator
from symgen.generators.openai import OpenAIGenerator
from tests.llm_servers import LlmServer, free_port

pytestmark = pytest.mark.llm


@pytest.fixture(scope="module")
def server(model_file, tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:  # type: ignore[no-untyped-def]
    log = tmp_path_factory.mktemp("srv") / "server.log"
    with LlmServer(model_file("smollm2-135m"), log, threads=2, n_ctx=1024) as srv:
        yield srv.url


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
    url = f"http://127.0.0.1:{free_port()}"
    gen = OpenAIGenerator(url)
    with pytest.raises(
        SymgenError, match=f"{url}/v1: the completions endpoint does not answer"
    ) as err:
        gen.sample("SELECT", max_tokens=2)
    assert err.value.exit_code == 3 and f"curl {url}/v1/models" in str(err.value)
