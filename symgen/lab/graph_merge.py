"""Several exported decoder graphs → one graph that averages their next-token probabilities.

Member j's cache layers become layers j*L .. j*L+L-1 of the merged graph and its logits are
combined inside the graph (log of the mean of the softmaxes), so the merged file looks to the
engine like one deeper model with the usual inputs and outputs: one onnxruntime call per decoding
step. (Running members as separate sessions in Python threads cost
~0.3 ms of hand-over per step, as much as a member's own step on these 4M-parameter models.)
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from typing import TypeVar

import onnx
from onnx import TensorProto, helper

from symgen.engine.decoding import LOGITS_FROM
from symgen.export.lean_graph import LAST_START

T = TypeVar("T", onnx.NodeProto, onnx.TensorProto, onnx.ValueInfoProto)


def _past(name: str) -> tuple[str, int, str] | None:
    """('past_key_values' | 'present', layer, 'key' | 'value') of a cache tensor name."""
    parts = name.split(".")
    if len(parts) == 3 and parts[0] in ("past_key_values", "present") and parts[1].isdigit():
        return parts[0], int(parts[1]), parts[2]
    return None


def _rename(name: str, j: int, layers: int) -> str:
    """The merged graph's name for member j's tensor `name`."""
    if not name or name == "input_ids":  # the one input every member reads
        return name
    if name == LOGITS_FROM:  # shared too (`all_positions`)
        return name
    cache = _past(name)
    if cache is not None:
        kind, layer, kv = cache
        return f"{kind}.{layer + j * layers}.{kv}"
    return f"m{j}/{name}"


def _copy(proto: T, name: str) -> T:
    out = type(proto)()
    out.CopyFrom(proto)
    out.name = name
    return out


def all_positions(model: onnx.ModelProto) -> onnx.ModelProto:
    """A lean graph whose logits slice starts at an input, `logits_from` (-n: the last n
    positions), instead of at the last position: it can then check n drafted tokens in one call
    (`symgen.engine.drafting`); fed -1 it is the graph it was."""
    out = onnx.ModelProto()
    out.CopyFrom(model)
    g = out.graph
    if not any(t.name == LAST_START for t in g.initializer):
        raise ValueError(
            f"no {LAST_START!r} initializer: not a lean graph (symgen.export.lean_graph)"
        )
    keep = [t for t in g.initializer if t.name != LAST_START]
    del g.initializer[:]
    g.initializer.extend(keep)
    for node in g.node:
        node.input[:] = [LOGITS_FROM if x == LAST_START else x for x in node.input]
    g.input.append(helper.make_tensor_value_info(LOGITS_FROM, TensorProto.INT64, [1]))
    logits = next(o for o in g.output if o.name == "logits")
    logits.type.tensor_type.shape.dim[1].dim_param = "positions"  # [batch, positions, vocab]
    onnx.checker.check_model(out)
    return out


def merge_decoders(models: Sequence[onnx.ModelProto], layers: int) -> onnx.ModelProto:
    """One model whose `logits` are log(mean_j softmax(logits_j)) at the last `logits_from`
    positions (`all_positions`); `layers` per member."""
    if len(models) < 2:
        raise ValueError("merging needs at least two graphs")
    models = [all_positions(m) for m in models]
    nodes: list[onnx.NodeProto] = []
    inits: list[onnx.TensorProto] = []
    infos: list[onnx.ValueInfoProto] = []
    inputs: dict[str, onnx.ValueInfoProto] = {}
    outputs: list[onnx.ValueInfoProto] = []
    logits: list[str] = []
    for j, model in enumerate(models):
        g = model.graph
        for node in g.node:
            new = _copy(node, f"m{j}/{node.name}" if node.name else "")
            new.input[:] = [_rename(x, j, layers) for x in node.input]
            new.output[:] = [_rename(x, j, layers) for x in node.output]
            nodes.append(new)
        inits += [_copy(t, _rename(t.name, j, layers)) for t in g.initializer]
        infos += [_copy(v, _rename(v.name, j, layers)) for v in g.value_info]
        for vi in g.input:
            name = _rename(vi.name, j, layers)
            inputs.setdefault(name, _copy(vi, name))
        for vi in g.output:
            name = _rename(vi.name, j, layers)
            if vi.name == "logits":
                logits.append(name)
            else:
                outputs.append(_copy(vi, name))
    if len(logits) != len(models):
        raise ValueError("every member graph must output `logits`")
    # log mean_j p_j = logsumexp_j(log_softmax_j) - log n, over a new leading member axis
    axis0 = helper.make_tensor("ens/axis0", TensorProto.INT64, [1], [0])
    log_n = helper.make_tensor("ens/log_n", TensorProto.FLOAT, [], [math.log(len(models))])
    inits += [axis0, log_n]
    stacked = []
    for name in logits:
        nodes.append(helper.make_node("LogSoftmax", [name], [f"{name}/lp"], axis=-1))
        nodes.append(helper.make_node("Unsqueeze", [f"{name}/lp", "ens/axis0"], [f"{name}/lp1"]))
        stacked.append(f"{name}/lp1")
    nodes.append(helper.make_node("Concat", stacked, ["ens/all"], axis=0))
    opset = next((o.version for o in models[0].opset_import if o.domain in ("", "ai.onnx")), 0)
    if not 13 <= opset < 18:  # ReduceLogSumExp takes `axes` as an attribute up to opset 17
        raise ValueError(f"opset {opset}: merging supports the lean graph's opsets 13-17")
    nodes.append(
        helper.make_node("ReduceLogSumExp", ["ens/all"], ["ens/lse"], axes=[0], keepdims=0)
    )
    nodes.append(helper.make_node("Sub", ["ens/lse", "ens/log_n"], ["logits"]))
    first = models[0].graph
    logits_info = next(o for o in first.output if o.name == "logits")
    graph = helper.make_graph(
        nodes,
        "symgen_ensemble",
        list(inputs.values()),  # input_ids, member 0's caches and logits_from, the others' caches
        [logits_info, *outputs],
        initializer=inits,
        value_info=infos,
    )
    merged = helper.make_model(graph, opset_imports=list(models[0].opset_import))
    merged.ir_version = models[0].ir_version
    onnx.checker.check_model(merged)
    return merged
