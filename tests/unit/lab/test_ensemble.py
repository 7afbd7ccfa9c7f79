"""Ensembles of real exported models: two task models trained on the same GeoQuery pairs with
different seeds, joined by `symgen lab ensemble`, decoded by the torch-free engine."""

from __future__ import annotations

import asyncio
import json
import shutil
import subprocess
from pathlib import Path

import numpy as np
import pytest

from symgen.databases.sqlite import ReadOnlyDatabase
from tests.conftest import N_PAIRS, SYMGEN, memorised, train_cmd


@pytest.fixture(scope="module")
def other_seed(
    pairs: Path, geo_dir: Path, exported: Path, tmp_path_factory: pytest.TempPathFactory
) -> Path:
    """The `exported` model's data trained again with another seed (fewer epochs, fp32 only)."""
    run, onnx = tmp_path_factory.mktemp("run1"), tmp_path_factory.mktemp("onnx1")
    cmd = train_cmd(pairs, geo_dir / "geography.sqlite", run)
    cmd[cmd.index("--epochs") + 1] = "60"
    done = subprocess.run([*cmd, "--seed", "1"], capture_output=True, text=True, timeout=600)
    assert done.returncode == 0, done.stderr
    exp = subprocess.run(
        [*SYMGEN, "export", "--model", str(run), "--out", str(onnx)],
        capture_output=True,
        text=True,
        timeout=600,
    )
    assert exp.returncode == 0, exp.stderr
    return onnx


