"""Bash and Python task plug-ins: post-processing, static checks, agreement keys, soft vote,
sandboxed execution, prompts and seed formats, as data tables."""

from __future__ import annotations

import json
import subprocess
from pathlib import Path

import pytest

from symgen.generators.base import Sample
from symgen.tasks.bash import task as bash
from symgen.tasks.code import build_context, read_code_seeds
from symgen.tasks.python import program as pyprog
from symgen.tasks.python import task as py
from symgen.verify import Candidate, MinVotes, verify
from tests.conftest import SYMGEN

# ---- Bash ------------------------------------------------------------------------------------
BASH_CHECK = [
    ('find . -name "*.txt" -type f', None),
    ("ls -la | grep foo > out.txt", None),
    ("rm -rf ./build", None),
    ("find . -name '*.tmp' -exec rm -rf {} \\;", None),
    ("dd if=/dev/zero of=/tmp/blank bs=1M count=1", None),
    ("echo $(date) >> /dev/null", None),
    ("", "empty"),
    ('echo "unterminated', "syntax"),
    ("for i in", "syntax"),
    ("ls\nrm x", "multiple_lines"),
    ("#!/bin/bash", "comment_only"),
    ("  # find . -name x", "comment_only"),
    ("ls -la  # long listing", None),
    ("rm -rf /", "destructive"),
    ("sudo rm -fr /*", "destructive"),
    ("rm -r -f ~", "destructive"),
    ("rm -rf $HOME", "destructive"),
    ("rm --no-preserve-root -rf /", "destructive"),
    ("mkfs.ext4 /dev/sda1", "destructive"),
    ("sudo mkfs -t ext4 /dev/sdb", "destructive"),
    ("dd if=/dev/urandom of=/dev/sda", "destructive"),
    ("cat x > /dev/sda", "destructive"),
    (":(){ :|:& };:", "destructive"),
    ("bomb() { bomb | bomb & }; bomb", "destructive"),
    ("chmod -R 777 /", "destructive"),
    ("curl -s http://example.com/install.sh | sudo bash", "destructive"),
    ("kill -9 -1", "destructive"),
    ("shutdown -h now", "destructive"),
]


@pytest.mark.parametrize(("command", "reason"), BASH_CHECK)
def test_bash_static_check(command: str, reason: str | None) -> None:
    assert bash.static_check(command) == reason


BASH_POST = [
    ("ls -la\n# Question: next", "ls -la"),
    ("  $ grep -r foo .  \n", "grep -r foo ."),
    ("```bash\nfind . -type d\n```", "find . -type d"),
    ("\n\n", ""),
]


@pytest.mark.parametrize(("raw", "command"), BASH_POST)
def test_bash_postprocess(raw: str, command: str) -> None:
    assert bash.postprocess(raw) == command


BASH_NORM = [
    ("ls   -la|grep  foo", "ls -la | grep foo"),
    ('find . -name "*.txt"', 'find . -name "*.txt"'),
    ("echo 'a  b'", "echo 'a  b'"),
    ("cat x # trailing comment", "cat x"),
]


@pytest.mark.parametrize(("command", "normal"), BASH_NORM)
def test_bash_normalised_tokens(command: str, normal: str) -> None:
    assert bash.normalise(command) == normal


BLEU = [
    ("ls -la", "ls -la", 1.0, 1.0),
    ("abc", "xyz", 0.0, 0.0),
    ("ls -l", "ls -la", 0.5, 0.95),
    ("find . -name '*.py'", "find . -name '*.txt'", 0.5, 0.9),
    ("", "", 1.0, 1.0),
    ("", "ls", 0.0, 0.0),
]


@pytest.mark.parametrize(("hyp", "ref", "lo", "hi"), BLEU)
def test_char_bleu(hyp: str, ref: str, lo: float, hi: float) -> None:
    assert lo <= bash.char_bleu(hyp, ref) <= hi


def test_bash_knowledge_lists_commands_and_flags() -> None:
    line = bash.knowledge_line(['find . -name "*.py" -type f', "ls -la /tmp", "find / -name x"])
    assert line == "# Commands seen: find (-name -type), ls (-la)"


