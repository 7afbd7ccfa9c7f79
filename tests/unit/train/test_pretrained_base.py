"""The pretrained-base task model, for real: SmolLM2-135M from the registry's GGUF, cut to 8 of
its 30 layers and to the vocabulary the data uses, fine-tuned on 4 GeoQuery pairs, exported to
ONNX and run by the torch-free engine.

Memorising 4 pairs takes ~40 steps (about a minute on 2 cores); a model whose layers were cut
wrongly (cache indices, config) fails the export parity check or the completions.
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from symgen.databases.sqlite import ReadOnlyDatabase
from symgen.train.models import layer_picks


def test_layer_picks_are_even_and_keep_both_ends() -> None:
    assert layer_picks(30, 8) == [0, 4, 8, 12, 17, 21, 25, 29]
    assert layer_picks(30, 2) == [0, 29]
    assert layer_picks(4, 4) == [0, 1, 2, 3]
    with pytest.raises(Exception, match="cannot keep 31 of 30"):
        layer_picks(30, 31)


def test_cut_smollm2_fine_tunes_exports_and_completes(
    geo_dir: Path,
    tmp_path: Path,
    model_file,  # type: ignore[no-untyped-def]
) -> None:
    model_file("smollm2-135m")  # installed and assembled, or a clear failure
    from symgen.engine.model import TaskModel
    from symgen.export.onnx import export
    from symgen.tasks.sql.model_input import DbKnowledge
    from symgen.train.loop import TrainConfig, train

    db = geo_dir / "geography.sqlite"
    rows = [json.loads(x) for x in (geo_dir / "train.jsonl").read_text().splitlines()[:4]]
    data = tmp_path / "pairs.jsonl"
    data.write_text("".join(json.dumps(r) + "\n" for r in rows))
    cfg = TrainConfig(arch="smollm2-slim", epochs=40, lr=3e-4, threads=2)
    meta = train([data], [db], tmp_path / "run", cfg)
    hf_config = json.loads((tmp_path / "run" / "hf" / "config.json").read_text())
    assert hf_config["num_hidden_layers"] == 8
    # 8 of 30 layers (3.5M each) and ~5k of 49,152 embedding rows (576 wide; 28M in full)
    assert 25e6 < meta["params"] < 35e6

    manifest = export(tmp_path / "run", tmp_path / "onnx", int8=False, name="cut")
    assert manifest["parity"]["max_abs_diff"] <= manifest["parity"]["tolerance"]
    model = TaskModel(tmp_path / "onnx", threads=2)
    knowledge = DbKnowledge.load(db)
    right = 0
    with ReadOnlyDatabase(db) as conn:
        for row in rows:
            got = model.complete(knowledge, row["question"], beams=1)
            right += got.valid and conn.execute(got.sql).rows == conn.execute(row["query"]).rows
    assert right >= 3, f"memorised only {right}/4"


def test_pruned_vocabulary_keeps_the_data_tokenisation_and_encodes_anything(
    geo_dir: Path,
    model_file,  # type: ignore[no-untyped-def]
) -> None:
    model_file("smollm2-135m")
    from symgen.train.models import gguf_tokenizer
    from symgen.train.vocab_prune import prune_tokenizer

    _, full = gguf_tokenizer("smollm2-135m")
    rows = [json.loads(x) for x in (geo_dir / "train.jsonl").read_text().splitlines()]
    texts = [r["question"] for r in rows] + [r["query"] for r in rows]
    pruned, old_ids = prune_tokenizer(full, texts, common=1000)
    assert 1000 < pruned.get_vocab_size() == len(old_ids) < 5000  # of 49,152
    assert old_ids == sorted(old_ids) and old_ids[:1000] == list(range(1000))
    for text in texts:  # the data's own text: the very same tokens, renumbered
        ids = pruned.encode(text, add_special_tokens=False).ids
        assert [old_ids[i] for i in ids] == full.encode(text, add_special_tokens=False).ids
    for text in ["rivers longer than 500 km in Zürich ☃", "SELECT COUNT(*) FROM employees"]:
        ids = pruned.encode(text, add_special_tokens=False).ids
        assert pruned.decode(ids) == text  # unseen text falls back to shorter pieces, losslessly
    special = full.token_to_id("<|im_end|>")
    assert pruned.token_to_id("<|im_end|>") == old_ids.index(special)
