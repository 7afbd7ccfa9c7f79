"""OpenAI-compatible `/v1/completions` endpoints as one Generator: llama.cpp's `llama-server`,
`llama_cpp.server`, vLLM, SGLang, Ollama, or a router in front of many of them.

For users with a bigger model, a GPU box or a cluster: same prompts, same verifier. Requests go
out `concurrency` at a time (sized from the server's slots when it says, `--concurrency`
otherwise), spread over every endpoint given (`openai:URL1,URL2` or `openai:@FILE`). A request
that meets a timeout, a dropped connection, 429 or 5xx is retried on the next live endpoint
with exponential back-off; an endpoint that fails rests before it is tried again, so one that
dies mid-run costs a retry, not the run. When every endpoint stays down the request raises
`SymgenError` (exit 3): the run stops with what it wrote, and a rerun resumes. A server that
ignores `n` is asked one sample per request (concurrently); one that returns no logprobs is
warned about once (the vote's ties then fall to order, not confidence).
"""

from __future__ import annotations

import itertools
import random
import sys
import threading
import time
from collections.abc import Callable, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx

from symgen.errors import SymgenError
from symgen.generators.base import GenStats, Sample, cut_at_stop

RETRY_STATUS = frozenset({408, 409, 425, 429, 500, 502, 503, 504})
DEFAULT_SLOTS = (
    4  # per endpoint that does not say (vLLM, SGLang batch far more; llama_cpp.server one)
)
REST_S = 5.0  # an endpoint that failed is skipped this long (doubling per failure, up to 60 s)


def endpoint_urls(spec: str) -> list[str]:
    """`URL1,URL2,...` or `@FILE` (one URL per line, `#` comments) → base URLs ending in /v1."""
    if spec.startswith("@"):
        path = Path(spec[1:]).expanduser()
        try:
            lines = path.read_text().splitlines()
        except OSError as exc:
            raise SymgenError(f"{path}: cannot read the endpoint list ({exc.strerror})") from None
        raw = [line.split("#", 1)[0].strip() for line in lines]
    else:
        raw = [part.strip() for part in spec.split(",")]
    urls = [u for u in raw if u]
    if not urls:
        raise SymgenError(f"openai:{spec}: no endpoint URL given")
    for url in urls:
        if not url.startswith(("http://", "https://")):
            raise SymgenError(f"openai endpoint {url!r} is not an http:// or https:// URL")
    return [u.rstrip("/") if u.rstrip("/").endswith("/v1") else u.rstrip("/") + "/v1" for u in urls]


@dataclass
class Endpoint:
    url: str  # .../v1
    failures: int = 0  # in a row
    resting_until: float = 0.0

    def failed(self, retry_after: float | None = None) -> None:
        self.failures += 1
        rest = retry_after if retry_after is not None else REST_S * 2 ** (self.failures - 1)
        self.resting_until = time.monotonic() + min(rest, 60.0)

    def served(self) -> None:
        self.failures, self.resting_until = 0, 0.0


class Refused(SymgenError):
    """The server answered 4xx (not 408/409/425/429): this request, as sent, will not do."""


