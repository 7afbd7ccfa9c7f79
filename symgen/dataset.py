"""JSONL in and out: line-numbered errors on read, crash-safe appends for resumable runs."""

from __future__ import annotations

import json
import os
from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any, TextIO

from symgen.errors import MissingResource, SymgenError


@dataclass(frozen=True)
class Pair:
    """One (natural language, program) example; `id` keeps provenance back to its source line."""

    question: str
    query: str
    id: str = ""


def read_jsonl(path: str | Path, required: Sequence[str] = ()) -> list[dict[str, Any]]:
    """Read every object of a JSONL file, or fail naming the file and line (nothing half-read)."""
    path = Path(path)
    if not path.is_file():
        raise MissingResource(f"{path}: no such file")
    records: list[dict[str, Any]] = []
    with path.open(encoding="utf-8") as fh:
        for lineno, line in enumerate(fh, start=1):
            if not line.strip():
                continue
            try:
                obj = json.loads(line)
            except json.JSONDecodeError as exc:
                raise SymgenError(f"{path}:{lineno}: not valid JSON ({exc.msg})") from None
            if not isinstance(obj, dict):
                raise SymgenError(
                    f"{path}:{lineno}: expected a JSON object, got {type(obj).__name__}"
                )
            for key in required:
                if not isinstance(obj.get(key), str) or not obj[key].strip():
                    raise SymgenError(f"{path}:{lineno}: missing or empty string field {key!r}")
            records.append(obj)
    return records


def read_pairs(path: str | Path, query_field: str = "query") -> list[Pair]:
    """Read seed/eval pairs (`question` + `query` fields, as in shared/data/geoquery)."""
    records = read_jsonl(path, required=("question", query_field))
    return [
        Pair(
            r["question"].strip(),
            r[query_field].strip(),
            str(r.get("id", f"{Path(path).name}:{i}")),
        )
        for i, r in enumerate(records, start=1)
    ]


def read_resumable(path: str | Path) -> list[dict[str, Any]]:
    """Read a file this tool appends to, dropping a last line cut short by a crash.

    Only the final line may be torn (we flush whole lines); a bad line elsewhere is an error,
    because it means the file was edited by hand and silently skipping it would lose data.
    """
    path = Path(path)
    if not path.exists():
        return []
    data = path.read_bytes()
    lines = data.split(b"\n")
    records: list[dict[str, Any]] = []
    good_bytes = 0
    for idx, raw in enumerate(lines):
        is_last = idx == len(lines) - 1
        if is_last and not raw.strip():
            break
        try:
            obj = json.loads(raw) if raw.strip() else None
        except json.JSONDecodeError:
            if is_last:  # torn tail from an interrupted write: cut it off and carry on
                with path.open("r+b") as fh:
                    fh.truncate(good_bytes)
                break
            raise SymgenError(
                f"{path}:{idx + 1}: not valid JSON; fix or remove this line"
            ) from None
        if obj is not None:
            records.append(obj)
        good_bytes += len(raw) + 1
    return records


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
