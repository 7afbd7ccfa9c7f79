"""Knowledge distillation: train one task model on what several trained ones predict.

An ensemble of task models trained on the same pairs is steadier and better than any member
(two seeds of one run differ by up to 4 points on dev), but it runs every member at each
decoding step. Distillation moves that into one model of the usual size and speed: besides the
pair's own tokens, the student matches the teachers' *mean* next-token distribution at each
target position (Hinton et al. 2015; word-level KD of Kim & Rush 2016), which carries what the
members agree on about the alternatives.

Teachers are finished `symgen train` run directories. They must read the same tokens as the
student: the student takes the first teacher's tokenizer, and every teacher's is checked.
`TeacherLoss` is the training loop's `ExtraLoss` hook; `train_with_teachers` trains with it.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

from tokenizers import Tokenizer

from symgen.errors import MissingResource, SymgenError
from symgen.tasks.registry import DEFAULT_TASK
from symgen.train.loop import Progress, TrainConfig, train
from symgen.train.loss import Batch


def teacher_tokenizer(run: Path) -> Path:
    """The tokenizer a teacher run was trained with (its `hf/` copy, written for every arch)."""
    return run / "hf" / "tokenizer.json"


def check_teacher(run: Path) -> None:
    """A teacher must be a finished `symgen train` run: clear error naming what is missing."""
    meta = run / "train.json"
    if not meta.is_file():
        raise MissingResource(
            f"--teacher {run}: no {meta.name} there; give a `symgen train --out` directory"
        )
    if not json.loads(meta.read_text()).get("done") or not (run / "hf").is_dir():
        raise SymgenError(
            f"--teacher {run}: training is not finished; rerun its `symgen train` to resume it"
        )


def check_vocab(teachers: Sequence[Path], tok: Tokenizer) -> None:
    """Soft targets index the vocabulary: a teacher with other token ids would teach noise."""
    vocab = tok.get_vocab()
    for run in teachers:
        path = teacher_tokenizer(run)
        if Tokenizer.from_file(str(path)).get_vocab() != vocab:
            raise SymgenError(
                f"{path} differs from the student's tokenizer: teachers must be trained on the "
                "same data with the same architecture (only --seed or step counts changed)"
            )


def load_teachers(teachers: Sequence[Path]) -> list[Any]:
    """The teachers as frozen torch models in eval mode."""
    from transformers import AutoModelForCausalLM

    models = []
    for run in teachers:
        model: Any = AutoModelForCausalLM.from_pretrained(str(run / "hf"))
        model.eval()
        for p in model.parameters():
            p.requires_grad_(False)
        models.append(model)
    return models


def mean_probs(logits: Sequence[Any], temperature: float) -> Any:
    """The teachers' mean next-token distribution, each softened by `temperature` (an
    ensemble's probabilities, as `symgen lab ensemble` averages them at decoding time)."""
    import torch

    return torch.stack([torch.softmax(x / temperature, dim=-1) for x in logits]).mean(dim=0)


def distill_loss(
    student_logits: Any,
    teacher_probs: Any,
    labels: Any,
    hard_loss: Any,
    weight: float,
    temperature: float,
) -> Any:
    """(1 - weight) * cross-entropy on the pair + weight * T² * KL(teachers ‖ student).

    Position t's logits predict label t+1 (transformers' causal-LM shift); positions whose label
    is -100 (the question, padding) are not targets. T² keeps the soft term's gradient scale
    independent of the temperature (Hinton et al.).
    """
    import torch

    target = labels[:, 1:] != -100
    if not bool(target.any()):
        return hard_loss
    log_student = torch.log_softmax(student_logits[:, :-1] / temperature, dim=-1)
    probs = teacher_probs[:, :-1]
    kl = (probs * (torch.log(probs.clamp_min(1e-12)) - log_student)).sum(dim=-1)
    soft = kl[target].mean() * temperature**2
    return (1.0 - weight) * hard_loss + weight * soft


def check_settings(teachers: Sequence[str], weight: float, temperature: float) -> None:
    """Reject distillation settings that cannot train, before any data is read."""
    if not 0.0 < weight <= 1.0:
        raise SymgenError(f"--distill-weight must be in (0, 1], not {weight}")
    if temperature <= 0.0:
        raise SymgenError(f"--distill-temperature must be positive, not {temperature}")
    if len(set(teachers)) != len(teachers):
        raise SymgenError("--teacher names the same run twice")


class TeacherLoss:
    """The distillation term as the training loop's `ExtraLoss`: the settings are checked when
    it is made (before anything is read), the teacher runs before the pairs are read."""

    def __init__(
        self, runs: Sequence[str | Path], weight: float = 0.5, temperature: float = 2.0
    ) -> None:
        self.runs = [Path(r).resolve() for r in runs]
        if not self.runs:
            raise SymgenError("distillation needs at least one --teacher run")
        check_settings([str(r) for r in self.runs], weight, temperature)
        self.weight, self.temperature = weight, temperature
        self.models: list[Any] = []

    def settings(self) -> dict[str, Any]:
        """The run's identity names its teachers: resuming with others would mix two runs."""
        return {
            "teachers": [str(r) for r in self.runs],
            "distill_weight": self.weight,
            "distill_temperature": self.temperature,
        }

    def check(self) -> None:
        for run in self.runs:
            check_teacher(run)

    def tokenizer(self) -> Path:
        return self.runs[0] / "tokenizer.json"  # absent for a pretrained arch: built as usual

    def start(self, tok: Tokenizer) -> None:
        check_vocab(self.runs, tok)
        self.models = load_teachers(self.runs)

    def __call__(self, batch: Batch) -> Any:
        import torch

        with torch.no_grad():  # the teachers are frozen: no graph through them
            soft = mean_probs([batch.forward(t).logits for t in self.models], self.temperature)
        return distill_loss(
            batch.logits, soft, batch.labels, batch.loss, self.weight, self.temperature
        )


def train_with_teachers(
    data: Sequence[str | Path],
    db_paths: Sequence[str | Path],
    out_dir: str | Path,
    cfg: TrainConfig,
    teachers: Sequence[str | Path],
    *,
    weight: float = 0.5,
    temperature: float = 2.0,
    progress: Progress | None = None,
    should_stop: Callable[[], bool] | None = None,
    task: str = DEFAULT_TASK,
) -> dict[str, Any]:
    """`symgen.train.loop.train` with the loss pulled towards the `teachers`' mean prediction
    (share `weight` of the loss, softmax `temperature`); the run records its teachers."""
    loss = TeacherLoss(teachers, weight, temperature)
    return train(data, db_paths, out_dir, cfg, progress, should_stop, task=task, extra_loss=loss)
