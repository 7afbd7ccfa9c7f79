"""`symgen build`'s refusals, each before a model is loaded: one line, an exit code, nothing lost."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from symgen.cli import main
from tests.conftest import FIXTURES

TINY = FIXTURES / "build" / "tiny.toml"
STAGES = ["gen-q", "programs", "paraphrases", "augment", "train", "export", "evaluate"]


def build(capsys: pytest.CaptureFixture[str], *argv: str) -> tuple[int, str]:
    code = main(["build", *argv, "--quiet", "--no-install"])
    return code, capsys.readouterr().err


@pytest.fixture()
def geo(geo_db: Path, geo_dir: Path, tmp_path: Path) -> list[str]:
    """--db, --seeds and --out of a GeoQuery build in a fresh directory (tmp/b)."""
    return [
        "--db",
        str(geo_db),
        "--seeds",
        str(geo_dir / "seed_10.jsonl"),
        "--out",
        str(tmp_path / "b"),
    ]


def seeds(path: Path, good: int, bad: int) -> Path:
    rows = [
        {"question": f"how many states {i}", "query": "SELECT COUNT(*) FROM state"}
        for i in range(good)
    ]
    rows += [{"question": f"broken {i}", "query": f"SELECT nope{i} FROM state"} for i in range(bad)]
    path.write_text("".join(json.dumps(r) + "\n" for r in rows))
    return path


def test_failing_seeds_are_listed_and_too_few_stop_the_build(
    capsys: pytest.CaptureFixture[str], geo: list[str], tmp_path: Path
) -> None:
    geo[3] = str(seeds(tmp_path / "s.jsonl", 2, 3))
    code, err = build(capsys, *geo)
    assert code == 2
    assert err.count("skipped, its SQL fails") == 3 and "nope0" in err
    assert "only 2 of 5 seeds run" in err and "at least 3" in err


def test_dry_run_prints_the_plan_and_writes_nothing(
    capsys: pytest.CaptureFixture[str], geo: list[str], tmp_path: Path
) -> None:
    code, err = build(capsys, *geo, "--budget", "2h", "--dry-run")
    assert code == 0, err
    assert "plan (sql.toml, budget 2h00m):" in err
    lines = [x for x in err.splitlines() if x.strip()[:2] in {f"{i}." for i in range(1, 8)}]
    assert [x.split()[1] for x in lines] == STAGES
    assert not (tmp_path / "b").exists()


def test_a_budget_too_small_says_what_it_can_do(
    capsys: pytest.CaptureFixture[str], geo: list[str]
) -> None:
    code, err = build(capsys, *geo, "--budget", "5m")
    assert code == 2
    assert "a budget of 5 min is too small for sql.toml: it needs at least" in err
    assert "symgen generate --max-minutes 5" in err
    code, err = build(capsys, *geo, "--budget", "soon")
    assert code == 2 and "--budget 'soon'" in err


def test_a_recipe_with_a_typo_names_the_stage_and_key(
    capsys: pytest.CaptureFixture[str], geo: list[str], tmp_path: Path
) -> None:
    bad = tmp_path / "r.toml"
    bad.write_text(TINY.read_text().replace("per_pair = 2", "per_pairs = 2"))
    code, err = build(capsys, *geo, "--recipe", str(bad))
    assert code == 2
    assert f"{bad}: stage 'augment' (augment) has no option 'per_pairs'; it takes per_pair" in err
