"""The embedded llama.cpp generator on a real (tiny) GGUF: SmolLM2-135M from the registry."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from symgen.generators.base import open_generator
from symgen.generators.llama import Cancelled, LlamaGenerator

pytestmark = pytest.mark.llm

PREFIX = "CREATE TABLE river (river_name text, length int, traverse text);\n" * 20
PROMPT = PREFIX + "-- Question: list all rivers\nSELECT"


@pytest.fixture(scope="module")
def gen(model_file) -> Iterator[LlamaGenerator]:  # type: ignore[no-untyped-def]
    g = LlamaGenerator(model_file("smollm2-135m"), n_ctx=2048, n_threads=2, max_parallel=4)
    yield g
    g.close()


def test_greedy_is_deterministic_and_stops(gen: LlamaGenerator) -> None:
    a = gen.sample(PROMPT, n=1, temperature=0, max_tokens=24, stop=[";", "\n"])
    b = gen.sample(PROMPT, n=1, temperature=0, max_tokens=24, stop=[";", "\n"])
    assert len(a) == len(b) == 1 and a[0].text == b[0].text
    assert a[0].logprob == pytest.approx(b[0].logprob, abs=0.05)  # cached vs fresh KV: float noise
    assert ";" not in a[0].text and "\n" not in a[0].text
    assert a[0].logprob <= 0 and 0 < a[0].n_tokens <= 24


def test_prefix_is_reused_across_calls(gen: LlamaGenerator) -> None:
    gen.sample(PREFIX + "-- Question: one\nSELECT", max_tokens=4)
    before = gen.stats.cached_tokens
    gen.sample(PREFIX + "-- Question: two\nSELECT", max_tokens=4)
    reused = gen.stats.cached_tokens - before
    assert reused >= len(gen.tokenize(PREFIX)) - 2


def test_reuse_and_batching_do_not_change_greedy_output(gen: LlamaGenerator) -> None:
    reference = gen.sample(PROMPT, temperature=0, max_tokens=16)[0].text
    gen.reuse_prefix, gen.batch_samples = False, False
    try:
        assert gen.sample(PROMPT, temperature=0, max_tokens=16)[0].text == reference
    finally:
        gen.reuse_prefix, gen.batch_samples = True, True
    batched = gen.sample(PROMPT, n=3, temperature=0, max_tokens=16)
    assert [s.text for s in batched] == [reference] * 3


def test_sampling_is_seeded_and_varied(gen: LlamaGenerator) -> None:
    a = gen.sample(PROMPT, n=6, temperature=1.0, max_tokens=12, seed=3)  # > max_parallel: 2 rounds
    b = gen.sample(PROMPT, n=6, temperature=1.0, max_tokens=12, seed=3)
    assert len(a) == 6 and [s.text for s in a] == [s.text for s in b]
    assert len({s.text for s in a}) > 1


def test_cancellation(gen: LlamaGenerator) -> None:
    calls = iter(range(100))
    with pytest.raises(Cancelled):
        gen.sample(
            PROMPT, n=2, temperature=1.0, max_tokens=50, should_stop=lambda: next(calls) >= 3
        )
    # the generator is still usable afterwards
    assert gen.sample(PROMPT, max_tokens=4)[0].n_tokens > 0


def test_open_generator_errors(tmp_path: Path) -> None:
    from symgen.errors import MissingResource, SymgenError

    with pytest.raises(MissingResource, match="GGUF file not found"):
        open_generator(f"gguf:{tmp_path}/none.gguf")
    with pytest.raises(SymgenError, match="unknown generator 'nope'"):
        open_generator("nope")
    bad = tmp_path / "bad.gguf"
    bad.write_bytes(b"not a model")
    with pytest.raises(SymgenError, match="could not load"):
        open_generator(f"gguf:{bad}")


def test_score_is_the_models_own_logprob_of_a_text(gen: LlamaGenerator) -> None:
    """Teacher-forced scoring of the greedy continuation gives back the mean logprob sampling
    reported for it; a text the model would not write scores lower; scoring leaves the cache
    as sampling expects (greedy output unchanged afterwards)."""
    [greedy] = gen.sample(PROMPT, n=1, temperature=0, max_tokens=10)
    assert greedy.n_tokens == 10 and gen.tokenize(greedy.text)[-10:]  # no stop: 10 whole tokens
    own, odd, empty = gen.score(PROMPT, [greedy.text, " banana volcano 7 purple", ""])
    assert own == pytest.approx(greedy.logprob, abs=0.05)
    assert odd < own - 1.0 and empty == 0.0
    [again] = gen.sample(PROMPT, n=1, temperature=0, max_tokens=10)
    assert again.text == greedy.text


def test_sampling_and_scoring_keep_their_own_prefixes(gen: LlamaGenerator) -> None:
    """The verifier alternates answer prompts (sample) and describe prompts (score) per
    question; each family keeps its prefix cached, so the second round evaluates only tails."""
    other = "-- SQL: SELECT river_name FROM river\n" * 20 + "-- Question:"
    for round_ in range(2):
        before = gen.stats.prompt_tokens
        gen.sample(PREFIX + f"-- Question: q{round_}\nSELECT", max_tokens=2)
        gen.score(other + f" q{round_}", [" list all rivers"])
        evaluated = gen.stats.prompt_tokens - before
    assert evaluated < 40, f"round 2 re-evaluated {evaluated} prompt tokens"
    [x] = gen.sample(PROMPT, n=1, temperature=0, max_tokens=10)
    assert gen.score(PROMPT, [x.text]) == pytest.approx([x.logprob], abs=0.05)
