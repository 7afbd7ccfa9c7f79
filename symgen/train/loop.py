"""`symgen train`: fit a task model on verified pairs, on CPU, resumable.

minGPT-style: one loop, per-architecture defaults (`task_model.ARCHS`), overridable. The
learning rate anneals by whichever budget runs out first (steps or minutes), so a time-capped run
still ends on a low learning rate. A checkpoint is written every few minutes and on Ctrl-C; a
rerun with the same data and settings resumes from it; a finished run is not redone.

An `ExtraLoss` (`symgen.train.loss`) adds to the loss without the loop knowing what it is: the
recipes that were measured and not adopted (distillation from teachers, `symgen.lab.teachers`)
plug in there, so the core never imports them.

Three optional regularisers (`symgen.train.regularise`, label smoothing in the loss), because a small model on a few thousand generated pairs memorises
them (loss ~0.01) and two seeds of one run differ by several points: residual dropout, an
exponential moving average of the weights (`ema_decay`), saved as the model while the last
step's weights go to `hf-last/` so the two can be compared on one run, and label smoothing
(generated labels are ~15% wrong, and smoothing caps how far the model trusts any one of them).
"""

from __future__ import annotations

import json
import math
import os
import random
import shutil
import time
from collections.abc import Callable, Sequence
from dataclasses import asdict, dataclass, field, replace
from pathlib import Path
from typing import Any

from tokenizers import Tokenizer

from symgen.databases.base import public_spec
from symgen.errors import SymgenError
from symgen.tasks.registry import DEFAULT_TASK, task_for, tasks_with
from symgen.tasks.sql.model_input import load_dbs
from symgen.train.data import Example, data_hash, encode, task_examples
from symgen.train.loss import ExtraLoss, batch_loss
from symgen.train.models import ArchConfig, build, get_arch, save_hf
from symgen.train.regularise import WeightAverage, add_residual_dropout

Progress = Callable[[int, int, float], None]  # step, total steps, loss


@dataclass
class TrainConfig:
    arch: str = "tiny"
    epochs: int | None = None  # None: the architecture's default
    max_steps: int | None = None
    max_minutes: float | None = None
    batch_size: int | None = None
    lr: float | None = None
    warmup_steps: int = 30
    weight_decay: float = 0.01
    max_len: int = 384  # longer examples are truncated on the input side
    seed: int = 0
    checkpoint_minutes: float = 2.0
    threads: int | None = None
    dropout: float = 0.0  # on each decoder layer's attention and MLP output (residual branches)
    ema_decay: float | None = None  # None: the model is the last step's weights
    # share of each target's probability spread over the vocabulary; None: the task's measured
    # default (the task class's `label_smoothing`)
    label_smoothing: float | None = None
    # Bash: the request's values are placeholders the engine fills in (symgen.tasks.bash.literals);
    # None: on where the task supports them (`supports_placeholders`)
    placeholders: bool | None = None


@dataclass
class RunState:
    """What a checkpoint needs besides weights and optimiser: where the run is."""

    step: int = 0
    elapsed: float = 0.0  # training seconds so far, across resumes
    losses: list[float] = field(default_factory=list)


def batches(
    keys: Sequence[tuple[str, int]], batch_size: int, epoch: int, seed: int
) -> list[list[int]]:
    """Shuffled batches of one database and similar length, deterministic per (seed, epoch).

    `keys[i]` is (database, length) of example i. One database per batch lets the shared schema
    prefix be computed once per batch; similar lengths mean little padding.
    """
    order = list(range(len(keys)))
    random.Random(seed * 1000 + epoch).shuffle(order)
    chunk = batch_size * 16
    out: list[list[int]] = []
    for i in range(0, len(order), chunk):
        part = sorted(order[i : i + chunk], key=lambda j: keys[j])
        for db in dict.fromkeys(keys[j][0] for j in part):
            same = [j for j in part if keys[j][0] == db]
            out.extend(same[k : k + batch_size] for k in range(0, len(same), batch_size))
    random.Random(seed * 1000 + epoch + 1).shuffle(out)
    return out


