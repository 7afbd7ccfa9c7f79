"""Commands from the user's shell history, for history-first Bash data
(`symgen generate --task bash --questions-from history --history FILE`).

Generated requests stay near the 10 seeds (a third of them near-duplicates, covering users'
requests at 0.34 where human ones reach 0.43: README, Code tasks), while a user's shell
history already holds the commands they run, just without requests. So the LLM writes the
request for each command and the answer stage keeps it only when fresh answers to that request
agree with the command (the program-first check of SQL). Nothing here runs a command.

Formats read: bash (`HISTTIMEFORMAT` lines `#1700000000` skipped), zsh extended history
(`: 1700000000:0;cmd`, `\\` continuation lines joined), fish (`- cmd: ...`), or a plain file of
one command per line. Commands are ranked by how often they were run, ties to the most recent,
so `--questions N` describes the N that matter most to the user.
"""

from __future__ import annotations

import re
from collections import Counter
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from pathlib import Path

from symgen.errors import MissingResource
from symgen.tasks.bash.task import normalise, static_check, tokens

MAX_CHARS = 200  # longer lines are pasted scripts, not one-liners a request asks for
_ZSH = re.compile(r"^: \d+:\d+;(.*)$")
_BASH_TIME = re.compile(r"^#\d{9,}$")
_FISH = re.compile(r"^- cmd: (.*)$")
# A secret typed on the command line must not become training data that the editor then
# completes for anyone reading the screen: the word, or a token shaped like a known key.
SECRET = re.compile(
    r"(?i)\b(?:password|secret|token|api[_-]?key|access[_-]?key|bearer|authorization)\b"
    r"|AKIA[0-9A-Z]{16}|\bgh[pousr]_[A-Za-z0-9]{20,}|\bsk-[A-Za-z0-9_-]{20,}"
    r"|\b(?:xox[abp]-[A-Za-z0-9-]{10,})|://[^/\s:@]+:[^/\s@]+@"
)


@dataclass
class HistoryCommands:
    """The commands worth describing, best first, and why the other lines were left out."""

    commands: list[str] = field(default_factory=list)
    skipped: Counter[str] = field(default_factory=Counter)


def history_lines(text: str) -> list[str]:
    """The commands of one history file's text, oldest first, in any format the module reads."""
    lines = text.splitlines()
    if any(_FISH.match(line) for line in lines[:5]):
        # fish: `- cmd: ...` entries with indented `when:`/`paths:` fields; `\\n` is a newline
        return [m.group(1).replace("\\n", "\n") for line in lines if (m := _FISH.match(line))]
    out: list[str] = []
    pending: str | None = None
    for raw in lines:
        if pending is not None:  # a zsh command continued: the previous line ended in `\\`
            pending += "\n" + raw
            if not raw.endswith("\\"):
                out.append(pending)
                pending = None
            continue
        line = raw.rstrip()
        if not line or _BASH_TIME.match(line):
            continue
        if m := _ZSH.match(line):
            line = m.group(1)
            if line.endswith("\\"):
                pending = line
                continue
        out.append(line)
    if pending is not None:
        out.append(pending)
    return out


def rank_commands(lines: Sequence[str]) -> HistoryCommands:
    """Usable commands, most often run first (ties: most recent first), each once.

    Left out, counted by reason: comments, lines of one word (`ls`, `clear`: nothing to
    request), over `MAX_CHARS`, several lines, anything that names a secret, and what the Bash
    verifier refuses (syntax errors, destructive patterns)."""
    result = HistoryCommands()
    count: Counter[str] = Counter()
    last: dict[str, int] = {}
    text: dict[str, str] = {}
    for i, line in enumerate(lines):
        command = line.strip()
        reason = why_skipped(command)
        if reason:
            result.skipped[reason] += 1
            continue
        key = normalise(command)
        if key in count:
            result.skipped["repeated"] += 1
        count[key] += 1
        last[key] = i
        text[key] = command  # the latest spelling of it
    ranked = sorted(count, key=lambda k: (-count[k], -last[k]))
    result.commands = [text[k] for k in ranked]
    return result


def why_skipped(command: str) -> str | None:
    if not command or command.startswith("#"):
        return "comment"
    if "\n" in command:
        return "multiple_lines"
    if len(command) > MAX_CHARS:
        return "too_long"
    if SECRET.search(command):
        return "secret"
    problem = static_check(command)
    if problem:
        return problem
    if len(tokens(command)) < 2:
        return "one_word"
    return None


def read_history(path: str | Path) -> HistoryCommands:
    """`rank_commands` of a history file; a missing one names the usual places."""
    p = Path(path).expanduser()
    if not p.is_file():
        raise MissingResource(
            f"no shell history at {p}; pass --history with your shell's file (bash: "
            "~/.bash_history, zsh: ~/.zsh_history, fish: ~/.local/share/fish/fish_history) or "
            "a text file of one command per line"
        )
    return rank_commands(history_lines(p.read_text(encoding="utf-8", errors="replace")))


def undescribed(commands: Iterable[str], described: Iterable[str]) -> list[str]:
    """`commands` whose normalised form is not among `described` (a rerun's done ones)."""
    done = {normalise(c) for c in described}
    return [c for c in commands if normalise(c) not in done]
