"""An exported model directory: its manifest (`symgen.json`), checked, and its files."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from tokenizers import Tokenizer

from symgen.errors import MissingResource, SymgenError

MANIFEST = "symgen.json"
# What the engine reads from a manifest, by type: anything else wrong is named at load time
_MANIFEST_FIELDS: dict[str, type] = {
    "onnx": str,
    "tokenizer": str,
    "eos_id": int,
    "num_layers": int,
    "num_kv_heads": int,
    "head_dim": int,
}


def graph_file(manifest: dict[str, Any], int8: bool | None = None) -> str:
    """The graph file a model runs: int8 when asked (None: when its export made it the
    default) and it has one, else fp32."""
    use_int8 = manifest.get("default_int8", False) if int8 is None else int8
    return str(
        manifest["onnx_int8"] if use_int8 and manifest.get("onnx_int8") else manifest["onnx"]
    )


def reexport_hint(model_dir: str | Path) -> str:
    return f"re-run `symgen export --model TRAIN_DIR --out {model_dir}`"


def manifest_problem(manifest: Any) -> str | None:
    """What makes a parsed manifest unusable (None: fine), naming the field."""
    if not isinstance(manifest, dict):
        return f"expected a JSON object, got {type(manifest).__name__}"
    for key, kind in _MANIFEST_FIELDS.items():
        value = manifest.get(key)
        if value is None:
            return f"field {key!r} is missing"
        if not isinstance(value, kind) or isinstance(value, bool) or value == "":
            return (
                f"field {key!r} must be a {'file name' if kind is str else 'number'}, got {value!r}"
            )
    if manifest.get("onnx_int8") is not None and not isinstance(manifest["onnx_int8"], str):
        return f"field 'onnx_int8' must be a file name, got {manifest['onnx_int8']!r}"
    draft = manifest.get("draft")
    if draft is not None and not (
        isinstance(draft, dict)
        and all(isinstance(draft.get(k), str) for k in ("onnx", "rest"))
        and all(isinstance(draft.get(k), int) for k in ("num_layers", "rest_layers", "members"))
    ):
        return "field 'draft' is not an ensemble's draft spec"
    return None


def load_manifest(model_dir: str | Path) -> dict[str, Any]:
    """A model directory's manifest, checked: a missing, empty or broken file is named with
    what to do, not left to fail later as a KeyError."""
    model_dir = Path(model_dir)
    path = model_dir / MANIFEST
    if model_dir.exists() and not model_dir.is_dir():
        raise SymgenError(
            f"{model_dir} is a file; --model takes an exported model directory "
            "(`symgen export --model TRAIN_DIR --out ONNX_DIR`)"
        )
    if not path.is_file():
        raise MissingResource(
            f"{path} not found: {model_dir} is not an exported SymGen model; "
            "create one with `symgen export --model TRAIN_DIR --out ONNX_DIR`"
        )
    try:
        text = path.read_text(encoding="utf-8")
        manifest = json.loads(text)
    except (OSError, UnicodeDecodeError, ValueError, RecursionError) as exc:
        why = "empty" if not path.stat().st_size else f"not valid JSON ({_why(exc)})"
        raise SymgenError(f"{path}: {why}; {reexport_hint(model_dir)}") from None
    problem = manifest_problem(manifest)
    if problem is not None:
        raise SymgenError(f"{path}: {problem}; {reexport_hint(model_dir)}")
    return dict(manifest)


def _why(exc: BaseException) -> str:
    """An exception's first line, for a one-line message."""
    if isinstance(exc, json.JSONDecodeError):
        return f"line {exc.lineno} column {exc.colno}: {exc.msg}"
    text = str(exc).strip().splitlines()
    return text[0][:200] if text else type(exc).__name__


def load_tokenizer(path: Path, model_dir: Path) -> Tokenizer:
    """The model's tokenizer, or one line naming the file that is missing or broken."""
    if not path.is_file():
        raise MissingResource(f"{path} missing; {reexport_hint(model_dir)}")
    try:
        return Tokenizer.from_file(str(path))
    except Exception as exc:  # tokenizers raises a bare Exception for a bad file
        raise SymgenError(
            f"{path}: not a readable tokenizer ({_why(exc)}); {reexport_hint(model_dir)}"
        ) from None