def lr_at(
    step: int, total: int, elapsed: float, budget_s: float | None, cfg_lr: float, warmup: int
) -> float:
    if step < warmup:
        return cfg_lr * (step + 1) / warmup
    progress = (step - warmup) / max(1, total - warmup)
    if budget_s:
        progress = max(progress, elapsed / budget_s)
    return cfg_lr * (0.1 + 0.9 * 0.5 * (1 + math.cos(math.pi * min(1.0, progress))))


def _truncate(
    schema: list[int], ids: list[int], labels: list[int], max_len: int
) -> tuple[list[int], list[int], list[int]]:
    if len(ids) <= max_len:
        return schema, ids, labels
    cut = len(ids) - max_len  # drop from the start of the question part, never the target
    return schema, ids[cut:], labels[cut:]


def train(
    data: Sequence[str | Path],
    db_paths: Sequence[str | Path],
    out_dir: str | Path,
    cfg: TrainConfig,
    progress: Progress | None = None,
    should_stop: Callable[[], bool] | None = None,
    task: str = DEFAULT_TASK,
    extra_loss: ExtraLoss | None = None,
) -> dict[str, Any]:
    """Train on `data` pairs; a task that needs a database (sql) reads `db_paths`, code tasks
    (bash, python) none. `extra_loss` is added to the loss (see `ExtraLoss`)."""
    import torch

    kind = task_for(task)
    if cfg.placeholders and not kind.supports_placeholders:
        raise SymgenError(
            f"--placeholders applies to --task {', '.join(tasks_with('supports_placeholders'))}, "
            f"not {task}"
        )
    cfg = replace(
        cfg,
        label_smoothing=label_smoothing_for(task, cfg.label_smoothing),
        placeholders=placeholders_for(task, cfg.placeholders),
    )
    check_config(cfg)
    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    arch = get_arch(cfg.arch)
    arch = replace(
        arch,
        epochs=cfg.epochs or arch.epochs,
        batch_size=cfg.batch_size or arch.batch_size,
        lr=cfg.lr or arch.lr,
    )
    dbs = load_dbs(db_paths) if kind.needs_database else {}
    dialects = sorted({d.dialect for d in dbs.values()})
    if len(dialects) > 1:
        raise SymgenError(
            f"--db mixes SQL dialects ({', '.join(dialects)}): a model writes one dialect; "
            "train one model per dialect"
        )
    identity = {
        # runs from before code tasks name none: the default stays unnamed so they still resume
        **({} if task == DEFAULT_TASK else {"task": task}),
        "arch": asdict(arch),
        "data_hash": data_hash(data),
        "config": _identity_config(cfg) | (extra_loss.settings() if extra_loss is not None else {}),
    }
    meta_path, ckpt_path = out / "train.json", out / "checkpoint.pt"
    meta = json.loads(meta_path.read_text()) if meta_path.is_file() else None
    if meta and meta.get("identity") != identity:
        raise SymgenError(
            f"{out} holds a run with different data or settings"
            f"{_old_default_hint(meta.get('identity') or {}, identity)}; use a new --out or delete it"
        )
    if meta and meta.get("done"):
        return dict(meta)

    if extra_loss is not None:  # before the pairs: a wrong setting should not wait for them
        extra_loss.check()
    # after the done check: checking the pairs runs every SQL query once
    examples: list[Example] = []
    skipped: list[str] = []
    for path in data:
        examples.extend(
            task_examples(path, task, dbs, skipped, placeholders=bool(cfg.placeholders))
        )
    if not examples:
        why = f" (all {len(skipped)} skipped; first: {skipped[0]})" if skipped else ""
        raise SymgenError("no training pairs in " + ", ".join(map(str, data)) + why)

    torch.set_num_threads(cfg.threads or os.cpu_count() or 1)
    torch.manual_seed(cfg.seed)
    shared = extra_loss.tokenizer() if extra_loss is not None else None
    if shared and shared.is_file() and not (out / "tokenizer.json").is_file():
        shutil.copy(shared, out / "tokenizer.json")  # e.g. the student reads its teachers' tokens
    model, tok, eos, pad = _model_and_tokenizer(arch, examples, out)
    if extra_loss is not None:
        extra_loss.start(tok)
    add_residual_dropout(model, cfg.dropout)
    encoded = [_truncate(*encode(tok, ex, eos), cfg.max_len) for ex in examples]
    keys = [(ex.db, len(e[1])) for ex, e in zip(examples, encoded, strict=True)]
    per_epoch = math.ceil(len(encoded) / arch.batch_size)
    total = per_epoch * arch.epochs
    if cfg.max_steps:
        total = min(total, cfg.max_steps)
    optim = torch.optim.AdamW(model.parameters(), lr=arch.lr, weight_decay=cfg.weight_decay)
    state = RunState()
    ema = WeightAverage(model, cfg.ema_decay) if cfg.ema_decay else None
    if ckpt_path.is_file():
        ck = torch.load(ckpt_path, weights_only=False)
        model.load_state_dict(ck["model"])
        optim.load_state_dict(ck["optim"])
        state = RunState(**ck["state"])
        if ema:
            ema.averaged = ck["ema"]
        if ck.get("rng") is not None:
            torch.set_rng_state(ck["rng"])
        resumed = [*(meta or {}).get("resumed_from", []), state.step]
    else:
        resumed = []
    n_params = sum(p.numel() for p in model.parameters())
    meta = {
        "identity": identity,
        "task": task,
        "params": n_params,
        "examples": len(examples),
        "skipped": {"count": len(skipped), "first": skipped[:20]},
        "data_files": [str(Path(p).resolve()) for p in data],
        "resumed_from": resumed,
        "databases": {
            d.name: {
                "path": public_spec(d.spec),  # never a password: give it by PGPASSWORD/.pgpass
                "schema_hash": d.schema_hash,
                "dialect": d.dialect,
            }
            for d in dbs.values()
        },
        "done": False,
    }
    meta_path.write_text(json.dumps(meta, indent=2))

    def save_checkpoint() -> None:
        tmp = ckpt_path.with_suffix(".tmp")
        torch.save(
            {
                "model": model.state_dict(),
                "optim": optim.state_dict(),
                "state": asdict(state),
                "ema": ema.averaged if ema else None,
                "rng": torch.get_rng_state(),  # dropout masks continue as if never stopped
            },
            tmp,
        )
        os.replace(tmp, ckpt_path)

    budget_s = cfg.max_minutes * 60 if cfg.max_minutes else None
    model.train()
    last_save = time.monotonic()
    start = time.monotonic() - state.elapsed
    smooth = state.losses[-1] if state.losses else None
    try:
        while state.step < total:
            epoch, within = divmod(state.step, per_epoch)
            batch = batches(keys, arch.batch_size, epoch, cfg.seed)[within]
            for group in optim.param_groups:
                group["lr"] = lr_at(
                    state.step, total, state.elapsed, budget_s, arch.lr, cfg.warmup_steps
                )
            items = [encoded[i] for i in batch]
            loss = batch_loss(model, items, pad, cfg.label_smoothing, extra_loss)
            optim.zero_grad(set_to_none=True)
            loss.backward()
            torch.nn.utils.clip_grad_norm_(model.parameters(), 1.0)
            optim.step()
            if ema:
                ema.update(model, state.step)
            state.step += 1
            state.elapsed = time.monotonic() - start
            value = float(loss.item())
            smooth = value if smooth is None else 0.95 * smooth + 0.05 * value
            if state.step % 10 == 0 or state.step == total:
                state.losses.append(round(smooth, 4))
            if progress:
                progress(state.step, total, smooth)
            if time.monotonic() - last_save > cfg.checkpoint_minutes * 60:
                save_checkpoint()
                last_save = time.monotonic()
            if budget_s and state.elapsed >= budget_s:
                break
            if should_stop and should_stop():
                save_checkpoint()
                raise KeyboardInterrupt
    except KeyboardInterrupt:
        save_checkpoint()
        raise
    model.eval()
    if ema:
        save_hf(model, tok, eos, pad, out / "hf-last")
        ema.copy_to(model)
    save_hf(model, tok, eos, pad, out / "hf")
    meta.update(
        done=True,
        steps=state.step,
        planned_steps=total,
        train_minutes=round(state.elapsed / 60, 2),
        final_loss=smooth,
        loss_curve=state.losses,
        eos_id=eos,
        pad_id=pad,
    )
    meta_path.write_text(json.dumps(meta, indent=2))
    ckpt_path.unlink(missing_ok=True)
    return meta


