"""Real distillation end to end: train a tiny model on GeoQuery pairs, export to ONNX, complete.

The model is trained to memorise 16 real pairs (about a minute on 2 cores), so the checks are
sharp: it must reproduce their SQL through ONNX, the torch-free engine and the CLI.
"""

from __future__ import annotations

import json
import shutil
import subprocess
import sys
from pathlib import Path

import numpy as np

from symgen.databases.sqlite import ReadOnlyDatabase
from tests.conftest import N_PAIRS, RO_PASSWORD, RO_USER, SYMGEN, memorised
from tests.pg_cluster import Cluster


def test_export_manifest_parity_and_int8(exported: Path) -> None:
    m = json.loads((exported / "symgen.json").read_text())
    assert m["parity"]["max_abs_diff"] <= m["parity"]["tolerance"]
    assert (exported / m["onnx"]).is_file() and (exported / m["onnx_int8"]).is_file()
    assert 0.0 <= m["int8_agreement"] <= 1.0
    assert m["databases"]["geography"]["schema_hash"] and m["training"]["data_hash"]
    assert m["params"] < 10_000_000  # ~1% of the 494M generator


def test_lean_and_optimum_graphs_agree(
    trained_run: Path, exported: Path, pairs: Path, geo_dir: Path, tmp_path: Path
) -> None:
    """The default export is the lean graph; optimum's export of the same weights (`--graph
    optimum`) decodes the same SQL with the same scores, so either serves the engine."""
    from symgen.engine.model import TaskModel
    from symgen.tasks.sql.model_input import DbKnowledge

    assert json.loads((exported / "symgen.json").read_text())["graph"] == "lean"
    out = subprocess.run(
        [
            *SYMGEN,
            "export",
            "--model",
            str(trained_run),
            "--out",
            str(tmp_path),
            "--graph",
            "optimum",
        ],
        capture_output=True,
        text=True,
        timeout=600,
    )
    assert out.returncode == 0, out.stderr
    manifest = json.loads((tmp_path / "symgen.json").read_text())
    assert manifest["graph"] == "optimum" and manifest["parity"]["max_abs_diff"] <= 1e-3
    db = DbKnowledge.load(geo_dir / "geography.sqlite")
    lean, optimum = TaskModel(exported, int8=False), TaskModel(tmp_path, int8=False)
    assert lean.net.has_attention_mask is False and optimum.net.has_attention_mask is True
    for line in pairs.read_text().splitlines()[:6]:
        question = db.question(json.loads(line)["question"])
        a = lean.generate(db.schema, question, beams=3)
        b = optimum.generate(db.schema, question, beams=3)
        assert [x.text for x in a] == [x.text for x in b]
        assert np.allclose([x.logprob for x in a], [x.logprob for x in b], atol=1e-3)


def test_unsupported_config_falls_back_to_optimum(
    trained_run: Path, pairs: Path, geo_dir: Path, tmp_path: Path
) -> None:
    """A checkpoint the lean graph does not cover (here: a GELU MLP) still exports, through
    optimum, says so, records why in the manifest, and its export decodes."""
    from symgen.engine.model import TaskModel
    from symgen.tasks.sql.model_input import DbKnowledge

    run = tmp_path / "run"
    shutil.copytree(trained_run, run, ignore=shutil.ignore_patterns("checkpoint.pt"))
    config_path = run / "hf" / "config.json"
    config = json.loads(config_path.read_text())
    config_path.write_text(json.dumps(config | {"hidden_act": "gelu"}))
    out = subprocess.run(
        [*SYMGEN, "export", "--model", str(run), "--out", str(tmp_path / "onnx")],
        capture_output=True,
        text=True,
        timeout=600,
    )
    assert out.returncode == 0, out.stderr
    assert "hidden_act 'gelu' is not silu; exported optimum's graph" in out.stdout
    manifest = json.loads((tmp_path / "onnx" / "symgen.json").read_text())
    assert manifest["graph"] == "optimum" and "hidden_act" in manifest["graph_fallback"]
    assert manifest["parity"]["max_abs_diff"] <= manifest["parity"]["tolerance"]
    db = DbKnowledge.load(geo_dir / "geography.sqlite")
    question = json.loads(pairs.read_text().splitlines()[0])["question"]
    assert TaskModel(tmp_path / "onnx", int8=False).complete(db, question, beams=2).sql


def test_complete_reproduces_trained_sql(exported: Path, pairs: Path, geo_dir: Path) -> None:
    right = memorised(exported, pairs, geo_dir / "geography.sqlite", int8=False)
    assert right >= N_PAIRS - 2, f"memorised only {right}/{N_PAIRS}"


