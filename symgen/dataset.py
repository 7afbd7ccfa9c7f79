"""JSONL in and out: line-numbered errors on read, crash-safe appends for resumable runs.

Reading streams: a line is read with a bounded `readline`, so a file that is one 40 MB line (or
a binary file without newlines) is refused naming its line before it is in memory, and a 100 MB
file costs one record at a time, not the whole file.
"""

from __future__ import annotations

import json
import os
import re
from collections.abc import Callable, Iterable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import IO, Any, TextIO

from symgen.errors import MissingResource, SymgenError

# A pair or a question's candidate list is a few kB; a longer line is the wrong file (or a
# hostile one), and refusing it early keeps memory bounded. `--max-line-bytes` changes it.
MAX_LINE_BYTES = 1 << 20
# Files at least this big show a progress bar while they are read (a few seconds of parsing).
PROGRESS_BYTES = 32 << 20

_line_limit = MAX_LINE_BYTES
_NON_WORD = re.compile(r"[^a-z0-9 ]+")


def question_key(question: str) -> str:
    """Dedup key: lower case, punctuation dropped, spaces collapsed (the generator's dedup and
    the engine's grounding must agree on it, so it lives with the records)."""
    return " ".join(_NON_WORD.sub(" ", question.lower()).split())


@contextmanager
def line_limit(max_bytes: int) -> Iterator[None]:
    """Every JSONL read inside uses `max_bytes` per line (the CLI's `--max-line-bytes`): the
    readers are called deep inside the verbs, so the limit is set once around the command."""
    global _line_limit
    if max_bytes < 1:
        raise SymgenError("--max-line-bytes must be at least 1")
    previous, _line_limit = _line_limit, max_bytes
    try:
        yield
    finally:
        _line_limit = previous


def _size(n: int) -> str:
    return f"{n / (1 << 20):g} MB" if n >= 1 << 20 else f"{n:,} bytes"


@dataclass(frozen=True)
class Pair:
    """One (natural language, program) example; `id` keeps provenance back to its source line."""

    question: str
    query: str
    id: str = ""


def open_input(path: str | Path) -> IO[bytes]:
    """`path` opened for reading, or one line saying why it cannot be (missing: exit 3)."""
    path = Path(path)
    if path.is_dir():
        raise SymgenError(f"{path}: is a directory; pass a JSONL file")
    if not path.exists():
        raise MissingResource(f"{path}: no such file")
    try:
        return path.open("rb")
    except OSError as exc:
        raise SymgenError(f"{path}: cannot read ({exc.strerror})") from None


def iter_lines(
    fh: IO[bytes], path: str | Path, max_bytes: int | None = None
) -> Iterator[tuple[int, bytes]]:
    """(line number, raw line with its newline), each read with a bounded `readline`: a line
    over `max_bytes` is refused after reading `max_bytes + 1` of it, never whole."""
    limit = _line_limit if max_bytes is None else max_bytes
    lineno = 0
    while raw := fh.readline(limit + 1):
        lineno += 1
        if len(raw) > limit and not raw.endswith(b"\n"):
            raise SymgenError(
                f"{path}:{lineno}: line longer than {_size(limit)} (--max-line-bytes); a JSONL "
                "record is one short line: is this the right file?"
            )
        yield lineno, raw


def _decode(raw: bytes, path: str | Path, lineno: int) -> str:
    """The line as text, or where it stops being text (a binary file, another encoding)."""
    nul = raw.find(b"\x00")
    if nul >= 0:
        raise SymgenError(
            f"{path}:{lineno}: binary data (a NUL byte at column {nul + 1}); pass a JSONL text file"
        )
    try:
        return raw.decode("utf-8-sig" if lineno == 1 else "utf-8")
    except UnicodeDecodeError as exc:
        raise SymgenError(
            f"{path}:{lineno}: not UTF-8 text (byte 0x{raw[exc.start]:02x} at column "
            f"{exc.start + 1}); save the file as UTF-8 JSONL"
        ) from None


def parse_line(raw: bytes, path: str | Path, lineno: int) -> dict[str, Any] | None:
    """One JSONL line as an object (None for a blank line), or an error naming file:line."""
    text = _decode(raw, path, lineno).rstrip("\r\n")
    if not text.strip():
        return None
    try:
        obj = json.loads(text)
    except json.JSONDecodeError as exc:
        raise SymgenError(
            f"{path}:{lineno}: not valid JSON at column {exc.pos + 1} ({exc.msg})"
        ) from None
    except (ValueError, RecursionError) as exc:  # a 5000-digit number, arrays nested 10^5 deep
        why = "nested too deeply" if isinstance(exc, RecursionError) else str(exc).split(";")[0]
        raise SymgenError(f"{path}:{lineno}: not valid JSON ({why})") from None
    if not isinstance(obj, dict):
        raise SymgenError(f"{path}:{lineno}: expected a JSON object, got {type(obj).__name__}")
    return obj


def check_fields(obj: dict[str, Any], required: Sequence[str], where: str) -> None:
    """Each `required` field is a non-empty string, or `where` (file:line) names the field."""
    for key in required:
        value = obj.get(key)
        if not isinstance(value, str) or not value.strip():
            got = "" if value is None else f" (got {type(value).__name__})"
            raise SymgenError(f"{where}: missing or empty string field {key!r}{got}")


