"""A build recipe: the stages `symgen build` runs, each with its options and its part of the budget.

A recipe is a TOML file so that the measured default can be read, copied and changed without
touching code (the shipped ones are in `symgen/build/recipes/`). Every key is checked when the
file is read, so a typo fails before any model is loaded, naming the file, the stage and the key.
"""

from __future__ import annotations

import hashlib
import sys
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from symgen.errors import MissingResource, SymgenError

if sys.version_info >= (3, 11):
    import tomllib
else:  # pragma: no cover - Python 3.10
    import tomli as tomllib

RECIPES = Path(__file__).resolve().parent / "recipes"

# What each kind of stage accepts besides name/run/share/minutes/min_minutes (and their types).
OPTIONS: dict[str, dict[str, type | tuple[type, ...]]] = {
    "generate": {
        "source": str,
        "questions": int,
        "templates": list,
        "samples": int,
        "min_votes": (str, int),
        "round_size": int,
        "max_tokens": int,
        "paraphrase": list,  # the stages whose pairs are reworded (and "seeds")
        "probe": int,  # the first N questions must keep a pair, else the build stops
    },
    "augment": {"per_pair": int},
    "train": {
        "arch": str,
        "epochs": int,
        "max_steps": int,
        "min_steps": int,
        "seed": int,
        "ema_decay": float,
    },
    "export": {"int8": bool},
    "evaluate": {"beams": int, "decode": str},
}
SOURCES = ("llm", "programs", "paraphrases")


@dataclass(frozen=True)
class Stage:
    name: str
    run: str  # one of OPTIONS
    share: float = 0.0  # part of the budget left after the fixed stages
    minutes: float = 0.0  # a fixed estimate (stages that take what they take)
    min_minutes: float = 0.0  # below this the stage is not worth running
    options: dict[str, Any] = field(default_factory=dict)

    def opt(self, key: str, default: Any = None) -> Any:
        return self.options.get(key, default)


@dataclass(frozen=True)
class HoldOut:
    """Verified pairs kept out of training so the report can say how good the model is."""

    share: float = 0.1
    max: int = 60
    min_pairs: int = 40  # with fewer verified pairs nothing is held back (all go to training)


@dataclass(frozen=True)
class Recipe:
    path: Path
    task: str
    description: str
    stages: tuple[Stage, ...]
    hold_out: HoldOut
    sha: str

    def stage(self, name: str) -> Stage:
        for s in self.stages:
            if s.name == name:
                return s
        raise KeyError(name)


def default_recipe(task: str = "sql") -> Path:
    return RECIPES / f"{task}.toml"


def load_recipe(path: str | Path) -> Recipe:
    path = Path(path)
    if not path.is_file():
        shipped = ", ".join(sorted(p.name for p in RECIPES.glob("*.toml")))
        raise MissingResource(
            f"recipe {path} not found; the shipped ones are in {RECIPES} ({shipped})"
        )
    raw = path.read_bytes()
    try:
        data = tomllib.loads(raw.decode("utf-8"))
    except (tomllib.TOMLDecodeError, UnicodeDecodeError) as exc:
        raise SymgenError(f"{path}: not a TOML file: {exc}") from exc
    return parse_recipe(data, path, hashlib.sha256(raw).hexdigest())


def parse_recipe(data: dict[str, Any], path: Path, sha: str = "") -> Recipe:
    """The recipe in `data` (a parsed TOML table), or an error naming what is wrong."""
    where = str(path)
    unknown = set(data) - {"task", "description", "stages", "hold_out"}
    if unknown:
        raise SymgenError(f"{where}: unknown top-level key(s) {', '.join(sorted(unknown))}")
    task = str(data.get("task", "sql"))
    shipped = sorted(p.stem for p in RECIPES.glob("*.toml"))
    if task not in shipped:  # the stages are the ones a shipped recipe of that task runs
        raise SymgenError(
            f"{where}: task {task!r}: `symgen build` has recipes for {', '.join(shipped)} only"
        )
    raw_stages = data.get("stages")
    if not isinstance(raw_stages, list) or not raw_stages:
        raise SymgenError(f"{where}: no [[stages]]")
    stages = [_stage(s, i, where) for i, s in enumerate(raw_stages)]
    names = [s.name for s in stages]
    if len(set(names)) != len(names):
        raise SymgenError(f"{where}: stage names repeat: {names}")
    for s in stages:
        for src in s.opt("paraphrase", []):
            if src != "seeds" and src not in names[: names.index(s.name)]:
                raise SymgenError(
                    f"{where}: stage {s.name!r} paraphrases {src!r}, which is not an earlier stage"
                )
    runs = [s.run for s in stages]
    for needed in ("train", "export"):
        if needed not in runs:
            raise SymgenError(f"{where}: a recipe needs a {needed!r} stage")
    if not any(s.share > 0 for s in stages):
        raise SymgenError(f"{where}: no stage has a share of the budget")
    hold = data.get("hold_out", {})
    if not isinstance(hold, dict) or set(hold) - {"share", "max", "min_pairs"}:
        raise SymgenError(f"{where}: [hold_out] takes share, max and min_pairs")
    hold_out = HoldOut(**hold)
    if not 0 <= hold_out.share < 1:
        raise SymgenError(f"{where}: hold_out.share must be in [0, 1)")
    return Recipe(path, task, str(data.get("description", "")), tuple(stages), hold_out, sha)


def _stage(raw: Any, i: int, where: str) -> Stage:
    if not isinstance(raw, dict) or "name" not in raw or "run" not in raw:
        raise SymgenError(f"{where}: stage {i + 1} needs a name and a run")
    name, run = str(raw["name"]), str(raw["run"])
    if run not in OPTIONS:
        raise SymgenError(
            f"{where}: stage {name!r}: run {run!r} is not one of {', '.join(OPTIONS)}"
        )
    known = OPTIONS[run]
    options = {
        k: v for k, v in raw.items() if k not in ("name", "run", "share", "minutes", "min_minutes")
    }
    for key, value in options.items():
        if key not in known:
            raise SymgenError(
                f"{where}: stage {name!r} ({run}) has no option {key!r}; it takes "
                + ", ".join(sorted(known))
            )
        if not isinstance(value, known[key]) or isinstance(value, bool) != (known[key] is bool):
            raise SymgenError(f"{where}: stage {name!r}: {key} = {value!r} has the wrong type")
    if run == "generate" and options.get("source", "llm") not in SOURCES:
        raise SymgenError(f"{where}: stage {name!r}: source must be one of {', '.join(SOURCES)}")
    if (run == "generate" and options.get("source") == "paraphrases") != ("paraphrase" in options):
        raise SymgenError(
            f'{where}: stage {name!r}: source = "paraphrases" and paraphrase = [...] go together'
        )
    numbers = {k: float(raw.get(k, 0.0)) for k in ("share", "minutes", "min_minutes")}
    if any(v < 0 for v in numbers.values()):
        raise SymgenError(f"{where}: stage {name!r}: share and minutes cannot be negative")
    if numbers["share"] and numbers["minutes"]:
        raise SymgenError(f"{where}: stage {name!r}: give a share or fixed minutes, not both")
    return Stage(name, run, options=options, **numbers)
