"""The training loss: one database's batch through a shared schema prefix, label smoothing,
and the `ExtraLoss` hook through which the lab's recipes (teachers) add terms the loop does not
know about."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Protocol

from tokenizers import Tokenizer


@dataclass(frozen=True)
class Batch:
    """One training step's batch as an `ExtraLoss` sees it (torch tensors)."""

    schema: Any  # (1, S) the database's schema prefix, shared by every row
    ids: Any  # (B, T) question and target ids, padded
    mask: Any  # (B, S + T) attention over the schema prefix and `ids`
    labels: Any  # (B, T) target ids; -100 where a position is no target (question, padding)
    logits: Any  # (B, T, V) the model's
    loss: Any  # the loop's own loss on the pairs (cross-entropy, label-smoothed when asked)

    def forward(self, model: Any) -> Any:
        """Another model's output on this batch, through the same shared schema prefix (e.g. a
        teacher's, under `torch.no_grad()`)."""
        return forward_after_prefix(model, self.schema, self.ids, self.mask)


class ExtraLoss(Protocol):
    """A term the loop adds to its loss without knowing it (e.g. `symgen.lab.teachers`).

    The hooks run in this order: `settings` (into the run's identity), `check` (after a finished
    run has returned, before the pairs are read), `tokenizer` (before the model is built), `start`
    (once the tokenizer is known), then the call on every batch.
    """

    def settings(self) -> dict[str, Any]:
        """Recorded in the run's identity (`train.json` identity.config, beside `TrainConfig`'s
        fields, which they must not shadow): a run resumes only with the same settings."""
        ...

    def check(self) -> None:
        """Refuse what cannot work before the pairs are read and checked (that takes a while)."""
        ...

    def tokenizer(self) -> Path | None:
        """A tokenizer file the model must use (copied into a new run directory), or None."""
        ...

    def start(self, tok: Tokenizer) -> None:
        """Before the first step: check the run's tokenizer, load what the loss needs."""
        ...

    def __call__(self, batch: Batch) -> Any:
        """The batch's loss, in place of `batch.loss` (which it may combine with its own)."""
        ...


def batch_loss(
    model: Any,
    items: Sequence[tuple[list[int], list[int], list[int]]],
    pad: int,
    smoothing: float | None = None,
    extra_loss: ExtraLoss | None = None,
) -> Any:
    """Loss of a one-database batch: the schema prefix runs once, its KV cache is shared.

    Gradients flow through the shared cache into the schema's computation, so this is the same
    objective as running every sequence in full, at a fraction of the cost. With `extra_loss`,
    its loss on the same batch.
    """
    import torch

    schema = torch.tensor([items[0][0]])
    batch = len(items)
    width = max(len(ids) for _, ids, _ in items)
    ids = torch.full((batch, width), pad, dtype=torch.long)
    labels = torch.full((batch, width), -100, dtype=torch.long)
    mask = torch.zeros((batch, schema.shape[1] + width), dtype=torch.long)
    mask[:, : schema.shape[1]] = 1
    for row, (_, x, y) in enumerate(items):
        ids[row, : len(x)] = torch.tensor(x)
        labels[row, : len(y)] = torch.tensor(y)
        mask[row, schema.shape[1] : schema.shape[1] + len(x)] = 1
    # with smoothing, transformers' own loss would be computed and thrown away: not asked for
    out = forward_after_prefix(model, schema, ids, mask, None if smoothing else labels)
    hard = smoothed_loss(out.logits, labels, smoothing) if smoothing else out.loss
    if extra_loss is None:
        return hard
    return extra_loss(Batch(schema, ids, mask, labels, out.logits, hard))


def smoothed_loss(logits: Any, labels: Any, smoothing: float) -> Any:
    """Cross-entropy with label smoothing, shifted as transformers' causal-LM loss (position t
    predicts label t+1; -100 is not a target); smoothing 0 gives exactly `out.loss`."""
    import torch

    return torch.nn.functional.cross_entropy(
        logits[:, :-1].reshape(-1, logits.shape[-1]).float(),
        labels[:, 1:].reshape(-1),
        ignore_index=-100,
        label_smoothing=smoothing,
    )


def forward_after_prefix(model: Any, schema: Any, ids: Any, mask: Any, labels: Any = None) -> Any:
    """The batch through `model` after the shared schema prefix (run once, cache expanded)."""
    from transformers import DynamicCache

    prefix = model(input_ids=schema, use_cache=True).past_key_values
    batch = ids.shape[0]
    legacy = tuple(
        (k.expand(batch, -1, -1, -1), v.expand(batch, -1, -1, -1)) for k, v in cache_layers(prefix)
    )
    cache = DynamicCache.from_legacy_cache(legacy)  # type: ignore[arg-type]
    return model(input_ids=ids, attention_mask=mask, past_key_values=cache, labels=labels)


def cache_layers(cache: Any) -> list[tuple[Any, Any]]:
    """(key, value) per layer from a transformers cache object or legacy tuple."""
    if hasattr(cache, "layers"):
        return [(layer.keys, layer.values) for layer in cache.layers]
    if hasattr(cache, "key_cache"):
        return list(zip(cache.key_cache, cache.value_cache, strict=True))
    return [(k, v) for k, v in cache]
