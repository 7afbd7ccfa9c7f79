"""Bad input at the command line: one `symgen: ...` line and exit 2 (or 3 when something is
missing), never a traceback, and nothing lost or half-written (tracker #58)."""

from __future__ import annotations

import json
import random
import re
import shlex
import shutil
import subprocess
import time
from pathlib import Path

import pytest

from symgen.cli import main
from symgen.dataset import read_jsonl, write_jsonl
from tests.conftest import FIXTURES, ROOT

BAD_INPUT = FIXTURES / "bad_input"
SYMGEN = ROOT / ".venv" / "bin" / "symgen"
BAD = ("missing", "dir", "empty", "garbage", "truncated")


def sweep_cases() -> list[tuple[str, str]]:
    """(wanted exit codes, command line) per line of sweep.txt."""
    cases = []
    for line in (BAD_INPUT / "sweep.txt").read_text().splitlines():
        if line.strip() and not line.startswith("#"):
            codes, command = (part.strip() for part in line.split(" | ", 1))
            cases.append((codes, command))
    return cases


def named_bad(command: str) -> str:
    """The bad placeholder the error must name: the last one (an --out after bad inputs is
    checked first)."""
    found = re.findall(r"\{(" + "|".join(BAD) + r")\}", command)
    assert found, command
    return str(found[-1])


def run(capsys: pytest.CaptureFixture[str], *argv: str) -> tuple[int, str, str]:
    code = main(list(argv))
    out, err = capsys.readouterr()
    return code, out, err


def error_line(err: str) -> str:
    """The one error line of a refused command (progress bars and notes aside)."""
    assert "Traceback" not in err, err
    errors = [ln for ln in err.splitlines() if ln.startswith("symgen: ") and "note:" not in ln]
    assert len(errors) == 1, err
    return errors[0]


def garbage(path: Path, size: int = 4096) -> Path:
    """Binary bytes: NULs, invalid UTF-8 and no newline, as a wrong file would hold."""
    path.write_bytes(bytes(random.Random(0).randrange(256) for _ in range(size)))
    return path


