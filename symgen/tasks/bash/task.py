"""Bash as a symbolic language: never executed; verified by parsing, a destructive-pattern
filter and soft agreement (character BLEU between candidates, as the paper's Bash task).

Symbolic knowledge for the prompt = the commands and their flags seen in the seeds.
"""

from __future__ import annotations

import math
import re
from collections import Counter
from collections.abc import Hashable, Iterator, Sequence
from typing import Any

from symgen.config import BASH_LABEL_SMOOTHING
from symgen.tasks.base import Outcome
from symgen.tasks.code import CodeContext, CodeSeed
from symgen.treesitter import parser

NAME = "bash"
STOP: tuple[str, ...] = ("\n",)
INSTRUCTION = "# Bash one-line commands, one for each request."
QUESTION_INSTRUCTION = "# Requests users wrote for Bash one-liners; write new, different ones."
DESCRIBE_INSTRUCTION = "# Each command a user ran, then the request they wrote for it."

# Whole-atom nodes: a quoted string is one token however it is spaced inside.
_ATOMS = {"string", "raw_string", "ansi_c_string", "word", "number", "variable_name"}

# (reason, pattern) on the whitespace-normalised command: the kept data must never teach these.
_ROOTISH = r"(?:/|/\*|~/?|\$HOME/?|\$\{HOME\}/?|/(?:bin|boot|dev|etc|home|lib|root|usr|var)/?)"
DESTRUCTIVE: tuple[tuple[str, re.Pattern[str]], ...] = (
    (
        "rm_root",
        re.compile(rf"\brm\s+(?:-\S+\s+)*-\S*[rRf]\S*\s+(?:-\S+\s+)*{_ROOTISH}(?:\s|$|;|&|\|)"),
    ),
    ("no_preserve_root", re.compile(r"--no-preserve-root")),
    ("mkfs", re.compile(r"(?:^|[\s;&|(])(?:sudo\s+)?mkfs(?:\.\w+)?\b")),
    ("dd_device", re.compile(r"\bdd\b[^|;&]*\bof=/dev/(?!null\b|zero\b|stdout\b|stderr\b)")),
    ("write_device", re.compile(r">\s*/dev/(?:sd|hd|nvme|vd|xvd|mmcblk|disk)\w*")),
    (
        "chmod_root",
        re.compile(rf"\bch(?:mod|own|grp)\s+(?:-\S+\s+)*-\S*R\S*\s+\S+\s+{_ROOTISH}(?:\s|$|;)"),
    ),
    ("kill_all", re.compile(r"\bkill\s+-(?:9|KILL|s\s+KILL)\s+-1\b")),
    ("pipe_to_shell", re.compile(r"\b(?:curl|wget)\b[^|]*\|\s*(?:sudo\s+)?(?:ba|z|da)?sh\b")),
    ("power", re.compile(r"(?:^|[\s;&|])(?:sudo\s+)?(?:shutdown|reboot|halt|poweroff)\b")),
    ("mv_root", re.compile(r"\bmv\s+(?:-\S+\s+)*/\*?\s")),
)


# ---- text --------------------------------------------------------------------------------------
def postprocess(completion: str) -> str:
    """The first non-empty line, without a `$ ` prompt marker or code fences."""
    for line in completion.splitlines():
        line = line.strip()
        if line.startswith("```"):
            continue
        if line.startswith("$ "):
            line = line[2:].strip()
        if line:
            return line
    return ""


def _tree(command: str) -> Any:
    return parser("bash").parse(command.encode("utf-8", "surrogatepass"))


def _walk(node: Any) -> Iterator[Any]:
    stack = [node]
    while stack:
        n = stack.pop()
        yield n
        stack.extend(reversed(n.children))


def tokens(command: str) -> list[str]:
    """The command's token sequence by tree-sitter-bash (quoted strings are single tokens)."""
    source = command.encode("utf-8", "surrogatepass")
    out: list[str] = []
    stack = [_tree(command).root_node]
    while stack:
        node = stack.pop()
        if node.type == "comment":
            continue
        if node.type in _ATOMS or node.child_count == 0:
            text = source[node.start_byte : node.end_byte].decode("utf-8", "replace")
            if text.strip():
                out.append(text)
            continue
        stack.extend(reversed(node.children))
    return out


