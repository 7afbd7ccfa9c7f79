"""The build recipe's checks and the budget plan (pure logic)."""

from __future__ import annotations

from pathlib import Path

import pytest

from symgen.build.plan import (
    BudgetTooSmall,
    allot,
    check_budget,
    format_plan,
    minimum_budget,
    parse_budget,
)
from symgen.build.recipe import default_recipe, load_recipe, parse_recipe
from symgen.errors import SymgenError

BASE = """
[[stages]]
name = "gen-q"
run = "generate"
share = 0.5
min_minutes = 2

[[stages]]
name = "train"
run = "train"
share = 0.5
min_minutes = 2

[[stages]]
name = "export"
run = "export"
minutes = 1
"""


def write(tmp_path: Path, text: str) -> Path:
    path = tmp_path / "r.toml"
    path.write_text(text)
    return path


def test_the_shipped_recipe_loads_and_fits_the_demo_budget() -> None:
    recipe = load_recipe(default_recipe("sql"))
    assert [s.run for s in recipe.stages][-3:] == ["train", "export", "evaluate"]
    assert minimum_budget(recipe) <= 20  # the demo's budget
    check_budget(recipe, 20)


@pytest.mark.parametrize(
    ("text", "says"),
    [
        (BASE.replace("min_minutes = 2", "min_minute = 2", 1), "no option 'min_minute'"),
        (BASE.replace('run = "train"', 'run = "fit"'), "run 'fit' is not one of"),
        (BASE.replace('name = "train"', 'name = "gen-q"'), "stage names repeat"),
        (BASE.replace('run = "export"', 'run = "augment"'), "needs a 'export' stage"),
        (
            BASE
            + '\n[[stages]]\nname = "p"\nrun = "generate"\nsource = "paraphrases"\nminutes = 1\n',
            "go together",
        ),
        (
            BASE
            + '\n[[stages]]\nname = "p"\nrun = "generate"\nsource = "paraphrases"\nparaphrase = ["later"]\nminutes = 1\n',
            "not an earlier stage",
        ),
        (BASE + '\n[[stages]]\nname = "a"\nrun = "augment"\nper_pair = "eight"\n', "wrong type"),
        (BASE.replace("minutes = 1", "minutes = 1\nshare = 0.1"), "not both"),
        ("task = 'bash'\n" + BASE, "recipes for sql only"),
        ("[[stages]\n", "not a TOML file"),
    ],
)
def test_a_bad_recipe_names_its_fault(tmp_path: Path, text: str, says: str) -> None:
    with pytest.raises(SymgenError, match=says) as err:
        load_recipe(write(tmp_path, text))
    assert err.value.exit_code == 2


def test_a_missing_recipe_lists_the_shipped_ones(tmp_path: Path) -> None:
    with pytest.raises(SymgenError, match=r"sql\.toml") as err:
        load_recipe(tmp_path / "nope.toml")
    assert err.value.exit_code == 3


@pytest.mark.parametrize(
    ("text", "minutes"),
    [("45", 45), ("90m", 90), ("2h", 120), ("1h30m", 90), ("1.5h", 90), (" 20 min", 20)],
)
def test_budgets_read_as_people_write_them(text: str, minutes: float) -> None:
    assert parse_budget(text) == minutes


@pytest.mark.parametrize("text", ["", "soon", "0", "-5", "2d"])
def test_a_budget_that_is_not_one_is_refused(text: str) -> None:
    with pytest.raises(SymgenError, match="--budget"):
        parse_budget(text)


def test_shares_split_what_the_fixed_stages_leave(tmp_path: Path) -> None:
    recipe = load_recipe(write(tmp_path, BASE))
    plan = {a.stage.name: a.minutes for a in allot(recipe, 21, {}, set())}
    assert plan == {"gen-q": 10.0, "train": 10.0, "export": 1.0}
    assert "gen-q" in format_plan(recipe, 21, allot(recipe, 21, {}, set()), {})


def test_time_a_stage_left_goes_to_the_stages_after_it(tmp_path: Path) -> None:
    recipe = load_recipe(write(tmp_path, BASE))
    plan = allot(recipe, 21, {"gen-q": 4.0}, {"gen-q"})  # gen-q ran dry after 4 of its 10 min
    assert {a.stage.name: a.minutes for a in plan} == {"train": 16.0, "export": 1.0}


def test_a_budget_too_small_says_what_fits(tmp_path: Path) -> None:
    recipe = load_recipe(write(tmp_path, BASE))
    assert minimum_budget(recipe) == 5.0
    check_budget(recipe, 5.0)
    with pytest.raises(BudgetTooSmall, match=r"at least 5 min .*symgen generate --max-minutes 3"):
        check_budget(recipe, 3)


def test_hold_out_settings_are_checked(tmp_path: Path) -> None:
    with pytest.raises(SymgenError, match="hold_out"):
        load_recipe(write(tmp_path, "[hold_out]\nshare = 1.5\n" + BASE))
    with pytest.raises(SymgenError, match="hold_out"):
        load_recipe(write(tmp_path, "[hold_out]\nsize = 3\n" + BASE))
    with pytest.raises(SymgenError, match="no \\[\\[stages\\]\\]"):
        parse_recipe({"stages": []}, Path("x"))
