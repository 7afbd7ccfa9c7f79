"""Benchmark recipes (`--recipe FILE.toml`, benchmarks/recipes/) and the report tables the
scripts write from their results JSON (between `<!-- table:NAME -->` and `<!-- /table -->`).

Nothing here runs a benchmark: parsers are built, recipes read, reports compared.
"""

from __future__ import annotations

import argparse
import shlex
from collections.abc import Callable
from pathlib import Path

import pytest

from benchmarks import (
    arch,
    augment,
    code_tasks,
    db_engines,
    drafting,
    graphs,
    paper,
    pipeline,
    program_yield,
    reviewer,
    spider,
    throughput,
    unseen,
    variance,
)
from benchmarks.common import (
    RECIPES,
    ReportTable,
    add_member_arg,
    add_recipe_arg,
    add_report_arg,
    command_line,
    load_recipe,
    parse_args,
    report_block,
    update_report,
)

# Scripts that take --recipe: a recipe file is named after its script (`paper_1.5b.toml`).
PARSERS: dict[str, Callable[[], argparse.ArgumentParser]] = {
    "code_tasks": code_tasks.build_parser,
    "paper": paper.build_parser,
    "spider": spider.build_parser,
    "throughput": throughput.build_parser,
}
RECIPE_FILES = sorted(RECIPES.glob("*.toml"))
# Scripts that write report tables from their results JSON.
REPORTING: list[Callable[[], list[ReportTable]]] = [
    arch.report_tables,
    augment.report_tables,
    code_tasks.report_tables,
    db_engines.report_tables,
    drafting.report_tables,
    graphs.report_tables,
    paper.report_tables,
    pipeline.report_tables,
    program_yield.report_tables,
    reviewer.report_tables,
    spider.report_tables,
    throughput.report_tables,
    unseen.report_tables,
    variance.report_tables,
]


def script_of(recipe: Path) -> str:
    names = [m for m in PARSERS if recipe.stem == m or recipe.stem.startswith(m + "_")]
    assert names, f"{recipe.name}: no script {sorted(PARSERS)} is named by its prefix"
    return max(names, key=len)


def test_there_are_recipes() -> None:
    assert {script_of(r) for r in RECIPE_FILES} >= {"paper", "code_tasks"}


@pytest.mark.parametrize("recipe", RECIPE_FILES, ids=lambda p: p.name)
def test_every_recipe_parses_as_options_of_its_script(recipe: Path) -> None:
    parser = PARSERS[script_of(recipe)]
    assert recipe.read_text().startswith("# "), "a recipe opens with what it reproduces"
    options = load_recipe(parser(), recipe)  # every key an option of the parser, or an error
    args = parse_args(parser(), ["--recipe", str(recipe)])
    assert options
    for name, (value, _source) in options.items():
        assert getattr(args, name) == value or str(getattr(args, name)) == str(value), name


@pytest.mark.parametrize("recipe", RECIPE_FILES, ids=lambda p: p.name)
def test_the_recorded_command_reruns_a_recipe_without_the_file(recipe: Path) -> None:
    parser = PARSERS[script_of(recipe)]
    args = parse_args(parser(), ["--recipe", str(recipe)])
    recorded = shlex.split(command_line(f"benchmarks.{script_of(recipe)}", args))
    again = vars(parser().parse_args(recorded[3:]))
    assert again | {"recipe": args.recipe} == vars(args)


def write(path: Path, text: str) -> Path:
    path.write_text(text)
    return path


def test_explicit_flags_override_the_recipe(tmp_path: Path) -> None:
    recipe = write(
        tmp_path / "r.toml",
        '# test\nmax-steps = 100\nheld_out_train = true\nrows = "task_seeds_only"\nseed = 3\n',
    )
    args = parse_args(
        paper.build_parser(),
        ["--recipe", str(recipe), "--max-steps", "7", "--no-held-out-train", "--seed=5"],
    )
    assert (args.max_steps, args.held_out_train, args.seed) == (7, False, 5)
    assert args.rows == "task_seeds_only"  # not given: the recipe's
    assert args.min_steps == 400  # in neither: the parser's default