def truncated(source: Path, dest: Path) -> Path:
    """The first half of a real SQLite file: its header passes, its pages are cut off."""
    data = source.read_bytes()
    dest.write_bytes(data[: len(data) // 2])
    return dest


def candidates(path: Path, rows: list[tuple[str, list[str]]]) -> Path:
    write_jsonl(
        path,
        [
            {"question": q, "candidates": [{"query": s, "logprob": -0.1} for s in sql]}
            for q, sql in rows
        ],
    )
    return path


@pytest.fixture()
def paths(tmp_path: Path, geo_db: Path, geo_dir: Path, pairs: Path) -> dict[str, str]:
    (tmp_path / "dir").mkdir()
    (tmp_path / "empty").write_bytes(b"")
    cands = candidates(
        tmp_path / "cands.jsonl", [("how many states", ["SELECT count(*) FROM state"] * 2)]
    )
    return {
        "missing": str(tmp_path / "missing"),
        "dir": str(tmp_path / "dir"),
        "empty": str(tmp_path / "empty"),
        "garbage": str(garbage(tmp_path / "garbage")),
        "truncated": str(truncated(geo_db, tmp_path / "truncated.sqlite")),
        "db": str(geo_db),
        "seeds": str(geo_dir / "seed_10.jsonl"),
        "pairs": str(pairs),
        "cands": str(cands),
        "out": str(tmp_path / "new" / "out.jsonl"),
        "outdir": str(tmp_path / "new" / "outdir"),
    }


@pytest.mark.parametrize(("codes", "command"), sweep_cases(), ids=[c for _, c in sweep_cases()])
def test_every_verb_refuses_a_bad_file_in_one_line(
    capsys: pytest.CaptureFixture[str],
    request: pytest.FixtureRequest,
    paths: dict[str, str],
    codes: str,
    command: str,
) -> None:
    if "{model}" in command:
        paths["model"] = str(request.getfixturevalue("exported"))
    argv = [arg.format(**paths) for arg in shlex.split(command)]
    code, _, err = run(capsys, *argv)
    line = error_line(err)
    assert str(code) in codes.split("|"), line
    assert paths[named_bad(command)] in line, line
    assert not Path(paths["out"]).exists() and not Path(paths["outdir"]).exists()


# ---- a bad candidates line: file:line and the field, nothing written ------------------------
def line_cases(name: str) -> list[dict[str, object]]:
    """One case per line of a JSONL fixture: the bad `line` (`{pad}` is replaced by `pad` *
    `times`) or its bytes in `hex`, and the `error` wanted after `FILE:2: `."""
    return [json.loads(x) for x in (BAD_INPUT / name).read_text().splitlines()]


def candidate_cases() -> list[dict[str, object]]:
    """candidates.jsonl (see `line_cases`; also the `task`, default sql)."""
    return line_cases("candidates.jsonl")


def bad_line(case: dict[str, object]) -> bytes:
    if "hex" in case:
        return bytes.fromhex(str(case["hex"]))
    pad = str(case.get("pad", "")) * int(str(case.get("times", 0)))
    return str(case["line"]).replace("{pad}", pad).encode()


@pytest.mark.parametrize("case", candidate_cases(), ids=lambda c: str(c["error"])[:40])
def test_a_bad_candidates_line_is_named_with_its_field(
    capsys: pytest.CaptureFixture[str], geo_db: Path, tmp_path: Path, case: dict[str, object]
) -> None:
    good = json.dumps(
        {"question": "how many states", "candidates": [{"query": "SELECT 1"}], "tests": ["f()"]}
    )
    cands = tmp_path / "cands.jsonl"
    cands.write_bytes(good.encode() + b"\n" + bad_line(case) + b"\n" + good.encode() + b"\n")
    out = tmp_path / "out" / "kept.jsonl"
    task = str(case.get("task", "sql"))
    db = ["--db", str(geo_db)] if task == "sql" else []
    argv = ["verify", "--task", task, *db, "--candidates", str(cands), "--out", str(out)]
    code, _, err = run(capsys, *argv, "--quiet")
    line = error_line(err)
    assert code == 2 and line.startswith(f"symgen: {cands}:2: ") and str(case["error"]) in line
    assert not out.parent.exists()


@pytest.mark.parametrize("case", line_cases("eval_data.jsonl"), ids=lambda c: str(c["error"]))
def test_a_wrong_typed_field_in_eval_data_is_named(
    capsys: pytest.CaptureFixture[str],
    exported: Path,
    geo_db: Path,
    tmp_path: Path,
    case: dict[str, object],
) -> None:
    data = tmp_path / "dev.jsonl"
    good = json.dumps({"question": "how many states", "query": "SELECT count(*) FROM state"})
    data.write_bytes(good.encode() + b"\n" + bad_line(case) + b"\n")
    out = tmp_path / "report.json"
    argv = ["eval", "--model", str(exported), "--data", str(data), "--db", str(geo_db)]
    code, _, err = run(capsys, *argv, "--out", str(out), "--quiet")
    line = error_line(err)
    assert code == 2 and line.startswith(f"symgen: {data}:2: ") and str(case["error"]) in line
    assert not out.exists()


def test_max_line_bytes_is_the_guard(
    capsys: pytest.CaptureFixture[str], geo_db: Path, geo_dir: Path, tmp_path: Path
) -> None:
    """A 4 MB SQL line in the seeds is refused by the 1 MB default, naming its line; the option
    moves the limit (both ways)."""
    seeds = tmp_path / "seeds.jsonl"
    rows = read_jsonl(geo_dir / "seed_10.jsonl")
    rows[2]["query"] = "SELECT '" + "x" * 4_000_000 + "'"
    write_jsonl(seeds, rows)
    out = tmp_path / "pairs.jsonl"
    args = ["generate", "--db", str(geo_db), "--seeds", str(seeds), "--out", str(out), "--quiet"]
    code, _, err = run(capsys, *args)
    assert code == 2 and f"{seeds}:3: line longer than 1 MB" in error_line(err)
    code, _, err = run(capsys, *args, "--max-line-bytes", "100")
    assert code == 2 and f"{seeds}:1: line longer than 100 bytes" in error_line(err)
    code, _, err = run(
        capsys,
        "verify",
        "--db",
        str(geo_db),
        "--candidates",
        str(seeds),
        "--out",
        str(out),
        "--max-line-bytes",
        "0",
    )
    assert code == 2 and "--max-line-bytes must be at least 1" in error_line(err)
    assert not out.exists()


def peak_mb(argv: list[str], timeout: float) -> tuple[int, str, float]:
    """(exit code, stderr, peak resident MB) of `symgen ARGV` run by its main() in a child."""
    code = (
        "import sys\n"
        "from symgen.cli import main\n"
        "rc = main(sys.argv[1:])\n"
        "# VmHWM is this program's own peak; ru_maxrss would carry the forking parent's (pytest's)\n"
        "hwm = [l for l in open('/proc/self/status') if l.startswith('VmHWM')][0].split()[1]\n"
        "print('PEAK', hwm, file=sys.stderr)\n"
        "sys.exit(rc)\n"
    )
    proc = subprocess.run(
        [str(ROOT / ".venv" / "bin" / "python"), "-c", code, *argv],
        capture_output=True,
        text=True,
        timeout=timeout,
        cwd=ROOT,
    )
    peak = [ln for ln in proc.stderr.splitlines() if ln.startswith("PEAK ")]
    err = "\n".join(ln for ln in proc.stderr.splitlines() if not ln.startswith("PEAK "))
    return proc.returncode, err, int(peak[0].split()[1]) / 1024 if peak else float("inf")


def test_a_40_mb_line_is_refused_without_reading_it(geo_db: Path, tmp_path: Path) -> None:
    """The probe's 40 MB candidates line (a million candidates) ran out of memory at 7.7 GB; it
    is refused at its line now, with memory as for any small file."""
    cands = tmp_path / "cands.jsonl"
    one = json.dumps({"query": "SELECT count(*) FROM state", "logprob": -0.1})
    with cands.open("w") as fh:
        fh.write(
            json.dumps({"question": "how many states", "candidates": [json.loads(one)]}) + "\n"
        )
        fh.write('{"question": "q", "candidates": [' + ", ".join([one] * 800_000) + "]}\n")
    assert cands.stat().st_size > 40e6
    out = tmp_path / "kept.jsonl"
    argv = ["verify", "--db", str(geo_db), "--candidates", str(cands), "--out", str(out)]
    code, err, peak = peak_mb(argv, timeout=120)
    assert code == 2 and f"{cands}:2: line longer than 1 MB" in error_line(err), err
    assert peak < 400, f"peak {peak:.0f} MB"
    assert not out.exists()


# ---- verify streams: progress, a crash loses the record in flight, a rerun resumes -----------
def many_candidates(path: Path, geo_dir: Path, n: int) -> Path:
    """`n` questions whose three candidates agree (GeoQuery train pairs, numbered)."""
    train = read_jsonl(geo_dir / "train.jsonl")
    rows = [
        (f"{train[i % len(train)]['question']} #{i}", [train[i % len(train)]["query"]] * 3)
        for i in range(n)
    ]
    return candidates(path, rows)


def kept_pairs(path: Path) -> list[tuple[str, str]]:
    return [(r["question"], r["query"]) for r in read_jsonl(path)]


def test_verify_shows_progress_and_appends_as_it_goes(
    capsys: pytest.CaptureFixture[str],
    monkeypatch: pytest.MonkeyPatch,
    geo_db: Path,
    geo_dir: Path,
    tmp_path: Path,
) -> None:
    cands = many_candidates(tmp_path / "cands.jsonl", geo_dir, 30)
    out = tmp_path / "kept.jsonl"
    monkeypatch.setenv("SYMGEN_PROGRESS", "json")
    monkeypatch.setattr("symgen.dataset.PROGRESS_BYTES", 0)  # as for a 100 MB file
    code, stdout, err = run(
        capsys, "verify", "--db", str(geo_db), "--candidates", str(cands), "--out", str(out)
    )
    bars = [json.loads(ln) for ln in err.splitlines() if ln.startswith("{")]
    assert code == 0 and f"30 questions kept in {out}" in stdout
    checked = [b for b in bars if b["progress"] == "check candidates"]
    verified = [b for b in bars if b["progress"] == "verify"]
    assert checked and checked[-1]["done"] == checked[-1]["total"] == cands.stat().st_size
    assert verified and verified[-1]["done"] == verified[-1]["total"] == 30
    code, stdout, err = run(
        capsys, "verify", "--db", str(geo_db), "--candidates", str(cands), "--out", str(out)
    )
    assert code == 0 and "30 of 30 questions kept" in stdout
    assert "resuming" in err and "30 of 30 questions verified by an earlier run" in err
    assert len(kept_pairs(out)) == 30  # nothing appended twice


def test_verify_killed_midway_keeps_its_work_and_resumes(
    geo_db: Path, geo_dir: Path, tmp_path: Path
) -> None:
    """SIGKILL (no chance to clean up) once some pairs are written: they stay, the rerun does
    only the rest, and the result is a clean run's, in order, each pair once."""
    n = 600
    cands = many_candidates(tmp_path / "cands.jsonl", geo_dir, n)
    fresh, out = tmp_path / "fresh.jsonl", tmp_path / "kept.jsonl"

    def verify(dest: Path) -> list[str]:
        files = ["--db", str(geo_db), "--candidates", str(cands), "--out", str(dest)]
        return [str(SYMGEN), "verify", *files, "--quiet"]

    clean = subprocess.run(verify(fresh), capture_output=True, text=True, timeout=300)
    assert clean.returncode == 0, clean.stderr
    proc = subprocess.Popen(verify(out), stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    try:
        while proc.poll() is None and (not out.exists() or out.stat().st_size < 20_000):
            time.sleep(0.005)
    finally:
        proc.kill()
        proc.wait()
    written = len(kept_pairs(out)) if out.exists() else 0
    assert 0 < written < len(kept_pairs(fresh)), "killed too late to test the resume: raise n"
    done = subprocess.run(verify(out), capture_output=True, text=True, timeout=300)
    assert done.returncode == 0 and "resuming" in done.stderr, done.stderr
    assert done.stdout.replace(str(out), "") == clean.stdout.replace(str(fresh), "")
    assert kept_pairs(out) == kept_pairs(fresh)


def test_verify_starts_over_when_its_inputs_change(
    capsys: pytest.CaptureFixture[str], geo_db: Path, geo_dir: Path, tmp_path: Path
) -> None:
    """A rerun with other candidates (or options) replaces --out, as verify always did; --out of
    another command's run is refused, not overwritten."""
    out = tmp_path / "kept.jsonl"
    first = many_candidates(tmp_path / "a.jsonl", geo_dir, 3)
    assert (
        run(capsys, "verify", "--db", str(geo_db), "--candidates", str(first), "--out", str(out))[0]
        == 0
    )
    second = many_candidates(tmp_path / "b.jsonl", geo_dir, 5)
    code, stdout, err = run(
        capsys, "verify", "--db", str(geo_db), "--candidates", str(second), "--out", str(out)
    )
    assert code == 0 and "5 of 5 questions kept" in stdout and "resuming" not in err
    assert len(kept_pairs(out)) == 5
    generated = tmp_path / "pairs.jsonl"
    generated.write_text("")
    (tmp_path / "pairs.run.json").write_text(json.dumps({"identity": {"db_sha": "x"}}))
    code, _, err = run(
        capsys, "verify", "--db", str(geo_db), "--candidates", str(second), "--out", str(generated)
    )
    assert code == 2 and "belongs to another command's run" in error_line(err)


# ---- corrupt databases and broken model directories -----------------------------------------
def truncated_db_args(
    request: pytest.FixtureRequest, verb: str, db: str, geo_dir: Path, tmp: Path
) -> list[str]:
    out = str(tmp / "out.jsonl")
    if verb == "verify":
        cands = many_candidates(tmp / "c.jsonl", geo_dir, 1)
        return ["verify", "--db", db, "--candidates", str(cands), "--out", out, "--quiet"]
    if verb == "generate":
        seeds = str(geo_dir / "seed_10.jsonl")
        return ["generate", "--db", db, "--seeds", seeds, "--out", out, "--quiet"]
    return [verb, "--model", str(request.getfixturevalue("exported")), "--db", db, "q"]


@pytest.mark.parametrize("verb", ["verify", "complete", "generate"])
def test_a_truncated_database_is_reported_as_such_by_the_real_cli(
    request: pytest.FixtureRequest, geo_db: Path, geo_dir: Path, tmp_path: Path, verb: str
) -> None:
    """The installed `symgen` on a real GeoQuery file cut in half: exit 2 naming the file and
    what is wrong with it (was: exit 0 with "0 of 1 kept" from verify, a sqlite3 traceback from
    complete, "none of the 10 seeds runs" from generate)."""
    db = str(truncated(geo_db, tmp_path / "geography.sqlite"))
    argv = truncated_db_args(request, verb, db, geo_dir, tmp_path)
    proc = subprocess.run([str(SYMGEN), *argv], capture_output=True, text=True, timeout=300)
    line = error_line(proc.stderr)
    said = line.replace(db, "")  # the path itself (tmp_path) holds the test's name
    assert proc.returncode == 2 and db in line and re.search("truncated|corrupt", said), line
    assert not (tmp_path / "out.jsonl").exists()


@pytest.mark.parametrize("verb", ["verify", "complete", "generate"])
def test_a_database_error_past_the_open_checks_is_still_one_line(
    capsys: pytest.CaptureFixture[str],
    monkeypatch: pytest.MonkeyPatch,
    request: pytest.FixtureRequest,
    geo_db: Path,
    geo_dir: Path,
    tmp_path: Path,
    verb: str,
) -> None:
    """With the adapter's integrity check out of the way (a corruption it cannot see), the
    driver's error still ends as one line naming the database, at the CLI layer."""
    from symgen.databases.sqlite import ReadOnlyDatabase

    monkeypatch.setattr(ReadOnlyDatabase, "_check_intact", lambda self: None, raising=False)
    db = str(truncated(geo_db, tmp_path / "geography.sqlite"))
    code, _, err = run(capsys, *truncated_db_args(request, verb, db, geo_dir, tmp_path))
    assert code == 2 and db in error_line(err)
    assert not (tmp_path / "out.jsonl").exists()


def model_cases() -> list[tuple[int, str, str]]:
    cases = []
    for line in (BAD_INPUT / "model_dir.txt").read_text().splitlines():
        if line.strip() and not line.startswith("#"):
            code, file, damage = (part.strip() for part in line.split(" | ", 2))
            cases.append((int(code), file, damage))
    return cases


def damage(path: Path, how: str) -> None:
    if how == "delete":
        path.unlink()
    elif how == "empty":
        path.write_bytes(b"")
    elif how == "truncate":
        path.write_bytes(path.read_bytes()[: path.stat().st_size // 2])
    elif how == "garbage":
        garbage(path)
    elif how.startswith("json "):
        path.write_text(how.removeprefix("json "))
    else:
        raise ValueError(how)


@pytest.mark.parametrize(("code", "file", "how"), model_cases(), ids=lambda v: str(v))
def test_a_broken_model_directory_names_the_file(
    capsys: pytest.CaptureFixture[str],
    exported: Path,
    geo_db: Path,
    tmp_path: Path,
    code: int,
    file: str,
    how: str,
) -> None:
    """`complete` and `eval` load the model through the engine, as the editor server does."""
    from symgen.engine.manifest import graph_file, load_manifest

    model = tmp_path / "model"
    shutil.copytree(exported, model)
    name = graph_file(load_manifest(model)) if file == "{graph}" else file
    damage(model / name, how)
    pairs = tmp_path / "pairs.jsonl"
    write_jsonl(pairs, [{"question": "how many states", "query": "SELECT count(*) FROM state"}])
    for argv in (
        ["complete", "--model", str(model), "--db", str(geo_db), "how many states"],
        ["eval", "--model", str(model), "--data", str(pairs), "--db", str(geo_db), "--quiet"],
    ):
        got, _, err = run(capsys, *argv)
        line = error_line(err)
        assert got == code and str(model / name) in line and "symgen export" in line, line
