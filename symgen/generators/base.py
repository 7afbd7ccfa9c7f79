"""Generators: anything that samples continuations of a prompt with their mean token logprob.

Two implementations: llama.cpp embedded (`symgen.generators.llama`, the offline default) and any
OpenAI-compatible `/v1/completions` endpoint (`symgen.generators.openai`). `open_generator` maps
the CLI's `--generator NAME|gguf:PATH|openai:URL` to one of them; heavy imports stay inside.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Protocol, runtime_checkable

from symgen.errors import MissingResource, SymgenError


@dataclass(frozen=True)
class Sample:
    text: str
    logprob: float  # mean log-probability per generated token (model's own distribution)
    n_tokens: int


@dataclass
class GenStats:
    prompt_tokens: int = 0  # tokens actually evaluated (after cache reuse)
    cached_tokens: int = 0  # prompt tokens served from the KV cache
    generated_tokens: int = 0
    calls: int = 0
    grammar_masks: int = 0  # tokens a grammar refused, so the whole vocabulary was checked


class Generator(Protocol):
    stats: GenStats

    @property
    def name(self) -> str:
        """What made the data, recorded with every pair (a rerun must use the same)."""
        ...

    def sample(
        self,
        prompt: str,
        *,
        n: int = 1,
        temperature: float = 0.0,
        max_tokens: int = 128,
        stop: Sequence[str] = (),
        seed: int | None = None,
        should_stop: Callable[[], bool] | None = None,
        grammar: str | None = None,
    ) -> list[Sample]:
        """`n` continuations; temperature 0 is greedy (then n should be 1). `grammar` (GBNF):
        continuations must follow it, where the generator can constrain decoding; others
        ignore it."""
        ...

    def close(self) -> None: ...


@runtime_checkable
class Scorer(Protocol):
    """A generator that can also read given text: llama.cpp's (the verifier's reviewer)."""

    def score(self, prompt: str, continuations: Sequence[str]) -> list[float]:
        """Mean token log-probability of each continuation after `prompt`."""
        ...


def concurrency_of(generator: Generator) -> int:
    """How many requests `generator` serves at once: an endpoint's (`OpenAIGenerator.concurrency`);
    1 for an embedded model, whose one context answers one prompt at a time."""
    return max(1, int(getattr(generator, "concurrency", 1)))


def cut_at_stop(text: str, stop: Sequence[str]) -> tuple[str, bool]:
    """Text before the earliest stop sequence, and whether one was found."""
    cut = min((i for i in (text.find(s) for s in stop if s) if i >= 0), default=-1)
    return (text[:cut], True) if cut >= 0 else (text, False)


def open_generator(
    spec: str,
    *,
    n_threads: int | None = None,
    n_ctx: int | None = None,
    concurrency: int | None = None,
) -> Generator:
    """`NAME` (registry), `gguf:PATH` or `openai:URL[,URL...][#model]` / `openai:@FILE` → a
    ready generator. `concurrency` is for endpoints only (see `symgen.generators.openai`)."""
    if concurrency is not None and concurrency < 1:
        raise SymgenError(f"--concurrency must be at least 1, not {concurrency}")
    if spec.startswith("openai:"):
        try:
            from symgen.generators.openai import OpenAIGenerator
        except ImportError as exc:
            raise MissingResource(
                f"the openai: generator needs httpx ({exc}); run scripts/setup.sh"
            ) from None

        urls, _, model = spec[len("openai:") :].partition("#")
        return OpenAIGenerator(urls, model=model or None, concurrency=concurrency)
    if concurrency not in (None, 1):
        raise SymgenError(
            "--concurrency is for openai: endpoints; an embedded model answers one prompt at a "
            "time (run several endpoints, e.g. llama-server --parallel N, for more)"
        )
    if spec.startswith("gguf:"):
        path = Path(spec[len("gguf:") :]).expanduser()
        if not path.is_file():
            raise MissingResource(f"{path}: GGUF file not found (from --generator {spec})")
        name, ctx = path.stem, n_ctx or 4096
    else:
        from symgen.generators import registry

        default, specs = registry.load_registry()
        found = specs.get(spec or default)
        if found is None:
            raise SymgenError(
                f"unknown generator {spec!r}; known: {', '.join(sorted(specs))}, "
                "or gguf:PATH, or openai:URL"
            )
        path = registry.fetch(found)
        name, ctx = found.name, n_ctx or found.n_ctx
    try:
        from symgen.generators.llama import LlamaGenerator
    except ImportError as exc:
        raise MissingResource(
            f"llama-cpp-python is not installed ({exc}); run scripts/setup.sh, or use "
            "--generator openai:URL"
        ) from None
    return LlamaGenerator(path, name=name, n_ctx=ctx, n_threads=n_threads)
