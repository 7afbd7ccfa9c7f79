"""Knowledge distillation (`symgen lab train --teacher`): the loss's logic on hand-made tensors, a
real student that learns its teacher's answers from the soft targets alone, and bad teachers."""

from __future__ import annotations

import json
import shutil
import subprocess
from pathlib import Path

import pytest
import torch

from symgen.lab.teachers import distill_loss, mean_probs
from tests.conftest import N_PAIRS, SYMGEN, memorised


def test_loss_is_zero_where_the_student_already_predicts_the_teachers() -> None:
    logits = torch.randn(2, 5, 7)
    labels = torch.full((2, 5), -100)
    labels[:, 3:] = 1
    hard = torch.tensor(0.8)
    same = mean_probs([logits], 2.0)
    assert distill_loss(logits, same, labels, hard, 0.5, 2.0).item() == pytest.approx(0.4)
    other = mean_probs([torch.randn(2, 5, 7), torch.randn(2, 5, 7)], 2.0)
    assert distill_loss(logits, other, labels, hard, 0.5, 2.0).item() > 0.4 + 1e-3


def test_only_target_positions_count() -> None:
    """Position t predicts label t+1: disagreeing at question positions costs nothing."""
    student = torch.zeros(1, 4, 3)
    teacher = torch.zeros(1, 4, 3)
    teacher[0, 0] = torch.tensor([9.0, 0.0, 0.0])  # predicts label 1 (a question token)
    labels = torch.tensor([[-100, -100, 2, 2]])
    hard = torch.tensor(0.0)
    loss = distill_loss(student, mean_probs([teacher], 1.0), labels, hard, 1.0, 1.0)
    assert loss.item() == pytest.approx(0.0, abs=1e-6)
    teacher[0, 2] = torch.tensor([9.0, 0.0, 0.0])  # predicts label 3 (a target token)
    loss = distill_loss(student, mean_probs([teacher], 1.0), labels, hard, 1.0, 1.0)
    assert loss.item() > 0.5


def test_mean_probs_average_the_members_distributions() -> None:
    a = torch.log(torch.tensor([[[0.8, 0.2]]]))
    b = torch.log(torch.tensor([[[0.2, 0.8]]]))
    assert torch.allclose(mean_probs([a, b], 1.0), torch.tensor([[[0.5, 0.5]]]))


def _train(pairs: Path, db: Path, out: Path, *extra: str) -> subprocess.CompletedProcess[str]:
    verb = ["lab", "train"] if "--teacher" in extra else ["train"]  # distillation is a lab verb
    cmd = [*SYMGEN, *verb, "--data", str(pairs), "--db", str(db), "--out", str(out)]
    return subprocess.run(
        [*cmd, "--threads", "2", *extra], capture_output=True, text=True, timeout=900
    )


# the session's trained_run (a 120-epoch run, resumed once) may be set up inside this test's time:
# both trainings on a busy 2-core machine took 495 s + 404 s
@pytest.mark.timeout(1800)
def test_student_learns_the_teachers_answers_from_soft_targets_alone(
    trained_run: Path, pairs: Path, geo_dir: Path, tmp_path: Path
) -> None:
    """Weight 1: the pairs' own tokens carry no loss, so only the teacher can teach the answers."""
    db = geo_dir / "geography.sqlite"
    out = tmp_path / "student"
    done = _train(
        pairs, db, out, "--teacher", str(trained_run), "--distill-weight", "1", "--epochs", "120"
    )
    assert done.returncode == 0, done.stderr
    meta = json.loads((out / "train.json").read_text())
    assert meta["identity"]["config"]["teachers"] == [str(trained_run.resolve())]
    assert (out / "tokenizer.json").read_bytes() == (trained_run / "tokenizer.json").read_bytes()
    exported = tmp_path / "onnx"
    exp = subprocess.run(
        [*SYMGEN, "export", "--model", str(out), "--out", str(exported)],
        capture_output=True,
        text=True,
        timeout=600,
    )
    assert exp.returncode == 0, exp.stderr
    assert memorised(exported, pairs, db) >= N_PAIRS - 2


def test_bad_teachers_and_settings_are_refused_before_training(
    trained_run: Path, pairs: Path, geo_dir: Path, tmp_path: Path
) -> None:
    db = geo_dir / "geography.sqlite"
    missing = _train(pairs, db, tmp_path / "a", "--teacher", str(tmp_path / "nowhere"))
    assert missing.returncode != 0 and "nowhere" in missing.stderr
    assert "train.json" in missing.stderr and "Traceback" not in missing.stderr

    unfinished = tmp_path / "unfinished"
    shutil.copytree(trained_run, unfinished)
    meta = json.loads((unfinished / "train.json").read_text())
    (unfinished / "train.json").write_text(json.dumps(meta | {"done": False}))
    proc = _train(pairs, db, tmp_path / "b", "--teacher", str(unfinished))
    assert proc.returncode != 0 and "not finished" in proc.stderr

    other = tmp_path / "other-data"  # a teacher whose tokenizer was trained on other pairs
    rows = [json.loads(x) for x in (geo_dir / "train.jsonl").read_text().splitlines()[-40:]]
    other_pairs = tmp_path / "other.jsonl"
    other_pairs.write_text("".join(json.dumps(r) + "\n" for r in rows))
    assert _train(other_pairs, db, other, "--max-steps", "2").returncode == 0
    student = tmp_path / "c"
    proc = _train(pairs, db, student, "--teacher", str(trained_run), "--teacher", str(other))
    assert proc.returncode != 0 and str(other / "hf" / "tokenizer.json") in proc.stderr
    assert not (student / "checkpoint.pt").exists()

    weight = _train(
        pairs, db, tmp_path / "d", "--teacher", str(trained_run), "--distill-weight", "0"
    )
    assert weight.returncode == 2 and "--distill-weight" in weight.stderr
    assert not (tmp_path / "d" / "train.json").exists()
