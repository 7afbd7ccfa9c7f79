"""`symgen generate --generator openai:URL,URL` against real llama.cpp servers (llama_cpp.server,
SmolLM2-135M) on loopback: requests in flight at once over two endpoints, one killed mid-run;
every endpoint killed (the run stops with exit 3) and a rerun through a new one resumes; an
endpoint down at the start. Each question is answered exactly once in the end."""

from __future__ import annotations

import json
import subprocess
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.e2e.test_generate_e2e import generate_cmd
from tests.llm_servers import LlmServer, free_port

pytestmark = pytest.mark.llm

QUESTIONS = 8


def lines(path: Path) -> list[dict]:  # type: ignore[type-arg]
    return [json.loads(x) for x in path.read_text().splitlines()] if path.exists() else []


def answered(out: Path) -> list[str]:
    return [r["question"] for r in lines(out) + lines(out.with_suffix(".rejected.jsonl"))]


@pytest.fixture()
def servers(model_file, tmp_path: Path) -> Iterator[list[LlmServer]]:  # type: ignore[no-untyped-def]
    model = model_file("smollm2-135m")
    pair = [LlmServer(model, tmp_path / f"server{i}.log") for i in range(2)]
    try:
        for srv in pair:
            srv.start()
        yield pair
    finally:
        for srv in pair:
            srv.kill()


def cmd(geo_db: Path, geo_dir: Path, out: Path, urls: str, *extra: str) -> list[str]:
    return generate_cmd(
        geo_db, geo_dir / "seed_10.jsonl", out, QUESTIONS, "--samples", "4", "--min-votes", "2",
        "--generator", f"openai:{urls}", *extra,
    )  # fmt: skip


def wait_for_answers(proc: subprocess.Popen[str], out: Path, n: int) -> None:
    deadline = time.monotonic() + 600
    while len(answered(out)) < n:
        assert proc.poll() is None, proc.communicate()[1]
        assert time.monotonic() < deadline, "no answers within 10 minutes"
        time.sleep(0.2)


def test_an_endpoint_killed_mid_run_costs_retries_not_pairs(
    servers: list[LlmServer], geo_db: Path, geo_dir: Path, tmp_path: Path
) -> None:
    out = tmp_path / "pairs.jsonl"
    urls = ",".join(s.url for s in servers)
    proc = subprocess.Popen(
        cmd(geo_db, geo_dir, out, urls, "--concurrency", "4"), stderr=subprocess.PIPE, text=True
    )
    wait_for_answers(proc, out, 2)
    servers[1].kill()
    _, err = proc.communicate(timeout=900)
    assert proc.returncode == 0, err
    asked = [r["question"] for r in lines(tmp_path / "pairs.questions.jsonl")]
    done = answered(out)
    assert sorted(done) == sorted(asked) and len(set(done)) == len(done) > 2
    run = json.loads((tmp_path / "pairs.run.json").read_text())
    assert run["generator"].startswith("openai:") and "smollm2" in run["generator"]
    assert all(r["generator"] == run["generator"] for r in lines(out))


def test_every_endpoint_down_stops_the_run_and_a_rerun_elsewhere_resumes(
    servers: list[LlmServer], geo_db: Path, geo_dir: Path, tmp_path: Path
) -> None:
    out = tmp_path / "pairs.jsonl"
    proc = subprocess.Popen(
        cmd(geo_db, geo_dir, out, servers[0].url, "--concurrency", "2"),
        stderr=subprocess.PIPE,
        text=True,
    )
    wait_for_answers(proc, out, 1)
    servers[0].kill()
    _, err = proc.communicate(timeout=300)
    assert proc.returncode == 3, err
    assert "failed 6 times in a row" in err and "rerun to resume" in err, err
    before = answered(out)
    assert 1 <= len(before) < QUESTIONS
    assert json.loads((tmp_path / "pairs.run.json").read_text())["stats"]["kept"] == len(lines(out))
    rerun = subprocess.run(
        cmd(geo_db, geo_dir, out, servers[1].url), capture_output=True, text=True, timeout=900
    )
    assert rerun.returncode == 0 and "resuming" in rerun.stderr, rerun.stderr
    asked = [r["question"] for r in lines(tmp_path / "pairs.questions.jsonl")]
    done = answered(out)
    assert set(before) <= set(done)  # what the first run answered is kept, not redone
    assert sorted(done) == sorted(asked) and len(set(done)) == len(done)


def test_an_endpoint_down_at_the_start_is_named(
    servers: list[LlmServer], geo_db: Path, geo_dir: Path, tmp_path: Path
) -> None:
    down = f"http://127.0.0.1:{free_port()}"
    out = tmp_path / "pairs.jsonl"
    proc = subprocess.run(
        cmd(geo_db, geo_dir, out, f"{servers[0].url},{down}"),
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert proc.returncode == 3, proc.stderr
    assert f"{down}/v1: the completions endpoint does not answer" in proc.stderr
    assert f"curl {down}/v1/models" in proc.stderr
    assert not out.exists()