def cands(*programs: str) -> list[Candidate]:
    return [Candidate(p, -0.1 * i) for i, p in enumerate(programs)]


def test_bash_soft_vote_keeps_the_consensus_and_drops_the_unsafe() -> None:
    verdict = verify(
        bash.BashTask(),
        cands("ls -la", "rm -rf /", "ls  -la", "ls -l", 'echo "x', "ls -lah"),
        MinVotes(3),
    )
    assert verdict.kept and verdict.program == "ls -la"
    assert verdict.votes == 2 and verdict.support is not None and verdict.support > 3
    assert verdict.failures == {"destructive": 1, "syntax": 1}
    assert verdict.provenance()["support"] == round(verdict.support, 3)


def test_bash_soft_vote_rejects_disagreement() -> None:
    verdict = verify(bash.BashTask(), cands("ls", "date +%s", "uname -a", "df -h"), MinVotes(3))
    assert not verdict.kept and verdict.reason == "too_few_votes"


# ---- Python ----------------------------------------------------------------------------------
PY_POST = [
    ("# >>> f(3)\n\ndef f(x):\n    return x\n# Question: next", "def f(x):\n    return x"),
    ("def f(x):\n    return x\n# Question: next", "def f(x):\n    return x"),
    (
        "def f(x):\n    # inner comment\n    return x\n\nassert f(1) == 1",
        "def f(x):\n    # inner comment\n    return x",
    ),
    ("```python\ndef f():\n    return 1\n```\n", "def f():\n    return 1"),
    (
        "import math\ndef f(r):\n    return math.pi * r\nprint(f(1))",
        "import math\ndef f(r):\n    return math.pi * r",
    ),
]


@pytest.mark.parametrize(("raw", "program"), PY_POST)
def test_python_postprocess(raw: str, program: str) -> None:
    assert pyprog.postprocess(raw) == program


PY_CHECK = [
    ("def f(x):\n    return x", "f", None),
    ("def g(x):\n    return x", "f", "wrong_name"),
    ("def f(x):\n    return x", None, None),
    ("x = 1", None, "no_function"),
    ("def f(:\n  pass", None, "syntax"),
    ("", None, "empty"),
]


@pytest.mark.parametrize(("program", "entry", "reason"), PY_CHECK)
def test_python_static_check(program: str, entry: str | None, reason: str | None) -> None:
    assert pyprog.static_check(program, entry) == reason


TESTS = [
    (" f(1, 2)\n# >>> f(3,4)\n# >>> f(3, 4)\ndef f", ["f(1, 2)", "f(3, 4)"]),
    (" f([1,2])\n# >>> g(1)\n# >>> f([])", ["f([1, 2])", "f([])"]),
    (" not python (\n# >>> f(1)", ["f(1)"]),
    (" f(1)\nprint(f(2))", ["f(1)"]),
    (" x = 3", []),
]


@pytest.mark.parametrize(("completion", "tests"), TESTS)
def test_python_parse_tests(completion: str, tests: list[str]) -> None:
    assert pyprog.parse_tests(pyprog.TEST_MARK + completion.lstrip()) == tests


DOCTESTS = [
    (" f(1, 2)\n# 3\n# >>> f(3,4)\n# 7\ndef f", [("f(1, 2)", "3"), ("f(3, 4)", "7")]),
    (" f('a')\n# >>> f('b')\n# 'B'", [("f('a')", ""), ("f('b')", "'B'")]),
    (" f(1)\n# not a literal\n# 2", [("f(1)", "")]),  # only the line right after counts
    (" f(1)\n# (1, [2.5, None])", [("f(1)", "(1, [2.5, None])")]),
    (" f(1)\n# 1\n# >>> f(1)\n# 2", [("f(1)", "1")]),  # a repeated call keeps its first
    (" g(1)\n# {'a': 1}\n# >>> h(2)\n# 5", [("g(1)", "{'a': 1}")]),  # one function
]