# Bash defaults that changed, and the flag that resumes a run trained before each change
_CHANGED_DEFAULTS = {
    "label_smoothing": ("bash's --label-smoothing default became 0.1", "--label-smoothing 0"),
    "placeholders": ("bash's placeholders became the default", "--no-placeholders"),
}


def _old_default_hint(before: dict[str, Any], now: dict[str, Any]) -> str:
    """How to resume a run made before a Bash default changed when that is the only difference:
    the old run's identity lacks the setting (left out at its old default)."""
    config, current = before.get("config", {}), now.get("config", {})
    missing = [k for k in _CHANGED_DEFAULTS if k not in config and k in current]
    patched = {**config, **{k: current[k] for k in missing}}
    if not missing or {**before, "config": patched} != now:
        return ""
    whens = " and ".join(_CHANGED_DEFAULTS[k][0] for k in missing)
    flags = " ".join(_CHANGED_DEFAULTS[k][1] for k in missing)
    return f" (trained before {whens}: resume with {flags})"


def label_smoothing_for(task: str, given: float | None) -> float:
    """`given`, or the task's measured default when it is None (Bash 0.1, others 0)."""
    return task_for(task).label_smoothing if given is None else given


def placeholders_for(task: str, given: bool | None) -> bool:
    """`given`, or the task's measured default when it is None (Bash on, others off)."""
    return task_for(task).supports_placeholders if given is None else given