def piped(command: str) -> bool:
    """Whether the command joins commands with a pipe (a `|` inside quotes does not count)."""
    return any(node.type == "pipeline" for node in _walk(_tree(command).root_node))


def normalise(command: str) -> str:
    """Canonical text: tokens joined by one space (spacing and comments do not matter)."""
    return " ".join(tokens(command))


def destructive(command: str) -> str | None:
    """The name of the first destructive pattern the command matches, or None."""
    flat = " ".join(command.split())
    for reason, pattern in DESTRUCTIVE:
        if pattern.search(flat):
            return reason
    if _recursive_function(command):
        return "fork_bomb"
    return None


def _recursive_function(command: str) -> bool:
    """A function that calls itself (`:(){ :|:& };:`): in a one-liner that is a fork bomb."""
    source = command.encode("utf-8", "surrogatepass")
    for node in _walk(_tree(command).root_node):
        if node.type != "function_definition":
            continue
        name_node = node.child_by_field_name("name")
        body = node.child_by_field_name("body")
        if name_node is None or body is None:
            continue
        name = source[name_node.start_byte : name_node.end_byte]
        for inner in _walk(body):
            if inner.type == "command_name" and source[inner.start_byte : inner.end_byte] == name:
                return True
    return False


def static_check(command: str) -> str | None:
    if not command.strip():
        return "empty"
    if "\n" in command.strip():
        return "multiple_lines"
    root = _tree(command).root_node
    if root.has_error:
        return "syntax"
    if all(child.type == "comment" for child in root.children):
        return "comment_only"  # `#!/bin/bash` answers a request for a script: nothing runs
    if destructive(command):
        return "destructive"
    return None


# ---- metric and soft agreement ------------------------------------------------------------------
def _ngrams(text: str, n: int) -> Counter[str]:
    return Counter(text[i : i + n] for i in range(len(text) - n + 1))


def char_bleu(
    hypothesis: str, reference: str, max_n: int = 4, *, brevity_penalty: bool = True
) -> float:
    """Character-level BLEU in [0, 1] (add-one smoothing above unigrams, brevity penalty).
    `brevity_penalty=False`: the n-gram precisions alone (how much of a score answers shorter
    than the reference cost, `benchmarks.bash_data`)."""
    hyp, ref = " ".join(hypothesis.split()), " ".join(reference.split())
    if not hyp or not ref:
        return float(hyp == ref)
    if hyp == ref:
        return 1.0
    log_sum = 0.0
    for n in range(1, max_n + 1):
        h, r = _ngrams(hyp, n), _ngrams(ref, n)
        total = sum(h.values())
        match = sum(min(c, r[g]) for g, c in h.items())
        if n == 1:
            if match == 0:
                return 0.0
            log_sum += math.log(match / total)
        else:
            log_sum += math.log((match + 1) / (total + 1))
    short = brevity_penalty and len(hyp) <= len(ref)
    penalty = math.exp(1 - len(ref) / len(hyp)) if short else 1.0
    return penalty * math.exp(log_sum / max_n)


def similarity(a: str, b: str) -> float:
    """Symmetric character BLEU: how much two candidates agree (1 = identical)."""
    return 1.0 if a == b else (char_bleu(a, b) + char_bleu(b, a)) / 2


# ---- symbolic knowledge and prompts -------------------------------------------------------------
def commands_and_flags(commands: Sequence[str]) -> dict[str, list[str]]:
    """Command name -> flags (arguments starting with `-`) seen with it, in first-seen order."""
    found: dict[str, dict[str, None]] = {}
    for command in commands:
        source = command.encode("utf-8", "surrogatepass")
        for node in _walk(_tree(command).root_node):
            if node.type != "command":
                continue
            name = node.child_by_field_name("name")
            if name is None:
                continue
            cmd = source[name.start_byte : name.end_byte].decode("utf-8", "replace")
            flags = found.setdefault(cmd, {})
            for arg in node.children_by_field_name("argument"):
                text = source[arg.start_byte : arg.end_byte].decode("utf-8", "replace")
                if re.fullmatch(r"--?[A-Za-z][\w-]*", text):
                    flags.setdefault(text)
    return {cmd: list(flags) for cmd, flags in found.items()}