@pytest.mark.parametrize(("completion", "doctests"), DOCTESTS)
def test_python_parse_doctests(completion: str, doctests: list[tuple[str, str]]) -> None:
    assert pyprog.parse_doctests(pyprog.TEST_MARK + completion.lstrip()) == doctests


MATCHES = [  # (predicted, sandbox's canonical text, same?)
    ("4", "4", True),
    ("4", "5", False),
    ("4.0", "4", True),  # == semantics, as MBPP's assert
    ("3.14159265358979", "3.141593", True),  # the sandbox rounds floats to 6 places
    ("3.14", "3.141593", False),
    ("(4, 5)", "(4, 5)", True),
    ("[4, 5]", "(4, 5)", False),  # an assert on a tuple fails with a list
    ("{3, 1}", "{1, 3}", True),
    ("'None'", "None", False),
    ("None", "None", True),
    ("True", "True", True),
    ("{'b': 2, 'a': 1}", "dict{'a': 1, 'b': 2}", True),
    ("math.pi", "3.141593", None),  # not a literal: cannot be checked
    ("", "1", None),
    ("5", "!ZeroDivisionError", False),
]


@pytest.mark.parametrize(("expected", "actual", "same"), MATCHES)
def test_predicted_output_matches(expected: str, actual: str, same: bool | None) -> None:
    assert pyprog.output_matches(expected, actual) is same


EXPECTATIONS = [  # (results, predictions, share) -> (matched, checked), met?
    (("4", "9"), ("4", "9"), 1.0, (2, 2), True),
    (("4", "9"), ("4", "8"), 1.0, (1, 2), False),
    (("4", "9"), ("4", "8"), 0.5, (1, 2), True),
    (("4", "9"), ("5", "8"), 0.5, (0, 2), False),
    (("4", "9"), ("", "x + 1"), 1.0, (0, 0), True),  # nothing predicted: the vote decides
    (("4", "9"), ("5", "8"), 0.0, (0, 2), True),  # policy off
]


@pytest.mark.parametrize(("values", "outputs", "share", "match", "met"), EXPECTATIONS)
def test_expected_outputs_policy(
    values: tuple[str, ...],
    outputs: tuple[str, ...],
    share: float,
    match: tuple[int, int],
    met: bool,
) -> None:
    assert py.expectation(values, outputs) == match
    assert py.expectation_met(match, share) is met


ASSERTS = [
    (["assert sim((3, 4),(5, 4)) == (4,)"], "def sim(a, b): pass", ["sim((3, 4), (5, 4))"]),
    (["assert math.isclose(area(2), 12.5, rel_tol=0.001)"], "def area(r): pass", ["area(2)"]),
    (["assert set(f([1])) == set([1])"], "def f(x): pass", ["f([1])"]),
    (["assert max_of(3, 4) == 4"], "", ["max_of(3, 4)"]),
    (["x = 1"], "", []),
]

DOCTEST_ASSERTS = [  # the compared literal becomes the expected output; anything else: ""
    (
        ["assert sim((3, 4),(5, 4)) == (4,)"],
        "def sim(a, b): pass",
        [("sim((3, 4), (5, 4))", "(4,)")],
    ),
    (["assert 'B' == up('b')"], "def up(s): pass", [("up('b')", "'B'")]),
    (["assert math.isclose(area(2), 12.5, rel_tol=0.001)"], "def area(r): pass", [("area(2)", "")]),
    (["assert set(f([1])) == set([1])"], "def f(x): pass", [("f([1])", "")]),
    (["assert f(1) == g(2)"], "def f(x): pass", [("f(1)", "")]),
    (["assert f(1) != 2"], "def f(x): pass", [("f(1)", "")]),
    (["assert f(1)"], "def f(x): pass", [("f(1)", "")]),
]


@pytest.mark.parametrize(("asserts", "program", "doctests"), DOCTEST_ASSERTS)
def test_doctests_from_mbpp_asserts(
    asserts: list[str], program: str, doctests: list[tuple[str, str]]
) -> None:
    assert pyprog.doctests_from_asserts(asserts, program) == doctests


