"""Shared helpers for benchmark scripts: data location, tables, JSON results."""

from __future__ import annotations

import argparse
import json
import os
import subprocess
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


def _member(text: str) -> str:
    """An argparse type for `NAME=DIR`: kept as typed (so `command_line` records it), checked."""
    name, sep, path = text.partition("=")
    if not (sep and name and path):
        raise argparse.ArgumentTypeError(f"expected NAME=DIR (an exported model dir), got {text!r}")
    return text


def add_member_arg(ap: argparse.ArgumentParser) -> None:
    """`--member NAME=DIR`, repeatable and several per flag: the ensemble benchmarks' members."""
    ap.add_argument(
        "--member", action="extend", nargs="+", required=True, type=_member,
        help="NAME=exported model dir",
    )  # fmt: skip


def named_members(args: argparse.Namespace) -> dict[str, str]:
    """The `--member` values as name → dir, in the order given; a repeated name is refused."""
    pairs = [m.split("=", 1) for m in args.member]
    named = dict(pairs)
    if len(named) != len(pairs):
        raise SystemExit(f"--member names repeat: {[n for n, _ in pairs]}")
    return named


def command_line(module: str, args: argparse.Namespace) -> str:
    """The command that reproduces a benchmark run, as recorded beside its results."""

    def value(v: Any) -> str:
        return " ".join(map(str, v)) if isinstance(v, list) else str(v)

    return f"python -m {module} " + " ".join(
        f"--{k.replace('_', '-')}" + ("" if v is True else f" {value(v)}")
        for k, v in vars(args).items()
        if v is not False and v is not None and v != ""
    )


def run_symgen(*argv: str) -> None:
    """`python -m symgen ARGV` in a fresh process (no torch left loaded in the benchmark's);
    a failure ends the benchmark with the command's stderr."""
    proc = subprocess.run([sys.executable, "-m", "symgen", *argv], capture_output=True, text=True)
    if proc.returncode != 0:
        raise SystemExit(f"symgen {argv[0]} failed: {proc.stderr[-2000:]}")


def merge_result(name: str, payload: dict[str, Any]) -> Path:
    """Write `payload`'s keys into results/<name>.json, keeping the keys other scripts wrote
    (paper.json holds GeoQuery rows from paper.py and Spider rows from spider.py)."""
    path = RESULTS / f"{name}.json"
    previous = json.loads(path.read_text()) if path.is_file() else {}
    return write_result(name, {**previous, **payload})


def write_result(name: str, payload: dict[str, Any]) -> Path:
    RESULTS.mkdir(parents=True, exist_ok=True)
    path = RESULTS / f"{name}.json"
    path.write_text(json.dumps(payload, indent=2) + "\n")
    return path