def knowledge_line(commands: Sequence[str], max_flags: int = 6) -> str:
    """`# Commands seen: find (-name -type), grep (-r)`: the seeds' vocabulary, for the prompt."""
    parts = []
    for cmd, flags in commands_and_flags(commands).items():
        parts.append(f"{cmd} ({' '.join(flags[:max_flags])})" if flags else cmd)
    return "# Commands seen: " + ", ".join(parts) if parts else ""


class BashTask:
    """Bash for the agreement verifier: parse + safety filter, soft vote by character BLEU."""

    name = NAME
    answer_prefix = ""
    stop: tuple[str, ...] = STOP
    needs_database = False
    # paths, globs, numbers... become slots (`bash.literals`); measured in config.py
    supports_placeholders = True
    label_smoothing = BASH_LABEL_SMOOTHING
    vote_defaults: tuple[int, str] | None = None
    expected_outputs: float | None = None
    needs_tests = False

    @staticmethod
    def canonical(program: str) -> str:
        """Collapsed spacing: the shell reads `ls  -l` as `ls -l`."""
        return " ".join(program.split())

    # `symgen eval`'s summary: (metric, the record field it averages)
    summary_metrics: tuple[tuple[str, str], ...] = (
        ("char_bleu", "char_bleu"),
        ("exact_match", "exact"),
    )

    def score(
        self, pred: str, gold: str, asserts: Sequence[str] = (), setup: str = ""
    ) -> dict[str, Any]:
        """A prediction against the gold command, compared as text: a command is never run, so
        there is no execution to compare (character BLEU, exact match of normalised tokens)."""
        return {
            "char_bleu": round(char_bleu(pred, gold), 4),
            "exact": bool(pred) and normalise(pred) == normalise(gold),
        }

    def postprocess(self, completion: str) -> str:
        return postprocess(completion)

    def static_check(self, program: str) -> str | None:
        return static_check(program)

    def dedup_key(self, program: str) -> str:
        return normalise(program)

    def execute(self, program: str) -> Outcome:
        """Never runs anything: the agreement key is the normalised token sequence."""
        return Outcome(key=normalise(program))

    def similarity(self, a: Hashable, b: Hashable) -> float:
        return similarity(str(a), str(b))


def make_task() -> BashTask:
    return BashTask()


class Context(CodeContext):
    """Bash prompts: the seeds' commands and flags, then `# Question:` / command demos."""

    name = NAME
    question_instruction = QUESTION_INSTRUCTION
    question_sources = ("llm", "history")  # history: the user's commands, described
    takes_focus = True  # gen-q asks about one command of `--focus-commands` at a time

    def check_seed(self, seed: CodeSeed) -> str | None:
        return static_check(seed.program)

    def header(self) -> str:
        line = knowledge_line([s.program for s in self.demos])
        return f"{INSTRUCTION}\n{line}" if line else INSTRUCTION

    def demo(self, seed: CodeSeed) -> str:
        return f"{self.question_block(seed.question)}{seed.program.strip()}\n"

    def describe_prompt(self, command: str) -> str:
        """History-first gen-q: the seeds as command-then-request demos, then `command`; the
        continuation is its request (`symgen.tasks.bash.history`)."""
        demos = "".join(
            f"$ {s.program.strip()}\n{self.question_block(s.question)}\n" for s in self.demos
        )
        return (
            f"{self.header()}\n\n{DESCRIBE_INSTRUCTION}\n\n{demos}$ {command.strip()}\n# Question:"
        )

    def focus_line(self, focus: str) -> str:
        if "|" in focus:
            return f"# The next requests are done with a pipeline such as `{focus}`."
        return f"# The next requests are done with `{focus}`."