@pytest.mark.parametrize(("asserts", "program", "calls"), ASSERTS)
def test_calls_from_mbpp_asserts(asserts: list[str], program: str, calls: list[str]) -> None:
    assert pyprog.calls_from_asserts(asserts, program) == calls


def test_python_vote_executes_in_the_sandbox_and_counts_hostile_candidates() -> None:
    task = py.PythonTask(["add(1, 2)", "add(-1, 1)"])
    right = "def add(a, b):\n    return a + b"
    verdict = verify(
        task,
        cands(
            right,
            "def add(x, y):\n    return y + x",
            "def add(a, b):\n    return a - b",
            "def add(a, b):\n    while True:\n        pass",
            "import os\ndef add(a, b):\n    os.system('id')\n    return a + b",
            "def add(a, b):\n    print(a + b)",
            "def plus(a, b):\n    return a + b",
        ),
        MinVotes(2),
    )
    assert verdict.kept and verdict.votes == 2 and verdict.program == right
    assert verdict.failures == {
        "sandbox_timeout": 1,
        "sandbox_blocked": 1,
        "empty_result": 1,
        "wrong_name": 1,
    }
    assert task.counter.counts["timeout"] == 1 and task.counter.counts["blocked"] == 1


class ScriptedLLM:
    """Stands in for the LLM in a unit test of the verifier's logic: first the test lines, then
    the candidate functions (the sandbox that runs them is real)."""

    name = "scripted"

    def __init__(self, tests: str, functions: list[str]) -> None:
        from symgen.generators.base import GenStats

        self.replies = [[tests], functions]
        self.prompts: list[str] = []
        self.stats = GenStats()

    def sample(self, prompt: str, **_: object) -> list[Sample]:
        self.prompts.append(prompt)
        return [Sample(text, -0.1, 5) for text in self.replies[len(self.prompts) - 1]]


DOUBLE = "def sq(x):\n    return x + x"  # agrees with itself, wrong on sq(3)
SQUARE = "def sq(x):\n    return x * x"
DUAL = [  # (functions the LLM samples, expected_outputs policy) -> kept?, reason, match
    ([DOUBLE, DOUBLE], 0.0, True, None, (1, 2)),
    ([DOUBLE, DOUBLE], 1.0, False, "expected_outputs", (1, 2)),
    ([DOUBLE, DOUBLE], 0.5, True, None, (1, 2)),
    ([SQUARE, SQUARE], 1.0, True, None, (2, 2)),
]


@pytest.mark.parametrize(("functions", "share", "kept", "reason", "match"), DUAL)
def test_python_vote_then_predicted_outputs(
    tmp_path: Path,
    functions: list[str],
    share: float,
    kept: bool,
    reason: str | None,
    match: tuple[int, int],
) -> None:
    from symgen.config import VerifyConfig

    path = tmp_path / "s.jsonl"
    row = {"text": "Cube it.", "code": "def cu(x): return x**3", "test_list": ["assert cu(2) == 8"]}
    path.write_text(json.dumps(row) + "\n")
    ctx = build_context(
        "python", read_code_seeds(path), verify_cfg=VerifyConfig(expected_outputs=share)
    )
    llm = ScriptedLLM(" sq(2)\n# 4\n# >>> sq(3)\n# 9\n", functions)
    verdict, _ = ctx.answer(llm, "Square it.", samples=2, temperature=0.7, min_votes=MinVotes(2))
    assert (verdict.kept, verdict.reason) == (kept, reason)
    record = ctx.record("Square it.", verdict)
    assert record["tests"] == ["sq(2)", "sq(3)"] and record["outputs"] == ["4", "9"]
    assert (record["expected_matched"], record["expected_checked"]) == match
    # the candidates were sampled after the calls and the predicted outputs
    assert llm.prompts[1].endswith("# Question: Square it.\n# >>> sq(2)\n# 4\n# >>> sq(3)\n# 9\n")


