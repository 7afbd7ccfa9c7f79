"""Commands for Bash gen-q to ask about in turn (`symgen generate --task bash --focus-commands`).

The LLM's new requests stay near its seed requests: from 10 NL2Bash seeds, 8 of them `find`,
three quarters of 1,990 generated pairs were `find` commands, while users ask about every tool.
Naming one command per gen-q call ("the next requests are done with `tar`") spreads the data
over a shell's usual tools; the answers are voted on exactly as before.
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
# fmt: on

_NAME = re.compile(r"[A-Za-z0-9_.+-]+")


def read_commands(spec: str) -> tuple[str, ...]:
    """`common` → `COMMON`; otherwise a file with one command name per line (`#` comments)."""
    if spec == "common":
        return COMMON
    path = Path(spec).expanduser()
    if not path.is_file():
        raise MissingResource(
            f"{path}: command list not found (from --focus-commands); give `common` or a file "
            "with one command name per line"
        )
    names: list[str] = []
    for n, raw in enumerate(path.read_text(encoding="utf-8").splitlines(), 1):
        line = raw.split("#", 1)[0].strip()
        if not line:
            continue
        if not _NAME.fullmatch(line):
            raise SymgenError(f"{path}:{n}: {line!r} is not a command name")
        if line not in names:
            names.append(line)
    if not names:
        raise SymgenError(f"{path}: no command names in it")
    return tuple(names)
