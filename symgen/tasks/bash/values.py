"""Invented argument values for Bash argument swaps: new text of the same shape, not drawn from
the data.

Swapping an argument for another one *seen in the data* only teaches copying when the data's
values are varied. Human NL2Bash pairs are (2,443 distinct literals in 3,616 pairs); the
generator's are not (269 in 1,990, `/home/luser`, `bam` and `abc` alone over 20%), so a model
trained on its swaps memorises those values instead of copying the request's. An invented value
keeps the original's shape (separators, leading `/`, `~/`, `*.`, letter case, digit count) and
replaces each run of letters by a word and each run of digits by other digits, so the kind
(`path`, `glob`, `file`, `name`, `number`) is kept and any value a request may name can occur.
"""

from __future__ import annotations

import random
import re

# Words for names and path parts (common English and file-system vocabulary).
# fmt: off
WORDS: tuple[str, ...] = (
    "alpha", "apps", "archive", "assets", "audio", "backup", "bin", "blog", "build", "cache",
    "client", "code", "config", "core", "data", "db", "debug", "deploy", "design", "dev",
    "dist", "docs", "download", "drafts", "dump", "events", "export", "files", "fonts", "game",
    "home", "html", "images", "img", "include", "input", "invoice", "jobs", "lib", "local",
    "logs", "mail", "main", "media", "misc", "models", "music", "notes", "old", "output",
    "packages", "pages", "photos", "pics", "plugins", "private", "project", "public", "queue",
    "reports", "repo", "res", "results", "scripts", "server", "share", "site", "source",
    "spool", "src", "static", "storage", "style", "temp", "test", "tests", "themes", "tmp",
    "tools", "upload", "users", "var", "video", "vendor", "web", "work", "www", "alice", "bob",
    "carol", "dave", "emma", "frank", "grace", "henry", "ivan", "julia", "kevin", "laura",
    "mike", "nina", "oscar", "paul", "rita", "sam", "tina", "victor", "apple", "banana",
    "cherry", "lemon", "mango", "olive", "peach", "pear", "plum", "berry", "river", "stone",
    "cloud", "maple", "cedar", "pine", "birch", "falcon", "eagle", "otter", "tiger", "zebra",
    "koala", "panda", "orbit", "comet", "nova", "pixel", "vector", "matrix", "kernel", "module",
    "widget", "gadget", "engine", "parser", "loader", "writer", "reader", "runner", "worker",
    "helper", "report", "summary", "ledger", "budget", "sales", "orders", "payroll", "invoices",
    "clients", "staff", "records", "history", "journal",
)
# fmt: on
# File-name extensions (replace the letters after the last dot of a glob or file name).
# fmt: off
EXTENSIONS: tuple[str, ...] = (
    "txt", "log", "csv", "json", "xml", "yaml", "yml", "ini", "conf", "cfg", "md", "rst",
    "html", "htm", "css", "js", "ts", "py", "rb", "pl", "php", "java", "c", "h", "cpp", "hpp",
    "go", "rs", "sh", "bash", "zsh", "sql", "db", "sqlite", "jpg", "jpeg", "png", "gif", "svg",
    "mp3", "mp4", "avi", "mkv", "wav", "flac", "pdf", "doc", "docx", "xls", "xlsx", "odt",
    "tar", "gz", "tgz", "zip", "bz2", "xz", "bak", "tmp", "old", "swp", "out", "dat", "bin",
    "iso", "deb", "rpm",
)
# fmt: on
_RUN = re.compile(r"[A-Za-z]+|\d+")


def invent_like(value: str, rng: random.Random) -> str:
    """A new value shaped like `value`: each letter run becomes a word (an extension after the
    last dot), each digit run other digits of the same length (no leading zero added)."""
    runs = list(_RUN.finditer(value))
    last_dot = value.rfind(".")
    pieces, last = [], 0
    for m in runs:
        text = m.group()
        pieces.append(value[last : m.start()])
        if text.isdigit():
            new = _digits(text, rng)
        elif last_dot >= 0 and m.start() == last_dot + 1 and m.end() == len(value):
            new = _cased(rng.choice(EXTENSIONS), text)
        elif len(text) == 1:
            new = _cased(rng.choice("abcdefghijklmnopqrstuvwxyz"), text)
        else:
            new = _cased(rng.choice(WORDS), text)
        pieces.append(new)
        last = m.end()
    pieces.append(value[last:])
    return "".join(pieces)


def _digits(like: str, rng: random.Random) -> str:
    """As many digits as `like`, a leading zero kept (`007`), none added (`42` → not `05`)."""
    if len(like) == 1:
        return rng.choice("0123456789")
    first = "0" if like.startswith("0") else rng.choice("123456789")
    return first + "".join(rng.choice("0123456789") for _ in range(len(like) - 1))


def _cased(word: str, like: str) -> str:
    """`word` in `like`'s letter case (UPPER, Capitalised or lower)."""
    if like.isupper() and len(like) > 1:
        return word.upper()
    if like[0].isupper():
        return word.capitalize()
    return word
