"""Regularisers for a small model on a few thousand generated pairs, which it would otherwise
memorise (loss ~0.01): a moving average of the weights and residual dropout."""

from __future__ import annotations

from typing import Any


class WeightAverage:
    """Exponential moving average of the floating-point weights (Polyak averaging).

    The decay ramps up as min(decay, (1 + step) / (10 + step)) so the average does not carry
    the random initial weights into a short run.
    """

    def __init__(self, model: Any, decay: float) -> None:
        self.decay = decay
        self.averaged: dict[str, Any] = {
            k: v.detach().clone() for k, v in model.state_dict().items() if v.is_floating_point()
        }

    def update(self, model: Any, step: int) -> None:
        import torch

        d = min(self.decay, (1 + step) / (10 + step))
        with torch.no_grad():
            for k, v in model.state_dict().items():
                if k in self.averaged:
                    self.averaged[k].mul_(d).add_(v.detach(), alpha=1 - d)

    def copy_to(self, model: Any) -> None:
        model.load_state_dict({**model.state_dict(), **self.averaged})


def add_residual_dropout(model: Any, p: float) -> None:
    """Dropout on each decoder layer's attention and MLP outputs, before they join the residual
    stream (GPT-2's resid_pdrop; Llama has none). Forward hooks, active in training mode only,
    so the saved and exported model is unchanged."""
    if p <= 0:
        return
    import torch.nn.functional as F

    def hook(module: Any, _inputs: Any, output: Any) -> Any:
        if isinstance(output, tuple):
            return (F.dropout(output[0], p, module.training), *output[1:])
        return F.dropout(output, p, module.training)

    for layer in model.model.layers:
        layer.self_attn.register_forward_hook(hook)
        layer.mlp.register_forward_hook(hook)