def test_python_given_calls_come_first_and_get_predicted_outputs(tmp_path: Path) -> None:
    """A request that shows a call: the LLM predicts its output, then adds calls of its own."""
    path = tmp_path / "s.jsonl"
    row = {"text": "Cube it.", "code": "def cu(x): return x**3", "test_list": ["assert cu(2) == 8"]}
    path.write_text(json.dumps(row) + "\n")
    ctx = build_context("python", read_code_seeds(path))
    llm = ScriptedLLM(" 25\n# >>> sq(3)\n# 9\n", [SQUARE, SQUARE])
    verdict, _ = ctx.answer(
        llm, "Square it.", samples=2, temperature=0.7, min_votes=MinVotes(2), given=["sq(5)"]
    )
    assert llm.prompts[0].endswith("# Question: Square it.\n# >>> sq(5)\n#")
    record = ctx.record("Square it.", verdict)
    assert record["tests"] == ["sq(5)", "sq(3)"] and record["outputs"] == ["25", "9"]
    assert verdict.kept and (record["expected_matched"], record["expected_checked"]) == (2, 2)


MBPP_PASS = [
    ("def sq(x):\n    return x * x", ["assert sq(3) == 9", "assert sq(0) == 0"], True),
    ("def square(x):\n    return x * x", ["assert sq(3) == 9"], True),  # only function: aliased
    ("def sq(x):\n    return x + x", ["assert sq(3) == 9"], False),
    ("def sq(x):\n    while True:\n        pass", ["assert sq(3) == 9"], False),
    ("import os\ndef sq(x):\n    os.remove('/etc/passwd')", ["assert sq(3) == 9"], False),
]


@pytest.mark.parametrize(("program", "asserts", "ok"), MBPP_PASS)
def test_passes_mbpp_asserts(program: str, asserts: list[str], ok: bool) -> None:
    from symgen.tasks.python.sandbox import Limits

    assert py.passes_asserts(program, asserts, limits=Limits(timeout_s=2)) is ok


# ---- seeds and prompts -------------------------------------------------------------------------
SEEDS = [
    ({"question": "list files", "query": "ls -la"}, "list files", "ls -la", (), ()),
    ({"question": "list files", "command": "ls"}, "list files", "ls", (), ()),
    ({"nl": "count lines", "cmd": "wc -l f"}, "count lines", "wc -l f", (), ()),
    (
        {
            "text": "Square a number.",
            "code": "def sq(x):\r\n  return x*x",
            "task_id": 7,
            "test_list": ["assert sq(2) == 4"],
        },
        "Square a number.",
        "def sq(x):\n  return x*x",
        ("sq(2)",),
        ("4",),
    ),
    (
        {"question": "q", "query": "def f(): pass", "tests": ["f()"]},
        "q",
        "def f(): pass",
        ("f()",),
        (),
    ),
    (
        {"question": "q", "query": "def f(): pass", "tests": ["f()"], "outputs": ["None"]},
        "q",
        "def f(): pass",
        ("f()",),
        ("None",),
    ),
]


@pytest.mark.parametrize(("row", "question", "program", "tests", "outputs"), SEEDS)
def test_seed_formats(
    tmp_path: Path,
    row: dict[str, object],
    question: str,
    program: str,
    tests: tuple[str, ...],
    outputs: tuple[str, ...],
) -> None:
    path = tmp_path / "seeds.jsonl"
    path.write_text(json.dumps(row) + "\n")
    (seed,) = read_code_seeds(path)
    assert (seed.question, seed.program, seed.tests, seed.outputs) == (
        question,
        program,
        tests,
        outputs,
    )


def test_bad_seed_line_is_named(tmp_path: Path) -> None:
    from symgen.errors import SymgenError

    path = tmp_path / "seeds.jsonl"
    path.write_text('{"question": "q"}\n')
    with pytest.raises(SymgenError, match=r"seeds\.jsonl:1"):
        read_code_seeds(path)


