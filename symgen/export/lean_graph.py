"""A lean ONNX decoder graph for a Llama-family checkpoint, written node by node.

Why: optimum's export of the 3.7M-parameter `tiny` model has ~480 compute nodes per step, most of
them shape arithmetic for the attention mask and rotary embedding; onnxruntime spends ~80% of a
decode step in those (profiled: the matrix products are ~20%). This graph computes the same
logits with ~30 nodes per layer:
  * rotary embedding folded into the projections — rotate_half(W x) = (R W) x, so one packed
    MatMul yields q, R q, k, R k and v, and rotation is two Mul and an Add per tensor;
  * the 1/sqrt(head_dim) scale folded into the query weights;
  * positions and the causal mask derived once from the cache length (no attention_mask or
    position_ids inputs: the engine decodes unpadded rows, all of one length);
  * logits for the last position only (the engine reads nothing else; the prompt's 200-token
    schema prefix no longer pays the vocabulary projection 200 times).
Inputs and outputs keep optimum's names (`input_ids`, `past_key_values.N.key|value` →
`logits`, `present.N.key|value`), so the engine runs either graph; `symgen export` checks it
against torch like any export.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import numpy as np
import onnx
from onnx import TensorProto, helper, numpy_helper

from symgen.errors import SymgenError

# where the logits slice starts (-1: the last position only); `symgen.lab.graph_merge` turns it
# into an input so an ensemble's checker can return several positions' logits
LAST_START = "last_start"

OPSET = 17
NEG = -1e9  # additive mask; exp() of it is exactly 0


def supported(config: dict[str, Any]) -> str | None:
    """Why this checkpoint cannot take the lean graph, or None when it can."""
    if config.get("model_type") != "llama":
        return f"model_type {config.get('model_type')!r} is not llama"
    if config.get("rope_scaling"):
        return "rope_scaling is set"
    if config.get("attention_bias") or config.get("mlp_bias"):
        return "projections have biases"
    if config.get("hidden_act", "silu") != "silu":
        return f"hidden_act {config.get('hidden_act')!r} is not silu"
    return None


def _rotated(w: np.ndarray, heads: int, head_dim: int) -> np.ndarray:
    """R·W for a projection's rows [heads*head_dim, in]: rotate_half applied per head."""
    w = w.reshape(heads, head_dim, -1)
    half = head_dim // 2
    return np.concatenate([-w[:, half:], w[:, :half]], axis=1).reshape(heads * head_dim, -1)


def _rope_tables(config: dict[str, Any], head_dim: int) -> tuple[np.ndarray, np.ndarray]:
    """cos and sin per position, [max_positions, head_dim], as transformers' default rope."""
    theta = float(config.get("rope_theta", 10000.0))
    inv_freq = 1.0 / theta ** (
        np.arange(0, head_dim, 2, dtype=np.int64).astype(np.float32) / head_dim
    )
    pos = np.arange(int(config["max_position_embeddings"]), dtype=np.float32)
    freqs = np.outer(pos, inv_freq)
    emb = np.concatenate([freqs, freqs], axis=-1)
    return np.cos(emb).astype(np.float32), np.sin(emb).astype(np.float32)


class _Graph:
    """Node and initializer lists with unique names (a tiny builder, no magic)."""

    def __init__(self) -> None:
        self.nodes: list[onnx.NodeProto] = []
        self.inits: list[onnx.TensorProto] = []
        self._n = 0

    def const(self, name: str, value: np.ndarray) -> str:
        self.inits.append(numpy_helper.from_array(value, name))
        return name

    def op(self, op_type: str, inputs: list[str], n_out: int = 1, **attrs: Any) -> list[str]:
        self._n += 1
        outs = [f"{op_type.lower()}_{self._n}_{i}" for i in range(n_out)]
        self.nodes.append(helper.make_node(op_type, inputs, outs, **attrs))
        return outs

    def one(self, op_type: str, inputs: list[str], *, out: str = "", **attrs: Any) -> str:
        if out:  # a graph output keeps its given name
            self.nodes.append(helper.make_node(op_type, inputs, [out], **attrs))
            return out
        return self.op(op_type, inputs, **attrs)[0]


