"""Literal placeholders for Bash models (`symgen train --placeholders`): which request words are
values (data-driven), commands round-trip on real NL2Bash pairs, and a real model trained and
exported through the CLI writes values it never saw in training."""

from __future__ import annotations

import json
import re
import subprocess
from pathlib import Path

import pytest

from symgen.dataset import read_jsonl
from symgen.engine.model import TaskModel
from symgen.tasks.bash.literals import mask, mask_program, problem, unmask
from tests.conftest import FIXTURES, SHARED, SYMGEN
from tests.fixture_files import Row, params, tsv_cases

MASK_CASES = tsv_cases(FIXTURES / "bash" / "mask.tsv", fields=(2, None))


@pytest.mark.parametrize("case", params(MASK_CASES))
def test_mask(case: Row) -> None:
    request_, masked, *pairs = case.fields
    assert all(re.fullmatch(r"__[a-z]+\d+__=.+", pair) for pair in pairs), case.where
    values = dict(pair.split("=", 1) for pair in pairs)
    assert len(values) == len(pairs), case.where
    got = mask(request_)
    assert (got.request, got.values) == (masked, values), case.where


def test_command_is_masked_where_it_copies_the_request() -> None:
    m = mask("delete files older than 7 days in /var/log/app, not in /var/log")
    assert (
        mask_program("find /var/log/app -mtime +7 -delete ; ls /var/log", m)
        == "find __path1__ -mtime +__num1__ -delete ; ls __path2__"
    )
    assert mask_program("find . -mtime -7", m) == "find . -mtime -__num1__"
    assert mask_program("head -n 17 x", m) == "head -n 17 x"  # 7 inside 17 is not the value


def test_real_nl2bash_commands_round_trip() -> None:
    source = SHARED / "nl2bash" / "pairs.jsonl"
    if not source.is_file():
        pytest.skip(f"shared data not found at {source}: set SYMGEN_SHARED_DATA")
    rows = read_jsonl(source)[:3000]
    used = 0
    for row in rows:
        m = mask(row["question"])
        masked = mask_program(row["command"], m)
        assert unmask(masked, m) == row["command"], row
        used += any(p in masked for p in m.values)
    assert used > 1800, used  # measured: 2,120 of 3,000 commands copy a request value


def test_unknown_placeholder_is_a_problem() -> None:
    m = mask("show the file notes.txt")
    assert problem(unmask("cat __file1__", m)) is None
    assert "__file2__" in (problem(unmask("cat __file2__", m)) or "")


def _pairs(n: int) -> list[dict[str, str]]:
    names = ["alpha", "bravo", "charlie", "delta", "echo", "foxtrot", "golf", "hotel"]
    out = []
    for i in range(n):
        a, b = names[i % len(names)], names[(i * 3 + 1) % len(names)]
        out += [
            {"question": f"show the file {a}{i}.txt", "command": f"cat {a}{i}.txt"},
            {"question": f"list the files in /srv/{b}", "command": f"ls /srv/{b}"},
            {"question": f"print the first {i + 2} lines of {b}.log", "command": f"head -n {i + 2} {b}.log"},
        ]  # fmt: skip
    return out


@pytest.fixture(scope="module")
def placeholder_model(tmp_path_factory: pytest.TempPathFactory) -> Path:
    tmp = tmp_path_factory.mktemp("placeholders")
    data = tmp / "pairs.jsonl"
    data.write_text("".join(json.dumps(r) + "\n" for r in _pairs(6)))
    run, onnx = tmp / "run", tmp / "onnx"
    for cmd in (
        ["train", "--task", "bash", "--data", str(data), "--out", str(run), "--epochs", "120",
         "--threads", "1", "--quiet", "--placeholders"],
        ["export", "--task", "bash", "--model", str(run), "--out", str(onnx)],
    ):  # fmt: skip
        proc = subprocess.run([*SYMGEN, *cmd], capture_output=True, text=True, timeout=900)
        assert proc.returncode == 0, proc.stderr[-2000:]
    return onnx


def test_real_model_writes_values_it_never_saw(placeholder_model: Path) -> None:
    manifest = json.loads((placeholder_model / "symgen.json").read_text())
    assert manifest["placeholders"] is True
    model = TaskModel(placeholder_model, threads=1)
    # values absent from the training data, in a case the model's lower-cased input loses
    assert (
        model.complete_code("show the file Quarterly_Report.PDF").sql == "cat Quarterly_Report.PDF"
    )
    assert model.complete_code("list the files in /opt/Zulu9").sql == "ls /opt/Zulu9"
    got = model.complete_code("print the first 4096 lines of kilo.log")
    assert got.sql == "head -n 4096 kilo.log", got


def test_placeholders_refused_for_python(tmp_path: Path) -> None:
    data = tmp_path / "py.jsonl"
    data.write_text(
        json.dumps({"question": "add two numbers", "code": "def f(a, b):\n    return a + b"}) + "\n"
    )
    proc = subprocess.run(
        [*SYMGEN, "train", "--task", "python", "--data", str(data), "--out", str(tmp_path / "r"), "--placeholders"],
        capture_output=True, text=True, timeout=300,
    )  # fmt: skip
    assert proc.returncode != 0 and "--placeholders applies to --task bash" in proc.stderr
