"""The endpoint list, retries, back-off and server quirks of `OpenAIGenerator`, against httpx's
MockTransport (pure request logic; the real servers are in tests/e2e/test_openai_endpoints.py)."""

from __future__ import annotations

import json
import threading
from pathlib import Path

import httpx
import pytest

from symgen.errors import SymgenError
from symgen.generators import openai
from symgen.generators.openai import OpenAIGenerator, endpoint_urls


def choice(text: str, logprobs: bool = True) -> dict[str, object]:
    return {"text": text, "logprobs": {"token_logprobs": [-0.5, -1.5]} if logprobs else None}


class Server:
    """Answers /models, /props and /completions per host; `script` gives a host's next
    completion replies (status, body), then 200s."""

    def __init__(self, slots: dict[str, int] | None = None, model: str = "m") -> None:
        self.slots, self.model = slots or {}, model
        self.script: dict[str, list[tuple[int, dict[str, object]]]] = {}
        self.calls: list[tuple[str, dict[str, object]]] = []
        self.lock = threading.Lock()
        self.models: dict[str, str] = {}
        self.n_ignored = False
        self.logprobs = True

    def __call__(self, request: httpx.Request) -> httpx.Response:
        host = request.url.host
        if request.url.path.endswith("/models"):
            return httpx.Response(200, json={"data": [{"id": self.models.get(host, self.model)}]})
        if request.url.path == "/props":
            if host in self.slots:
                return httpx.Response(200, json={"total_slots": self.slots[host]})
            return httpx.Response(404)
        body = json.loads(request.content)
        with self.lock:
            self.calls.append((host, body))
            queued = self.script.get(host) or []
            status, reply = queued.pop(0) if queued else (200, {})
        if status != 200:
            return httpx.Response(status, json=reply, headers={"retry-after": "0"})
        n = 1 if self.n_ignored else int(body.get("n", 1))
        return httpx.Response(
            200, json={"choices": [choice(f"{host}:{body.get('seed')}", self.logprobs)] * n}
        )


def gen(server: Server, urls: str = "http://a,http://b", **kw: object) -> OpenAIGenerator:
    kw.setdefault("backoff_s", 0.0)
    return OpenAIGenerator(urls, transport=httpx.MockTransport(server), **kw)  # type: ignore[arg-type]


def test_endpoint_lists(tmp_path: Path) -> None:
    assert endpoint_urls("http://a:8080, https://b/v1/") == ["http://a:8080/v1", "https://b/v1"]
    listed = tmp_path / "endpoints.txt"
    listed.write_text("# the GPU boxes\nhttp://gpu1:8000\n\nhttp://gpu2:8000  # spare\n")
    assert endpoint_urls(f"@{listed}") == ["http://gpu1:8000/v1", "http://gpu2:8000/v1"]
    with pytest.raises(SymgenError, match="not an http:// or https:// URL"):
        endpoint_urls("gpu1:8000")
    with pytest.raises(SymgenError, match="no endpoint URL"):
        endpoint_urls(" , ")
    with pytest.raises(SymgenError, match=r"missing\.txt: cannot read the endpoint list"):
        endpoint_urls(f"@{tmp_path / 'missing.txt'}")


def test_concurrency_is_the_servers_slots_or_the_flag() -> None:
    server = Server(slots={"a": 4})
    assert gen(server).concurrency == 4 + openai.DEFAULT_SLOTS  # b does not say
    assert gen(server, concurrency=2).concurrency == 2
    assert gen(server).name == "openai:m"


def test_endpoints_serving_different_models_are_refused() -> None:
    server = Server()
    server.models = {"b": "other"}
    with pytest.raises(SymgenError, match="serve different models"):
        _ = gen(server).name


def test_a_503_is_retried_on_the_other_endpoint_which_then_takes_the_turns() -> None:
    server = Server()
    server.script["a"] = [(503, {"error": "loading"})]
    g = gen(server)
    out = g.sample("p", n=2, temperature=1.0, seed=7)
    assert [s.text for s in out] == ["b:7", "b:7"] and out[0].logprob == -1.0
    assert [host for host, _ in server.calls] == ["a", "b"]
    assert g.endpoints[0].failures == 1 and g.endpoints[1].failures == 0


def test_a_refused_request_is_not_retried() -> None:
    server = Server()
    server.script["a"] = [(400, {"error": "bad prompt"})]
    with pytest.raises(SymgenError, match="HTTP 400") as err:
        gen(server, "http://a").sample("p")
    assert err.value.exit_code == 3 and len(server.calls) == 1


def test_endpoints_that_stay_down_stop_the_run_with_exit_3() -> None:
    server = Server()
    server.script = {h: [(502, {})] * 10 for h in ("a", "b")}
    with pytest.raises(SymgenError, match=r"failed 3 times in a row.*rerun to resume") as err:
        gen(server, retries=2).sample("p")
    assert err.value.exit_code == 3 and len(server.calls) == 3


def test_a_server_that_ignores_n_is_asked_once_per_sample_with_its_own_seeds() -> None:
    server = Server()
    server.n_ignored = True
    g = gen(server, "http://a")
    out = g.sample("p", n=4, temperature=1.0, seed=10)
    assert sorted(s.text for s in out) == ["a:10", "a:11", "a:12", "a:13"]
    assert g.sample("p", n=3, temperature=1.0, seed=0) and len(server.calls) == 4 + 3
    assert all(body["n"] == 1 for _, body in server.calls[4:])  # no more asking for n


def test_no_logprobs_is_warned_about_once() -> None:
    server, said = Server(), []
    server.logprobs = False
    g = gen(server, "http://a", log=said.append)
    assert g.sample("p", n=2, temperature=1.0)[0].logprob == 0.0
    g.sample("p")
    assert len(said) == 1 and "returns no logprobs" in said[0]


def test_llama_servers_logprob_shape_and_its_refusal_of_n_are_understood() -> None:
    """llama-server sends `logprobs.content[].logprob`, and answers a larger `n` than its slots
    with a 400: the samples are then asked one at a time."""
    assert openai.token_logprobs(
        {"logprobs": {"content": [{"logprob": -1.0}, {"logprob": -2.0}]}}
    ) == [-1.0, -2.0]
    assert openai.token_logprobs({"logprobs": {"token_logprobs": [None, -0.5]}}) == [-0.5]
    assert openai.token_logprobs({"logprobs": None}) == []
    server = Server()
    server.script["a"] = [(400, {"error": "n_cmpl cannot be greater than the number of slots"})]
    out = gen(server, "http://a").sample("p", n=3, temperature=1.0, seed=5)
    assert sorted(s.text for s in out) == ["a:5", "a:6", "a:7"]
