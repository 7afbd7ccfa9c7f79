"""`symgen lab label`: the task models' agreed answers as a transfer set.

The agreement rule is checked with fixed SQL on the real GeoQuery database; the command itself
with a real exported model (the session's `exported`) through the CLI, including resume and a
malformed questions file.
"""

from __future__ import annotations

import json
import subprocess
from pathlib import Path

import pytest

from symgen.databases.sqlite import ReadOnlyDatabase
from symgen.dataset import question_key
from symgen.errors import SymgenError
from symgen.lab.pseudo_label import agreed_answer, rejected_path, unlabelled_questions
from tests.conftest import SYMGEN

TEXAS = "SELECT state.capital FROM state WHERE state.state_name = 'texas'"
# ORDER BY makes row order part of the answer; the same two rows in the other order disagree
BIG_ASC = "SELECT state_name FROM state WHERE area > 250000 ORDER BY area"
BIG_DESC = "SELECT state_name FROM state WHERE area > 250000 ORDER BY area DESC"
NOWHERE = TEXAS.replace("texas", "atlantis")
CASES = [
    ("same SQL", [(TEXAS, True), (TEXAS, True)], "kept"),
    ("other SQL, same rows", [(TEXAS, True), (TEXAS.replace("state.", ""), True)], "kept"),
    ("other rows", [(TEXAS, True), (TEXAS.replace("texas", "ohio"), True)], "disagree"),
    ("no rows", [(NOWHERE, True)] * 2, "empty"),
    ("schema check failed", [(TEXAS, True), (TEXAS, False)], "invalid"),
    ("does not run", [("SELECT nope FROM state", True)] * 2, "error"),
    ("ordered: other order", [(BIG_ASC, True), (BIG_DESC, True)], "disagree"),
    ("one model", [(TEXAS, True)], "kept"),
]


@pytest.mark.parametrize(("name", "answers", "want"), CASES, ids=[c[0] for c in CASES])
def test_agreement_rule(
    name: str, answers: list[tuple[str, bool]], want: str, geo_dir: Path
) -> None:
    with ReadOnlyDatabase(geo_dir / "geography.sqlite") as db:
        sql, why = agreed_answer(answers, db)
    assert why == want, name
    assert (sql == answers[0][0]) if want == "kept" else sql is None


def test_questions_are_deduplicated_and_excluded(tmp_path: Path) -> None:
    asked = tmp_path / "asked.jsonl"
    asked.write_text(
        "".join(
            json.dumps({"question": q}) + "\n"
            for q in ["what is the capital of texas", "What is the capital of Texas ?", "b", "c"]
        )
    )
    train = tmp_path / "train.jsonl"
    train.write_text(json.dumps({"question": "c", "query": "SELECT 1"}) + "\n")
    questions, dropped = unlabelled_questions([asked], [train])
    assert questions == ["what is the capital of texas", "b"] and dropped == 2
    asked.write_text('{"question": "a"}\n{"question": \n')
    with pytest.raises(SymgenError, match=r"asked.jsonl:2"):
        unlabelled_questions([asked])


def label(exported: Path, db: Path, questions: Path, out: Path, *extra: str) -> str:
    cmd = [
        *SYMGEN,
        "lab",
        "label",
        "--model",
        str(exported),
        "--model",
        str(exported),
        "--db",
        str(db),
    ]
    cmd += ["--questions", str(questions), "--out", str(out), "--quiet", *extra]
    proc = subprocess.run(cmd, capture_output=True, text=True, timeout=600)
    assert proc.returncode == 0, proc.stderr
    return proc.stdout


def test_label_with_a_real_model_resumes(
    exported: Path, pairs: Path, geo_dir: Path, tmp_path: Path
) -> None:
    """The memorised pairs' questions come back with their gold rows; the first 4 are in the
    excluded training data and never asked; a rerun asks nothing again."""
    db = geo_dir / "geography.sqlite"
    rows = [json.loads(x) for x in pairs.read_text().splitlines()]
    train = tmp_path / "train.jsonl"
    train.write_text("".join(json.dumps(r) + "\n" for r in rows[:4]))
    out = tmp_path / "pseudo.jsonl"
    printed = label(exported, db, pairs, out, "--exclude", str(train))
    kept = [json.loads(x) for x in out.read_text().splitlines()]
    rejected = [json.loads(x) for x in rejected_path(out).read_text().splitlines()]
    excluded = {question_key(r["question"]) for r in rows[:4]}
    asked = {question_key(r["question"]) for r in rows[4:]} - excluded  # GeoQuery repeats some
    assert len(kept) + len(rejected) == len(asked), printed
    assert {question_key(r["question"]) for r in kept + rejected} == asked
    assert len(kept) >= len(asked) - 3, (printed, rejected)
    gold = {r["question"]: r["query"] for r in rows[4:]}
    with ReadOnlyDatabase(db) as conn:
        for r in kept:
            assert r["source"] == "pseudo_label" and r["db"] == "geography"
            assert conn.execute(r["query"]).rows == conn.execute(gold[r["question"]]).rows, r
    before = out.read_bytes(), rejected_path(out).read_bytes()
    again = label(exported, db, pairs, out, "--exclude", str(train))
    assert f"{len(asked)} done by an earlier run" in again
    assert (out.read_bytes(), rejected_path(out).read_bytes()) == before


def test_label_refuses_bad_input(exported: Path, geo_dir: Path, tmp_path: Path) -> None:
    bad = tmp_path / "questions.jsonl"
    bad.write_text('{"question": "what is the capital of texas"}\n{"question": 3}\n')
    out = tmp_path / "out.jsonl"
    cmd = [
        *SYMGEN,
        "lab",
        "label",
        "--model",
        str(exported),
        "--db",
        str(geo_dir / "geography.sqlite"),
    ]
    proc = subprocess.run(
        [*cmd, "--questions", str(bad), "--out", str(out)], capture_output=True, text=True
    )
    assert proc.returncode != 0 and "questions.jsonl:2" in proc.stderr, proc.stderr
    assert not out.exists()
    proc = subprocess.run(
        [*cmd, "--questions", str(bad), "--out", str(bad)], capture_output=True, text=True
    )
    assert proc.returncode != 0 and "choose a new path" in proc.stderr, proc.stderr
    missing = tmp_path / "nowhere.sqlite"
    cmd = [*SYMGEN, "lab", "label", "--model", str(exported), "--db", str(missing)]
    proc = subprocess.run(
        [*cmd, "--questions", str(bad), "--out", str(out)], capture_output=True, text=True
    )
    assert proc.returncode != 0 and str(missing) in proc.stderr, proc.stderr
