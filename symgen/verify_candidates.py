"""Verifying a file of candidates: every record checked first, verdicts appended as reached, a
rerun with the same inputs resuming where the last stopped."""

from __future__ import annotations

import json
from collections import Counter
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from symgen.errors import SymgenError
from symgen.tasks.registry import task_for

# A verdict on one candidates record: (kept, the record to write to --out or its .rejected file)
Judge = Callable[[dict[str, Any]], tuple[bool, dict[str, Any]]]


def check_candidates(path: Path, task: str, quiet: bool) -> tuple[int, str]:
    """(records, sha256) of a candidates file, every record checked first (one streaming pass):
    a bad line 90 MB in fails before any work, naming its line and field."""
    import hashlib

    from symgen.dataset import PROGRESS_BYTES, iter_jsonl, open_input
    from symgen.progress import bar

    open_input(path).close()  # missing, a directory, unreadable: one line, before the bar
    digest, total = hashlib.sha256(), 0
    big = path.stat().st_size >= PROGRESS_BYTES
    with bar(
        total=path.stat().st_size, desc="check candidates", unit="B", unit_scale=True,
        disable=quiet or not big,
    ) as pb:  # fmt: skip

        def seen(raw: bytes) -> None:
            digest.update(raw)
            pb.update(len(raw))

        for lineno, row in iter_jsonl(path, required=("question",), on_line=seen):
            why = candidates_problem(row, task)
            if why is not None:
                raise SymgenError(f"{path}:{lineno}: {why}")
            total += 1
    if not total:
        raise SymgenError(f"{path}: no records; each line is one question's candidates")
    return total, digest.hexdigest()[:16]


def _is_number(value: Any) -> bool:
    return isinstance(value, int | float) and not isinstance(value, bool)


def _string_list(row: dict[str, Any], key: str) -> str | None:
    value = row.get(key)
    if value is None or (isinstance(value, list) and all(isinstance(v, str) for v in value)):
        return None
    return f"{key!r} must be a list of strings, got {_shown(value)}"


def _shown(value: Any) -> str:
    text = json.dumps(value, ensure_ascii=False)
    return text if len(text) <= 40 else text[:37] + "..."


CANDIDATES_SHAPE = """'candidates' must be a list of {"query": ..., "logprob": ...}"""


def candidates_problem(row: dict[str, Any], task: str) -> str | None:
    """What is wrong with one candidates record (None: fine), naming the field."""
    cands = row.get("candidates")
    if not isinstance(cands, list):
        return f"{CANDIDATES_SHAPE}, got {_shown(cands)}"
    for i, cand in enumerate(cands):
        if not isinstance(cand, dict) or not isinstance(cand.get("query"), str):
            return f"{CANDIDATES_SHAPE}: item {i} is {_shown(cand)}"
        logprob = cand.get("logprob")
        if logprob is not None and not _is_number(logprob):
            return f"'candidates'[{i}].logprob must be a number, got {_shown(logprob)}"
    for key in ("tests", "outputs", "test_list"):
        if (why := _string_list(row, key)) is not None:
            return why
    if task_for(task).needs_tests and not python_tests(row)[0]:
        return f"{task} candidates need 'tests' (calls) or MBPP 'test_list' asserts"
    return None


def python_tests(row: dict[str, Any]) -> tuple[list[str], list[str]]:
    """(test calls, their expected outputs): the row's own, else from its MBPP asserts."""
    from symgen.tasks.python.program import doctests_from_asserts

    tests: list[str] = row.get("tests") or []
    outputs: list[str] = row.get("outputs") or []
    if not tests:
        pairs = doctests_from_asserts(row.get("test_list") or [])
        tests, outputs = [c for c, _ in pairs], [o for _, o in pairs]
    return tests, outputs


def verify_stream(
    candidates: Path,
    out: Path,
    identity: dict[str, Any],
    total: int,
    judge: Judge,
    *,
    quiet: bool = False,
    notes: Callable[[Sequence[str]], None] = lambda _: None,
) -> tuple[int, int]:
    """Judge every record not judged by an earlier run of the same inputs, appending each
    verdict as it is reached; (kept, refused as unstated numbers) over all runs."""
    from itertools import islice

    from symgen.dataset import JsonlAppender, iter_jsonl
    from symgen.progress import bar

    rej = out.with_name(out.stem + ".rejected.jsonl")
    earlier = earlier_verify(out, rej, out.with_name(out.stem + ".run.json"), identity)
    kept, reasons = earlier.kept, earlier.reasons
    done = kept + sum(reasons.values())
    rows = (row for _, row in iter_jsonl(candidates))
    if Counter(r["question"] for r in islice(rows, done)) != earlier.questions:
        raise SymgenError(
            f"{out} and {rej.name} do not hold verdicts on the first {done} questions of "
            f"{candidates} (edited by hand?); delete them or pass a new --out"
        )
    if done:
        notes([f"resuming {out}: {done} of {total} questions verified by an earlier run"])
    with (
        JsonlAppender(out) as kept_out,
        JsonlAppender(rej) as rej_out,
        bar(total=total, initial=done, desc="verify", unit="q", disable=quiet) as pb,
    ):
        for row in rows:
            ok, record = judge(row)
            if ok:
                kept_out.write(record)
                kept += 1
            else:
                rej_out.write(record)
                reasons[record.get("reason") or "?"] += 1
            pb.update()
            pb.set_postfix(kept=kept)
    return kept, reasons["unstated_number"]


@dataclass
class EarlierVerify:
    """What an interrupted `verify` with the same inputs left: its verdicts, in input order."""

    kept: int = 0
    reasons: Counter[str] = field(default_factory=Counter)  # rejected, by why
    questions: Counter[str] = field(default_factory=Counter)  # of kept and rejected alike


def earlier_verify(out: Path, rej: Path, run: Path, identity: dict[str, Any]) -> EarlierVerify:
    """The verdicts of an earlier run with this `identity`; any other earlier verify output is
    replaced (as verify always did), another command's run is refused."""
    from symgen.dataset import read_resumable

    previous = json.loads(run.read_text()) if run.is_file() else None
    if previous is not None and previous.get("verb") != "verify":
        raise SymgenError(
            f"{out} belongs to another command's run ({run}); use a new --out for verify"
        )
    if previous is not None and previous.get("identity") == identity:
        kept, rejected = read_resumable(out), read_resumable(rej)
        return EarlierVerify(
            len(kept),
            Counter(r.get("reason") or "?" for r in rejected),
            Counter(str(r.get("question")) for r in kept + rejected),
        )
    for path in (out, rej):
        if path.exists():
            path.write_text("")
    out.parent.mkdir(parents=True, exist_ok=True)
    run.write_text(json.dumps({"verb": "verify", "identity": identity}, indent=2))
    return EarlierVerify()


def candidates_of(row: dict[str, Any]) -> list[Any]:
    from symgen.verify import Candidate

    return [Candidate(c["query"], float(c.get("logprob") or 0.0)) for c in row["candidates"]]