def test_a_repeatable_option_given_replaces_the_recipes_list(tmp_path: Path) -> None:
    ap = argparse.ArgumentParser()
    add_recipe_arg(ap)
    add_member_arg(ap)  # required, extend: the recipe may supply it
    recipe = write(tmp_path / "r.toml", 'member = ["s0=a", "s1=b"]\n')
    assert parse_args(ap, ["--recipe", str(recipe)]).member == ["s0=a", "s1=b"]
    assert parse_args(ap, ["--recipe", str(recipe), "--member", "s2=c"]).member == ["s2=c"]


def test_an_unknown_key_is_an_error_naming_key_and_file(tmp_path: Path) -> None:
    recipe = write(tmp_path / "typo.toml", "max-stepz = 100\n")
    with pytest.raises(SystemExit, match=r"typo\.toml: unknown key 'max-stepz'"):
        parse_args(paper.build_parser(), ["--recipe", str(recipe)])


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("flip = 1\n", "'flip' takes true or false"),
        ("seed = true\n", "'seed' takes a value"),
        ("[seed]\nx = 1\n", "is a table"),
        ("seed = \n", "not valid TOML"),
    ],
)
def test_a_bad_value_is_an_error_naming_the_file(tmp_path: Path, text: str, message: str) -> None:
    recipe = write(tmp_path / "bad.toml", text)
    with pytest.raises(SystemExit, match=message) as err:
        parse_args(paper.build_parser(), ["--recipe", str(recipe)])
    assert "bad.toml" in str(err.value)


def test_values_are_checked_as_typed_ones(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    recipe = write(tmp_path / "r.toml", 'decode = "sideways"\n')
    with pytest.raises(SystemExit):
        parse_args(paper.build_parser(), ["--recipe", str(recipe)])
    assert "--decode: invalid choice: 'sideways'" in capsys.readouterr().err


def test_a_recipe_starts_from_another_and_overrides_it(tmp_path: Path) -> None:
    write(tmp_path / "base.toml", 'seed = 1\narch = "mini"\n')
    child = write(tmp_path / "child.toml", 'recipe = "base.toml"\nseed = 2\n')
    args = parse_args(paper.build_parser(), ["--recipe", str(child)])
    assert (args.seed, args.arch) == (2, "mini")
    write(tmp_path / "base.toml", 'recipe = "child.toml"\n')
    with pytest.raises(SystemExit, match="recipes include each other"):
        parse_args(paper.build_parser(), ["--recipe", str(child)])


def test_report_only_needs_no_other_option() -> None:
    ap = argparse.ArgumentParser()
    add_report_arg(ap, "a report")
    add_member_arg(ap)  # required, but not for --report-only
    assert parse_args(ap, ["--report-only"]) == argparse.Namespace(report_only=True)
    assert parse_args(ap, ["--member", "s0=a"]).report_only is False


def test_update_report_replaces_only_between_the_markers(tmp_path: Path) -> None:
    report = write(
        tmp_path / "r.md",
        "prose before\n\n<!-- table:x -->\n\n| old |\n\n<!-- /table -->\n\nprose after\n",
    )
    assert update_report(report, "x", "| new |\n|---|")
    assert report.read_text() == (
        "prose before\n\n<!-- table:x -->\n\n| new |\n|---|\n\n<!-- /table -->\n\nprose after\n"
    )
    assert not update_report(report, "x", "| new |\n|---|")  # unchanged: not rewritten
    with pytest.raises(SystemExit, match="table:y"):
        update_report(report, "y", "| new |")


@pytest.mark.parametrize("tables", REPORTING, ids=lambda f: f.__module__.split(".")[-1])
def test_report_tables_match_the_results_json(tables: Callable[[], list[ReportTable]]) -> None:
    """Each table a report shows between markers is what its script makes from the results
    JSON (`--report-only` rewrites it): the reports and the results do not drift apart."""
    for path, name, make in tables():
        assert report_block(path, name) == make().strip(), f"{path.name} table:{name}"
