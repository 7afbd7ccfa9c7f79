"""The answer grammar (`symgen.tasks.sql.grammar`) through llama.cpp's own grammar sampler and a
real vocabulary (SmolLM2's): gold SQL passes, unknown names and wrong aliases do not, schemas it
should not be built for fall back, and samples drawn under it parse and name the schema only."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path

import pytest
import sqlglot
from sqlglot import exp

from symgen.databases.base import Column, Table, open_database
from symgen.generators.llama import LlamaGenerator
from symgen.generators.llama_grammar import GrammarGate
from symgen.tasks.sql.grammar import MAX_COLUMNS, schema_grammar, seed_aliases
from symgen.tasks.sql.task import STOP, postprocess
from tests.conftest import SHARED

pytestmark = pytest.mark.llm

SPIDER_TRAIN_DBS = ("activity_1", "hr_1", "flight_1", "customers_and_addresses")


@pytest.fixture(scope="module")
def gen(model_file) -> Iterator[LlamaGenerator]:  # type: ignore[no-untyped-def]
    g = LlamaGenerator(model_file("smollm2-135m"), n_ctx=1024, n_threads=1)
    yield g
    g.close()


def accepts(gen: LlamaGenerator, grammar: str, sql: str) -> bool:
    """Does the grammar let the text after `SELECT` through, token by token?"""
    gate = GrammarGate(gen._lc, gen._vocab, gen._n_vocab, grammar)
    try:
        for tok in gen._tokenize(sql.strip().rstrip(";")[len("SELECT") :] + ";", special=False):
            if not gate.allows(tok):
                return False
            gate.accept(tok)
        return True
    finally:
        gate.close()


def grammar_of(db_path: Path, seeds: list[str] = ()) -> str:  # type: ignore[assignment]
    with open_database(db_path) as db:
        grammar, why = schema_grammar(db.tables(), seed_aliases(seeds))
    assert grammar is not None, why
    return grammar


def test_geoquery_gold_passes_and_wrong_names_do_not(gen: LlamaGenerator, geo_db: Path) -> None:
    rows = [json.loads(x) for x in (SHARED / "geoquery" / "train.jsonl").read_text().splitlines()]
    gold = [r["query"] for r in rows if r["query"].strip().upper().startswith("SELECT")][:150]
    grammar = grammar_of(geo_db)
    refused = [q for q in gold if not accepts(gen, grammar, q)]
    assert not refused, refused[:3]
    for wrong in (
        "SELECT river_name FROM rivers;",  # no such table (not `river` aliased `s`)
        "SELECT RIVERalias0.population FROM river AS RIVERalias0;",  # a column of another table
        "SELECT river.population FROM river;",
        "SELECT citynam FROM city;",  # no such column (names of 4 or fewer pass: output aliases)
        "SELECT city_name FROM city WHERE;",  # does not parse
    ):
        assert not accepts(gen, grammar, wrong), wrong
    for right in (
        "SELECT CITYalias0.CITY_NAME FROM CITY AS CITYalias0 WHERE CITYalias0.POPULATION > 150000;",
        'SELECT "T1"."city_name" FROM "city" AS "T1" JOIN state AS T2 ON T1.state_name = T2.state_name;',
        "SELECT count(*) FROM (SELECT state_name FROM city GROUP BY state_name) tmp;",
    ):
        assert accepts(gen, grammar, right), right


@pytest.mark.parametrize("db", SPIDER_TRAIN_DBS)
def test_spider_train_gold_passes(gen: LlamaGenerator, db: str) -> None:
    rows = [json.loads(x) for x in (SHARED / "spider" / "train.jsonl").read_text().splitlines()]
    gold = [r["query"] for r in rows if r["db"] == db and r["query"].upper().startswith("SELECT")]
    grammar = grammar_of(SHARED / "spider" / "databases" / f"{db}.sqlite", gold[:10])
    refused = [q for q in gold if not accepts(gen, grammar, q)]
    assert not refused, refused[:3]


def test_schemas_it_should_not_be_built_for_say_why() -> None:
    wide = (Table("t", tuple(Column(f"c{i}", "int") for i in range(MAX_COLUMNS + 1))),)
    assert schema_grammar(wide) == (
        None,
        f"the schema has {MAX_COLUMNS + 1} columns (a grammar is built up to {MAX_COLUMNS})",
    )
    odd = (Table('we"ird', (Column("a", "int"),)),)
    grammar, why = schema_grammar(odd)
    assert grammar is None and "names a grammar cannot spell" in why


def test_samples_under_the_grammar_parse_and_name_the_schema(
    gen: LlamaGenerator, geo_db: Path
) -> None:
    grammar = grammar_of(geo_db)
    with open_database(geo_db) as db:
        tables = {t.name.lower() for t in db.tables()}
    prompt = "-- SQLite tables: river(river_name, length, traverse), state(state_name)\n-- rivers in texas\nSELECT"
    before = gen.stats.grammar_masks
    out = gen.sample(
        prompt, n=6, temperature=1.0, max_tokens=48, stop=STOP, seed=1, grammar=grammar
    )
    finished = [s.text for s in out if s.n_tokens < 48]
    assert finished and gen.stats.grammar_masks > before  # SmolLM2 alone names `rivers`
    for text in finished:
        tree = sqlglot.parse_one(postprocess(text), read="sqlite")
        assert {t.name.lower() for t in tree.find_all(exp.Table)} <= tables, text
