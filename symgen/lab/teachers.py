"""Knowledge distillation: train one task model on what several trained ones predict.

An ensemble of task models trained on the same pairs is steadier and better than any member
(two seeds of one run differ by up to 4 points on dev), but it runs every member at each
decoding step. Distillation moves that into one model of the usual size and speed: besides the
pair's own tokens, the student matches the teachers' *mean* next-token distribution at each
target position (Hinton et al. 2015; word-level KD of Kim & Rush 2016), which carries what the
members agree on about the alternatives.

Teachers are finished `symgen train` run directories. They must read the same tokens as the
student: the student takes the first teacher's tokenizer, and every teacher's is checked.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from tokenizers import Tokenizer

from symgen.errors import MissingResource, SymgenError


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
    ensemble's probabilities, as `symgen ensemble` averages them at decoding time)."""
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
