"""`symgen lab ensemble`: several exported models of the same data → one model directory.

Task models trained on the same pairs with different seeds disagree on the questions their data
covers thinly; averaging their next-token probabilities cuts that training noise. The members'
graphs are merged into one ONNX graph (`symgen.lab.graph_merge`), so the server, `complete` and
`eval` load the result like any exported model. Beside it, member 0's graph (draft.onnx) and
the other members' (rest.onnx) serve greedy decoding: member 0 writes ahead and the others
check its tokens several positions per call, which gives the merged graph's own greedy answer
at less than its cost (`symgen.engine.drafting`); beam search runs the merged graph.
"""

from __future__ import annotations

import json
import shutil
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import onnx

from symgen.engine.manifest import MANIFEST, graph_file, load_manifest
from symgen.errors import MissingResource, SymgenError
from symgen.lab.graph_merge import all_positions, merge_decoders

DRAFT, REST = "draft.onnx", "rest.onnx"  # member 0; the other members (merged if several)
SAME = ("task", "dialect", "eos_id", "pad_id", "num_layers", "num_kv_heads", "head_dim", "graph")


def check_members(dirs: Sequence[Path], manifests: Sequence[dict[str, Any]]) -> None:
    """Members must read and write the same tokens and have the same cache layout."""
    first, tok = manifests[0], dirs[0] / manifests[0]["tokenizer"]
    if first.get("graph") != "lean":
        raise SymgenError(
            f"{dirs[0] / MANIFEST}: graph {first.get('graph')!r}; ensembles merge lean graphs: "
            "re-export the members with `symgen export` (lean is the default)"
        )
    for d, m in zip(dirs[1:], manifests[1:], strict=True):
        for key in SAME:
            if m.get(key) != first.get(key):
                raise SymgenError(
                    f"{d / MANIFEST}: {key} is {m.get(key)!r}, {dirs[0] / MANIFEST} says "
                    f"{first.get(key)!r}; ensemble members must be the same kind of model"
                )
        own = d / m["tokenizer"]
        if not own.is_file() or own.read_bytes() != tok.read_bytes():
            raise SymgenError(
                f"{own} differs from {tok}: ensemble members must be trained on the same data "
                "(the tokenizer is trained on it); train the other member with only --seed changed"
            )


def make_ensemble(
    models: Sequence[str | Path], out_dir: str | Path, *, name: str | None = None
) -> dict[str, Any]:
    """Merge `models` (exported dirs) into one graph in `out_dir` and write its manifest."""
    dirs = [Path(m) for m in models]
    out = Path(out_dir)
    if len(dirs) < 2:
        raise SymgenError("an ensemble needs at least two exported models (--model A --model B)")
    if any(d.resolve() == out.resolve() for d in dirs):
        raise SymgenError(f"--out {out} is one of the members; choose a new directory")
    manifests = [load_manifest(d) for d in dirs]
    check_members(dirs, manifests)
    files = [d / graph_file(m) for d, m in zip(dirs, manifests, strict=True)]
    for f in files:
        if not f.is_file():
            raise MissingResource(f"{f} missing; re-run `symgen export` for that member")
    graphs = [onnx.load(str(f)) for f in files]
    layers = int(manifests[0]["num_layers"])
    rest = all_positions(graphs[1]) if len(graphs) == 2 else merge_decoders(graphs[1:], layers)
    written = {
        "model.onnx": merge_decoders(graphs, layers),
        DRAFT: graphs[0],  # member 0 as exported
        REST: rest,
    }
    out.mkdir(parents=True, exist_ok=True)
    (out / MANIFEST).unlink(missing_ok=True)  # an interrupted rebuild leaves no stale manifest
    for file in written:
        (out / file).unlink(missing_ok=True)
    for file, graph in written.items():
        onnx.save(graph, str(out / f"{file}.partial"))
        (out / f"{file}.partial").rename(out / file)
    shutil.copy(dirs[0] / manifests[0]["tokenizer"], out / "tokenizer.json")
    manifest = ensemble_manifest(manifests, [f.name for f in files], name or out.name)
    manifest["mb_on_disk"] = round(sum((out / f).stat().st_size for f in written) / 1e6, 2)
    (out / MANIFEST).write_text(json.dumps(manifest, indent=2))
    return manifest


def ensemble_manifest(
    manifests: Sequence[dict[str, Any]], graphs: Sequence[str], name: str
) -> dict[str, Any]:
    """An exported model's manifest for the merged graph (members' layers end to end), with
    what each member was (training, the graph file merged)."""
    first = manifests[0]
    databases: dict[str, Any] = {}
    for m in manifests:
        databases.update(m.get("databases", {}))
    return {
        "format": 1,
        "name": name,
        "task": first.get("task", "sql"),
        "arch": first.get("arch"),
        "onnx": "model.onnx",
        "graph": first.get("graph"),
        "onnx_int8": None,  # each member's default graph (int8 or not) is already in model.onnx
        "default_int8": False,
        "tokenizer": "tokenizer.json",
        "eos_id": first["eos_id"],
        "pad_id": first["pad_id"],
        "num_layers": int(first["num_layers"]) * len(manifests),
        "num_kv_heads": first["num_kv_heads"],
        "head_dim": first["head_dim"],
        "params": sum(int(m.get("params", 0)) for m in manifests),
        "training": {
            "examples": first.get("training", {}).get("examples"),
            "train_minutes": round(
                sum(float(m.get("training", {}).get("train_minutes") or 0) for m in manifests), 2
            ),
        },
        # greedy decoding: member 0 writes ahead, the others check (`symgen.engine.drafting`)
        "draft": {
            "onnx": DRAFT,
            "num_layers": int(first["num_layers"]),
            "rest": REST,
            "rest_layers": int(first["num_layers"]) * (len(manifests) - 1),
            "members": len(manifests),
        },
        "ensemble": [
            {"name": m.get("name"), "graph_file": g, "training": m.get("training", {})}
            for m, g in zip(manifests, graphs, strict=True)
        ],
        "databases": databases,
        "dialect": first.get("dialect") or "sqlite",
        "metrics": {},
    }
