"""The editors advertise the server's defaults: VS Code's package.json and the Neovim doc.

A default changed in one place only (as `executionGuided` was) would show users a setting that
does not match what the server does when they leave it unset.
"""

from __future__ import annotations

import json
import re
from dataclasses import fields
from pathlib import Path

from symgen_server.settings import ALIASES, Settings
from tests.conftest import ROOT

SERVER_DEFAULTS = {f.name: f.default for f in fields(Settings)}


def test_vscode_package_defaults_are_the_servers() -> None:
    package = json.loads((ROOT / "editor-clients/vscode/package.json").read_text())
    config = package["contributes"]["configuration"]
    properties = (config if isinstance(config, dict) else config[0])["properties"]
    compared = 0
    for key, spec in properties.items():
        name = ALIASES.get(key.removeprefix("symgen."))
        if name is None or "default" not in spec:
            continue  # client-only settings (serverCommand, pythonPath)
        default = SERVER_DEFAULTS[name]
        assert spec["default"] == (list(default) if isinstance(default, tuple) else default), key
        compared += 1
    assert compared >= 10


def test_every_server_setting_reaches_both_editors() -> None:
    """A server setting an editor cannot send is one its users cannot change (VS Code only
    sends the keys its package.json declares and config.ts copies)."""
    package = json.loads((ROOT / "editor-clients/vscode/package.json").read_text())
    declared = package["contributes"]["configuration"]["properties"]
    config_ts = (ROOT / "editor-clients/vscode/src/config.ts").read_text()
    nvim_doc = (ROOT / "editor-clients/nvim/doc/symgen.txt").read_text()
    for name in SERVER_DEFAULTS.keys() - {"extra"}:
        keys = [k for k, v in ALIASES.items() if v == name]
        assert any(f"symgen.{k}" in declared for k in keys), f"package.json lacks {keys}"
        assert any(f'"{k}"' in config_ts for k in keys), f"config.ts does not send {keys}"
        assert any(re.search(rf"\b{k}\b", nvim_doc) for k in keys), f"nvim doc lacks {keys}"


def test_settings_page_has_a_heading_and_default_per_server_setting() -> None:
    """docs/settings.md, one heading per setting (as jedi-language-server's README), each
    stating its default; the README points there."""
    page = (ROOT / "docs" / "settings.md").read_text()
    headings = set(re.findall(r"^### (\w+)$", page, flags=re.MULTILINE))
    for name in SERVER_DEFAULTS.keys() - {"extra"}:
        keys = [k for k, v in ALIASES.items() if v == name]
        assert headings & set(keys), f"docs/settings.md has no heading for {keys}"
    section = page[page.index("### executionGuided") :].split("\n### ", 1)[0]
    said = re.search(r"Default: `(true|false)`", section)
    assert said and said.group(1) == str(SERVER_DEFAULTS["execution_guided"]).lower()
    assert "docs/settings.md" in (ROOT / "README.md").read_text()


def test_nvim_doc_names_the_execution_guidance_default() -> None:
    doc = (ROOT / "editor-clients/nvim/doc/symgen.txt").read_text()
    block = doc[doc.index("executionGuided") :][:200]
    said = re.search(r"default (true|false)", block)
    assert said and said.group(1) == str(SERVER_DEFAULTS["execution_guided"]).lower()


def test_cli_engine_threads_are_the_servers(exported: Path) -> None:
    """`symgen eval`/`complete` time the model with the threads the editor server runs it with,
    so the latencies they print are the ones users get."""
    from symgen.engine.model import DEFAULT_THREADS, TaskModel

    assert SERVER_DEFAULTS["threads"] == DEFAULT_THREADS
    opts = TaskModel(exported).net.session.get_session_options()
    assert opts.intra_op_num_threads == SERVER_DEFAULTS["threads"]
    assert (
        TaskModel(exported, threads=2).net.session.get_session_options().intra_op_num_threads == 2
    )
