"""OpenAI-compatible completions endpoint (llama.cpp server, vLLM, Ollama) as a Generator.

For users with a bigger model or a GPU box: same prompts, same verifier. Uses only the stdlib.
"""

from __future__ import annotations

import json
import urllib.error
import urllib.request
from collections.abc import Callable, Sequence
from typing import Any

from symgen.errors import SymgenError
from symgen.generators.base import GenStats, Sample, cut_at_stop


class OpenAIGenerator:
    def __init__(self, base_url: str, *, model: str | None = None, timeout_s: float = 300) -> None:
        self.base_url = base_url.rstrip("/")
        if not self.base_url.endswith("/v1"):
            self.base_url += "/v1"
        self.model = model
        self.timeout_s = timeout_s
        self.name = f"openai:{self.base_url}" + (f"#{model}" if model else "")
        self.stats = GenStats()

    def _post(self, body: dict[str, Any]) -> dict[str, Any]:
        req = urllib.request.Request(
            f"{self.base_url}/completions",
            data=json.dumps(body).encode(),
            headers={"Content-Type": "application/json"},
        )
        try:
            with urllib.request.urlopen(req, timeout=self.timeout_s) as resp:
                result: dict[str, Any] = json.loads(resp.read())
                return result
        except urllib.error.HTTPError as exc:
            detail = exc.read().decode(errors="replace")[:300]
            raise SymgenError(f"{self.base_url}: HTTP {exc.code}: {detail}", exit_code=3) from None
        except (urllib.error.URLError, TimeoutError, ConnectionError) as exc:
            raise SymgenError(
                f"{self.base_url}: cannot reach the completions endpoint ({exc}); is the server up?",
                exit_code=3,
            ) from None

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
    ) -> list[Sample]:
        body: dict[str, Any] = {
            "prompt": prompt,
            "n": n,
            "temperature": temperature,
            "max_tokens": max_tokens,
            "logprobs": 1,
        }
        if stop:
            body["stop"] = list(stop)[:4]  # the OpenAI API accepts at most 4
        if seed is not None:
            body["seed"] = seed
        if self.model:
            body["model"] = self.model
        out = self._post(body)
        choices = out.get("choices") or []
        if len(choices) < n and n > 1:  # servers without `n` support: ask one at a time
            for i in range(n - len(choices)):
                body.update(n=1, seed=None if seed is None else seed + i + 1)
                choices += self._post(body).get("choices") or []
        samples = []
        for choice in choices[:n]:
            lps = [
                x
                for x in ((choice.get("logprobs") or {}).get("token_logprobs") or [])
                if x is not None
            ]
            text, _ = cut_at_stop(choice.get("text", ""), stop)
            samples.append(Sample(text, sum(lps) / len(lps) if lps else 0.0, len(lps)))
            self.stats.generated_tokens += len(lps)
        usage = out.get("usage") or {}
        self.stats.prompt_tokens += int(usage.get("prompt_tokens", 0))
        self.stats.calls += 1
        return samples

    def close(self) -> None:
        pass
