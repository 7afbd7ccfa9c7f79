"""Shared helpers for benchmark scripts: data location, tables, JSON results."""

from __future__ import annotations

import json
import os
import sys
from collections.abc import Sequence
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
RESULTS = ROOT / "benchmarks" / "results"


def shared_data() -> Path:
    """`../shared/data` beside the repo (or $SYMGEN_SHARED_DATA), or exit with a clear message."""
    path = Path(os.environ.get("SYMGEN_SHARED_DATA", ROOT.parent / "shared" / "data"))
    if not (path / "geoquery" / "geography.sqlite").is_file():
        sys.exit(f"benchmark data not found at {path}; set SYMGEN_SHARED_DATA to shared/data")
    return path


def markdown_table(rows: Sequence[dict[str, Any]], columns: Sequence[str]) -> str:
    def fmt(v: Any) -> str:
        return f"{v:.3f}" if isinstance(v, float) else str(v)

    lines = ["| " + " | ".join(columns) + " |", "|" + "---|" * len(columns)]
    lines += ["| " + " | ".join(fmt(r.get(c, "")) for c in columns) + " |" for r in rows]
    return "\n".join(lines)


def write_result(name: str, payload: dict[str, Any]) -> Path:
    RESULTS.mkdir(parents=True, exist_ok=True)
    path = RESULTS / f"{name}.json"
    path.write_text(json.dumps(payload, indent=2) + "\n")
    return path
