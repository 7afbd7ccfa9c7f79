"""`symgen generate` end to end with the real default generator (Qwen2.5-Coder-0.5B) and SQLite."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from symgen.sqlite_db import ReadOnlyDatabase
from symgen.tasks.sql import static_check
from tests.conftest import sha256

pytestmark = pytest.mark.llm


def lines(path: Path) -> list[dict]:  # type: ignore[type-arg]
    return [json.loads(x) for x in path.read_text().splitlines()] if path.exists() else []


def cli(*args: str) -> list[str]:
    return [sys.executable, "-m", "symgen", *args]


def generate_cmd(db: Path, seeds: Path, out: Path, questions: int, *options: str) -> list[str]:
    """`symgen generate` on the 2 cores; `options` default to a 2-of-4 vote."""
    return cli(
        "generate",
        "--db",
        str(db),
        "--seeds",
        str(seeds),
        "--out",
        str(out),
        "--questions",
        str(questions),
        "--threads",
        "2",
        "--quiet",
        *(options or ("--samples", "4", "--min-votes", "2")),
    )


def test_generate_verifies_and_resumes(
    model_file, geo_db: Path, geo_dir: Path, tmp_path: Path
) -> None:  # type: ignore[no-untyped-def]
    model_file("qwen2.5-coder-0.5b")
    before = sha256(geo_db)
    out = tmp_path / "pairs.jsonl"
    proc = subprocess.run(
        generate_cmd(geo_db, geo_dir / "seed_10.jsonl", out, 3),
        capture_output=True,
        text=True,
        timeout=600,
    )
    assert proc.returncode == 0, proc.stderr
    questions = lines(tmp_path / "pairs.questions.jsonl")
    kept, rejected = lines(out), lines(tmp_path / "pairs.rejected.jsonl")
    assert len(questions) == 3 and len(kept) + len(rejected) == 3
    seed_qs = {
        json.loads(x)["question"] for x in (geo_dir / "seed_10.jsonl").read_text().splitlines()
    }
    assert not seed_qs & {q["question"] for q in questions}
    assert kept, f"no pair kept from 3 questions: {rejected}"
    with ReadOnlyDatabase(geo_db) as db:
        for pair in kept:
            assert static_check(pair["query"]) is None
            assert db.execute(pair["query"]).rows  # runs and returns rows
            assert pair["votes"] >= 2 and pair["generator"] == "qwen2.5-coder-0.5b"
            assert len(pair["seed_ids"]) == 10 and pair["prompt_hash"]
    run = json.loads((tmp_path / "pairs.run.json").read_text())
    assert run["stats"]["kept"] == len(kept)
    # Rerun: nothing redone, nothing duplicated.
    snapshot = out.read_bytes()
    proc = subprocess.run(
        generate_cmd(geo_db, geo_dir / "seed_10.jsonl", out, 3),
        capture_output=True,
        text=True,
        timeout=600,
    )
    assert proc.returncode == 0 and "nothing to do" in proc.stderr
    assert out.read_bytes() == snapshot
    assert sha256(geo_db) == before


def test_interrupt_keeps_work_and_resume_completes(
    model_file, geo_db: Path, geo_dir: Path, tmp_path: Path
) -> None:  # type: ignore[no-untyped-def]
    model_file("qwen2.5-coder-0.5b")
    out = tmp_path / "pairs.jsonl"
    cmd = generate_cmd(geo_db, geo_dir / "seed_10.jsonl", out, 4)
    proc = subprocess.Popen(cmd, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    answered = lambda: len(lines(out)) + len(lines(tmp_path / "pairs.rejected.jsonl"))  # noqa: E731
    deadline = time.monotonic() + 500
    while answered() < 1 and proc.poll() is None and time.monotonic() < deadline:
        time.sleep(0.2)
    assert proc.poll() is None, "finished before it could be interrupted"
    proc.send_signal(signal.SIGINT)
    _, err = proc.communicate(timeout=120)
    assert proc.returncode == 130, err
    assert "rerun to resume" in err
    first = answered()
    assert 1 <= first < 4
    proc2 = subprocess.run(cmd, capture_output=True, text=True, timeout=600, env={**os.environ})
    assert proc2.returncode == 0, proc2.stderr
    assert "resuming" in proc2.stderr
    done = [r["question"] for r in lines(out) + lines(tmp_path / "pairs.rejected.jsonl")]
    assert len(done) == 4 and len(set(done)) == 4
    assert len(lines(tmp_path / "pairs.questions.jsonl")) == 4


def test_time_budget_leaves_questions_for_a_rerun(
    model_file, geo_db: Path, geo_dir: Path, tmp_path: Path
) -> None:  # type: ignore[no-untyped-def]
    """`--max-minutes`: past the budget no new question is started (one always is), the run
    ends cleanly and says how many are left, and a rerun answers exactly those."""
    model_file("qwen2.5-coder-0.5b")
    out = tmp_path / "pairs.jsonl"
    answered = lambda: lines(out) + lines(tmp_path / "pairs.rejected.jsonl")  # noqa: E731
    seeds = geo_dir / "seed_10.jsonl"
    budget = generate_cmd(geo_db, seeds, out, 3, "--samples", "4", "--min-votes", "2")
    proc = subprocess.run([*budget, "--max-minutes", "0.001"], capture_output=True, text=True)
    assert proc.returncode == 0, proc.stderr
    assert "time budget of 0.001 min reached: 2 of 3 questions left unanswered" in proc.stderr
    assert len(answered()) == 1 and len(lines(tmp_path / "pairs.questions.jsonl")) == 3
    assert json.loads((tmp_path / "pairs.run.json").read_text())["stats"]["left_for_later"] == 2
    proc = subprocess.run(budget, capture_output=True, text=True, timeout=600)
    assert proc.returncode == 0 and "resuming" in proc.stderr, proc.stderr
    done = [r["question"] for r in answered()]
    assert len(done) == 3 and len(set(done)) == 3


def test_reviewer_reads_answers_back_and_filters(
    model_file, geo_db: Path, geo_dir: Path, tmp_path: Path
) -> None:  # type: ignore[no-untyped-def]
    """`--reviewer` with the real 0.5B: every answered question carries the reviewer's reading
    (log p(question | program)) and its PMI; kept pairs clear --min-pmi and the 2-vote default,
    rejected ones say which test they failed; the run's identity records the reviewer, so a
    plain rerun into the same files is refused rather than mixing data."""
    model_file("qwen2.5-coder-0.5b")
    out = tmp_path / "pairs.jsonl"
    seeds = geo_dir / "seed_10.jsonl"
    cmd = generate_cmd(geo_db, seeds, out, 4, "--samples", "4", "--reviewer", "--min-pmi", "0.3")
    proc = subprocess.run(cmd, capture_output=True, text=True, timeout=900)
    assert proc.returncode == 0, proc.stderr
    kept, rejected = lines(out), lines(tmp_path / "pairs.rejected.jsonl")
    assert len(kept) + len(rejected) == 4
    for pair in kept:
        assert pair["votes"] >= 2 and pair["pmi"] >= 0.3 and pair["reviewer"] < 0
    for rej in rejected:
        if rej["reason"] == "question_unlikely_given_program":
            assert rej["pmi"] < 0.3 and rej["votes"] >= 2
        elif rej["reason"] == "too_few_votes":
            assert rej["votes"] < 2 and "pmi" in rej
    run = json.loads((tmp_path / "pairs.run.json").read_text())
    assert run["identity"]["reviewer_min_pmi"] == "0.3"
    plain = generate_cmd(geo_db, seeds, out, 4, "--samples", "4")
    proc = subprocess.run(plain, capture_output=True, text=True, timeout=600)
    assert proc.returncode != 0 and "reviewer_min_pmi" in proc.stderr, proc.stderr


def test_ask_answers_with_the_llm(model_file, geo_dir: Path) -> None:  # type: ignore[no-untyped-def]
    model_file("qwen2.5-coder-0.5b")
    cmd = cli(
        "ask",
        "--db",
        str(geo_dir / "geography.sqlite"),
        "--seeds",
        str(geo_dir / "seed_10.jsonl"),
        "--threads",
        "2",
        "what is the capital of texas",
    )
    proc = subprocess.run(cmd, capture_output=True, text=True, timeout=300)
    assert proc.returncode == 0, proc.stderr
    sql = proc.stdout.strip()
    with ReadOnlyDatabase(geo_dir / "geography.sqlite") as db:
        assert db.execute(sql).rows == (("austin",),), sql


def test_generate_on_postgres(model_file, pg, geo_dir: Path, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    """The same command against a real PostgreSQL server by URL: the prompt asks for PostgreSQL,
    verification runs there, the password is in no file and no message, nothing changes."""
    from symgen.database import open_database
    from tests.conftest import RO_PASSWORD, RO_USER, pg_digest

    model_file("qwen2.5-coder-0.5b")
    url = pg.url("geography", RO_USER, RO_PASSWORD)
    before = pg_digest(pg)
    out = tmp_path / "pairs.jsonl"
    cmd = generate_cmd(geo_dir / "geography.sqlite", geo_dir / "seed_10.jsonl", out, 2)
    cmd[cmd.index("--db") + 1] = url
    proc = subprocess.run(cmd, capture_output=True, text=True, timeout=600)
    assert proc.returncode == 0, proc.stderr
    assert "superuser" not in proc.stderr and RO_PASSWORD not in proc.stderr
    kept, rejected = lines(out), lines(tmp_path / "pairs.rejected.jsonl")
    assert len(kept) + len(rejected) == 2
    with open_database(url) as db:
        for pair in kept:
            assert pair["db"] == "geography"
            assert static_check(pair["query"], "postgres") is None
            assert db.execute(pair["query"]).rows
    run = (tmp_path / "pairs.run.json").read_text()
    assert RO_PASSWORD not in run
    assert (
        json.loads(run)["identity"]["db"] == f"postgresql://{RO_USER}@127.0.0.1:{pg.port}/geography"
    )
    assert pg_digest(pg) == before