def check_config(cfg: TrainConfig) -> None:
    """Reject settings that cannot train before any data is read."""
    if cfg.ema_decay is not None and not 0.0 < cfg.ema_decay < 1.0:
        raise SymgenError(f"--ema-decay must be between 0 and 1 (exclusive), not {cfg.ema_decay}")
    if not 0.0 <= cfg.dropout < 1.0:
        raise SymgenError(f"--dropout must be in [0, 1), not {cfg.dropout}")
    if cfg.label_smoothing is not None and not 0.0 <= cfg.label_smoothing < 1.0:
        raise SymgenError(f"--label-smoothing must be in [0, 1), not {cfg.label_smoothing}")


def _identity_config(cfg: TrainConfig) -> dict[str, Any]:
    """The settings that make a run what it is. Settings added later are left out at their
    default, so a run directory from before they existed still resumes and stays finished."""
    later: dict[str, Any] = {
        "dropout": 0.0,
        "ema_decay": None,
        "label_smoothing": 0.0,
        "placeholders": False,
    }
    return {
        k: v
        for k, v in asdict(cfg).items()
        if k not in ("threads", "checkpoint_minutes") and not (k in later and later[k] == v)
    }


def _model_and_tokenizer(
    arch: ArchConfig, examples: Sequence[Example], out: Path
) -> tuple[Any, Tokenizer, int, int]:
    """Build once; a resumed run reloads its own tokenizer so token ids stay the same."""
    tok_path = out / "tokenizer.json"
    texts = sorted({e.schema for e in examples})
    texts += [e.question for e in examples] + [e.target for e in examples]
    saved = Tokenizer.from_file(str(tok_path)) if tok_path.is_file() else None
    model, tok, eos, pad = build(arch, texts, saved)
    if arch.pretrained is None and saved is None:
        tok.save(str(tok_path))
    return model, tok, eos, pad
