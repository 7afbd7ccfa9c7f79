"""`symgen export`: trained model → ONNX (with KV cache) + parity check + int8 + manifest.

Two graphs compute the same logits: `lean` (symgen/export/lean_graph.py, written node by node; the
default for Llama-family models, 2-3x faster per decode step on CPU) and `optimum` (optimum's
exporter; any architecture transformers and optimum know).

The parity check compares ONNX and torch logits on real training inputs, for the full prompt and
for cached decoding steps; an export outside tolerance is an error, not a warning. int8 (dynamic
quantisation) is made on request and becomes the default only when its greedy outputs agree with
fp32 on the check set (so it does not cost accuracy); the agreement is recorded.
"""

from __future__ import annotations

import json
import shutil
import tempfile
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import numpy as np

from symgen.engine.manifest import MANIFEST
from symgen.engine.model import TaskModel
from symgen.errors import MissingResource, SymgenError
from symgen.export import lean_graph
from symgen.tasks.registry import DEFAULT_TASK, task_for
from symgen.tasks.sql.model_input import encode_source, load_dbs
from symgen.train.data import task_examples

TOLERANCE = 1e-3  # max |logit difference| fp32 ONNX vs torch
GRAPHS = ("lean", "optimum")


def export(
    model_dir: str | Path,
    out_dir: str | Path,
    *,
    int8: bool = False,
    check_inputs: int = 24,
    name: str | None = None,
    graph: str = "lean",
    last_weights: bool = False,
) -> dict[str, Any]:
    """Export `model_dir`'s `hf/` weights (with `last_weights`, a weight-averaged run's last-step
    weights in `hf-last/`); `graph="lean"` falls back to optimum's when the architecture has no
    lean graph (the manifest records which was written and why)."""
    model_dir, out = Path(model_dir), Path(out_dir)
    meta_path = model_dir / "train.json"
    if not meta_path.is_file() or not (model_dir / "hf").is_dir():
        raise MissingResource(
            f"{model_dir} holds no finished training run; run `symgen train` first"
        )
    meta = json.loads(meta_path.read_text())
    if not meta.get("done"):
        raise SymgenError(
            f"training in {model_dir} has not finished; rerun `symgen train` to resume it"
        )
    if graph not in GRAPHS:
        raise SymgenError(f"unknown graph {graph!r}; choose one of {', '.join(GRAPHS)}")
    hf = model_dir / ("hf-last" if last_weights else "hf")
    if not (hf / "config.json").is_file():
        raise MissingResource(
            f"{hf} not found: only a run trained with --ema-decay keeps its last-step weights"
        )
    config = json.loads((hf / "config.json").read_text())
    fallback = lean_graph.supported(config) if graph == "lean" else None
    if fallback:
        graph = "optimum"
    out.mkdir(parents=True, exist_ok=True)
    for stale in ("model.onnx", "model.onnx_data", "model.int8.onnx"):
        (out / stale).unlink(missing_ok=True)  # a re-export keeps no file of the other graph
    with tempfile.TemporaryDirectory(dir=out) as tmp:
        if graph == "lean":
            lean_graph.write(hf, Path(tmp) / "model.onnx")
        else:
            _onnx_export(hf, Path(tmp))
        shutil.move(str(Path(tmp) / "model.onnx"), out / "model.onnx")
        for extra in Path(tmp).glob("model.onnx_data"):
            shutil.move(str(extra), out / extra.name)
    shutil.copy(hf / "tokenizer.json", out / "tokenizer.json")
    heads = config["num_attention_heads"]
    manifest: dict[str, Any] = {
        "format": 1,
        "name": name or model_dir.name,
        "task": meta.get("task", DEFAULT_TASK),
        "arch": meta["identity"]["arch"]["name"],
        "onnx": "model.onnx",
        "graph": graph,
        "weights": hf.name,  # hf: the run's model (its weight average, if it kept one)
        **({"graph_fallback": f"no lean graph: {fallback}"} if fallback else {}),
        "onnx_int8": None,
        "default_int8": False,
        "tokenizer": "tokenizer.json",
        # Bash: the model reads and writes placeholders for the request's values
        "placeholders": bool(meta["identity"]["config"].get("placeholders")),
        "eos_id": meta["eos_id"],
        "pad_id": meta["pad_id"],
        "num_layers": config["num_hidden_layers"],
        "num_kv_heads": config.get("num_key_value_heads") or heads,
        "head_dim": config.get("head_dim") or config["hidden_size"] // heads,
        "params": meta["params"],
        "training": {k: meta.get(k) for k in ("examples", "steps", "train_minutes", "final_loss")}
        | {"data_hash": meta["identity"]["data_hash"], "config": meta["identity"]["config"]},
        "databases": meta["databases"],
        # the SQL dialect the model writes (its training databases'); the engine transpiles
        # to another database's dialect when needed
        "dialect": next(
            (d.get("dialect") for d in meta["databases"].values() if d.get("dialect")), "sqlite"
        ),
        "metrics": {},
    }
    (out / MANIFEST).write_text(json.dumps(manifest, indent=2))

    inputs = _check_inputs(meta, check_inputs)
    manifest["parity"] = _parity(hf, out, inputs)
    if manifest["parity"]["max_abs_diff"] > TOLERANCE:
        (out / MANIFEST).write_text(json.dumps(manifest, indent=2))
        raise SymgenError(
            f"ONNX output differs from torch by {manifest['parity']['max_abs_diff']:.2e} "
            f"(> {TOLERANCE}); the export in {out} is not trustworthy"
        )
    if int8:
        manifest["onnx_int8"] = "model.int8.onnx"
        _quantise(out / "model.onnx", out / "model.int8.onnx", graph)
        (out / MANIFEST).write_text(json.dumps(manifest, indent=2))
        agree = _int8_agreement(out, meta, inputs)
        manifest["int8_agreement"] = agree
        manifest["default_int8"] = agree >= 0.98
    manifest["mb_on_disk"] = round(
        sum(f.stat().st_size for f in out.iterdir() if f.name.startswith("model")) / 1e6, 2
    )
    (out / MANIFEST).write_text(json.dumps(manifest, indent=2))
    return manifest


