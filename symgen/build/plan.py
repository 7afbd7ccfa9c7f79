"""How a build's budget is split between its stages: pure functions, printed before anything runs.

The split is recomputed at the start of each stage from what is left, so time one stage does not
use (a question source that runs dry, training that reaches its step cap) goes to the stages
after it, and a resumed build continues with the time it has left, not a fresh budget.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass

from symgen.build.recipe import Recipe, Stage
from symgen.errors import SymgenError

_BUDGET = re.compile(r"^\s*(?:(\d+(?:\.\d+)?)\s*h)?\s*(?:(\d+(?:\.\d+)?)\s*m(?:in)?)?\s*$")


def parse_budget(text: str) -> float:
    """Minutes in `2h`, `90m`, `1h30m`, `1.5h` or a bare number of minutes (`45`)."""
    text = text.strip().lower()
    try:
        minutes = float(text)
    except ValueError:
        match = _BUDGET.match(text)
        if not text or not match or not any(match.groups()):
            raise SymgenError(
                f"--budget {text!r}: give minutes (45), or hours and minutes (2h, 1h30m, 90m)"
            ) from None
        minutes = 60 * float(match.group(1) or 0) + float(match.group(2) or 0)
    if minutes <= 0:
        raise SymgenError(f"--budget {text!r} must be more than nothing")
    return minutes


class BudgetTooSmall(SymgenError):
    """The budget cannot give every stage its minimum; the message says what it can do."""


@dataclass(frozen=True)
class Allotment:
    stage: Stage
    minutes: float


def minimum_budget(recipe: Recipe) -> float:
    """The smallest budget in which every shared stage gets its `min_minutes`."""
    fixed = sum(s.minutes for s in recipe.stages)
    total_share = sum(s.share for s in recipe.stages)
    need = max(
        (s.min_minutes / (s.share / total_share) for s in recipe.stages if s.share), default=0
    )
    return round(fixed + need, 1)


def allot(
    recipe: Recipe, budget: float, used: Mapping[str, float], done: set[str]
) -> list[Allotment]:
    """Minutes for every stage not yet done: fixed stages their estimate, shared stages their
    share of what is left after the fixed ones. `used` is the minutes each stage has spent so far
    (a stage interrupted half-way keeps what it used and gets the rest of its part)."""
    left = budget - sum(used.values())
    todo = [s for s in recipe.stages if s.name not in done]
    fixed = sum(max(0.0, s.minutes - used.get(s.name, 0.0)) for s in todo if not s.share)
    shared = [s for s in todo if s.share]
    total_share = sum(s.share for s in shared)
    flexible = max(0.0, left - fixed)
    out = []
    for s in todo:
        if s.share:
            out.append(Allotment(s, flexible * s.share / total_share))
        else:
            out.append(Allotment(s, max(0.0, s.minutes - used.get(s.name, 0.0))))
    return out


def check_budget(recipe: Recipe, budget: float) -> None:
    """Refuse a budget too small for the recipe, saying what fits in it instead."""
    need = minimum_budget(recipe)
    if budget >= need:
        return
    generate = [s for s in recipe.stages if s.run == "generate"]
    first = generate[0].name if generate else "generate"
    raise BudgetTooSmall(
        f"a budget of {budget:g} min is too small for {recipe.path.name}: it needs at least "
        f"{need:g} min ("
        + ", ".join(
            f"{s.name} >= {s.min_minutes:g} min" if s.share else f"{s.name} ~{s.minutes:g} min"
            for s in recipe.stages
            if s.share == 0 or s.min_minutes
        )
        + f"). In {budget:g} min you can generate verified pairs alone "
        f"(`symgen generate --max-minutes {budget:g}`, the {first!r} stage) and build later, "
        f"or give --budget {need:g}m or more"
    )


def format_plan(
    recipe: Recipe, budget: float, allotments: list[Allotment], used: Mapping[str, float]
) -> str:
    """The plan as printed at the start (and by --dry-run)."""
    lines = [f"plan ({recipe.path.name}, budget {format_minutes(budget)}):"]
    for i, a in enumerate(allotments, 1):
        s = a.stage
        what = f"{s.share:.0%} of the budget" if s.share else "fixed estimate"
        spent = f", {used[s.name]:.1f} min spent" if used.get(s.name) else ""
        lines.append(
            f"  {i}. {s.name:<12} {s.run:<9} {a.minutes:6.1f} min  ({what}{spent}){describe(s)}"
        )
    return "\n".join(lines)


def describe(stage: Stage) -> str:
    o = stage.options
    if stage.run == "generate":
        src = o.get("source", "llm")
        extra = f" of {'+'.join(o['paraphrase'])}" if src == "paraphrases" else ""
        return f"  {src}{extra}, up to {o.get('questions', 100)} questions"
    if stage.run == "train":
        return f"  {o.get('arch', 'tiny')}, up to {o.get('max_steps', '?')} steps"
    if stage.run == "augment":
        return f"  {o.get('per_pair', 4)} swaps per pair"
    return ""


def format_minutes(minutes: float) -> str:
    h, m = divmod(round(minutes), 60)
    return f"{h}h{m:02d}m" if h else f"{m}m"
