"""`symgen export`: a trained model to ONNX with a parity check."""

from __future__ import annotations

import argparse
import json
from pathlib import Path
from typing import Any

from symgen.cli.common import (
    add_task,
    same_task,
)
from symgen.errors import SymgenError


def add_parser(sub: Any, common: argparse.ArgumentParser) -> None:
    ex = sub.add_parser(
        "export", parents=[common], help="export a trained model to ONNX with a parity check"
    )
    ex.add_argument("--model", required=True, help="`symgen train` output directory")
    add_task(ex, None)
    ex.add_argument("--out", required=True, help="ONNX model directory")
    ex.add_argument("--int8", action="store_true", help="also quantise to int8 (measured)")
    ex.add_argument("--name", default=None)
    ex.add_argument(
        "--graph",
        choices=("lean", "optimum"),
        default="lean",
        help="lean (default: written node by node, faster on CPU; Llama-family models) or "
        "optimum (optimum's exporter)",
    )
    ex.add_argument(
        "--last-weights",
        action="store_true",
        help="a run trained with --ema-decay: export its last step's weights (hf-last/) rather "
        "than the average",
    )
    ex.set_defaults(func=run, outputs=[("out", "dir")])


def run(args: argparse.Namespace) -> int:
    from symgen.export.onnx import export

    if Path(args.model).is_file():
        raise SymgenError(f"{args.model} is a file; --model takes a `symgen train` --out directory")
    meta = Path(args.model) / "train.json"
    if args.task and meta.is_file():
        same_task(args.task, json.loads(meta.read_text()).get("task", "sql"), args.model)
    manifest = export(
        args.model,
        args.out,
        int8=args.int8,
        name=args.name,
        graph=args.graph,
        last_weights=args.last_weights,
    )
    parity = manifest["parity"]
    if manifest.get("graph_fallback"):
        print(f"{manifest['graph_fallback']}; exported optimum's graph")
    print(
        f"exported to {args.out} ({manifest['graph']} graph): {manifest['mb_on_disk']} MB, "
        f"parity max |diff| "
        f"{parity['max_abs_diff']:.1e} on {parity['inputs']} inputs"
        + (
            f", int8 agreement {manifest['int8_agreement']:.0%} "
            f"({'default' if manifest['default_int8'] else 'not default'})"
            if args.int8
            else ""
        )
    )
    return 0
