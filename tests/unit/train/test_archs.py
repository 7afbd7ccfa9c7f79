"""The from-scratch architectures build with the shape their `ArchConfig` names, one tokenizer
shared: the table of `task_model.ARCHS` is what `--arch` trains, so a typo in it (a head count
that does not divide the width, a swapped hidden and FFN size) fails here, not after a run."""

from __future__ import annotations

import pytest

from symgen.train.models import ARCHS, build
from symgen.train.tokenizer import train_bpe

pytest.importorskip("torch")

FROM_SCRATCH = [name for name, arch in ARCHS.items() if arch.pretrained is None]
TEXTS = [
    "schema: state: state_name, capital | question: capital of texas | sql: "
    "SELECT capital FROM state WHERE state_name = 'texas'"
] * 8


@pytest.mark.parametrize("name", FROM_SCRATCH)
def test_built_model_has_the_configured_shape(name: str) -> None:
    arch = ARCHS[name]
    model, tok, eos, pad = build(arch, TEXTS, train_bpe(TEXTS, 512))
    cfg = model.config
    assert (cfg.hidden_size, cfg.num_hidden_layers) == (arch.hidden, arch.layers)
    assert (cfg.num_attention_heads, cfg.intermediate_size) == (arch.heads, arch.intermediate)
    assert arch.hidden % arch.heads == 0
    assert eos != pad and cfg.vocab_size == tok.get_vocab_size()


def test_mini_is_the_smallest_from_scratch_model() -> None:
    """`mini` is offered as the faster equal of `tiny` (README): it must stay smaller."""
    tok = train_bpe(TEXTS, 512)
    sizes = {
        n: sum(p.numel() for p in build(ARCHS[n], TEXTS, tok)[0].parameters()) for n in FROM_SCRATCH
    }
    assert sizes["mini"] < sizes["tiny"] < sizes["small"]