def test_bash_prompt_layout(tmp_path: Path) -> None:
    path = tmp_path / "s.jsonl"
    path.write_text(
        "".join(
            json.dumps(r) + "\n"
            for r in [
                {"question": "list all files", "command": "ls -la"},
                {"question": "wipe", "command": "rm -rf /"},
            ]
        )
    )
    ctx = build_context("bash", read_code_seeds(path))
    assert [s.id for s, _ in ctx.skipped_seeds] == ["s.jsonl:2"]
    prompt = ctx.prompt("show the date")
    assert prompt.startswith(bash.INSTRUCTION + "\n# Commands seen: ls (-la)\n\n")
    assert prompt.endswith("# Question: list all files\nls -la\n\n# Question: show the date\n")
    assert ctx.question_prompt(["a b"]).endswith("# Question: a b\n# Question:")
    assert ctx.identity() == {"task": "bash", "prompt_hash": ctx.prompt_hash}


def test_python_prompt_layout(tmp_path: Path) -> None:
    path = tmp_path / "s.jsonl"
    row = {
        "text": "Square it.",
        "code": "import math\ndef sq(x): return x*x",
        "test_list": ["assert sq(2) == 4"],
    }
    path.write_text(json.dumps(row) + "\n")
    ctx = build_context("python", read_code_seeds(path))
    prompt = ctx.prompt("Cube it.")
    assert "# Modules seen: math" in prompt
    assert (
        "# Question: Square it.\n# >>> sq(2)\n# 4\nimport math\n\ndef sq(x):\n    return x * x\n"
        in prompt
    )
    assert prompt.endswith("# Question: Cube it.\n")


# ---- CLI verify --------------------------------------------------------------------------------
def verify_cli(
    task: str, candidates: Path, out: Path, *extra: str
) -> subprocess.CompletedProcess[str]:
    cmd = [*SYMGEN, "verify", "--task", task, "--candidates", str(candidates), "--out", str(out)]
    cmd += extra
    return subprocess.run(cmd, capture_output=True, text=True, timeout=120)


def test_cli_verify_bash_and_python(tmp_path: Path) -> None:
    cand = tmp_path / "c.jsonl"
    cand.write_text(
        json.dumps(
            {
                "question": "list",
                "candidates": [{"query": q} for q in ["ls -l", "ls -l", "ls  -l", "rm -rf /"]],
            }
        )
        + "\n"
        + json.dumps({"question": "nope", "candidates": [{"query": "date"}, {"query": "uname"}]})
        + "\n"
    )
    out = tmp_path / "o.jsonl"
    run = verify_cli("bash", cand, out)
    assert run.returncode == 0, run.stderr
    (row,) = [json.loads(x) for x in out.read_text().splitlines()]
    assert (
        row["query"] == "ls -l" and row["task"] == "bash" and row["failures"] == {"destructive": 1}
    )
    pcand = tmp_path / "p.jsonl"
    pcand.write_text(
        json.dumps(
            {
                "question": "double",
                "test_list": ["assert dbl(2) == 4"],
                "candidates": [{"query": "def dbl(x):\n    return 2 * x"}] * 3,
            }
        )
        + "\n"
    )
    run = verify_cli("python", pcand, out)
    assert run.returncode == 0, run.stderr
    (row,) = [json.loads(x) for x in out.read_text().splitlines()]
    assert row["tests"] == ["dbl(2)"] and row["votes"] == 3
    # the same vote against a predicted output it does not reproduce: dropped by default (the
    # winner must reproduce every prediction, as in generate), kept on the vote alone
    wrong = {"question": "triple", "tests": ["dbl(2)"], "outputs": ["6"]}
    pcand.write_text(
        json.dumps(wrong | {"candidates": [{"query": "def dbl(x):\n    return 2 * x"}] * 3}) + "\n"
    )
    run = verify_cli("python", pcand, out)
    assert run.returncode == 0, run.stderr
    assert out.read_text().strip() == ""
    run = verify_cli("python", pcand, out, "--expected-outputs", "0")
    assert run.returncode == 0 and len(out.read_text().splitlines()) == 1, run.stderr
    run = verify_cli("bash", cand, out, "--expected-outputs", "1")
    assert run.returncode == 2 and "for --task python" in run.stderr
