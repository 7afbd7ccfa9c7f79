"""The layout's promises, checked rather than stated: the runtime path is torch-free and loads
no pipeline stage, and the product never imports the lab.

Each import check runs in a fresh interpreter, since this test process has imported everything.
"""

from __future__ import annotations

import ast
import json
import subprocess
import sys
from pathlib import Path

import pytest

from tests.conftest import ROOT

# What the editor's runtime path must never load: the training stack, the LLM binding, and the
# offline stages (their imports are the expensive ones, and the server runs beside an editor).
FORBIDDEN = ("torch", "transformers", "optimum", "llama_cpp", "symgen.train", "symgen.generate")
FORBIDDEN += ("symgen.generators.llama", "symgen.lab")

RUNTIME = [
    "symgen.engine",
    "symgen.engine.model",
    "symgen.engine.decoding",
    "symgen.engine.drafting",
    "symgen.engine.grounding",
    "symgen.engine.kv_cache",
    "symgen_server",
    "symgen_server.lsp_server",
    "symgen_server.completer",
    "symgen_server.jobs",
    "symgen_server.selection",
    "symgen_server.settings",
    "symgen_server.comments",
]


def loaded_by(module: str) -> list[str]:
    """Modules a fresh interpreter holds after importing `module` (and only it)."""
    code = f"import json, sys, {module}; print(json.dumps(sorted(sys.modules)))"
    proc = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, cwd=ROOT, timeout=120
    )
    assert proc.returncode == 0, proc.stderr
    names: list[str] = json.loads(proc.stdout.splitlines()[-1])
    return names


def forbidden(names: list[str]) -> list[str]:
    return [n for n in names if any(n == f or n.startswith(f + ".") for f in FORBIDDEN)]


@pytest.mark.parametrize("module", RUNTIME)
def test_runtime_path_loads_no_torch_llm_or_offline_stage(module: str) -> None:
    assert forbidden(loaded_by(module)) == []


def test_the_check_sees_a_forbidden_import() -> None:
    """The check above can fail: the training loop is an offline stage, and json is harmless."""
    assert "symgen.train.loop" in forbidden(loaded_by("symgen.train.loop"))
    assert forbidden(["json", "symgen.engine.model", "torchvision_like", "symgen.trainer"]) == []


def imports_of(path: Path) -> set[str]:
    """Every module a file imports, at any depth (function-level imports too)."""
    tree = ast.parse(path.read_text(), str(path))
    found: set[str] = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            found |= {a.name for a in node.names}
        elif isinstance(node, ast.ImportFrom) and node.module and not node.level:
            found.add(node.module)
            found |= {f"{node.module}.{a.name}" for a in node.names}
    return found


def product_files() -> list[Path]:
    lab = ROOT / "symgen" / "lab"
    files = [*(ROOT / "symgen").rglob("*.py"), *(ROOT / "server").rglob("*.py")]
    return [p for p in files if lab not in p.parents]


def test_nothing_outside_the_lab_imports_it() -> None:
    offenders = {
        str(p.relative_to(ROOT)): sorted(m for m in imports_of(p) if m.startswith("symgen.lab"))
        for p in product_files()
    }
    assert {k: v for k, v in offenders.items() if v} == {}
    assert len(product_files()) > 50  # the scan sees the product, not an empty glob


def test_lab_verbs_reach_the_cli_only_through_the_entry_point() -> None:
    """`symgen lab ...` exists (registered in pyproject.toml), though the CLI never names it."""
    proc = subprocess.run(
        [sys.executable, "-m", "symgen", "lab", "--help"], capture_output=True, text=True, cwd=ROOT
    )
    assert proc.returncode == 0, proc.stderr
    assert "ensemble" in proc.stdout and "label" in proc.stdout


def task_name_branches(source: str) -> list[str]:
    """Comparisons of a task or language name with a literal one (`args.task == "sql"`,
    `language in ("sql", ...)`): what a task class's attribute should answer instead."""
    from symgen.tasks.registry import TASK_CLASSES

    def names_a_task(node: ast.expr) -> bool:
        if isinstance(node, ast.Constant):
            return node.value in TASK_CLASSES
        if isinstance(node, ast.Tuple | ast.List | ast.Set):
            return any(names_a_task(e) for e in node.elts)
        return False

    found = []
    for node in ast.walk(ast.parse(source)):
        if isinstance(node, ast.Compare):
            sides = [node.left, *node.comparators]
            named = any(("task" in ast.unparse(s) or "language" in ast.unparse(s)) for s in sides)
            if named and any(names_a_task(s) for s in sides):
                found.append(ast.unparse(node))
    return found


def test_no_code_outside_the_languages_branches_on_a_task_name() -> None:
    """Adding a language is a task class and a registry line: no `if task == "bash"` elsewhere
    (the languages' own packages and the lab are not scanned)."""
    tasks = ROOT / "symgen" / "tasks"
    offenders = {
        str(p.relative_to(ROOT)): found
        for p in product_files()
        if tasks not in p.parents and (found := task_name_branches(p.read_text()))
    }
    assert offenders == {}


def test_the_branch_scan_sees_a_branch() -> None:
    assert task_name_branches('if args.task == "bash":\n    pass') == ["args.task == 'bash'"]
    assert task_name_branches('ok = language in ("sql", "python")') != []
    assert task_name_branches('if args.source == "llm":\n    pass') == []