def test_greedy_path_and_first_valid_beam(exported: Path, pairs: Path, geo_dir: Path) -> None:
    """The argmax fast path equals a width-1 beam search; `first_valid` returns a valid beam."""
    from symgen.engine.model import TaskModel
    from symgen.tasks.sql.model_input import DbKnowledge

    db = DbKnowledge.load(geo_dir / "geography.sqlite")
    model = TaskModel(exported, int8=False)
    for line in pairs.read_text().splitlines()[:6]:
        question = db.question(json.loads(line)["question"])
        greedy = model.generate(db.schema, question, beams=1)[0]
        past, _ = model._schema_past(db.schema)
        ids = model.tok.encode(question, add_special_tokens=False).ids
        logits, past = model._run(np.array([ids], dtype=np.int64), past)
        beam1 = model._beam_search(logits, past, 1, 160, None)[0]
        assert (greedy.text, greedy.tokens) == (beam1.text, beam1.tokens)
        assert abs(greedy.logprob - beam1.logprob) < 1e-3
        first = model.complete(db, json.loads(line)["question"], beams=4, first_valid=True)
        assert first.valid and first.problem is None


def test_logprob_of_a_given_output(exported: Path, pairs: Path, geo_dir: Path) -> None:
    """Teacher-forced `logprob` of the greedy output is the log-probability greedy decoding
    summed; another pair's SQL is far less likely (a reranker's score must separate them)."""
    from symgen.engine.model import TaskModel
    from symgen.tasks.sql.model_input import DbKnowledge

    db = DbKnowledge.load(geo_dir / "geography.sqlite")
    model = TaskModel(exported, int8=False)
    rows = [json.loads(line) for line in pairs.read_text().splitlines()[:6]]
    for row, other in zip(rows, rows[1:] + rows[:1], strict=True):
        question = db.question(row["question"])
        greedy = model.generate(db.schema, question, beams=1)[0]
        assert abs(model.logprob(db.schema, question, " " + greedy.text) - greedy.logprob) < 1e-3
        assert model.logprob(db.schema, question, " " + other["query"]) < greedy.logprob - 5


def test_execution_guidance_on_the_real_model(exported: Path, pairs: Path, geo_dir: Path) -> None:
    """`prefer` moves the engine off a greedy answer only to a valid beam it accepts, and a
    preference no beam meets leaves the answer unguided decoding gives (never a rejection)."""
    from symgen.engine.model import TaskModel
    from symgen.tasks.sql.model_input import DbKnowledge
    from symgen.tasks.sql.result_check import ReturnsRows

    db = DbKnowledge.load(geo_dir / "geography.sqlite")
    model = TaskModel(exported, int8=False)
    guide = ReturnsRows(db.spec)
    moved = 0
    for line in pairs.read_text().splitlines()[:6]:
        question = json.loads(line)["question"]
        plain = model.suggest(db, question)
        assert plain.valid and plain.preferred
        guided = model.suggest(db, question, prefer=guide)
        assert guided.sql == plain.sql and guided.preferred  # memorised answers return rows
        unmet = model.suggest(db, question, prefer=lambda sql: False)
        assert (unmet.sql, unmet.valid, unmet.preferred) == (plain.sql, True, False)
        other = model.suggest(db, question, prefer=lambda sql, g=plain.sql: sql != g)
        assert other.valid
        if other.preferred:
            moved += 1
            assert other.sql != plain.sql
        else:
            assert other.sql == plain.sql
    assert moved >= 1, "no question had a second valid beam to move to"
    guide.close()


