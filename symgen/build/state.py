"""`DIR/build.json`: what a build is (its identity) and how far it got, stage by stage.

Written after every stage (and on an interrupt) so a rerun skips finished stages, gives an
interrupted one the rest of its time, and refuses to mix two different builds in one DIR.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from symgen.errors import SymgenError


@dataclass
class BuildState:
    path: Path
    identity: dict[str, Any]
    stages: dict[str, dict[str, Any]] = field(default_factory=dict)

    @classmethod
    def open(cls, path: Path, identity: dict[str, Any]) -> BuildState:
        """The build in `path`, or a new one; a different build there is an error (nothing is
        overwritten)."""
        if not path.is_file():
            return cls(path, identity)
        try:
            data = json.loads(path.read_text())
        except ValueError as exc:
            raise SymgenError(
                f"{path}: not a build record ({exc}); move it away to start anew"
            ) from exc
        before = data.get("identity", {})
        changed = sorted(k for k in set(before) | set(identity) if before.get(k) != identity.get(k))
        if changed:
            what = "; ".join(
                f"{k}: {before.get(k)!r} then, {identity.get(k)!r} now" for k in changed
            )
            raise SymgenError(
                f"{path.parent} holds another build ({what}); use a new --out, or rerun with the "
                "same arguments to resume it"
            )
        return cls(path, identity, data.get("stages", {}))

    @property
    def done(self) -> set[str]:
        return {name for name, s in self.stages.items() if s.get("done")}

    @property
    def used(self) -> dict[str, float]:
        return {name: float(s.get("minutes", 0.0)) for name, s in self.stages.items()}

    def record(self, name: str, minutes: float, done: bool, **result: Any) -> None:
        entry = self.stages.setdefault(name, {})
        entry.update(result, minutes=round(entry.get("minutes", 0.0) + minutes, 2), done=done)
        self.save()

    def save(self) -> None:
        self.path.parent.mkdir(parents=True, exist_ok=True)
        tmp = self.path.with_suffix(".json.tmp")
        tmp.write_text(json.dumps({"identity": self.identity, "stages": self.stages}, indent=2))
        tmp.replace(self.path)
