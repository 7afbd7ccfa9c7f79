"""The VS Code extension: static checks, and end to end in real VS Code (code-server) in Chromium.

The Node script editor-clients/vscode/test/e2e.mjs installs the .vsix into a fresh code-server,
drives it with playwright-core in headless Chromium (types a trained question, waits for ghost
text, accepts it with Tab, runs the SymGen commands) and exits 0 on success; these tests prepare
a workspace with the test model, build the .vsix when its sources changed, and check the verdict.
Tooling comes from `bash editor-clients/vscode/scripts/setup.sh`.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest

from symgen.tasks.bash import task as bash
from tests.conftest import ROOT

EXT = ROOT / "editor-clients" / "vscode"
TOOLS = EXT / ".tools"
NODE = TOOLS / "bin" / "node"
NPM = TOOLS / "bin" / "npm"
CODE_SERVER = TOOLS / "code-server" / "node_modules" / "code-server" / "out" / "node" / "entry.js"
VSIX = EXT / "symgen.vsix"
E2E = EXT / "test" / "e2e.mjs"
SETUP = "bash editor-clients/vscode/scripts/setup.sh"
CHROMIUM = os.environ.get("CHROMIUM", "/usr/bin/chromium")
VSIX_INPUTS = ("src", "package.json", "package-lock.json", "scripts/build.mjs", "tsconfig.json")


def tool_env() -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("VSCODE_", "ELECTRON_"))}
    env["PATH"] = f"{TOOLS / 'bin'}{os.pathsep}{env.get('PATH', '')}"
    env["npm_config_update_notifier"] = "false"
    return env


@pytest.fixture(scope="session")
def toolchain() -> Path:
    """Node 24, the npm dependencies and code-server from setup.sh; fail with the fix if absent."""
    missing = [
        what
        for what, path in (
            ("Node 24 (.tools/bin/node)", NODE),
            ("npm dependencies (node_modules)", EXT / "node_modules" / "vscode-languageclient"),
            ("code-server", CODE_SERVER),
            ("Chromium", Path(CHROMIUM)),
        )
        if not path.exists()
    ]
    if missing:
        pytest.fail(
            f"VS Code test tooling missing: {', '.join(missing)}. Install it with `{SETUP}` "
            f"(from {ROOT}; Debian packages: apt-get install -y chromium libkrb5-dev)"
        )
    return NODE


def npm(*args: str, timeout: int = 300) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [str(NPM), *args],
        cwd=EXT,
        env=tool_env(),
        capture_output=True,
        text=True,
        timeout=timeout,
    )


def newest_mtime(paths: list[Path]) -> float:
    times = [
        f.stat().st_mtime
        for p in paths
        for f in ([p] if p.is_file() else [x for x in p.rglob("*") if x.is_file()])
    ]
    return max(times, default=0.0)


@pytest.fixture(scope="session")
def vsix(toolchain: Path) -> Path:
    """symgen.vsix, rebuilt with `npm run package` when any of its sources is newer."""
    if not VSIX.is_file() or VSIX.stat().st_mtime < newest_mtime([EXT / p for p in VSIX_INPUTS]):
        done = npm("run", "package")
        assert done.returncode == 0, done.stdout[-4000:] + done.stderr[-4000:]
    assert VSIX.is_file()
    return VSIX


def test_typecheck_lint_and_unit_tests(toolchain: Path) -> None:
    for script in ("typecheck", "lint", "test:unit"):
        done = npm("run", script)
        assert done.returncode == 0, (
            f"npm run {script}:\n{done.stdout[-6000:]}{done.stderr[-3000:]}"
        )
    assert "fail 0" in done.stdout, done.stdout[-3000:]


@pytest.fixture()
def vscode_workspace(
    tmp_path: Path, exported: Path, code_models: dict[str, tuple[Path, list[dict[str, str]]]]
) -> Iterator[Path]:
    """A workspace whose newest model is the test model (found without a model setting), and a
    Bash model for `.sh` files."""
    ws = tmp_path / "ws"
    shutil.copytree(exported, ws / ".symgen" / "models" / "geo")
    shutil.copytree(code_models["bash"][0], ws / ".symgen" / "models" / "bash")
    yield ws


def first_question(pairs: Path) -> str:
    question: str = json.loads(pairs.read_text().splitlines()[0])["question"]
    return question


def run_e2e(
    workspace: Path,
    question: str,
    db: Path,
    vsix: Path,
    extra: dict[str, str],
    timeout: int,
) -> subprocess.CompletedProcess[str]:
    env = tool_env()
    env.update(
        SYMGEN_E2E_WORKSPACE=str(workspace),
        SYMGEN_E2E_QUESTION=question,
        SYMGEN_E2E_PYTHON=sys.executable,
        SYMGEN_E2E_DB=str(db),
        SYMGEN_E2E_VSIX=str(vsix),
        CODE_SERVER=str(CODE_SERVER),
        CHROMIUM=CHROMIUM,
        SYMGEN_E2E_TIMEOUT_S=str(timeout - 30),
        **extra,
    )
    return subprocess.run(
        [str(NODE), str(E2E)],
        cwd=EXT,
        env=env,
        capture_output=True,
        text=True,
        timeout=timeout,
    )


def check(proc: subprocess.CompletedProcess[str]) -> None:
    assert proc.returncode == 0, (
        f"e2e exit {proc.returncode}\n--- stdout ---\n{proc.stdout[-8000:]}"
        f"\n--- stderr ---\n{proc.stderr[-8000:]}"
    )
    assert "PASS" in proc.stdout, proc.stdout[-4000:]


def test_ghost_text_in_vscode(
    vscode_workspace: Path,
    pairs: Path,
    geo_dir: Path,
    vsix: Path,
    code_models: dict[str, tuple[Path, list[dict[str, str]]]],
) -> None:
    """Type a trained question + Enter → ghost text → Tab → SELECT …; the same for a `#` request
    in a `.sh` file with the Bash model; status, messages, errors.

    The screenshot goes to the test's directory, so a test run leaves the checkout clean;
    SYMGEN_UPDATE_SCREENSHOT=1 writes the README's copy instead."""
    bash_row = code_models["bash"][1][0]
    update = os.environ.get("SYMGEN_UPDATE_SCREENSHOT") == "1"
    shot = EXT / "screenshot.png" if update else vscode_workspace.parent / "screenshot.png"
    proc = run_e2e(
        vscode_workspace,
        first_question(pairs),
        geo_dir / "geography.sqlite",
        vsix,
        {"SYMGEN_E2E_SCREENSHOT": str(shot), "SYMGEN_E2E_BASH_QUESTION": bash_row["question"]},
        timeout=600,
    )
    check(proc)
    saved = (vscode_workspace / "queries.sql").read_text()
    assert f"-- {first_question(pairs)}\nSELECT " in saved, saved
    script = (vscode_workspace / "tool.sh").read_text().splitlines()
    assert script[:2] == ["#!/bin/bash", f"# {bash_row['question']}"], script
    assert bash.char_bleu(script[2], bash_row["command"]) >= 0.8, script
    assert shot.stat().st_size > 10_000


