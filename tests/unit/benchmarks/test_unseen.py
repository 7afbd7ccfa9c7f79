"""benchmarks/unseen.py's mean rows: each row over the databases it ran on, the generators' also
over each build's subset (pure logic)."""

from __future__ import annotations

from benchmarks.unseen import mean_rows


def row(db: str, name: str, acc: float) -> dict[str, object]:
    return {
        "db": db, "row": name, "exec_acc": acc, "exact_match": acc, "latency_p50_ms": 10.0,
        "latency_p95_ms": 20.0, "pairs": 10, "minutes": 1.0,
    }  # fmt: skip


def test_means_cover_the_databases_each_row_ran_on() -> None:
    rows = [
        row("a", "llm_0.5b", 0.2), row("b", "llm_0.5b", 0.4), row("c", "llm_0.5b", 0.6),
        row("a", "llm_1.5b", 0.5), row("b", "llm_1.5b", 0.7), row("c", "llm_1.5b", 0.9),
        row("a", "build_0.5b_20m", 0.3), row("b", "build_0.5b_20m", 0.5), row("c", "build_0.5b_20m", 0.4),
        row("b", "build_1.5b_60m", 0.8),
    ]  # fmt: skip
    means = {(m["row"], m.get("subset")): m for m in mean_rows(rows)}
    assert means[("llm_0.5b", None)]["exec_acc"] == 0.4
    assert means[("build_0.5b_20m", None)]["exec_acc"] == 0.4
    assert means[("build_1.5b_60m", None)]["n_dbs"] == 1
    assert means[("llm_1.5b", "build_1.5b_60m")]["exec_acc"] == 0.7  # database b only
    assert means[("llm_0.5b", "build_1.5b_60m")]["exec_acc"] == 0.4


def test_a_generator_missing_on_a_build_database_gives_no_subset_mean() -> None:
    rows = [
        row("a", "build_0.5b_20m", 0.3),
        row("b", "build_0.5b_20m", 0.5),
        row("a", "llm_0.5b", 0.2),
    ]
    means = {(m["row"], m.get("subset")) for m in mean_rows(rows)}
    assert ("llm_0.5b", "build_0.5b_20m") not in means  # b has no generator row: not comparable
    assert ("llm_0.5b", None) in means
