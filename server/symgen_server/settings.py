"""Typed server settings with defaults, read from initializationOptions / didChangeConfiguration.

A bad value never crashes the server: it is reported (returned as a message for the user) and
ignored, so the setting keeps its previous value (the default at start): a `model: 12` typed over
a working model leaves that model on.
"""

from __future__ import annotations

from dataclasses import dataclass, field, fields, replace
from typing import Any

from symgen.config import GROUNDING

ALIASES = {  # camelCase (editor settings) -> field name
    "model": "model",
    "modelPath": "model",
    "bashModel": "bash_model",
    "pythonModel": "python_model",
    "database": "database",
    "db": "database",
    "commentPrefixes": "comment_prefixes",
    "maxTokens": "max_tokens",
    "beamSize": "beam_size",
    "executionGuided": "execution_guided",
    "groundLiterals": "ground_literals",
    "debounceMs": "debounce_ms",
    "enabled": "enabled",
    "format": "format",
    "threads": "threads",
    "generator": "generator",
    "generateQuestions": "generate_questions",
    "samples": "samples",
    "minVotes": "min_votes",
    "trainMinutes": "train_minutes",
    "arch": "arch",
}


@dataclass(frozen=True)
class Settings:
    model: str = ""  # exported SQL model dir; "" = newest under <workspace>/.symgen/models/
    # the models for `# ...` comments in .sh / .py files; "" = the newest of that task there
    bash_model: str = ""
    python_model: str = ""
    # SQLite/DuckDB file or postgresql:// URL; "" = the database the model was trained on
    database: str = ""
    # Comments must start with one of these markers (after `--`/`#`) to be read as a request;
    # empty = every comment directly above the cursor is one.
    comment_prefixes: tuple[str, ...] = ()
    max_tokens: int = 160
    beam_size: int = 4
    # prefer the first valid beam that returns rows (read-only, 0.5 s per candidate). Off by
    # default: on nine models it never gained beyond seed noise and always cost p95 (README)
    execution_guided: bool = False
    # quoted values in the SQL must occur in the comment: "prefer" re-ranks beams and masks
    # decoding only when no beam is grounded (default), "constrain" always masks decoding to
    # them, "off" neither (symgen.engine.grounding; README numbers)
    ground_literals: str = "prefer"
    debounce_ms: int = 0
    enabled: bool = True
    format: str = "oneline"  # or "pretty" (sqlglot's multi-line layout)
    threads: int = 1  # onnxruntime intra-op threads: 1 measured faster than 2 (p95 63 vs 83 ms)
    # generateFromSelection / train jobs
    generator: str = ""  # registry name, gguf:PATH or openai:URL; "" = the registry default
    generate_questions: int = 50
    samples: int = 8
    min_votes: str = "3"
    train_minutes: int = 10
    arch: str = "tiny"
    extra: dict[str, Any] = field(default_factory=dict, compare=False)

    def code_model(self, task: str) -> str:
        """The `<task>Model` setting (`bashModel`, `pythonModel`): one per code task."""
        value: str = getattr(self, f"{task}_model")
        return value


_MAX_EXTRA = 100  # unknown keys kept (a client sending ever new ones cannot grow them forever)
_LIMITS: dict[str, tuple[int, int]] = {
    "max_tokens": (1, 1024),
    "beam_size": (1, 16),
    "debounce_ms": (0, 5000),
    "threads": (1, 64),
    "generate_questions": (1, 100_000),
    "samples": (1, 64),
    "train_minutes": (1, 24 * 60),
}


def _check(name: str, value: Any) -> Any:
    """The validated value, or raise ValueError saying what was expected."""
    default = getattr(Settings(), name)
    if name == "comment_prefixes":
        if isinstance(value, str):
            value = [value]
        if not isinstance(value, list) or not all(isinstance(v, str) for v in value):
            raise ValueError("expected a list of strings")
        return tuple(v for v in value if v.strip())
    if name == "format":
        if value not in ("oneline", "pretty"):
            raise ValueError('expected "oneline" or "pretty"')
        return value
    if name == "ground_literals":
        if value not in GROUNDING:
            raise ValueError("expected " + " or ".join(f'"{g}"' for g in GROUNDING))
        return value
    if isinstance(default, bool):
        if not isinstance(value, bool):
            raise ValueError("expected true or false")
        return value
    if isinstance(default, int):
        if isinstance(value, bool) or not isinstance(value, (int, float)) or int(value) != value:
            raise ValueError("expected an integer")
        lo, hi = _LIMITS[name]
        if not lo <= value <= hi:
            raise ValueError(f"expected {lo}..{hi}")
        return int(value)
    if isinstance(value, (int, float)) and name == "min_votes" and not isinstance(value, bool):
        value = str(value)
    if not isinstance(value, str):
        raise ValueError("expected a string")
    if name == "min_votes":
        from symgen.verify import MinVotes

        MinVotes.parse(value)  # raises ValueError with the reason
    return value


def parse_settings(raw: Any, base: Settings | None = None) -> tuple[Settings, list[str]]:
    """Merge `raw` (a dict, possibly nested under "symgen") over `base`; return problems too."""
    base = base or Settings()
    if raw is None:
        return base, []
    if isinstance(raw, dict) and isinstance(raw.get("symgen"), dict):
        raw = raw["symgen"]
    if not isinstance(raw, dict):
        return base, [
            f"SymGen: settings must be an object, got {type(raw).__name__}; keeping the current ones"
        ]
    known = {f.name for f in fields(Settings)}
    changes: dict[str, Any] = {}
    problems: list[str] = []
    extra = dict(base.extra)
    for key, value in raw.items():
        name = ALIASES.get(key, key if key in known else "")
        if not name or name == "extra":
            if key in extra or len(extra) < _MAX_EXTRA:
                extra[key] = value
            continue
        try:
            changes[name] = _check(name, value)
        except (ValueError, TypeError, OverflowError) as exc:
            problems.append(
                f"SymGen: setting {key}={_shown(value)} ignored: {exc}; "
                f"keeping {getattr(base, name)!r}"
            )
    return replace(base, **changes, extra=extra), problems


def _shown(value: Any) -> str:
    """The bad value as the user wrote it, cut short (a pasted blob stays readable)."""
    text = repr(value)
    return text if len(text) <= 80 else text[:77] + "..."
