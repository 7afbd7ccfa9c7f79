"""Cut a pretrained byte-level BPE vocabulary down to what a task's data uses.

Why: SmolLM2's 49,152-token embedding is 28M of its parameters and its output layer costs as much
per token as 8 decoder layers, while a text-to-SQL task over a few schemas uses a few thousand
tokens. The pruned tokenizer keeps every token the data's text encodes to, every token those are
merged from (so BPE can still build them), the 256 byte-level symbols (so any text still
encodes), the special tokens and the first `common` tokens (BPE ids follow merge order, so these
are the most frequent pieces of the pretraining text: a new question still tokenises well); it keeps only merges whose result is kept. On the data's own
text it gives the same tokens as the full vocabulary (merges that were dropped could never fire
there); on new text it falls back to shorter pieces.
"""

from __future__ import annotations

import json
from collections.abc import Iterable
from typing import Any

from tokenizers import Tokenizer, pre_tokenizers

from symgen.errors import SymgenError


def _merges(model: dict[str, Any]) -> list[tuple[str, str]]:
    out = []
    for merge in model["merges"]:
        a, b = merge if isinstance(merge, list) else merge.split(" ", 1)
        out.append((a, b))
    return out


def _remap_special_ids(node: Any, new_id: dict[int, int]) -> None:
    """Post-processors name special tokens by id (TemplateProcessing's `special_tokens`)."""
    if isinstance(node, dict):
        for key, value in node.items():
            if key == "special_tokens" and isinstance(value, dict):
                for spec in value.values():
                    spec["ids"] = [new_id[i] for i in spec.get("ids", [])]
            else:
                _remap_special_ids(value, new_id)
    elif isinstance(node, list):
        for value in node:
            _remap_special_ids(value, new_id)


def prune_tokenizer(
    tok: Tokenizer, texts: Iterable[str], common: int = 0
) -> tuple[Tokenizer, list[int]]:
    """(pruned tokenizer, old id of each new id): new ids follow the old order."""
    spec = json.loads(tok.to_str())
    model = spec["model"]
    if model.get("type") != "BPE":
        raise SymgenError(f"vocabulary pruning needs a BPE tokenizer, not {model.get('type')}")
    vocab: dict[str, int] = model["vocab"]
    merges = _merges(model)
    parts: dict[str, tuple[str, str]] = {}
    for a, b in merges:
        parts.setdefault(a + b, (a, b))
    by_id = {i: t for t, i in vocab.items()}
    keep = {t for t in pre_tokenizers.ByteLevel.alphabet() if t in vocab}
    used = {i for text in texts for i in tok.encode(text, add_special_tokens=False).ids}
    stack = [by_id[i] for i in used | set(range(common)) if i in by_id]
    while stack:
        token = stack.pop()
        if token not in keep:
            keep.add(token)
            stack.extend(parts.get(token, ()))
    added = {a["id"] for a in spec.get("added_tokens", [])}
    old_ids = sorted({vocab[t] for t in keep} | added)
    new_id = {old: new for new, old in enumerate(old_ids)}
    model["vocab"] = {t: new_id[i] for t, i in vocab.items() if i in new_id}
    model["merges"] = [[a, b] for a, b in merges if a + b in keep and a in keep and b in keep]
    for token in spec.get("added_tokens", []):
        token["id"] = new_id[token["id"]]
    _remap_special_ids(spec.get("post_processor"), new_id)
    return Tokenizer.from_str(json.dumps(spec)), old_ids


def prune_embeddings(model: Any, old_ids: list[int]) -> Any:
    """`model` with input embedding and output layer restricted to `old_ids`, in that order."""
    import torch

    index = torch.tensor(old_ids, dtype=torch.long)
    old_in = model.get_input_embeddings().weight.data
    emb = torch.nn.Embedding(len(old_ids), old_in.shape[1])
    emb.weight.data = old_in[index].clone()
    model.set_input_embeddings(emb)
    if getattr(model.config, "tie_word_embeddings", False):
        model.lm_head.weight = emb.weight
    else:
        head = torch.nn.Linear(old_in.shape[1], len(old_ids), bias=False)
        head.weight.data = model.lm_head.weight.data[index].clone()
        model.lm_head = head
    model.config.vocab_size = len(old_ids)
    new_id = {old: new for new, old in enumerate(old_ids)}
    for config in (model.config, getattr(model, "generation_config", None)):
        for key in ("bos_token_id", "eos_token_id", "pad_token_id"):
            value = getattr(config, key, None)
            if isinstance(value, int):
                setattr(config, key, new_id.get(value))
    return model
