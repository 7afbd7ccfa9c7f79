"""The lean decoder graph computes transformers' logits: data-driven over attention layouts.

Random weights make the check sharp (no trained model hides a wrong head order or a rotary
sign: every logit moves), and each case decodes the way the engine does — a prompt, a chunk
on top of a cache, single steps — on one row and on a batch of beams.
"""

from __future__ import annotations

from typing import Any

import numpy as np
import onnxruntime as ort
import pytest

from symgen.errors import SymgenError
from symgen.export import lean_graph

torch = pytest.importorskip("torch")
transformers = pytest.importorskip("transformers")

BASE: dict[str, Any] = dict(
    vocab_size=97,
    hidden_size=64,
    intermediate_size=96,
    num_hidden_layers=2,
    max_position_embeddings=64,
    rms_norm_eps=1e-6,
    tie_word_embeddings=True,
)
CASES = {
    "multi-head, tied embeddings (the tiny arch)": dict(
        num_attention_heads=4, num_key_value_heads=4
    ),
    "grouped-query, 3 query heads per kv head (SmolLM2)": dict(
        num_attention_heads=6, num_key_value_heads=2, head_dim=16, rope_theta=100000.0
    ),
    "untied output projection": dict(
        num_attention_heads=2, num_key_value_heads=1, tie_word_embeddings=False
    ),
}


def _model(case: dict[str, Any]) -> tuple[Any, dict[str, Any]]:
    torch.manual_seed(0)
    config = transformers.LlamaConfig(**(BASE | case))
    model = transformers.LlamaForCausalLM(config).eval()
    with torch.no_grad():  # norms away from 1 so a missing norm weight shows
        for name, p in model.named_parameters():
            if "norm" in name:
                p.uniform_(0.5, 1.5)
    return model, config.to_dict()


@pytest.mark.parametrize("case", CASES.values(), ids=list(CASES))
def test_logits_equal_transformers(case: dict[str, Any]) -> None:
    model, config = _model(case)
    weights = {k: v.detach().numpy() for k, v in model.state_dict().items()}
    session = ort.InferenceSession(
        lean_graph.build(weights, config).SerializeToString(), providers=["CPUExecutionProvider"]
    )
    layers, kv = config["num_hidden_layers"], config["num_key_value_heads"]
    head_dim = config.get("head_dim") or config["hidden_size"] // config["num_attention_heads"]
    past_names = [f"past_key_values.{i}.{t}" for i in range(layers) for t in ("key", "value")]
    present_names = [f"present.{i}.{t}" for i in range(layers) for t in ("key", "value")]
    rng = np.random.default_rng(1)
    for batch in (1, 3):
        ids = rng.integers(0, config["vocab_size"], (batch, 24))
        with torch.no_grad():
            ref = model(input_ids=torch.tensor(ids)).logits.numpy()
        past = [np.zeros((batch, kv, 0, head_dim), np.float32) for _ in past_names]
        for start, end in ((0, 16), (16, 20), (20, 21), (21, 22), (22, 23), (23, 24)):
            feed = {"input_ids": ids[:, start:end], **dict(zip(past_names, past, strict=True))}
            logits, *past = session.run(["logits", *present_names], feed)
            assert logits.shape == (batch, 1, config["vocab_size"])
            np.testing.assert_allclose(logits[:, 0], ref[:, end - 1], atol=1e-4)
            assert past[0].shape == (batch, kv, end, head_dim)


@pytest.mark.parametrize(
    ("change", "reason"),
    [
        ({"model_type": "gpt2"}, "not llama"),
        ({"rope_scaling": {"rope_type": "linear", "factor": 2.0}}, "rope_scaling"),
        ({"attention_bias": True}, "biases"),
        ({"hidden_act": "gelu"}, "silu"),
    ],
)
def test_unsupported_configs_are_named(change: dict[str, Any], reason: str) -> None:
    config = {"model_type": "llama", **change}
    assert reason in (lean_graph.supported(config) or "")
    with pytest.raises(SymgenError, match=reason):
        lean_graph.build({}, config)
