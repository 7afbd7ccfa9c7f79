"""`symgen generate --task bash|python` end to end with a real GGUF (the tiny SmolLM2-135M):
seeds from the shared NL2Bash / MBPP data, a data file with provenance, resume does nothing."""

from __future__ import annotations

import json
import subprocess
from pathlib import Path

import pytest

from symgen.tasks.bash import task as bash
from symgen.tasks.python import program as pyprog
from tests.conftest import SHARED, SYMGEN

pytestmark = pytest.mark.llm
QUESTIONS = 2


def shared(name: str) -> Path:
    path = SHARED / name
    if not path.is_file():
        pytest.fail(
            f"shared data not found at {path}: clone next to ../shared or set SYMGEN_SHARED_DATA"
        )
    return path


def first_lines(src: Path, dest: Path, n: int) -> Path:
    dest.write_text("".join(src.read_text().splitlines(keepends=True)[:n]))
    return dest


def lines(path: Path) -> list[dict]:  # type: ignore[type-arg]
    return [json.loads(x) for x in path.read_text().splitlines()] if path.exists() else []


@pytest.mark.parametrize("task", ["bash", "python"])
def test_generate_code_task(model_file, task: str, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    gguf = model_file("smollm2-135m")
    src = shared("nl2bash/pairs.jsonl" if task == "bash" else "mbpp/mbpp.jsonl")
    seeds = first_lines(src, tmp_path / "seeds.jsonl", 10)
    out = tmp_path / "pairs.jsonl"
    cmd = [
        *SYMGEN, "generate", "--task", task, "--seeds", str(seeds), "--out", str(out),
        "--questions", str(QUESTIONS), "--samples", "3", "--min-votes", "1",
        "--generator", f"gguf:{gguf}", "--threads", "2", "--quiet",
    ]  # fmt: skip
    proc = subprocess.run(cmd, capture_output=True, text=True, timeout=900)
    assert proc.returncode == 0, proc.stderr
    kept, rejected = lines(out), lines(tmp_path / "pairs.rejected.jsonl")
    assert out.is_file() and len(kept) + len(rejected) == QUESTIONS, proc.stderr
    for record in kept + rejected:
        assert record["task"] == task and record["generator"] == gguf.stem
        assert len(record["seed_ids"]) >= 1 and record["prompt_hash"]
        assert {"n_samples", "failures", "required"} <= set(record)
    for record in kept:
        if task == "bash":
            assert bash.static_check(record["query"]) is None and "support" in record
        else:
            assert pyprog.static_check(record["query"]) is None and record["tests"]
            assert len(record["outputs"]) == len(record["tests"])
            assert 0 <= record["expected_matched"] <= record["expected_checked"]
    run = json.loads((tmp_path / "pairs.run.json").read_text())
    assert run["identity"]["task"] == task and run["stats"]["kept"] == len(kept)
    again = subprocess.run(cmd, capture_output=True, text=True, timeout=300)
    assert again.returncode == 0 and "nothing to do" in again.stderr
    assert lines(out) == kept
    if task == "python":
        assert run["identity"]["expected_outputs"] == "1.0"  # the default: every prediction
        # a run from before that default (the vote alone; no such identity key) is not extended
        # under the new rule; the refusal names the flag that resumes it
        del run["identity"]["expected_outputs"]
        (tmp_path / "pairs.run.json").write_text(json.dumps(run))
        refused = subprocess.run(cmd, capture_output=True, text=True, timeout=300)
        assert refused.returncode == 2 and "resume with --expected-outputs 0" in refused.stderr
        old = [*cmd, "--expected-outputs", "0"]
        resumed = subprocess.run(old, capture_output=True, text=True, timeout=300)
        assert resumed.returncode == 0 and "nothing to do" in resumed.stderr, resumed.stderr


def test_generate_bash_with_focus_commands(model_file, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    """gen-q asks about the listed commands: every question records the one its call named."""
    gguf = model_file("smollm2-135m")
    seeds = first_lines(shared("nl2bash/pairs.jsonl"), tmp_path / "seeds.jsonl", 10)
    commands = tmp_path / "commands.txt"
    commands.write_text("tar  # archives\nsort\n")
    out = tmp_path / "pairs.jsonl"
    base = [*SYMGEN, "generate", "--seeds", str(seeds), "--out", str(out), "--questions", "3",
            "--samples", "2", "--min-votes", "1", "--generator", f"gguf:{gguf}",
            "--threads", "2", "--quiet"]  # fmt: skip
    proc = subprocess.run(
        [*base, "--task", "bash", "--focus-commands", str(commands)],
        capture_output=True,
        text=True,
        timeout=900,
    )
    assert proc.returncode == 0, proc.stderr
    asked = lines(tmp_path / "pairs.questions.jsonl")
    assert len(asked) == 3 and all(r["focus"] in ("tar", "sort") for r in asked), asked
    assert len(lines(out)) + len(lines(tmp_path / "pairs.rejected.jsonl")) == 3
    # refused before any model is loaded: another task, or a list that is not there
    wrong = subprocess.run(
        [*base, "--task", "python", "--focus-commands", "common"],
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert wrong.returncode == 2 and "--focus-commands is for --task bash" in wrong.stderr
    missing = tmp_path / "nope.txt"
    gone = subprocess.run(
        [*base, "--task", "bash", "--focus-commands", str(missing)],
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert gone.returncode != 0 and f"{missing}: command list not found" in gone.stderr
