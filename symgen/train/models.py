"""Task-model architectures (torch; training side only), each with its own defaults.

Both are decoder-only Llama-family models, so one ONNX export path and one torch-free engine
serve them:
  * `tiny`    — from scratch, ~4M parameters, with a BPE tokenizer trained on the data;
  * `mini`    — from scratch, ~2.5M parameters (hidden 192): as accurate as `tiny` on the
                GeoQuery table's data at about half its size and latency (one seed; README);
  * `small`   — from scratch, ~12M parameters;
  * `smollm2` — SmolLM2-135M-Instruct from the registry's GGUF (dequantised by transformers),
                fine-tuned; its own tokenizer.
  * `smollm2-slim` — the same with 8 of its 30 decoder layers (evenly spaced, first and last
                kept) and its vocabulary cut to the tokens the data uses plus the 4,096 most
                common (symgen.train.vocab_prune), 30.8M parameters. Measured below `tiny` on
                GeoQuery (README, benchmarks/arch.py): the cut loses what pretraining gave.
"""

from __future__ import annotations

import tempfile
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from tokenizers import Tokenizer

from symgen.errors import MissingResource, SymgenError
from symgen.train.tokenizer import EOS, PAD, train_bpe
from symgen.train.vocab_prune import prune_embeddings, prune_tokenizer


@dataclass(frozen=True)
class ArchConfig:
    name: str
    pretrained: str | None = None  # registry model name (GGUF) to start from
    keep_layers: int | None = None  # a pretrained model's decoder layers kept (None: all)
    # a pretrained model's vocabulary cut to the data's tokens plus its first N (0: not cut)
    prune_vocab: int = 0
    hidden: int = 256
    layers: int = 4
    heads: int = 4
    intermediate: int = 768
    vocab: int = 4096
    lr: float = 1e-3
    batch_size: int = 16
    epochs: int = 60
    max_positions: int = 1024


ARCHS: dict[str, ArchConfig] = {
    "tiny": ArchConfig("tiny"),
    "mini": ArchConfig("mini", hidden=192, intermediate=576),
    "small": ArchConfig("small", hidden=384, layers=6, heads=6, intermediate=1152, lr=7e-4),
    "smollm2": ArchConfig("smollm2", pretrained="smollm2-135m", lr=5e-5, batch_size=8, epochs=4),
    "smollm2-slim": ArchConfig(
        "smollm2-slim",
        pretrained="smollm2-135m",
        keep_layers=8,
        prune_vocab=4096,
        lr=1e-4,
        batch_size=8,
        epochs=6,  # more than smollm2: the cut model has more to relearn
    ),
}


def get_arch(name: str) -> ArchConfig:
    if name not in ARCHS:
        raise SymgenError(f"unknown architecture {name!r}; choose one of {', '.join(ARCHS)}")
    return ARCHS[name]


def build(
    arch: ArchConfig, texts: Sequence[str], tok: Tokenizer | None = None
) -> tuple[Any, Tokenizer, int, int]:
    """(torch model, tokenizer, eos id, pad id): fresh weights or the pretrained GGUF's.

    A from-scratch model trains its BPE on `texts` unless `tok` (a resumed run's) is given; a
    pruned pretrained vocabulary is recomputed from `texts` (the same data gives the same one).
    """
    if arch.pretrained:
        model, full, eos, pad = _from_gguf(arch.pretrained)
        model = keep_layers(model, arch.keep_layers)
        if not arch.prune_vocab:
            return model, full, eos, pad
        pruned, old_ids = prune_tokenizer(full, texts, common=arch.prune_vocab)
        model = prune_embeddings(model, old_ids)
        return model, pruned, old_ids.index(eos), old_ids.index(pad)

    import torch
    from transformers import LlamaConfig, LlamaForCausalLM

    tok = tok or train_bpe(texts, arch.vocab)
    eos, pad = tok.token_to_id(EOS), tok.token_to_id(PAD)
    cfg = LlamaConfig(
        vocab_size=tok.get_vocab_size(),
        hidden_size=arch.hidden,
        intermediate_size=arch.intermediate,
        num_hidden_layers=arch.layers,
        num_attention_heads=arch.heads,
        num_key_value_heads=arch.heads,
        max_position_embeddings=arch.max_positions,
        tie_word_embeddings=True,
        bos_token_id=eos,
        eos_token_id=eos,
        pad_token_id=pad,
    )
    torch.manual_seed(0)
    return LlamaForCausalLM(cfg), tok, eos, pad


def _gguf_path(registry_name: str) -> Path:
    from symgen.generators import registry

    _, specs = registry.load_registry()
    path = registry.model_path(specs[registry_name])
    if not path.is_file():
        raise MissingResource(
            f"{path} not found; run `symgen models install {registry_name} && "
            f"symgen models fetch {registry_name}`"
        )
    return path


def gguf_tokenizer(registry_name: str) -> tuple[Any, Tokenizer]:
    """(transformers tokenizer, its `tokenizers` backend) read from a registry GGUF."""
    from transformers import AutoTokenizer

    path = _gguf_path(registry_name)
    hf_tok = AutoTokenizer.from_pretrained(str(path.parent), gguf_file=path.name)
    return hf_tok, hf_tok.backend_tokenizer


def _from_gguf(registry_name: str) -> tuple[Any, Tokenizer, int, int]:
    import torch
    from transformers import AutoModelForCausalLM

    path = _gguf_path(registry_name)
    hf_tok, tok = gguf_tokenizer(registry_name)
    model = AutoModelForCausalLM.from_pretrained(
        str(path.parent), gguf_file=path.name, torch_dtype=torch.float32
    )
    eos = int(hf_tok.eos_token_id)
    pad = int(hf_tok.pad_token_id if hf_tok.pad_token_id is not None else eos)
    return model, tok, eos, pad


def layer_picks(total: int, keep: int) -> list[int]:
    """`keep` layer indices of `total`, evenly spaced, the first and the last among them: the
    first layers build token features and the last one maps back to the vocabulary."""
    if not 1 <= keep <= total:
        raise SymgenError(f"cannot keep {keep} of {total} layers")
    if keep == 1:
        return [total - 1]
    return sorted({round(i * (total - 1) / (keep - 1)) for i in range(keep)})


def keep_layers(model: Any, keep: int | None) -> Any:
    """`model` (a Llama-family causal LM) with only `keep` of its decoder layers."""
    import torch

    layers = model.model.layers
    if keep is None or keep >= len(layers):
        return model
    picks = layer_picks(len(layers), keep)
    model.model.layers = torch.nn.ModuleList([layers[i] for i in picks])
    for idx, layer in enumerate(model.model.layers):
        layer.self_attn.layer_idx = idx  # the KV cache is indexed by position in the stack
    model.config.num_hidden_layers = len(picks)
    if getattr(model.config, "layer_types", None):
        model.config.layer_types = [model.config.layer_types[i] for i in picks]
    return model


def save_hf(model: Any, tok: Tokenizer, eos: int, pad: int, out: Path) -> None:
    """`save_pretrained` layout (config, safetensors, tokenizer) that optimum can export."""
    from transformers import PreTrainedTokenizerFast

    out.mkdir(parents=True, exist_ok=True)
    model.save_pretrained(out, safe_serialization=True)
    with tempfile.TemporaryDirectory() as tmp:
        tok_path = Path(tmp) / "tokenizer.json"
        tok.save(str(tok_path))
        fast = PreTrainedTokenizerFast(
            tokenizer_file=str(tok_path),
            eos_token=tok.id_to_token(eos),
            pad_token=tok.id_to_token(pad),
        )
    fast.save_pretrained(out)