@pytest.mark.llm
@pytest.mark.timeout(1600)
def test_generate_training_data_from_selection_in_vscode(
    vscode_workspace: Path,
    pairs: Path,
    geo_dir: Path,
    vsix: Path,
    model_file: Callable[[str], Path],
    tmp_path: Path,
) -> None:
    """The command palette's Generate Training Data from Selection writes verified data; the
    progress notification's Cancel button stops a second run (window/workDoneProgress/cancel)."""
    model_file("qwen2.5-coder-0.5b")
    seeds = [json.loads(x) for x in (geo_dir / "seed_10.jsonl").read_text().splitlines()]
    (vscode_workspace / "examples.sql").write_text(
        "".join(f"-- {p['question']}\n{p['query']}\n\n" for p in seeds[:6])
    )
    settings = {"symgen.generateQuestions": 2, "symgen.samples": 4, "symgen.minVotes": "2"}
    proc = run_e2e(
        vscode_workspace,
        first_question(pairs),
        geo_dir / "geography.sqlite",
        vsix,
        {
            "SYMGEN_E2E_LLM": "1",
            "SYMGEN_E2E_SETTINGS": json.dumps(settings),
            "SYMGEN_E2E_SCREENSHOT": str(tmp_path / "ghost.png"),
        },
        timeout=1500,
    )
    check(proc)
    data = vscode_workspace / ".symgen" / "data"
    outputs = [
        p
        for p in data.glob("*.jsonl")
        if not p.name.endswith((".seeds.jsonl", ".questions.jsonl", ".rejected.jsonl"))
    ]
    assert len(outputs) == 1, sorted(p.name for p in data.iterdir())