def test_cli_complete_and_eval(exported: Path, pairs: Path, geo_dir: Path, tmp_path: Path) -> None:
    db = str(geo_dir / "geography.sqlite")
    q = json.loads(pairs.read_text().splitlines()[0])
    out = subprocess.run(
        [
            *SYMGEN,
            "complete",
            "--model",
            str(exported),
            "--db",
            db,
            "--no-execution-guided",
            q["question"],
        ],
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert out.returncode == 0, out.stderr
    with ReadOnlyDatabase(db) as conn:
        assert conn.execute(out.stdout.strip()).rows == conn.execute(q["query"]).rows
    report = tmp_path / "eval.json"
    ev = subprocess.run(
        [
            *SYMGEN,
            "eval",
            "--model",
            str(exported),
            "--data",
            str(pairs),
            "--db",
            db,
            "--out",
            str(report),
            "--quiet",
        ],
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert ev.returncode == 0, ev.stderr
    summary = json.loads(report.read_text())
    assert summary["n"] == N_PAIRS and summary["exec_acc"] >= 0.85
    assert summary["latency_p95_ms"] > 0 and "| exec acc |" in ev.stdout
    assert len(report.with_suffix(".records.jsonl").read_text().splitlines()) == N_PAIRS


def test_engine_imports_no_torch() -> None:
    code = (
        "import sys, symgen.engine.model, symgen.evaluate, symgen.train.data; "
        "bad = [m for m in sys.modules if m.split('.')[0] in ('torch', 'transformers', 'optimum')]; "
        "sys.exit(f'imported {bad}' if bad else 0)"
    )
    proc = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True)
    assert proc.returncode == 0, proc.stderr or proc.stdout


def test_missing_model_and_foreign_db_are_clear_errors(
    pairs: Path, tmp_path: Path, geo_dir: Path
) -> None:
    gone = subprocess.run(
        [
            *SYMGEN,
            "complete",
            "--model",
            str(tmp_path / "nope"),
            "--db",
            str(geo_dir / "geography.sqlite"),
            "q",
        ],
        capture_output=True,
        text=True,
    )
    assert gone.returncode == 3 and "symgen export" in gone.stderr
    other = tmp_path / "other.sqlite"
    import sqlite3

    sqlite3.connect(other).execute("CREATE TABLE t (a)").connection.close()
    bad = subprocess.run(
        [
            *SYMGEN,
            "train",
            "--data",
            str(pairs),
            "--db",
            str(other),
            "--out",
            str(tmp_path / "run"),
        ],
        capture_output=True,
        text=True,
    )
    assert bad.returncode == 2 and "pairs.jsonl:1" in bad.stderr and "geography" in bad.stderr


def test_training_skips_pairs_whose_sql_is_broken_and_says_which(
    pairs: Path, tmp_path: Path, geo_dir: Path
) -> None:
    good = pairs.read_text().splitlines()[:2]
    broken = [
        {"question": "rivers", "query": "SELECT nope FROM river"},  # unknown column
        {"question": "states", "query": "SELECT state_name FROM state WHERE area > 'x' +"},
        {  # runs, but a bare column: an arbitrary city of the biggest state
            "question": "largest city",
            "query": "SELECT city_name FROM city GROUP BY state_name ORDER BY sum(population) "
            "DESC LIMIT 1",
        },
    ]
    data = tmp_path / "mixed.jsonl"
    data.write_text("\n".join([*good, *map(json.dumps, broken)]) + "\n")
    db = str(geo_dir / "geography.sqlite")

    def train(path: Path, out: Path) -> subprocess.CompletedProcess[str]:
        cmd = [*SYMGEN, "train", "--data", str(path), "--db", db, "--out", str(out)]
        return subprocess.run([*cmd, "--max-steps", "2", "--quiet"], capture_output=True, text=True)

    done = train(data, tmp_path / "run")
    assert done.returncode == 0, done.stderr
    assert "skipped 3 pairs" in done.stderr
    for line, why in ((3, "unknown column nope"), (4, "syntax"), (5, "bare column city_name")):
        assert f"mixed.jsonl:{line}: {why}" in done.stderr, done.stderr
    meta = json.loads((tmp_path / "run" / "train.json").read_text())
    assert meta["examples"] == 2 and meta["skipped"]["count"] == 3
    only_bad = tmp_path / "bad.jsonl"
    only_bad.write_text("".join(json.dumps(b) + "\n" for b in broken))
    failed = train(only_bad, tmp_path / "run2")
    assert failed.returncode == 2 and "all 3 skipped" in failed.stderr
    assert "bad.jsonl:1: unknown column nope" in failed.stderr and "Traceback" not in failed.stderr


def test_sqlite_trained_model_on_duckdb_and_postgres(
    exported: Path, pairs: Path, pg: Cluster, geo_duckdb_master: Path, tmp_path: Path
) -> None:
    """The model writes SQLite SQL; `eval --db` on the other engines transpiles it (and the gold)
    and scores it by executing there, through a PostgreSQL URL and a DuckDB file."""
    assert json.loads((exported / "symgen.json").read_text())["dialect"] == "sqlite"
    for spec in (pg.url("geography", RO_USER, RO_PASSWORD), str(geo_duckdb_master)):
        report = tmp_path / "eval.json"
        ev = subprocess.run(
            [
                *SYMGEN,
                "eval",
                "--model",
                str(exported),
                "--data",
                str(pairs),
                "--db",
                spec,
                "--out",
                str(report),
                "--quiet",
            ],
            capture_output=True,
            text=True,
            timeout=300,
        )
        assert ev.returncode == 0, ev.stderr
        summary = json.loads(report.read_text())
        assert summary["exec_acc"] >= (N_PAIRS - 2) / N_PAIRS, (spec, summary)
        assert summary["gold_failed"] == 0
        assert RO_PASSWORD not in ev.stdout + ev.stderr
