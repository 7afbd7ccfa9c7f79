"""Commands for Bash gen-q to ask about in turn (`symgen generate --task bash --focus-commands`).

The LLM's new requests stay near its seed requests: from 10 NL2Bash seeds, 8 of them `find`,
three quarters of 1,990 generated pairs were `find` commands, while users ask about every tool.
Naming one command per gen-q call ("the next requests are done with `tar`") spreads the data
over a shell's usual tools; the answers are voted on exactly as before. `PIPELINES` asks for
requests done with several tools joined by pipes (`du | sort | head`): generated requests were
shorter than users' and piped less often (22% of the answers against 37% of NL2Bash's).
"""

from __future__ import annotations

import re
from pathlib import Path

from symgen.errors import MissingResource, SymgenError

# Common GNU/Linux command-line tools (coreutils, findutils, grep/sed/awk, archives, processes,
# users, network, shell builtins), in no particular order of frequency.
# fmt: off
COMMON: tuple[str, ...] = (
    # files and directories
    "ls", "cp", "mv", "rm", "mkdir", "rmdir", "ln", "touch", "chmod", "chown", "chgrp", "stat",
    "du", "df", "find", "locate", "xargs", "readlink", "realpath", "basename", "dirname",
    "mktemp", "rename", "file", "tree", "rsync", "dd",
    # text
    "cat", "tac", "head", "tail", "less", "wc", "sort", "uniq", "cut", "paste", "join", "tr",
    "tee", "split", "comm", "diff", "grep", "egrep", "zgrep", "sed", "awk", "nl", "od", "fold",
    "column", "rev", "shuf", "printf", "echo", "seq", "md5sum", "sha256sum", "iconv",
    # archives
    "tar", "gzip", "gunzip", "zcat", "bzip2", "xz", "zip", "unzip",
    # processes and system
    "ps", "pstree", "kill", "pkill", "pgrep", "top", "nice", "nohup", "watch", "crontab",
    "free", "uptime", "uname", "hostname", "date", "cal", "sleep", "timeout", "lsof", "mount",
    # users
    "whoami", "who", "id", "groups", "finger", "getent", "sudo", "su", "passwd",
    # network
    "ssh", "scp", "curl", "wget", "ping", "netstat", "ifconfig", "dig", "nc",
    # shell
    "cd", "pwd", "pushd", "alias", "unalias", "export", "env", "history", "read", "source",
    "which", "type", "bind", "set", "ulimit", "tmux", "screen", "apropos", "man", "bc",
)
# Usual pipelines of those tools, the shapes shell users chain (commands only, no flags).
PIPELINES: tuple[str, ...] = (
    "find | xargs grep", "find | xargs rm", "find | xargs chmod", "find | xargs ls",
    "find | xargs wc", "find | xargs sed", "find | xargs md5sum", "find | xargs tar",
    "find | wc", "find | sort", "find | grep", "find | head", "find | cpio",
    "grep | wc", "grep | sort | uniq", "grep | cut", "grep | awk", "grep | head", "grep | sed",
    "ls | grep", "ls | wc", "ls | sort", "ls | head", "ls | xargs", "ls | awk", "ls | tee",
    "ps | grep", "ps | awk", "ps | sort | head", "ps | grep | awk", "pgrep | xargs kill",
    "cat | grep", "cat | sort | uniq", "cat | wc", "cat | tr", "cat | awk", "cat | sed",
    "cat | head", "cat | tail", "cat | cut", "cat | ssh",
    "sort | uniq", "sort | uniq | sort", "sort | head", "du | sort", "du | sort | head",
    "df | grep", "df | awk", "history | grep", "history | tail",
    "echo | tr", "echo | sed", "echo | awk", "echo | cut", "echo | md5sum", "echo | rev",
    "echo | bc", "seq | xargs", "seq | awk", "cut | sort", "cut | sort | uniq", "awk | sort",
    "awk | sort | uniq", "sed | grep", "tr | sort", "head | tail", "tail | grep", "tail | awk",
    "dmesg | grep", "dmesg | tail", "netstat | grep", "lsof | grep", "who | awk", "who | wc",
    "env | grep", "env | sort", "mount | grep", "tar | ssh", "curl | grep", "curl | tar",
    "zcat | grep", "diff | grep", "md5sum | sort", "md5sum | awk", "yes | head", "file | grep",
    "which | xargs", "rev | cut | rev", "comm | wc", "paste | sort", "tr | xargs",
)
# fmt: on

BUILT_IN = {"common": COMMON, "pipelines": PIPELINES}

_WORD = r"[A-Za-z0-9_.+-]+"
_NAME = re.compile(_WORD)
_STEP = rf"{_WORD}(?: {_WORD})?"  # a command, maybe the one xargs runs
_PIPELINE = re.compile(rf"{_STEP}(?: \| {_STEP})+")


def read_commands(spec: str) -> tuple[str, ...]:
    """`common` → `COMMON`, `pipelines` → `PIPELINES`; otherwise a file with one command name or
    pipeline (`du | sort`) per line (`#` comments)."""
    if spec in BUILT_IN:
        return BUILT_IN[spec]
    path = Path(spec).expanduser()
    if not path.is_file():
        raise MissingResource(
            f"{path}: command list not found (from --focus-commands); give `common`, `pipelines` "
            "or a file with one command name (or `a | b` pipeline) per line"
        )
    names: list[str] = []
    for n, raw in enumerate(path.read_text(encoding="utf-8").splitlines(), 1):
        line = re.sub(r"\s*\|\s*", " | ", " ".join(raw.split("#", 1)[0].split()))
        if not line:
            continue
        if not (_NAME.fullmatch(line) or _PIPELINE.fullmatch(line)):
            raise SymgenError(f"{path}:{n}: {line!r} is not a command name")
        if line not in names:
            names.append(line)
    if not names:
        raise SymgenError(f"{path}: no command names in it")
    return tuple(names)
