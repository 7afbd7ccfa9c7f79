"""Weight averaging, residual dropout and label smoothing in `symgen train`: their logic, and a
real interrupted run that resumes to exactly the weights of an uninterrupted one."""

from __future__ import annotations

import subprocess
from pathlib import Path

import pytest
import torch
from safetensors.torch import load_file

from symgen.train.loop import TrainConfig, train
from symgen.train.loss import smoothed_loss
from symgen.train.models import build, get_arch
from symgen.train.regularise import WeightAverage, add_residual_dropout
from tests.conftest import SYMGEN


def test_weight_average_ramps_up_then_follows_slowly() -> None:
    model = torch.nn.Linear(2, 1, bias=False)
    with torch.no_grad():
        model.weight.fill_(0.0)
    avg = WeightAverage(model, decay=0.9)
    with torch.no_grad():
        model.weight.fill_(1.0)
    avg.update(model, step=0)  # ramp: decay min(0.9, 1/10) = 0.1, so mostly the new weights
    assert avg.averaged["weight"][0, 0].item() == pytest.approx(0.9)
    for step in range(1, 200):
        avg.update(model, step)
    assert avg.averaged["weight"][0, 0].item() == pytest.approx(1.0, abs=1e-6)
    with torch.no_grad():
        model.weight.fill_(2.0)
    avg.update(model, step=500)  # past the ramp: 0.9 of the old average stays
    assert avg.averaged["weight"][0, 0].item() == pytest.approx(1.1)
    avg.copy_to(model)
    assert model.weight[0, 0].item() == pytest.approx(1.1)


def test_residual_dropout_acts_in_training_only() -> None:
    model, tok, _, _ = build(get_arch("tiny"), ["SELECT state_name FROM state"] * 4)
    plain, _, _, _ = build(get_arch("tiny"), ["SELECT state_name FROM state"] * 4)
    add_residual_dropout(model, 0.3)
    ids = torch.tensor([tok.encode("SELECT state_name FROM state").ids])
    model.train()
    assert not torch.equal(model(input_ids=ids).logits, model(input_ids=ids).logits)
    model.eval()
    plain.eval()
    assert torch.equal(model(input_ids=ids).logits, plain(input_ids=ids).logits)


def test_label_smoothing_is_the_causal_loss_spread_over_the_vocabulary() -> None:
    model, tok, _, _ = build(get_arch("tiny"), ["SELECT state_name FROM state"] * 4)
    ids = torch.tensor([tok.encode("SELECT state_name FROM state").ids])
    labels = ids.clone()
    labels[0, :2] = -100  # the question's tokens are not targets
    out = model(input_ids=ids, labels=labels)
    # smoothing 0 is transformers' own shifted loss, so a run without it trains as before
    assert smoothed_loss(out.logits, labels, 0.0).item() == pytest.approx(out.loss.item(), rel=1e-5)
    # on a model that puts all its mass on the right tokens, smoothing makes the loss positive
    sure = torch.full_like(out.logits, -1e4)
    for t in range(ids.shape[1] - 1):
        sure[0, t, ids[0, t + 1]] = 1e4
    assert smoothed_loss(sure, labels, 0.0).item() == pytest.approx(0.0, abs=1e-4)
    assert smoothed_loss(sure, labels, 0.1).item() > 100


def test_interrupted_run_resumes_to_the_same_averaged_weights(
    pairs: Path, geo_dir: Path, tmp_path: Path
) -> None:
    db = [geo_dir / "geography.sqlite"]
    cfg = TrainConfig(
        max_steps=24, epochs=30, threads=1, dropout=0.1, ema_decay=0.9, label_smoothing=0.1
    )
    whole = train([pairs], db, tmp_path / "whole", cfg)
    assert whole["done"] and whole["steps"] == 24

    calls = iter(range(1000))
    with pytest.raises(KeyboardInterrupt):
        train([pairs], db, tmp_path / "split", cfg, should_stop=lambda: next(calls) == 9)
    split = train([pairs], db, tmp_path / "split", cfg)
    assert split["resumed_from"] == [10]

    averaged = load_file(tmp_path / "whole" / "hf" / "model.safetensors")
    last = load_file(tmp_path / "whole" / "hf-last" / "model.safetensors")
    resumed = load_file(tmp_path / "split" / "hf" / "model.safetensors")
    for name, tensor in averaged.items():
        # the average (and dropout's random stream) survived the checkpoint
        assert torch.allclose(tensor, resumed[name], atol=1e-6), name
    assert any(not torch.allclose(t, last[n]) for n, t in averaged.items())

    # export: the run's model is the average; --last-weights exports hf-last/ instead
    from symgen.engine.model import TaskModel
    from symgen.errors import MissingResource
    from symgen.export.onnx import export

    logits = {}
    for flag in (False, True):
        out = tmp_path / f"onnx-{flag}"
        assert export(tmp_path / "whole", out, last_weights=flag)["weights"] == (
            "hf-last" if flag else "hf"
        )
        model = TaskModel(out, int8=False)
        logits[flag] = model._run(torch.tensor([[5, 6, 7]]).numpy(), model._empty_past())[0]
    assert not (logits[True] == logits[False]).all()
    plain = train([pairs], db, tmp_path / "plain", TrainConfig(max_steps=2, epochs=1, threads=1))
    assert plain["done"]
    with pytest.raises(MissingResource, match="--ema-decay"):
        export(tmp_path / "plain", tmp_path / "onnx-plain", last_weights=True)


@pytest.mark.parametrize(
    ("flag", "value"), [("--ema-decay", "1.5"), ("--dropout", "1"), ("--label-smoothing", "1")]
)
def test_impossible_settings_are_refused_before_training(
    pairs: Path, geo_dir: Path, tmp_path: Path, flag: str, value: str
) -> None:
    db = str(geo_dir / "geography.sqlite")
    cmd = [*SYMGEN, "train", "--data", str(pairs), "--db", db, "--out", str(tmp_path / "r")]
    proc = subprocess.run([*cmd, flag, value], capture_output=True, text=True)
    assert proc.returncode == 2 and flag in proc.stderr and "Traceback" not in proc.stderr
    assert not (tmp_path / "r" / "train.json").exists()