class OpenAIGenerator:
    """One or more endpoints serving the same model (see the module docstring)."""

    def __init__(
        self,
        urls: str | Sequence[str],
        *,
        model: str | None = None,
        timeout_s: float = 300,
        retries: int = 5,
        backoff_s: float = 0.5,
        concurrency: int | None = None,
        log: Callable[[str], None] = lambda m: print(m, file=sys.stderr),
        transport: httpx.BaseTransport | None = None,
    ) -> None:
        """`transport`: httpx's, for the unit tests of the retry logic (default: the network)."""
        self.endpoints = [
            Endpoint(u) for u in endpoint_urls(urls if isinstance(urls, str) else ",".join(urls))
        ]
        self.base_url = self.endpoints[0].url
        self.model = model
        self.timeout_s, self.retries, self.backoff_s = timeout_s, retries, backoff_s
        self._asked_concurrency = concurrency
        self._log = log
        self.stats = GenStats()
        self._lock = threading.Lock()
        self._turn = itertools.count()
        self._client = httpx.Client(
            timeout=httpx.Timeout(timeout_s, connect=10.0), transport=transport
        )
        self._probed: tuple[str, int] | None = None  # (model, concurrency) once asked
        self._n_ignored = False
        self._warned_logprobs = False
        self._pool: ThreadPoolExecutor | None = None
        self._slots: threading.Semaphore | None = None

    # -- what the endpoints serve, asked once -------------------------------------------------

    def _probe(self) -> tuple[str, int]:
        """Every endpoint must answer `/v1/models` now (exit 3 naming the one that does not) and
        serve the same model; the concurrency is `--concurrency` or the sum of their slots."""
        if self._probed is not None:
            return self._probed
        models, slots = set(), 0
        for ep in self.endpoints:
            try:
                resp = self._client.get(f"{ep.url}/models", timeout=10.0)
                resp.raise_for_status()
                ids = [m.get("id") for m in resp.json().get("data") or [] if m.get("id")]
            except (httpx.HTTPError, ValueError) as exc:
                raise SymgenError(
                    f"{ep.url}: the completions endpoint does not answer ({exc}); is the server "
                    f"up and listening there? check with: curl {ep.url}/models",
                    exit_code=3,
                ) from None
            if self.model is None and ids:
                models.add(ids[0])
            slots += self._slots_of(ep.url)
        if len(models) > 1:
            raise SymgenError(
                f"the endpoints serve different models ({', '.join(sorted(models))}); their "
                "answers would be mixed in one data set: pass one model's endpoints, or name it "
                "with openai:URL,...#MODEL"
            )
        model = self.model or (models.pop() if models else "default")
        concurrency = self._asked_concurrency or slots
        self._probed = (model, max(1, concurrency))
        self._slots = threading.Semaphore(self._probed[1])
        return self._probed

    def _slots_of(self, url: str) -> int:
        """llama.cpp's `llama-server` says its `--parallel` in /props; others do not."""
        try:
            resp = self._client.get(url.removesuffix("/v1") + "/props", timeout=5.0)
            n = int(resp.json().get("total_slots", 0)) if resp.status_code == 200 else 0
        except (httpx.HTTPError, ValueError, AttributeError, TypeError):
            n = 0
        return n if n > 0 else DEFAULT_SLOTS

    @property
    def name(self) -> str:
        """`openai:MODEL`: the served model, not the URLs, so a rerun through other endpoints
        of the same model resumes its data."""
        return f"openai:{self._probe()[0]}"

    @property
    def concurrency(self) -> int:
        return self._probe()[1]

    # -- one request, retried over the endpoints ----------------------------------------------

    def _endpoint(self) -> Endpoint:
        """The next endpoint in turn that is not resting; else the one that rests least."""
        now = time.monotonic()
        n = len(self.endpoints)
        start = next(self._turn) % n
        ordered = self.endpoints[start:] + self.endpoints[:start]
        live = [ep for ep in ordered if ep.resting_until <= now]
        return live[0] if live else min(ordered, key=lambda ep: ep.resting_until)

    def _post(self, body: dict[str, Any]) -> dict[str, Any]:
        self._probe()
        assert self._slots is not None
        errors: list[str] = []
        with self._slots:
            for attempt in range(self.retries + 1):
                ep = self._endpoint()
                wait = ep.resting_until - time.monotonic()
                if attempt and wait > 0:  # every endpoint rests: back off before asking again
                    time.sleep(min(wait, self.backoff_s * 2**attempt) * random.uniform(0.8, 1.2))
                try:
                    resp = self._client.post(f"{ep.url}/completions", json=body)
                except httpx.TransportError as exc:  # refused, reset, timed out
                    errors.append(f"{ep.url}: {type(exc).__name__}: {exc}")
                    with self._lock:
                        ep.failed()
                    continue
                if resp.status_code == 200:
                    with self._lock:
                        ep.served()
                    try:
                        result: dict[str, Any] = resp.json()
                    except ValueError:
                        raise SymgenError(
                            f"{ep.url}: the completions reply is not JSON: {resp.text[:200]!r}",
                            exit_code=3,
                        ) from None
                    return result
                detail = resp.text[:300]
                if resp.status_code not in RETRY_STATUS:  # a request it refuses: no retry helps
                    raise Refused(f"{ep.url}: HTTP {resp.status_code}: {detail}", exit_code=3)
                errors.append(f"{ep.url}: HTTP {resp.status_code}: {detail[:100]}")
                with self._lock:
                    ep.failed(_retry_after(resp))
        raise SymgenError(
            f"the completions endpoints failed {self.retries + 1} times in a row (last: "
            f"{'; '.join(errors[-3:])}); stopping with what is written — rerun to resume",
            exit_code=3,
        )

    # -- the Generator API --------------------------------------------------------------------

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
        grammar: str | None = None,  # not sent: the servers' grammar dialects differ
    ) -> list[Sample]:
        body: dict[str, Any] = {
            "prompt": prompt,
            "n": n,
            "temperature": temperature,
            "max_tokens": max_tokens,
            "logprobs": 1,
            "model": self._probe()[0] if self.model is None else self.model,
        }
        if stop:
            body["stop"] = list(stop)[:4]  # the OpenAI API accepts at most 4
        if seed is not None:
            body["seed"] = seed
        choices: list[dict[str, Any]] = []
        if n == 1 or not self._n_ignored:
            try:
                choices = self._choices(body)
            except Refused:
                # llama-server refuses `n` above its slots ("n_cmpl cannot be greater than the
                # number of slots") or any `n` ("Only one completion choice is allowed")
                if n == 1:
                    raise
                self._n_ignored = True
        if len(choices) < n:  # the server ignores `n`: the rest one per request, concurrently
            if not self._n_ignored and choices:
                self._n_ignored = True
            rest = [
                {**body, "n": 1, "seed": None if seed is None else seed + len(choices) + i}
                for i in range(n - len(choices))
            ]
            for more in self._executor().map(self._choices, rest):
                choices += more
        return [self._sample(choice, stop) for choice in choices[:n]]

    def _choices(self, body: dict[str, Any]) -> list[dict[str, Any]]:
        out = self._post({k: v for k, v in body.items() if v is not None})
        usage = out.get("usage") or {}
        with self._lock:
            self.stats.prompt_tokens += int(usage.get("prompt_tokens") or 0)
            self.stats.calls += 1
        return list(out.get("choices") or [])

    def _sample(self, choice: dict[str, Any], stop: Sequence[str]) -> Sample:
        lps = token_logprobs(choice)
        if not lps and not self._warned_logprobs:
            self._warned_logprobs = True
            self._log(
                f"warning: {self.base_url} returns no logprobs; votes that tie are broken by "
                "sample order instead of the model's confidence"
            )
        text, _ = cut_at_stop(choice.get("text", ""), stop)
        with self._lock:
            self.stats.generated_tokens += len(lps)
        return Sample(text, sum(lps) / len(lps) if lps else 0.0, len(lps))

    def _executor(self) -> ThreadPoolExecutor:
        with self._lock:
            if self._pool is None:
                self._pool = ThreadPoolExecutor(self.concurrency, thread_name_prefix="openai")
            return self._pool

    def close(self) -> None:
        if self._pool is not None:
            self._pool.shutdown(wait=False, cancel_futures=True)
        self._client.close()


def token_logprobs(choice: dict[str, Any]) -> list[float]:
    """A choice's per-token logprobs in either shape servers send: OpenAI's legacy
    `logprobs.token_logprobs` (vLLM, SGLang, llama_cpp.server) or `logprobs.content[].logprob`
    (llama.cpp's llama-server)."""
    got = choice.get("logprobs") or {}
    if not isinstance(got, dict):
        return []
    legacy = got.get("token_logprobs")
    if legacy is not None:
        return [float(x) for x in legacy if x is not None]
    return [float(t["logprob"]) for t in got.get("content") or [] if t.get("logprob") is not None]


def _retry_after(resp: httpx.Response) -> float | None:
    """A 429/503's `Retry-After` in seconds, when it gives one as a number."""
    try:
        return float(resp.headers.get("retry-after", ""))
    except ValueError:
        return None
