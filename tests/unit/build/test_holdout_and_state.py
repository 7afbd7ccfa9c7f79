"""Held-back pairs and the build record (pure logic and one JSON file)."""

from __future__ import annotations

from pathlib import Path

import pytest

from symgen.build.holdout import split_held_out
from symgen.build.recipe import HoldOut
from symgen.build.state import BuildState
from symgen.errors import SymgenError


def pairs(n: int) -> list[dict[str, str]]:
    out = []
    for i in range(n):
        sql = f"SELECT name FROM city WHERE population > {i}"
        out.append({"question": f"cities with more than {i} people", "query": sql})
        out.append({"question": f"which cities have over {i} inhabitants", "query": sql + " ;"})
    return out


def test_every_pair_of_a_held_back_query_leaves_training() -> None:
    data = pairs(50)
    train, held = split_held_out(data, HoldOut(share=0.1, max=60, min_pairs=10))
    assert len(held) == 5  # 10% of the 50 distinct queries, one pair each
    held_sql = {h["query"].rstrip(" ;") for h in held}
    assert not any(p["query"].rstrip(" ;") in held_sql for p in train)
    assert len(train) == 100 - 10  # a paraphrase with `;` is the same query
    again = split_held_out(list(reversed(data)), HoldOut(share=0.1, max=60, min_pairs=10))[1]
    assert {h["query"].rstrip(" ;") for h in again} == held_sql  # fixed by the SQL, not the order


def test_seeds_and_small_sets_always_train() -> None:
    data = pairs(50)
    seeds = [p["query"] for p in data[::2]]
    train, held = split_held_out(data, HoldOut(share=0.5, max=60, min_pairs=10), keep=seeds)
    assert held == [] and train == data
    train, held = split_held_out(data[:8], HoldOut(share=0.5, max=60, min_pairs=10))
    assert held == [] and len(train) == 8
    assert len(split_held_out(data, HoldOut(share=0.5, max=3, min_pairs=10))[1]) == 3


def test_the_record_resumes_and_refuses_another_build(tmp_path: Path) -> None:
    path = tmp_path / "build.json"
    ident = {"db": "geo.sqlite", "budget_minutes": 20}
    state = BuildState.open(path, ident)
    state.record("gen-q", 3.0, False)
    state.record("gen-q", 2.5, True, kept=7)
    again = BuildState.open(path, ident)
    assert again.done == {"gen-q"} and again.used == {"gen-q": 5.5}
    assert again.stages["gen-q"]["kept"] == 7
    with pytest.raises(SymgenError, match=r"another build \(budget_minutes: 20 then, 60 now\)"):
        BuildState.open(path, ident | {"budget_minutes": 60})
    path.write_text("{")
    with pytest.raises(SymgenError, match="not a build record"):
        BuildState.open(path, ident)