def _onnx_export(hf: Path, tmp: Path) -> None:
    from optimum.exporters.onnx import main_export

    main_export(
        model_name_or_path=str(hf),
        output=str(tmp),
        task="text-generation-with-past",
        device="cpu",
        do_validation=False,
    )
    if not (tmp / "model.onnx").is_file():
        raise SymgenError(
            f"optimum produced no model.onnx (got {sorted(p.name for p in tmp.iterdir())})"
        )


def _check_inputs(meta: dict[str, Any], n: int) -> list[tuple[str, str, str]]:
    """(schema, question part, target) of the first `n` training pairs."""
    data_files = meta.get("data_files") or []
    task = meta.get("task", DEFAULT_TASK)
    needs_db = task_for(task).needs_database
    dbs = load_dbs([d["path"] for d in meta["databases"].values()]) if needs_db else {}
    out: list[tuple[str, str, str]] = []
    for path in data_files:
        placeholders = bool(meta["identity"]["config"].get("placeholders"))
        for ex in task_examples(path, task, dbs, placeholders=placeholders):
            out.append((ex.schema, ex.question, ex.target))
            if len(out) >= n:
                return out
    if not out:
        raise SymgenError("training run lists no data files to check the export with")
    return out


def _parity(hf: Path, out: Path, inputs: Sequence[tuple[str, str, str]]) -> dict[str, Any]:
    """Max |logit diff| ONNX vs torch: whole prompt, then 4 cached steps along the target."""
    import torch
    from transformers import AutoModelForCausalLM

    model = AutoModelForCausalLM.from_pretrained(str(hf), torch_dtype=torch.float32).eval()
    engine = TaskModel(out, int8=False)
    worst = 0.0
    for schema, question, target in inputs[:8]:
        src = encode_source(engine.tok, schema, question)
        tgt = engine.tok.encode(target, add_special_tokens=False).ids[:4]
        full = src + tgt
        with torch.no_grad():
            ref = model(input_ids=torch.tensor([full])).logits[0].numpy()
        logits, past = engine._run(np.array([src]), engine._empty_past())
        worst = max(worst, float(np.abs(logits[0] - ref[len(src) - 1]).max()))
        for i, token in enumerate(tgt):
            logits, past = engine._run(np.array([[token]]), past)
            worst = max(worst, float(np.abs(logits[0] - ref[len(src) + i]).max()))
    return {"max_abs_diff": worst, "inputs": min(8, len(inputs)), "tolerance": TOLERANCE}


def _quantise(src: Path, dst: Path, graph: str) -> None:
    """Dynamic int8 on the weights. In the lean graph only the MatMuls (quantising its Gathers
    would round the rotary cos/sin tables to int8 and add a DequantizeLinear per use), with a
    scale per output column: its packed q|Rq|k|Rk|v and gate|up matrices would otherwise share
    one scale across projections of different ranges (the demo model's int8 agreed with fp32 on
    23 of 24 check inputs per tensor, 24 of 24 per channel)."""
    from onnxruntime.quantization import QuantType, quantize_dynamic

    ops = ["MatMul"] if graph == "lean" else None
    quantize_dynamic(
        str(src),
        str(dst),
        weight_type=QuantType.QInt8,
        op_types_to_quantize=ops,
        per_channel=graph == "lean",
    )


def _int8_agreement(
    out: Path, meta: dict[str, Any], inputs: Sequence[tuple[str, str, str]]
) -> float:
    """Share of check inputs where int8 and fp32 greedy outputs are identical."""
    fp32, q8 = TaskModel(out, int8=False), TaskModel(out, int8=True)
    same = 0
    for schema, question, _ in inputs:
        a = fp32.generate(schema, question, beams=1)
        b = q8.generate(schema, question, beams=1)
        same += bool(a and b and a[0].text == b[0].text)
    return same / len(inputs)
