"""Invented Bash argument values (`symgen augment --values invented`): shape kept, kind kept,
values varied, and swaps over the generator's own tracked pairs stop repeating its few values."""

from __future__ import annotations

import random
import re
import subprocess
from collections import Counter
from pathlib import Path

import pytest

from symgen.dataset import read_jsonl
from symgen.errors import SymgenError
from symgen.tasks.bash.augment import arg_slots, augment_bash, kind_of, with_augmented_bash
from symgen.tasks.bash.task import static_check
from symgen.tasks.bash.values import EXTENSIONS, invent_like
from tests.conftest import FIXTURES, ROOT, SYMGEN
from tests.fixture_files import Row, params, tsv_cases

REPO = ROOT
GENERATED = REPO / "benchmarks" / "generated" / "nl2bash.symgen.jsonl"

SHAPES = tsv_cases(FIXTURES / "bash" / "invented_shapes.tsv", fields=2)


@pytest.mark.parametrize("case", params(SHAPES))
def test_invented_value_keeps_the_shape_and_kind(case: Row) -> None:
    value, pattern = case.fields
    shape = pattern.replace("{EXTENSIONS}", "|".join(EXTENSIONS))
    rng = random.Random(0)
    made = [invent_like(value, rng) for _ in range(50)]
    for new in made:
        assert re.fullmatch(shape, new), (case.where, value, new)
        assert kind_of(new) == kind_of(value), (case.where, value, new)
    assert len(set(made)) > 5, (case.where, made)  # varied, not one substitute


def test_invented_swaps_change_request_and_command_together() -> None:
    records = [{"question": "copy notes.txt to /srv/app", "command": "cp notes.txt /srv/app"}]
    out = list(augment_bash(records, per_pair=4, values="invented"))
    assert len(out) == 4
    for rec in out:
        _, file, _, path = rec["question"].split()
        assert rec["command"] == f"cp {file} {path}", rec
        assert file != "notes.txt" and path != "/srv/app"
        assert kind_of(file) == "file" and kind_of(path) == "path"


def test_unknown_value_source_is_refused() -> None:
    with pytest.raises(SymgenError, match="use data, invented, mixed"):
        list(augment_bash([{"question": "list /tmp", "command": "ls /tmp"}], values="made-up"))


def test_invented_swaps_of_the_generators_pairs_vary_their_values() -> None:
    """On the tracked generated pairs, swaps drawn from the data repeat a handful of values
    (`/home/luser`, `bam`, `abc`); invented ones do not."""
    if not GENERATED.is_file():
        pytest.skip(f"tracked generated pairs not found at {GENERATED}")
    records = read_jsonl(GENERATED)[:600]

    def values(source: str) -> Counter[str]:
        out, stats = with_augmented_bash(records, per_pair=4, values=source)
        assert stats.written > 400, stats
        swaps = out[len(records) :]
        assert all(static_check(r["command"]) is None for r in swaps)
        return Counter(s.value for r in swaps for s in arg_slots(r["question"], r["command"]))

    data, invented = values("data"), values("invented")
    top = sum(n for _, n in data.most_common(10)) / sum(data.values())
    top_invented = sum(n for _, n in invented.most_common(10)) / sum(invented.values())
    assert len(invented) > 3 * len(data), (len(invented), len(data))
    assert top_invented < top / 3, (top_invented, top)


def test_cli_values_option(tmp_path: Path) -> None:
    data, out = tmp_path / "pairs.jsonl", tmp_path / "aug.jsonl"
    data.write_text('{"question": "show the file notes.txt", "command": "cat notes.txt"}\n')
    proc = subprocess.run(
        [*SYMGEN, "augment", "--task", "bash", "--data", str(data), "--out", str(out),
         "--per-pair", "3", "--values", "invented"],
        capture_output=True, text=True, check=False, timeout=120,
    )  # fmt: skip
    assert proc.returncode == 0, proc.stderr
    swaps = read_jsonl(out)[1:]
    assert len(swaps) == 3
    assert all(re.fullmatch(r"cat [a-z]+\.[a-z0-9]+", r["command"]) for r in swaps), swaps
