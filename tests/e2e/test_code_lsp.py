"""Code completion in the editor: `# ...` comments in `.sh` and `.py` files are completed by the
bash and python task models (one per task, chosen by the buffer's language), over LSP stdio,
with tiny models trained and exported here through the CLI."""

from __future__ import annotations

import ast
import asyncio
import json
import shutil
import subprocess
from pathlib import Path

from symgen.tasks.bash import task as bash
from symgen_server.client import lsp_session
from tests.conftest import CODE_PAIRS as N
from tests.conftest import SYMGEN


def test_bash_trains_with_its_measured_defaults(code_models) -> None:  # type: ignore[no-untyped-def]
    """symgen.config's LABEL_SMOOTHING and PLACEHOLDERS: Bash 0.1 and on, Python neither."""
    for task, smoothing, placeholders in (("bash", 0.1, True), ("python", None, None)):
        run = code_models[task][0].parent / f"run-{task}"
        config = json.loads((run / "train.json").read_text())["identity"]["config"]
        assert config.get("label_smoothing") == smoothing, task
        assert config.get("placeholders") == placeholders, task
        manifest = json.loads((code_models[task][0] / "symgen.json").read_text())
        assert manifest["placeholders"] is bool(placeholders), task
    # a Bash run from before those defaults is refused with the flags that resume it
    old = code_models["bash"][0].parent / "run-bash-old"
    shutil.copytree(code_models["bash"][0].parent / "run-bash", old)
    meta = json.loads((old / "train.json").read_text())
    del meta["identity"]["config"]["label_smoothing"]
    del meta["identity"]["config"]["placeholders"]
    (old / "train.json").write_text(json.dumps(meta))
    data = code_models["bash"][0].parent / "bash.jsonl"
    cmd = [*SYMGEN, "train", "--task", "bash", "--data", str(data), "--out", str(old), "--epochs", "150", "--threads", "1", "--quiet"]  # fmt: skip
    proc = subprocess.run(cmd, capture_output=True, text=True, timeout=300)
    assert proc.returncode != 0 and "Traceback" not in proc.stderr
    assert "resume with --label-smoothing 0 --no-placeholders" in proc.stderr
    weights = old / "hf" / "model.safetensors"
    before = weights.stat().st_mtime_ns
    resume = [*cmd, "--label-smoothing", "0", "--no-placeholders"]
    proc = subprocess.run(resume, capture_output=True, text=True, timeout=300)
    assert proc.returncode == 0, proc.stderr[-2000:]
    assert weights.stat().st_mtime_ns == before  # the finished run, not retrained


def test_eval_reports_code_metrics(code_models, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    onnx, rows = code_models["bash"]
    data = tmp_path / "gold.jsonl"
    data.write_text("".join(json.dumps(r) + "\n" for r in rows))
    report = tmp_path / "eval.json"
    proc = subprocess.run(
        [*SYMGEN, "eval", "--task", "bash", "--model", str(onnx), "--data", str(data), "--out", str(report), "--quiet"],
        capture_output=True, text=True, timeout=300,
    )  # fmt: skip
    assert proc.returncode == 0, proc.stderr
    summary = json.loads(report.read_text())
    assert summary["n"] == N and summary["char_bleu"] >= 0.8 and "| char BLEU |" in proc.stdout
    wrong = subprocess.run(
        [*SYMGEN, "eval", "--task", "python", "--model", str(onnx), "--data", str(data)],
        capture_output=True, text=True, timeout=300,
    )  # fmt: skip
    assert wrong.returncode != 0 and "is a bash model" in wrong.stderr


def test_sh_and_py_comments_use_their_own_models(code_models, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    for task, (onnx, _) in code_models.items():
        shutil.copytree(onnx, tmp_path / ".symgen" / "models" / task)
    bash_row = code_models["bash"][1][0]
    py_row = code_models["python"][1][0]
    sh_uri, py_uri, sql_uri = ((tmp_path / f"x.{ext}").as_uri() for ext in ("sh", "py", "sql"))
    sh_text = f"#!/bin/bash\n# {bash_row['question']}\n"
    py_text = f"import os\n\n\nclass Box:\n    # {py_row['text']}\n"

    async def go() -> None:
        async with lsp_session(tmp_path, {}) as s:
            s.open(sh_uri, sh_text, "shellscript")
            got = await s.inline(sh_uri, 1, len(f"# {bash_row['question']}"))
            assert got is not None, s.stderr[-5:]
            command = got.items[0].insert_text
            assert isinstance(command, str) and command.startswith("\n")
            assert bash.static_check(command.strip()) is None
            assert bash.char_bleu(command.strip(), bash_row["command"]) >= 0.8, command
            assert await s.inline(sh_uri, 0, 11) is None  # the shebang is not a request
            s.open(py_uri, py_text, "python")
            got = await s.inline(py_uri, 4, len(f"    # {py_row['text']}"))
            assert got is not None, s.stderr[-5:]
            code = got.items[0].insert_text
            assert isinstance(code, str) and code.startswith("\n    ")
            lines = code.strip("\n").split("\n")
            assert all(not ln or ln.startswith("    ") for ln in lines), code  # under the comment
            tree = ast.parse("\n".join(ln[4:] for ln in lines))
            assert any(isinstance(n, ast.FunctionDef) for n in tree.body)
            s.open(sql_uri, "-- how many rivers are there\n")
            assert await s.inline(sql_uri, 0, 28) is None  # no SQL model here: nothing, no crash
            status = await s.command("symgen.status")
            assert set(status["code_models"]) == {"bash", "python"}

    asyncio.run(asyncio.wait_for(go(), 300))


def test_newest_model_is_chosen_per_task(tmp_path: Path) -> None:
    import os

    from symgen_server.completer import newest_model

    models = tmp_path / ".symgen" / "models"
    for i, (name, manifest) in enumerate(
        [
            ("old-sql", {"task": "sql"}),
            ("sh", {"task": "bash"}),
            ("legacy", {}),
            ("py", {"task": "python"}),
        ]
    ):
        (models / name).mkdir(parents=True)
        (models / name / "symgen.json").write_text(json.dumps(manifest))
        os.utime(models / name / "symgen.json", (1000 + i, 1000 + i))
    assert newest_model(tmp_path) == models / "legacy"  # no task field: a SQL model
    assert newest_model(tmp_path, "bash") == models / "sh"
    assert newest_model(tmp_path, "python") == models / "py"


def test_code_model_settings() -> None:
    from symgen_server.settings import parse_settings

    settings, problems = parse_settings({"symgen": {"bashModel": "m/bash", "pythonModel": 3}})
    assert settings.bash_model == "m/bash" and settings.python_model == ""
    assert len(problems) == 1 and "pythonModel" in problems[0]
