"""`symgen demo`, the README's main job, end to end at a small budget with the real default LLM."""

from __future__ import annotations

import json
import os
import subprocess
from pathlib import Path

import pytest

from symgen.demo import BUNDLED
from tests.conftest import FIXTURES, SYMGEN, sha256

pytestmark = pytest.mark.llm


def test_demo_runs_every_stage_and_resumes(model_file, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    """On the data bundled in the package: nothing outside the clone (no --data, no
    $SYMGEN_SHARED_DATA), and the bundled database is left as it was."""
    model_file("qwen2.5-coder-0.5b")
    data = BUNDLED
    before = sha256(data / "geography.sqlite")
    env = {k: v for k, v in os.environ.items() if k != "SYMGEN_SHARED_DATA"}
    work = tmp_path / "work"
    cmd = [
        *SYMGEN, "demo", "--out-dir", str(work), "--recipe", str(FIXTURES / "build" / "tiny.toml"),
        "--budget", "6", "--compare", "3", "--threads", "2",
    ]  # fmt: skip
    run = dict(capture_output=True, text=True, timeout=900, check=False, env=env, cwd=tmp_path)
    first = subprocess.run(cmd, **run)  # type: ignore[call-overload]
    assert f"SymGen demo on {data / 'geography.sqlite'}" in first.stdout, first.stdout[:2000]
    assert first.returncode == 0, first.stderr[-3000:]
    for stage in ("[1/7] gen-q", "[4/7] augment", "[7/7] evaluate"):
        assert stage in first.stderr, first.stderr
    assert "build report:" in first.stdout and "symgen-server" in first.stdout, first.stdout
    installed = tmp_path / ".symgen" / "models" / "geoquery-demo"
    assert json.loads((installed / "symgen.json").read_text())["name"] == "geoquery-demo"
    train = [json.loads(x) for x in (work / "data" / "train.jsonl").read_text().splitlines()]
    assert sum("augmented_from" in r for r in train) > 0  # the seeds alone have swappable values
    assert "| task model (geoquery-demo) |" in first.stdout and "10-shot greedy |" in first.stdout

    # A rerun resumes: nothing generated again, the finished build is reused.
    pairs_before = (work / "data" / "gen-q.jsonl").read_text()
    again = subprocess.run(cmd, **run)  # type: ignore[call-overload]
    assert again.returncode == 0, again.stderr[-3000:]
    assert "is built already" in again.stderr
    assert (work / "data" / "gen-q.jsonl").read_text() == pairs_before
    assert sha256(data / "geography.sqlite") == before
