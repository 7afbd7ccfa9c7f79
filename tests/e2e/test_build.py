"""`symgen build` end to end with the real default LLM: every stage, an interrupt, a resume, the
report and the model installed where the editor server looks; and the early stop on a database
the generator cannot answer."""

from __future__ import annotations

import json
import signal
import sqlite3
import subprocess
import time
from pathlib import Path

import pytest

from symgen.build.holdout import sql_key
from symgen.demo import BUNDLED
from tests.conftest import FIXTURES, SYMGEN, sha256

pytestmark = pytest.mark.llm
TINY = FIXTURES / "build" / "tiny.toml"
STAGES = ["gen-q", "programs", "paraphrases", "augment", "train", "export", "evaluate"]


def build_cmd(out: Path, ws: Path, *extra: str) -> list[str]:
    dev = ws / "dev.jsonl"
    if not dev.exists():
        dev.write_text("".join((BUNDLED / "dev.jsonl").read_text().splitlines(True)[:4]))
    return [
        *SYMGEN, "build", "--db", str(BUNDLED / "geography.sqlite"),
        "--seeds", str(BUNDLED / "seed_10.jsonl"), "--out", str(out), "--recipe", str(TINY),
        "--budget", "8", "--eval", str(dev), "--workspace", str(ws), "--name", "geo-test",
        "--threads", "2", "--quiet", *extra,
    ]  # fmt: skip


def test_build_interrupted_resumes_and_installs_the_model(model_file, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    model_file("qwen2.5-coder-0.5b")
    out, ws = tmp_path / "build", tmp_path / "ws"
    ws.mkdir()
    before = sha256(BUNDLED / "geography.sqlite")
    cmd = build_cmd(out, ws)
    # Ctrl-C once the first stage is over: what it made stays, the rerun does not redo it
    proc = subprocess.Popen(cmd, stderr=subprocess.PIPE, stdout=subprocess.PIPE, text=True)
    assert proc.stderr is not None
    seen = []
    for line in proc.stderr:
        seen.append(line)
        if line.startswith("[2/7] programs"):
            time.sleep(1.0)
            proc.send_signal(signal.SIGINT)
            break
    rest = proc.communicate(timeout=300)[1]
    text = "".join(seen) + rest
    assert proc.returncode == 130, text[-3000:]
    assert "plan (tiny.toml, budget 8m):" in text and "1. gen-q" in text, text[:2000]
    state = json.loads((out / "build.json").read_text())
    assert state["stages"]["gen-q"]["done"] and not state["stages"]["programs"].get("done")
    gen_q = (out / "data" / "gen-q.jsonl").read_text()
    assert gen_q.strip(), "the probe passed, so gen-q kept pairs"

    again = subprocess.run(cmd, capture_output=True, text=True, timeout=900, check=False)
    assert again.returncode == 0, again.stderr[-3000:]
    assert "resuming" in again.stderr and "[1/7]" not in again.stderr, again.stderr[:3000]
    assert (out / "data" / "gen-q.jsonl").read_text() == gen_q
    state = json.loads((out / "build.json").read_text())
    assert all(state["stages"][s]["done"] for s in STAGES), state
    spent = sum(s.get("minutes", 0) for s in state["stages"].values())
    assert spent < 8 + 3, spent  # the budget, give or take a round of answers and one training log
    report = (out / "report.md").read_text()
    for part in (
        "# SymGen build: geo-test",
        "## Data by source",
        "| gen-q |",
        "held-back",
        "--eval pairs",
    ):
        assert part in report, report
    assert (out / "report.png").stat().st_size > 10_000
    installed = ws / ".symgen" / "models" / "geo-test"
    assert json.loads((installed / "symgen.json").read_text())["name"] == "geo-test"
    assert str(installed) in again.stderr
    ev = state["stages"]["evaluate"]["eval"]
    assert ev["n"] == 4 and 0 <= ev["exec_acc"] <= 1 and ev["latency_p50_ms"] > 0
    held = [json.loads(x) for x in (out / "data" / "held_out.jsonl").read_text().splitlines()]
    trained = [json.loads(x) for x in (out / "data" / "train.jsonl").read_text().splitlines()]
    assert held and not {sql_key(h["query"]) for h in held} & {sql_key(t["query"]) for t in trained}

    third = subprocess.run(cmd, capture_output=True, text=True, timeout=300, check=False)
    assert third.returncode == 0 and "is built already" in third.stderr, third.stderr[-2000:]
    other = subprocess.run(
        [*cmd[:-1], "--budget", "9", "--quiet"], capture_output=True, text=True, timeout=300
    )
    assert other.returncode == 2 and "holds another build (budget_minutes" in other.stderr
    assert sha256(BUNDLED / "geography.sqlite") == before


def empty_copy(src: Path, dest: Path) -> Path:
    """The schema of `src` with no rows: every candidate's result is empty, none can win."""
    with sqlite3.connect(src) as a, sqlite3.connect(dest) as b:
        for (sql,) in a.execute(
            "SELECT sql FROM sqlite_master WHERE type = 'table' AND sql IS NOT NULL"
        ):
            b.execute(sql)
    return dest


def test_a_database_the_generator_cannot_answer_stops_early(model_file, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    path = model_file("smollm2-135m")
    db = empty_copy(BUNDLED / "geography.sqlite", tmp_path / "empty.sqlite")
    cmd = [
        *SYMGEN, "build", "--db", str(db), "--seeds", str(BUNDLED / "seed_10.jsonl"),
        "--out", str(tmp_path / "b"), "--recipe", str(TINY), "--budget", "8", "--no-install",
        "--generator", f"gguf:{path}", "--quiet",
    ]  # fmt: skip
    started = time.monotonic()
    run = subprocess.run(cmd, capture_output=True, text=True, timeout=600, check=False)
    assert run.returncode == 4, run.stderr[-3000:]
    assert "stopped early: the generator verified no answer for the first 6 questions" in run.stderr
    assert "empty" in run.stderr  # the reason, counted
    assert time.monotonic() - started < 4 * 60  # not the whole budget
    assert not (tmp_path / "b" / "model").exists()