def _rms(g: _Graph, x: str, weight: str, eps: str) -> str:
    # the pattern onnxruntime fuses into SimplifiedLayerNormalization
    sq = g.one("Pow", [x, "two"])
    mean = g.one("ReduceMean", [sq], axes=[-1], keepdims=1)
    std = g.one("Sqrt", [g.one("Add", [mean, eps])])
    return g.one("Mul", [g.one("Div", [x, std]), weight])


def build(weights: dict[str, np.ndarray], config: dict[str, Any]) -> onnx.ModelProto:
    """The decode graph for `weights` (a LlamaForCausalLM state dict as numpy, fp32)."""
    reason = supported(config)
    if reason:
        raise SymgenError(f"no lean graph for this model: {reason}")
    hidden = int(config["hidden_size"])
    heads = int(config["num_attention_heads"])
    kv_heads = int(config.get("num_key_value_heads") or heads)
    head_dim = int(config.get("head_dim") or hidden // heads)
    layers = int(config["num_hidden_layers"])
    group = heads // kv_heads
    w = {k: v.astype(np.float32) for k, v in weights.items()}
    g = _Graph()
    g.const("two", np.array(2.0, np.float32))
    eps = g.const("eps", np.array(config.get("rms_norm_eps", 1e-6), np.float32))
    g.const("neg", np.array(NEG, np.float32))
    g.const("zero_f", np.array(0.0, np.float32))
    g.const("one_i", np.array(1, np.int64))
    g.const("zero_i", np.array(0, np.int64))
    cos, sin = _rope_tables(config, head_dim)
    g.const("cos_table", cos)
    g.const("sin_table", sin)
    embed = g.const("embed", w["model.embed_tokens.weight"])
    lm_head = w.get("lm_head.weight", w["model.embed_tokens.weight"])
    g.const("lm_head_t", np.ascontiguousarray(lm_head.T))

    # positions past_len .. past_len+new-1, their rope rows and the causal mask [new, total]
    past_len = g.one("Squeeze", [g.one("Shape", ["past_key_values.0.key"], start=2, end=3)])
    new_len = g.one("Squeeze", [g.one("Shape", ["input_ids"], start=1, end=2)])
    total = g.one("Add", [past_len, new_len])
    pos = g.one("Range", [past_len, total, "one_i"])
    g.const("axis1", np.array([1], np.int64))
    cos_rows, sin_rows = (  # [new, 1, dim]: broadcast over batch and heads
        g.one("Unsqueeze", [g.one("Gather", [table, pos], axis=0), "axis1"])
        for table in ("cos_table", "sin_table")
    )
    keys = g.one("Range", ["zero_i", total, "one_i"])
    g.const("axis0", np.array([0], np.int64))
    future = g.one(
        "Greater", [g.one("Unsqueeze", [keys, "axis0"]), g.one("Unsqueeze", [pos, "axis1"])]
    )
    mask = g.one("Where", [future, "neg", "zero_f"])

    scale = float(1.0 / np.sqrt(head_dim))
    split_heads = [heads, heads, kv_heads, kv_heads, kv_heads]
    g.const("qkv_split", np.array(split_heads, np.int64))
    g.const("qkv_shape", np.array([0, 0, sum(split_heads), head_dim], np.int64))
    g.const("merge_shape", np.array([0, 0, heads * head_dim], np.int64))
    g.const("mlp_split", np.array([int(config["intermediate_size"])] * 2, np.int64))
    if group > 1:
        g.const("expand_shape", np.array([1, 1, group, 1, 1], np.int64))
        g.const("axis2", np.array([2], np.int64))
        g.const("heads_shape", np.array([0, heads, -1, head_dim], np.int64))

    h = g.one("Gather", [embed, "input_ids"], axis=0)
    for i in range(layers):
        p = f"model.layers.{i}."
        wq = w[p + "self_attn.q_proj.weight"] * scale
        wk = w[p + "self_attn.k_proj.weight"]
        packed = np.concatenate(
            [
                wq,
                _rotated(wq, heads, head_dim),
                wk,
                _rotated(wk, kv_heads, head_dim),
                w[p + "self_attn.v_proj.weight"],
            ]
        )
        g.const(f"qkv_{i}", np.ascontiguousarray(packed.T))
        g.const(f"o_{i}", np.ascontiguousarray(w[p + "self_attn.o_proj.weight"].T))
        gate_up = np.concatenate([w[p + "mlp.gate_proj.weight"], w[p + "mlp.up_proj.weight"]])
        g.const(f"gate_up_{i}", np.ascontiguousarray(gate_up.T))
        g.const(f"down_{i}", np.ascontiguousarray(w[p + "mlp.down_proj.weight"].T))
        g.const(f"norm_in_{i}", w[p + "input_layernorm.weight"])
        g.const(f"norm_post_{i}", w[p + "post_attention_layernorm.weight"])

        x = _rms(g, h, f"norm_in_{i}", eps)
        qkv = g.one("MatMul", [x, f"qkv_{i}"])
        q, qr, k, kr, v = g.op(
            "Split", [g.one("Reshape", [qkv, "qkv_shape"]), "qkv_split"], n_out=5, axis=2
        )
        # rotate in [batch, new, heads, dim], then one transpose each to [batch, heads, new, dim]
        q, k = (
            g.one(
                "Transpose",
                [g.one("Add", [g.one("Mul", [a, cos_rows]), g.one("Mul", [b, sin_rows])])],
                perm=[0, 2, 1, 3],
            )
            for a, b in ((q, qr), (k, kr))
        )
        v = g.one("Transpose", [v], perm=[0, 2, 1, 3])
        pk = g.one("Concat", [f"past_key_values.{i}.key", k], out=f"present.{i}.key", axis=2)
        pv = g.one("Concat", [f"past_key_values.{i}.value", v], out=f"present.{i}.value", axis=2)
        if group > 1:  # grouped-query attention: each kv head serves `group` query heads
            pk, pv = (
                g.one(
                    "Reshape",
                    [
                        g.one("Expand", [g.one("Unsqueeze", [t, "axis2"]), "expand_shape"]),
                        "heads_shape",
                    ],
                )
                for t in (pk, pv)
            )
        scores = g.one("MatMul", [q, g.one("Transpose", [pk], perm=[0, 1, 3, 2])])
        probs = g.one("Softmax", [g.one("Add", [scores, mask])], axis=-1)
        attn = g.one("Transpose", [g.one("MatMul", [probs, pv])], perm=[0, 2, 1, 3])
        attn = g.one("Reshape", [attn, "merge_shape"])
        h = g.one("Add", [h, g.one("MatMul", [attn, f"o_{i}"])])

        x = _rms(g, h, f"norm_post_{i}", eps)
        gate, up = g.op("Split", [g.one("MatMul", [x, f"gate_up_{i}"]), "mlp_split"], 2, axis=-1)
        act = g.one("Mul", [g.one("Mul", [gate, g.one("Sigmoid", [gate])]), up])
        h = g.one("Add", [h, g.one("MatMul", [act, f"down_{i}"])])

    g.const("final_norm", w["model.norm.weight"])
    g.const(LAST_START, np.array([-1], np.int64))
    g.const("last_end", np.array([np.iinfo(np.int64).max], np.int64))
    last = g.one("Slice", [h, LAST_START, "last_end", "axis1"])
    g.one("MatMul", [_rms(g, last, "final_norm", eps), "lm_head_t"], out="logits")

    past_shape: list[str | int | None] = ["batch", kv_heads, "past", head_dim]
    present_shape: list[str | int | None] = ["batch", kv_heads, "total", head_dim]
    inputs = [helper.make_tensor_value_info("input_ids", TensorProto.INT64, ["batch", "new"])]
    outputs = [helper.make_tensor_value_info("logits", TensorProto.FLOAT, ["batch", 1, "vocab"])]
    for i in range(layers):
        for kv in ("key", "value"):
            inputs.append(
                helper.make_tensor_value_info(
                    f"past_key_values.{i}.{kv}", TensorProto.FLOAT, past_shape
                )
            )
            outputs.append(
                helper.make_tensor_value_info(f"present.{i}.{kv}", TensorProto.FLOAT, present_shape)
            )
    graph = helper.make_graph(g.nodes, "symgen_lean_decoder", inputs, outputs, g.inits)
    model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", OPSET)])
    model.ir_version = 8
    onnx.checker.check_model(model)
    return model


def write(hf_dir: Path, out: Path) -> None:
    """Build the lean graph of the checkpoint in `hf_dir` (config.json + model.safetensors)."""
    from safetensors.numpy import load_file

    config = json.loads((hf_dir / "config.json").read_text())
    weights = load_file(str(hf_dir / "model.safetensors"))
    onnx.save(build(weights, config), str(out))