def iter_jsonl(
    path: str | Path,
    required: Sequence[str] = (),
    *,
    on_line: Callable[[bytes], None] | None = None,
) -> Iterator[tuple[int, dict[str, Any]]]:
    """(line number, object) for every record of a JSONL file, one line in memory at a time.

    `on_line` sees every raw line (blank ones too): a progress bar or a running hash, without
    reading the file twice."""
    with open_input(path) as fh:
        for lineno, raw in iter_lines(fh, path):
            if on_line is not None:
                on_line(raw)
            obj = parse_line(raw, path, lineno)
            if obj is None:
                continue
            check_fields(obj, required, f"{path}:{lineno}")
            yield lineno, obj


def read_jsonl(path: str | Path, required: Sequence[str] = ()) -> list[dict[str, Any]]:
    """Read every object of a JSONL file, or fail naming the file and line (nothing half-read).

    A big file shows a progress bar (in bytes) while it is read."""
    size = Path(path).stat().st_size if Path(path).is_file() else 0
    if size < PROGRESS_BYTES:
        return [obj for _, obj in iter_jsonl(path, required)]
    from symgen.progress import bar

    with bar(total=size, desc=f"read {Path(path).name}", unit="B", unit_scale=True) as pb:
        return [obj for _, obj in iter_jsonl(path, required, on_line=lambda r: pb.update(len(r)))]


def read_pairs(path: str | Path, query_field: str = "query") -> list[Pair]:
    """Read seed/eval pairs (`question` + `query` fields, as in shared/data/geoquery); an
    empty file is refused (no seeds, nothing to evaluate: always a wrong path)."""
    pairs = [
        Pair(
            r["question"].strip(),
            r[query_field].strip(),
            str(r.get("id", f"{Path(path).name}:{i}")),
        )
        for i, (_, r) in enumerate(iter_jsonl(path, required=("question", query_field)), start=1)
    ]
    if not pairs:
        raise SymgenError(
            f"{path}: no pairs (an empty file?); each line is one "
            f'{{"question": ..., "{query_field}": ...}} object'
        )
    return pairs


def iter_resumable(path: str | Path) -> Iterator[dict[str, Any]]:
    """The records of a file this tool appends to, repairing the tail a crash left.

    Only the final line may be torn (we flush whole lines): cut short, it is truncated away; whole
    but without its newline, the newline is added (else the next append would glue onto it). A
    bad line elsewhere is an error, because it means the file was edited by hand and silently
    skipping it would lose data."""
    path = Path(path)
    if not path.exists():
        return
    good_bytes = 0
    torn: tuple[int, bytes] | None = None
    with open_input(path) as fh:
        for lineno, raw in iter_lines(fh, path):
            if not raw.endswith(b"\n"):  # only the last line can lack its newline
                torn = lineno, raw
                break
            try:
                obj = parse_line(raw, path, lineno)
            except SymgenError as exc:
                raise SymgenError(f"{exc}; fix or remove this line") from None
            good_bytes += len(raw)
            if obj is not None:
                yield obj
    if torn is None:
        return
    try:
        obj = parse_line(torn[1], path, torn[0])
    except SymgenError:  # torn tail from an interrupted write: cut it off and carry on
        with path.open("r+b") as fh:
            fh.truncate(good_bytes)
        return
    with path.open("ab") as fh:
        fh.write(b"\n")
    if obj is not None:
        yield obj


def read_resumable(path: str | Path) -> list[dict[str, Any]]:
    """Every record of a file this tool appends to (see `iter_resumable`); [] if absent."""
    return list(iter_resumable(path))


class JsonlAppender:
    """Append-only JSONL writer that flushes each record, so an interrupt loses at most one line."""

    def __init__(self, path: str | Path) -> None:
        self.path = Path(path)
        self.path.parent.mkdir(parents=True, exist_ok=True)
        self._fh: TextIO = self.path.open("a", encoding="utf-8")

    def write(self, record: dict[str, Any]) -> None:
        self._fh.write(json.dumps(record, ensure_ascii=False) + "\n")
        self._fh.flush()
        os.fsync(self._fh.fileno())

    def close(self) -> None:
        self._fh.close()

    def __enter__(self) -> JsonlAppender:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


def write_jsonl(path: str | Path, records: Iterable[dict[str, Any]]) -> int:
    """Write a whole file atomically (temp file + rename): readers never see half a file.

    The temp name is the writer's own (pid), so two runs writing the same derived file at once
    (two benchmarks started together) each rename a whole file instead of racing for one name.
    """
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(f"{path.name}.{os.getpid()}.tmp")
    count = 0
    with tmp.open("w", encoding="utf-8") as fh:
        for record in records:
            fh.write(json.dumps(record, ensure_ascii=False) + "\n")
            count += 1
    os.replace(tmp, path)
    return count


def iter_chunks(items: Sequence[Any], size: int) -> Iterator[Sequence[Any]]:
    for start in range(0, len(items), size):
        yield items[start : start + size]