@pytest.fixture(scope="module")
def ensemble(exported: Path, other_seed: Path, tmp_path_factory: pytest.TempPathFactory) -> Path:
    out = tmp_path_factory.mktemp("ens")
    made = subprocess.run(
        [
            *SYMGEN,
            "lab",
            "ensemble",
            "--model",
            str(exported),
            "--model",
            str(other_seed),
            "--out",
            str(out),
        ],
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert made.returncode == 0, made.stderr
    assert "ensemble of 2 models" in made.stdout
    return out


def test_manifest_and_files(ensemble: Path, exported: Path, other_seed: Path) -> None:
    """One merged graph: the members' cache layers end to end, their sizes and seeds recorded."""
    m = json.loads((ensemble / "symgen.json").read_text())
    first, second = (json.loads((d / "symgen.json").read_text()) for d in (exported, other_seed))
    assert sorted(p.name for p in ensemble.iterdir()) == [
        "draft.onnx",
        "model.onnx",
        "rest.onnx",
        "symgen.json",
        "tokenizer.json",
    ]
    assert m["num_layers"] == first["num_layers"] + second["num_layers"]
    assert m["params"] == first["params"] + second["params"]
    assert m["databases"].keys() == first["databases"].keys() == {"geography"}
    assert [e["training"]["config"]["seed"] for e in m["ensemble"]] == [0, 1]
    want = "model.int8.onnx" if first["default_int8"] else "model.onnx"
    assert [e["graph_file"] for e in m["ensemble"]] == [want, "model.onnx"]
    graphs = [ensemble / "model.onnx", ensemble / "draft.onnx", ensemble / "rest.onnx"]
    assert m["mb_on_disk"] == round(sum(g.stat().st_size for g in graphs) / 1e6, 2)
    # greedy decoding: member 0's own graph, unchanged, drafts; member 1's checks
    layers = first["num_layers"]
    assert m["draft"] == {
        "onnx": "draft.onnx",
        "num_layers": layers,
        "rest": "rest.onnx",
        "rest_layers": layers,
        "members": 2,
    }
    assert (ensemble / "draft.onnx").read_bytes() == (exported / want).read_bytes()


def test_each_step_averages_the_members_probabilities(
    ensemble: Path, exported: Path, other_seed: Path, pairs: Path, geo_dir: Path
) -> None:
    from symgen.engine.model import TaskModel, _log_softmax
    from symgen.tasks.sql.model_input import DbKnowledge

    db = DbKnowledge.load(geo_dir / "geography.sqlite")
    both = TaskModel(ensemble)
    alone = [TaskModel(exported), TaskModel(other_seed)]
    question = db.question(json.loads(pairs.read_text().splitlines()[0])["question"])
    ids = np.array([both.tok.encode(db.schema + question, add_special_tokens=False).ids])
    got, past = both._run(ids, both._empty_past())
    probs = [
        np.exp(_log_softmax(m._run(ids, m._empty_past())[0].astype(np.float64))) for m in alone
    ]
    assert np.allclose(np.exp(got), (probs[0] + probs[1]) / 2, atol=1e-5)
    assert not np.allclose(probs[0], probs[1], atol=1e-3), "the seeds must give different models"
    assert len(past) == 2 * len(alone[0]._empty_past())
    # a cached step continues each member's own cache
    token = np.array([[int(got[0].argmax())]])
    step, _ = both._run(token, past)
    own = [m._run(token, m._run(ids, m._empty_past())[1])[0] for m in alone]
    want = np.log(sum(np.exp(_log_softmax(x.astype(np.float64))) for x in own) / 2)
    assert np.allclose(step, want, atol=1e-4)


def test_a_checking_graph_scores_several_positions_in_one_call(
    ensemble: Path, pairs: Path, geo_dir: Path
) -> None:
    """`logits_from = -n` returns the last n positions' logits, those a step at a time gives
    (rest.onnx: member 1 given that input; model.onnx has it too)."""
    from symgen.engine.model import TaskModel
    from symgen.tasks.sql.model_input import DbKnowledge

    db = DbKnowledge.load(geo_dir / "geography.sqlite")
    model = TaskModel(ensemble)
    assert model.draft is not None
    row = json.loads(pairs.read_text().splitlines()[0])
    ids = model.tok.encode(db.schema + db.question(row["question"]), add_special_tokens=False).ids
    for net in (model.draft.rest, model.net):
        past = net.empty_past()
        _, past = net.run(np.array([ids[:-8]]), past)
        rows, present = net.run_positions(np.array([ids[-8:]]), past, 8)
        assert rows.shape[:2] == (1, 8) and present[0].shape[2] == len(ids)
        for i in range(8):
            one, past = net.run(np.array([[ids[-8 + i]]]), past)
            assert int(one[0].argmax()) == int(rows[0, i].argmax())
            # not bit-equal where a member is int8: its activations are scaled per call (over
            # all the positions read together): probabilities move by ~0.01
            gap = np.abs(np.exp(_lsm(one[0])) - np.exp(_lsm(rows[0, i]))).max()
            assert gap < 0.03, gap


def _lsm(x: np.ndarray) -> np.ndarray:
    from symgen.engine.model import _log_softmax

    return _log_softmax(x.astype(np.float64))


@pytest.mark.parametrize("members", [2, 3])
def test_greedy_is_drafted_by_member_0_with_the_ensembles_answer(
    members: int,
    ensemble: Path,
    exported: Path,
    other_seed: Path,
    pairs: Path,
    geo_dir: Path,
    tmp_path: Path,
) -> None:
    """Greedy decoding lets member 0 (draft.onnx) write ahead and the other members (rest.onnx,
    merged when several) check its tokens several at a time (`symgen.engine.drafting`): the same
    answers as decoding the merged graph token by token, in fewer checking calls than tokens."""
    from symgen.engine.model import TaskModel
    from symgen.lab.ensemble import make_ensemble
    from symgen.tasks.sql.model_input import DbKnowledge

    if members == 3:  # member 0 twice: a third member need not be trained for the arithmetic
        make_ensemble([exported, other_seed, exported], tmp_path / "three")
        ensemble = tmp_path / "three"
    db = DbKnowledge.load(geo_dir / "geography.sqlite")
    model = TaskModel(ensemble)
    assert model.draft is not None
    questions = [json.loads(x)["question"] for x in pairs.read_text().splitlines()]
    questions += [json.loads(x)["question"] for x in (geo_dir / "dev.jsonl").open()][:12]
    checks: list[int] = []
    rest = model.draft.rest
    run = rest.run_positions

    def counted(ids: np.ndarray, past: list[np.ndarray], n: int) -> object:
        if ids.shape[1] == n:  # a check reads the pending token and all but the last drafted
            checks.append(n)
        return run(ids, past, n)

    rest.run_positions = counted  # type: ignore[method-assign]
    differ, tokens = [], 0
    for q in questions:
        schema, question = db.schema_for(q), db.question(q)
        drafted = model.generate(schema, question, beams=1)[0]
        draft, model.draft = model.draft, None
        plain = model.generate(schema, question, beams=1)[0]
        model.draft = draft
        tokens += plain.tokens
        if drafted.text != plain.text:
            differ.append((q, drafted.text, plain.text))
    assert not differ, differ
    assert len(questions) <= len(checks) < tokens / 2, (len(checks), tokens)


def test_ensemble_completes_like_any_model(ensemble: Path, pairs: Path, geo_dir: Path) -> None:
    """It decodes like any model (beam search reorders both members' caches), in the engine
    and through `symgen complete`."""
    db = geo_dir / "geography.sqlite"
    right = memorised(ensemble, pairs, db)
    assert right >= N_PAIRS - 2, f"memorised only {right}/{N_PAIRS}"
    rows = [json.loads(x) for x in pairs.read_text().splitlines()]
    out = subprocess.run(
        [
            *SYMGEN,
            "complete",
            "--model",
            str(ensemble),
            "--db",
            str(db),
            rows[0]["question"],
        ],
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert out.returncode == 0, out.stderr
    with ReadOnlyDatabase(db) as conn:
        assert conn.execute(out.stdout.strip()).rows == conn.execute(rows[0]["query"]).rows


def test_bad_ensembles_are_refused(
    exported: Path, other_seed: Path, ensemble: Path, tmp_path: Path
) -> None:
    from symgen.errors import SymgenError
    from symgen.lab.ensemble import make_ensemble

    with pytest.raises(SymgenError, match="at least two"):
        make_ensemble([exported], tmp_path / "one")
    with pytest.raises(SymgenError, match=r"num_layers is \d+, .* says \d+"):
        make_ensemble([exported, ensemble], tmp_path / "deeper")
    other = tmp_path / "other_tok"
    shutil.copytree(other_seed, other)
    tok = json.loads((other / "tokenizer.json").read_text())
    tok["added_tokens"] = tok.get("added_tokens", [])[:-1]  # a tokenizer of other data
    (other / "tokenizer.json").write_text(json.dumps(tok))
    with pytest.raises(SymgenError, match=r"other_tok/tokenizer\.json differs"):
        make_ensemble([exported, other], tmp_path / "mixed")
    (other / "model.onnx").unlink()
    shutil.copy(other_seed / "tokenizer.json", other / "tokenizer.json")
    with pytest.raises(SymgenError, match=r"other_tok/model\.onnx missing"):
        make_ensemble([exported, other], tmp_path / "gone")
    shutil.copy(other_seed / "model.onnx", other / "model.onnx")
    manifest = json.loads((other / "symgen.json").read_text())
    (other / "symgen.json").write_text(json.dumps(manifest | {"graph": "optimum"}))
    with pytest.raises(SymgenError, match="ensembles merge lean graphs"):
        make_ensemble([other, exported], tmp_path / "optimum")
    assert not any((tmp_path / d).exists() for d in ("mixed", "gone", "optimum"))


def test_language_server_serves_an_ensemble(ensemble: Path, pairs: Path, geo_dir: Path) -> None:
    """The editor path: `symgen-server --model ENSEMBLE --db DB` over stdio completes a comment."""
    from symgen_server.client import lsp_session

    pair = json.loads(pairs.read_text().splitlines()[1])
    db = geo_dir / "geography.sqlite"
    uri = (ensemble.parent / "q.sql").as_uri()

    async def go() -> None:
        async with lsp_session(
            ensemble.parent, None, ["--model", str(ensemble), "--db", str(db)]
        ) as s:
            s.open(uri, f"-- {pair['question']}\n")
            got = await s.inline(uri, 1, 0)
            assert got is not None and len(got.items) == 1, s.stderr[-5:]
            insert = got.items[0].insert_text
            assert isinstance(insert, str)
            with ReadOnlyDatabase(db) as conn:
                assert conn.execute(insert.strip()).rows == conn.execute(pair["query"]).rows
            status = await s.command("symgen.status")
            assert status["ready"] and status["model"] == str(ensemble)

    asyncio.run(asyncio.wait_for(go(), 300))


def test_eval_no_draft_decodes_token_by_token_to_the_same_answers(
    ensemble: Path, pairs: Path, geo_dir: Path, tmp_path: Path
) -> None:
    """`symgen eval --no-draft` (for measuring the drafting) scores the merged graph decoded
    token by token; its records hold the same SQL as the default's."""
    preds = {}
    for flag in ("--draft", "--no-draft"):
        out = tmp_path / f"{flag}.json"
        done = subprocess.run(
            [
                *SYMGEN,
                "eval",
                "--model",
                str(ensemble),
                "--data",
                str(pairs),
                "--db",
                str(geo_dir / "geography.sqlite"),
                "--limit",
                "6",
                flag,
                "--out",
                str(out),
                "--quiet",
            ],
            capture_output=True,
            text=True,
            timeout=300,
        )
        assert done.returncode == 0, done.stderr
        records = out.with_suffix(".records.jsonl").read_text().splitlines()
        preds[flag] = [json.loads(r)["pred"] for r in records]
    assert len(preds["--draft"]) == 6 and preds["--draft"] == preds["--no-draft"]


def test_a_missing_draft_graph_is_named_and_old_ensembles_decode_token_by_token(
    ensemble: Path, pairs: Path, geo_dir: Path, tmp_path: Path
) -> None:
    from symgen.engine.model import TaskModel
    from symgen.errors import MissingResource
    from symgen.tasks.sql.model_input import DbKnowledge

    broken = tmp_path / "broken"
    shutil.copytree(ensemble, broken)
    (broken / "rest.onnx").unlink()
    with pytest.raises(MissingResource, match=r"broken/rest\.onnx missing; rebuild the ensemble"):
        TaskModel(broken)
    # an ensemble built before drafting (no `draft` in its manifest) decodes as it did
    manifest = json.loads((broken / "symgen.json").read_text())
    del manifest["draft"]
    (broken / "symgen.json").write_text(json.dumps(manifest))
    (broken / "draft.onnx").unlink()
    old = TaskModel(broken)
    assert old.draft is None
    db = DbKnowledge.load(geo_dir / "geography.sqlite")
    q = json.loads(pairs.read_text().splitlines()[0])["question"]
    got = old.generate(db.schema_for(q), db.question(q), beams=1)[0]
    want = TaskModel(ensemble).generate(db.schema_for(q), db.question(q), beams=1)[0]
    assert got.text == want.text
