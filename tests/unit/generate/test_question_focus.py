"""Bash gen-q focus (`--focus-commands`): each gen-q call asks about the next command of a list,
so generated requests cover more than the seeds' commands. The prompt line, the rotation over
calls with the focus each question came from, and the command list's parsing; the real-GGUF run
through the CLI is in tests/e2e/test_code_generate_e2e.py."""

from __future__ import annotations

import json
import re
from pathlib import Path

import pytest

from symgen.config import QuestionGenConfig
from symgen.errors import MissingResource, SymgenError
from symgen.generate.sources.llm import generate_questions
from symgen.generators.base import GenStats, Sample
from symgen.tasks.bash.commands import COMMON, PIPELINES, read_commands
from symgen.tasks.code import build_context, read_code_seeds

FOCUS_LINE = re.compile(r"# The next requests are done with `([^`]+)`\.\n# Question:$")


class Numbered:
    """Writes `request N about <focus>` for each sample: distinct, and traceable to its call."""

    name = "numbered"

    def __init__(self) -> None:
        self.stats, self.prompts, self.count = GenStats(), [], 0

    def sample(self, prompt: str, *, n: int = 1, **_: object) -> list[Sample]:
        self.prompts.append(prompt)
        m = FOCUS_LINE.search(prompt)
        about = m.group(1) if m else "nothing"
        out = []
        for _i in range(n):
            self.count += 1
            out.append(Sample(f" please write request number {self.count} about {about}", -0.1, 6))
        return out

    def close(self) -> None:
        pass


def context(tmp_path: Path, name: str = "bash"):  # type: ignore[no-untyped-def]
    path = tmp_path / "seeds.jsonl"
    row = (
        {"question": "list all files here", "command": "ls -la"}
        if name == "bash"
        else {"text": "Square it.", "code": "def sq(x): return x*x", "test_list": []}
    )
    path.write_text(json.dumps(row) + "\n")
    return build_context(name, read_code_seeds(path))


def test_bash_focus_line_ends_the_question_prompt(tmp_path: Path) -> None:
    ctx = context(tmp_path)
    plain = ctx.question_prompt(["a b"])
    focused = ctx.question_prompt(["a b"], "tar")
    assert plain.endswith("# Question: a b\n# Question:")
    assert focused == plain.removesuffix("# Question:") + (
        "# The next requests are done with `tar`.\n# Question:"
    )
    piped = ctx.question_prompt(["a b"], "du | sort | head")
    assert piped.endswith(
        "# The next requests are done with a pipeline such as `du | sort | head`.\n# Question:"
    )


def test_focus_is_refused_where_a_language_has_none(tmp_path: Path) -> None:
    with pytest.raises(SymgenError, match="--task python has no gen-q focus"):
        context(tmp_path, "python").question_prompt(["a b"], "tar")


@pytest.mark.parametrize("topics", [("tar", "sort", "ssh"), ("tar",), ()])
def test_gen_q_asks_about_each_topic_in_turn(tmp_path: Path, topics: tuple[str, ...]) -> None:
    ctx, gen = context(tmp_path), Numbered()
    cfg = QuestionGenConfig(per_call=2, focus=topics)
    made = list(generate_questions(gen, "", ["list all files here"], 12, cfg, seed=5,
                                   make_prompt=ctx.question_prompt))  # fmt: skip
    asked = [m.group(1) if (m := FOCUS_LINE.search(p)) else None for p in gen.prompts]
    assert len(made) == 12 and len(asked) == 6
    if topics:
        # each topic once per round of len(topics) calls (order shuffled by the seed), repeated
        first = asked[: len(topics)]
        assert sorted(first) == sorted(topics) and asked == (first * 6)[:6]
    else:
        assert asked == [None] * 6
    # each question carries the focus of the call that wrote it
    for q in made:
        assert q.text.endswith(f"about {q.focus or 'nothing'}")


COMMAND_FILES = [
    # (file text, expected names or the error it raises)
    ("tar\n# archives\nsort  # text\n\ntar\n", ("tar", "sort")),
    ("sha256sum\ngit-lfs\nc++\n", ("sha256sum", "git-lfs", "c++")),
    ("tar\nrm -rf /\n", "cmds.txt:2: 'rm -rf /' is not a command name"),
    ("# nothing\n\n", "cmds.txt: no command names in it"),
    ("find  |  xargs grep\ntar\nps|grep\n", ("find | xargs grep", "tar", "ps | grep")),
    ("a | b c d\n", "cmds.txt:1: 'a | b c d' is not a command name"),
    ("cat | rm -rf /\n", "cmds.txt:1: 'cat | rm -rf /' is not a command name"),
]


@pytest.mark.parametrize(("text", "expected"), COMMAND_FILES)
def test_read_commands_file(tmp_path: Path, text: str, expected: object) -> None:
    path = tmp_path / "cmds.txt"
    path.write_text(text)
    if isinstance(expected, tuple):
        assert read_commands(str(path)) == expected
    else:
        with pytest.raises(SymgenError, match=re.escape(str(expected))):
            read_commands(str(path))


def test_read_commands_common_and_missing(tmp_path: Path) -> None:
    assert read_commands("common") == COMMON and len(set(COMMON)) == len(COMMON) > 100
    assert {"find", "tar", "grep", "ssh"} <= set(COMMON)
    assert read_commands("pipelines") == PIPELINES and len(set(PIPELINES)) == len(PIPELINES) > 80
    assert all(" | " in p and "|" not in p.replace(" | ", "") for p in PIPELINES)
    with pytest.raises(MissingResource, match=r"nope\.txt: command list not found"):
        read_commands(str(tmp_path / "nope.txt"))
