"""`symgen` CLI: error paths (clear message, exit code, nothing written) and `verify`."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from symgen.cli import main
from symgen.dataset import read_jsonl, write_jsonl


def run(capsys: pytest.CaptureFixture[str], *argv: str) -> tuple[int, str, str]:
    code = main(list(argv))
    out, err = capsys.readouterr()
    return code, out, err


def gen_args(db: Path, seeds: Path, out: Path, *extra: str) -> list[str]:
    return [
        "generate",
        "--db",
        str(db),
        "--seeds",
        str(seeds),
        "--out",
        str(out),
        "--quiet",
        *extra,
    ]


def test_malformed_seeds_exit_2_and_write_nothing(
    capsys: pytest.CaptureFixture[str], geo_db: Path, tmp_path: Path
) -> None:
    seeds = tmp_path / "seeds.jsonl"
    seeds.write_text('{"question": "rivers in texas", "query": "SELECT 1"}\n{oops\n')
    out = tmp_path / "out" / "pairs.jsonl"
    code, _, err = run(capsys, *gen_args(geo_db, seeds, out))
    assert code == 2 and "seeds.jsonl:2: not valid JSON" in err
    assert not out.parent.exists()


def test_missing_and_bad_database(
    capsys: pytest.CaptureFixture[str], geo_dir: Path, tmp_path: Path
) -> None:
    seeds = geo_dir / "seed_10.jsonl"
    code, _, err = run(capsys, *gen_args(tmp_path / "none.sqlite", seeds, tmp_path / "o.jsonl"))
    assert code == 3 and "none.sqlite: database not found" in err
    junk = tmp_path / "junk.db"
    junk.write_bytes(b"\x00" * 100)
    code, _, err = run(capsys, *gen_args(junk, seeds, tmp_path / "o.jsonl"))
    assert code == 2 and "not a SQLite database" in err
    assert list(tmp_path.glob("o*")) == []


def test_seeds_that_do_not_run_are_listed(
    capsys: pytest.CaptureFixture[str], geo_db: Path, tmp_path: Path
) -> None:
    seeds = tmp_path / "seeds.jsonl"
    seeds.write_text(
        json.dumps(
            {
                "question": "texas rivers",
                "query": "SELECT river_name FROM river WHERE traverse='texas';",
            }
        )
        + "\n"
        + json.dumps({"question": "broken one", "query": "SELECT nope FROM nowhere;"})
        + "\n"
        + json.dumps({"question": "evil one", "query": "DROP TABLE state;"})
        + "\n"
    )
    # --questions 0: everything up to the generator runs, no model is loaded
    code, _, err = run(capsys, *gen_args(geo_db, seeds, tmp_path / "o.jsonl", "--questions", "0"))
    assert code == 0
    assert "seed seeds.jsonl:2 skipped" in err and "no such table: nowhere" in err
    assert "seed seeds.jsonl:3 skipped" in err and "not_read_only" in err
    bad_only = tmp_path / "bad.jsonl"
    bad_only.write_text(
        json.dumps({"question": "broken", "query": "SELECT nope FROM nowhere"}) + "\n"
    )
    code, _, err = run(capsys, *gen_args(geo_db, bad_only, tmp_path / "p.jsonl"))
    assert code == 2 and "none of the 1 seeds runs" in err


def test_bad_option_values(
    capsys: pytest.CaptureFixture[str], geo_db: Path, geo_dir: Path, tmp_path: Path
) -> None:
    code, _, err = run(
        capsys,
        *gen_args(geo_db, geo_dir / "seed_10.jsonl", tmp_path / "o.jsonl", "--min-votes", "1.5"),
    )
    assert code == 2 and "min votes" in err
    code, _, err = run(
        capsys,
        *gen_args(geo_db, geo_dir / "seed_10.jsonl", tmp_path / "o.jsonl", "--generator", "nope"),
    )
    assert code == 2 and "unknown generator 'nope'" in err


@pytest.mark.parametrize("task", ["bash", "python"])
def test_program_first_questions_are_sql_only(
    capsys: pytest.CaptureFixture[str], geo_dir: Path, tmp_path: Path, task: str
) -> None:
    out = tmp_path / "o.jsonl"
    code, _, err = run(
        capsys,
        "generate",
        "--task",
        task,
        "--seeds",
        str(geo_dir / "seed_10.jsonl"),
        "--out",
        str(out),
        "--questions-from",
        "programs",
        "--quiet",
    )
    assert code == 2 and "--questions-from programs is for --task sql only" in err
    assert list(tmp_path.iterdir()) == []


@pytest.mark.parametrize(
    "extra", [("--questions-from", "programs"), ("--task", "bash"), ("--task", "python")]
)
def test_reviewer_is_for_sql_llm_questions(
    capsys: pytest.CaptureFixture[str], geo_db: Path, geo_dir: Path, tmp_path: Path, extra: tuple
) -> None:  # type: ignore[type-arg]
    """`lab generate --reviewer` where it does not apply is refused before any model loads; nothing written."""
    out = tmp_path / "o.jsonl"
    argv = gen_args(geo_db, geo_dir / "seed_10.jsonl", out, "--reviewer", *extra)
    code, _, err = run(capsys, "lab", *argv)
    assert code == 2 and "--reviewer is for --task sql with LLM questions" in err
    assert not list(tmp_path.glob("o.*"))


@pytest.mark.parametrize(
    ("task", "share"), [("sql", "0.5"), ("bash", "0.5"), ("python", "1.5"), ("python", "-1")]
)
def test_expected_outputs_is_a_share_for_python(
    capsys: pytest.CaptureFixture[str],
    geo_db: Path,
    geo_dir: Path,
    tmp_path: Path,
    task: str,
    share: str,
) -> None:
    """--expected-outputs where it does not apply, or out of [0, 1]: refused, nothing written."""
    out = tmp_path / "o.jsonl"
    argv = ["--task", task, "--expected-outputs", share]
    code, _, err = run(capsys, *gen_args(geo_db, geo_dir / "seed_10.jsonl", out, *argv))
    assert code == 2 and "--expected-outputs is a share in [0, 1], for --task python" in err
    assert not list(tmp_path.glob("o.*"))


def test_reviewer_needs_a_generator_that_scores(
    capsys: pytest.CaptureFixture[str], geo_db: Path, geo_dir: Path, tmp_path: Path
) -> None:
    """An OpenAI-compatible endpoint cannot read text back: refused when the job starts, before
    gen-q asks it anything (the port is closed, so asking would fail differently)."""
    out = tmp_path / "o.jsonl"
    argv = ["--reviewer", "--generator", "openai:http://127.0.0.1:9"]
    code, _, err = run(capsys, "lab", *gen_args(geo_db, geo_dir / "seed_10.jsonl", out, *argv))
    assert code == 2 and "cannot score text" in err, err
    assert not list(tmp_path.glob("o.*"))


def test_program_templates_are_checked(
    capsys: pytest.CaptureFixture[str], geo_db: Path, geo_dir: Path, tmp_path: Path
) -> None:
    seeds, out = geo_dir / "seed_10.jsonl", tmp_path / "o.jsonl"
    code, _, err = run(capsys, *gen_args(geo_db, seeds, out, "--templates", "nested"))
    assert code == 2 and "--templates is for --questions-from programs" in err
    code, _, err = run(
        capsys,
        *gen_args(geo_db, seeds, out, "--questions-from", "programs", "--templates", "nested,x"),
    )
    assert code == 2 and "unknown templates ['x']; choose from lookup, attribute, filter" in err
    assert list(tmp_path.iterdir()) == [geo_db]


def test_verify_command(capsys: pytest.CaptureFixture[str], geo_db: Path, tmp_path: Path) -> None:
    cands = tmp_path / "cands.jsonl"
    rows = [
        {
            "question": "rivers in texas",
            "candidates": [
                {"query": "SELECT river_name FROM river WHERE traverse='texas'", "logprob": -0.2},
                {
                    "query": "select river.river_name from river where river.traverse = 'texas'",
                    "logprob": -0.1,
                },
                {"query": "DROP TABLE river", "logprob": -0.01},
            ],
        },
        {
            "question": "no agreement",
            "candidates": [
                {"query": "SELECT 1", "logprob": -1},
                {"query": "SELECT 2", "logprob": -1},
            ],
        },
    ]
    cands.write_text("".join(json.dumps(r) + "\n" for r in rows))
    out = tmp_path / "kept.jsonl"
    code, stdout, _ = run(
        capsys,
        "verify",
        "--db",
        str(geo_db),
        "--candidates",
        str(cands),
        "--out",
        str(out),
        "--min-votes",
        "2",
    )
    assert code == 0 and "1 of 2 questions kept" in stdout
    kept = [json.loads(line) for line in out.read_text().splitlines()]
    assert len(kept) == 1 and kept[0]["votes"] == 2 and kept[0]["failures"] == {"not_read_only": 1}
    assert kept[0]["query"] == "select river.river_name from river where river.traverse = 'texas'"
    cands.write_text('{"question": "q", "candidates": "SELECT 1"}\n')
    code, _, err = run(
        capsys, "verify", "--db", str(geo_db), "--candidates", str(cands), "--out", str(out)
    )
    assert code == 2 and "'candidates' must be a list" in err


def test_verify_refuses_unstated_numbers_but_keeps_the_seeds_conventions(
    capsys: pytest.CaptureFixture[str], geo_db: Path, geo_dir: Path, tmp_path: Path
) -> None:
    """Both questions' candidates agree; "major" means 150000 in the seeds (kept with --seeds),
    while the capital question never asks for an area (refused either way)."""
    major = (
        "SELECT city.city_name FROM city WHERE city.state_name='texas' AND city.population>150000"
    )
    smuggled = (
        "SELECT state.capital FROM state WHERE state.state_name='wisconsin' AND state.area<70000"
    )
    cands = tmp_path / "cands.jsonl"
    write_jsonl(
        cands,
        [
            {"question": q, "candidates": [{"query": sql, "logprob": -0.1}] * 2}
            for q, sql in [
                ("what are the major cities in texas", major),
                ("what is the capital of wisconsin", smuggled),
            ]
        ],
    )
    out = tmp_path / "kept.jsonl"
    args = ["verify", "--db", str(geo_db), "--candidates", str(cands), "--out", str(out)]
    args += ["--min-votes", "2"]
    code, stdout, _ = run(capsys, *args, "--seeds", str(geo_dir / "seed_10.jsonl"))
    assert code == 0 and "1 of 2 questions kept" in stdout and "1 agreed but refused" in stdout
    assert [r["query"] for r in read_jsonl(out)] == [major]
    code, stdout, _ = run(capsys, *args)  # no seeds: no conventions, so "major" is unstated
    assert code == 0 and "0 of 2 questions kept" in stdout and "2 agreed but refused" in stdout


@pytest.mark.parametrize(
    ("task", "programs", "reviewer", "defaults"),
    [
        ("sql", False, False, (8, "3")),
        ("sql", True, False, (4, "1")),  # program-first: checked against the program
        ("sql", False, True, (8, "2")),
        ("bash", False, False, (8, "3")),
        ("python", False, False, (4, "all")),  # every sample agrees (benchmarks/python_verifier)
    ],
)
def test_vote_defaults(
    task: str, programs: bool, reviewer: bool, defaults: tuple[int, str]
) -> None:
    from symgen.config import vote_defaults
    from symgen.verify import MinVotes

    assert vote_defaults(task, programs, reviewer) == defaults
    MinVotes.parse(defaults[1])  # every default parses
