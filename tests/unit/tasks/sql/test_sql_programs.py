"""Program-first gen-q: the schema grammar on the real GeoQuery DB, the anchored verdict, and
`symgen generate --questions-from programs` end to end with the real 0.5B generator."""

from __future__ import annotations

import itertools
import json
import random
import re
import subprocess
from pathlib import Path

import pytest

from symgen.databases.base import Table
from symgen.dataset import read_pairs
from symgen.generators.base import GenStats, Sample
from symgen.tasks.sql.context import SqlContext, build_context
from symgen.tasks.sql.programs import TEMPLATES, entity_column, sample_programs, worth_asking
from symgen.tasks.sql.task import SqlTask, static_check
from symgen.verify import Candidate, MinVotes, anchored_verdict, verify
from tests.conftest import sha256
from tests.e2e.test_generate_e2e import generate_cmd


@pytest.fixture(scope="module")
def ctx(geo_dir: Path) -> SqlContext:
    return build_context(geo_dir / "geography.sqlite", read_pairs(geo_dir / "seed_10.jsonl"))


def test_facts_of_geoquery(ctx: SqlContext) -> None:
    f = ctx.facts
    # country_name is 'usa' in every row: no question about it has a second answer
    assert all("country_name" not in cols for cols in f.text.values())
    # highlow's elevations are declared text but hold numbers
    assert set(f.numeric["highlow"]) == {"highest_elevation", "lowest_elevation"}
    assert ("river", "traverse", "state", "state_name") in f.links
    assert ("river", "traverse") in f.grouping and ("state", "state_name") not in f.grouping
    names = {t: entity_column(f, t) for t in f.text}
    assert names["river"] == "river_name" and names["state"] == "state_name"
    assert names["border_info"] == "state_name" and names["lake"] == "lake_name"


def test_every_program_is_valid_readonly_sql_over_known_names(ctx: SqlContext) -> None:
    tables = {t.name: {c.name for c in t.columns} for t in ctx.tables}
    seen: dict[str, int] = {}
    useful = 0
    for name, sql in itertools.islice(sample_programs(ctx.facts, random.Random(1)), 400):
        seen[name] = seen.get(name, 0) + 1
        assert static_check(sql) is None, sql
        for ref in re.findall(r"\b([a-z_]\w*)\.([a-z_]\w*)", sql):
            assert ref[0] in tables and ref[1] in tables[ref[0]], (ref, sql)
        run = ctx.db.execute(sql)
        assert run.rows is not None, (sql, run.error)
        useful += worth_asking(run.rows)
        if name == "compare":  # compared with one row's value, not whichever row comes first
            inner = ctx.db.execute(sql[sql.index("(SELECT") + 1 : -2])
            assert inner.rows is not None and len(inner.rows) == 1, sql
        for number in re.findall(r"[<>](-?[\d.]+)", sql):
            assert len(number.replace("-", "").replace(".", "")) <= 2 or number.endswith("0"), sql
    assert set(seen) == set(TEMPLATES)  # every shape is produced, in turn
    assert max(seen.values()) - min(seen.values()) <= 1
    assert useful >= 200  # most programs have an answer worth a question


def test_programs_ask_what_people_ask(ctx: SqlContext) -> None:
    """Groups are other tables' entities (river.traverse names states), never a name column or
    a column like highlow.lowest_point ("the highest state whose lowest point is the atlantic");
    the answer is never the value the question already names."""
    groups: set[str] = set()
    compared: set[str] = set()  # "states larger than texas": the row is named by its entity
    attributes: set[str] = set()  # "how long is the ohio river": any column of a named entity
    superlatives: set[str] = set()  # "the capital of the state with the largest population"
    for name, sql in itertools.islice(sample_programs(ctx.facts, random.Random(2)), 800):
        shown = re.match(r"SELECT (?:\w+\()?(\w+\.\w+)", sql)
        assert shown is not None, sql
        named = re.findall(r"(\w+\.\w+)='", sql)
        if name in ("lookup", "attribute", "filter", "extreme", "superlative"):
            assert shown.group(1) not in named, sql
        if name == "superlative":  # another attribute of the extreme row: not its name, not
            table, column = shown.group(1).split(".")  # the column it is the extreme of
            assert column != entity_column(ctx.facts, table), sql
            assert f"({shown.group(1)})" not in sql, sql
            superlatives.add(shown.group(1))
        if name == "attribute":
            attributes.add(shown.group(1))
        if name in ("count", "extreme", "aggregate") and named:
            groups.add(named[0])
        if name == "ranking":
            groups.add(re.findall(r"GROUP BY (\w+\.\w+)", sql)[0])
        if name == "compare":
            compared.add(named[0])
    assert groups <= {
        "border_info.state_name",
        "border_info.border",
        "city.state_name",
        "lake.state_name",
        "mountain.state_name",
        "river.traverse",
    }, groups
    assert {"river.traverse", "city.state_name"} <= groups
    assert compared == {"state.state_name", "highlow.state_name", "mountain.mountain_name"}
    assert {"river.length", "river.traverse", "state.capital", "city.population"} <= attributes
    assert {"state.capital", "state.population", "highlow.highest_point"} <= superlatives


def test_sampling_only_the_named_templates(ctx: SqlContext) -> None:
    drawn = [
        name
        for name, _ in itertools.islice(
            sample_programs(ctx.facts, random.Random(5), ("nested", "compare")), 40
        )
    ]
    assert sorted(set(drawn)) == ["compare", "nested"] and drawn.count("nested") == 20
    with pytest.raises(ValueError, match="unknown templates \\['nest'\\]"):
        next(sample_programs(ctx.facts, random.Random(5), ("nest",)))


def test_sampling_is_reproducible(ctx: SqlContext) -> None:
    def draw(seed: int) -> list[tuple[str, str]]:
        return list(itertools.islice(sample_programs(ctx.facts, random.Random(seed)), 30))

    assert draw(3) == draw(3) and draw(3) != draw(4)


def test_a_schema_without_values_or_numbers_yields_nothing() -> None:
    from symgen.tasks.sql.programs import schema_facts

    empty = schema_facts([Table("t", ())], [], {})
    assert list(itertools.islice(sample_programs(empty, random.Random(0)), 5)) == []


@pytest.mark.parametrize(
    ("rows", "worth"),
    [
        ([], False),  # nothing to ask for
        ([(None,)], False),
        ([("",), (None,)], False),
        ([("austin",)], True),
        ([(0,)], True),  # a count of zero is an answer
        ([("usa",)] * 5, False),  # one value repeated: the question is about nothing
        ([("a",), ("b",)], True),
        ([(str(i),) for i in range(31)], False),  # a dump, not an answer
        ([(str(i),) for i in range(30)], True),
    ],
)
def test_worth_asking(rows: list[tuple[object, ...]], worth: bool) -> None:
    assert worth_asking(rows, max_rows=30) is worth


def test_an_attribute_may_repeat_once_per_row_of_its_entity(ctx: SqlContext) -> None:
    """GeoQuery's gold `river.length ... river_name='ohio'` returns the length once per state
    the river crosses; the attribute template keeps such programs, the others still do not."""
    sql = "SELECT river.length FROM river WHERE river.river_name='ohio';"
    rows = ctx.db.execute(sql).rows
    assert rows is not None and len(rows) > 1 and len(set(rows)) == 1
    assert worth_asking(rows, repeats_ok=True) and not worth_asking(rows)
    assert not worth_asking([], repeats_ok=True)
    assert not worth_asking([(str(i),) for i in range(31)], repeats_ok=True)


def test_anchored_verdict_counts_answers_that_reproduce_the_program(ctx: SqlContext) -> None:
    task = SqlTask(ctx.db)
    program = "SELECT river.river_name FROM river WHERE river.traverse='ohio';"
    same_result = "SELECT river_name FROM river WHERE traverse = 'ohio'"
    other = "SELECT river.river_name FROM river WHERE river.traverse='iowa';"
    cands = [
        Candidate(same_result, -0.1),
        Candidate(same_result, -0.2),
        Candidate(other, -0.05),
        Candidate("SELECT nope FROM river", -0.3),  # runtime error: ignored
        Candidate("DELETE FROM river", -0.3),  # rejected statically, never run
    ]
    kept = anchored_verdict(task, program, cands, MinVotes(2))
    assert kept.kept and kept.votes == 2 and kept.program == program
    # the same audit as the ordinary vote: one runtime error, one statically rejected, 3 distinct run
    vote = verify(task, cands, MinVotes(6))
    assert kept.failures == vote.failures and sum(kept.failures.values()) == 2
    assert kept.n_samples == 5 and kept.n_distinct == vote.n_distinct == 3
    assert kept.group_sizes == [2, 1]
    strict = anchored_verdict(task, program, cands, MinVotes(3))
    assert not strict.kept and strict.reason == "too_few_agree_with_program"
    # the candidates' own majority (iowa's one vote vs ohio's two) does not matter: only the program
    iowa = anchored_verdict(task, other, cands, MinVotes(2))
    assert not iowa.kept and iowa.votes == 1
    broken = anchored_verdict(task, "SELECT x FROM nowhere", cands, MinVotes(1))
    assert not broken.kept and broken.reason == "program_runtime_error"


def _generate(db: Path, seeds: Path, out: Path, source: str, n: int) -> subprocess.CompletedProcess:  # type: ignore[type-arg]
    cmd = generate_cmd(db, seeds, out, n, "--questions-from", source)
    return subprocess.run(cmd, capture_output=True, text=True, timeout=900)


@pytest.mark.llm
def test_generate_from_programs_end_to_end(  # type: ignore[no-untyped-def]
    model_file, geo_db: Path, geo_dir: Path, tmp_path: Path
) -> None:
    model_file("qwen2.5-coder-0.5b")
    before = sha256(geo_db)
    seeds, out = geo_dir / "seed_10.jsonl", tmp_path / "pf.jsonl"
    proc = _generate(geo_db, seeds, out, "programs", 8)
    assert proc.returncode == 0, proc.stderr

    def lines(name: str) -> list[dict]:  # type: ignore[type-arg]
        path = tmp_path / name
        return [json.loads(x) for x in path.read_text().splitlines()] if path.exists() else []

    questions = lines("pf.questions.jsonl")
    kept, rejected = lines("pf.jsonl"), lines("pf.rejected.jsonl")
    assert len(questions) == 8 and len(kept) + len(rejected) == 8
    assert {q["template"] for q in questions} <= set(TEMPLATES)
    program_of = {q["question"]: q["program"] for q in questions}
    assert kept, f"no program-first pair kept of 8: {rejected}"
    for pair in kept:
        # the pair's SQL is the sampled program itself, backed by an agreeing answer (4 samples)
        assert pair["query"] == program_of[pair["question"]]
        assert 1 <= pair["votes"] <= pair["n_samples"] == 4
    for rej in rejected:
        assert rej["reason"] == "too_few_agree_with_program" and rej["votes"] == 0
    run = json.loads((tmp_path / "pf.run.json").read_text())
    assert run["identity"]["questions_from"] == "programs" and run["stats"]["kept"] == len(kept)
    # the same --out with the paper's gen-q would mix two kinds of data: refused, nothing lost
    snapshot = out.read_bytes()
    proc = _generate(geo_db, seeds, out, "llm", 8)
    assert proc.returncode != 0 and "questions_from" in proc.stderr
    proc = _generate(geo_db, seeds, out, "programs", 8)
    assert proc.returncode == 0 and "nothing to do" in proc.stderr
    assert out.read_bytes() == snapshot and sha256(geo_db) == before


class Describer:
    """Scripted generator: a new question for each describe prompt, a wrong answer otherwise;
    records the describe prompts."""

    name = "scripted"

    def __init__(self) -> None:
        self.stats, self.described = GenStats(), list[str]()

    def sample(self, prompt: str, *, n: int = 1, **_: object) -> list[Sample]:
        if prompt.endswith("-- Question:"):
            self.described.append(prompt)
            return [
                Sample(f" which things are asked about here number {len(self.described)}", -1, 9)
            ]
        return [Sample(" 1", -0.1, 2)] * n

    def close(self) -> None:
        pass


def _run_programs(geo_dir: Path, out: Path, gen: Describer, n: int, results: bool) -> None:
    """A program-first `run_generate` on GeoQuery with a scripted generator: 2 answers each."""
    from symgen.config import AnswerGenConfig, QuestionGenConfig, VerifyConfig
    from symgen.generate.run import run_generate

    run_generate(
        db_path=geo_dir / "geography.sqlite",
        seeds_path=geo_dir / "seed_10.jsonl",
        out_path=out,
        open_gen=lambda: gen,
        n_questions=n,
        qcfg=QuestionGenConfig(source="programs", describe_results=results),
        acfg=AnswerGenConfig(samples=2),
        vcfg=VerifyConfig(min_votes="1"),
        progress=False,
        log=lambda _m: None,
    )


@pytest.mark.parametrize("results", [True, False])
def test_program_stage_shows_the_describer_each_programs_result(
    ctx: SqlContext, geo_dir: Path, tmp_path: Path, results: bool
) -> None:
    """The describe prompt of every sampled program ends with what that program returns (read
    from the DB), after the seeds' own results; `describe_results=False` shows none."""
    from symgen.databases.base import open_database
    from symgen.dataset import read_jsonl
    from symgen.tasks.sql.prompt import result_line

    gen = Describer()
    _run_programs(geo_dir, tmp_path / "p.jsonl", gen, 3, results)
    asked = read_jsonl(tmp_path / "p.questions.jsonl")
    assert len(asked) == 3 == len(gen.described)
    with open_database(geo_dir / "geography.sqlite") as db:
        for row, prompt in zip(asked, gen.described, strict=True):
            tail = f"-- SQL: {' '.join(row['program'].split())}\n"
            if results:
                tail += f"-- Result: {result_line(db.execute(row['program']).rows or ())}\n"
            assert prompt.endswith(tail + "-- Question:")
            assert prompt.count("-- Result:") == (len(ctx.demos) + 1 if results else 0)


def test_older_program_run_resumes_only_with_describe_results_off(
    geo_dir: Path, tmp_path: Path
) -> None:
    """A program-first run from before the option (no describe_results in its identity) is not
    silently extended with differently described questions; the error says how to resume."""
    from symgen.errors import SymgenError

    out = tmp_path / "p.jsonl"

    def run(results: bool) -> None:
        _run_programs(geo_dir, out, Describer(), 1, results)

    run(False)  # what an older run's files look like
    assert (
        "describe_results" not in json.loads(out.with_suffix(".run.json").read_text())["identity"]
    )
    with pytest.raises(SymgenError, match="resume with --describe-results off"):
        run(True)
    run(False)  # resumes: nothing to do


class SlowDescriber(Describer):
    """The scripted generator, 50 ms per call: a budget of a second ends mid-run."""

    def __init__(self) -> None:
        super().__init__()
        self.order: list[str] = []

    def sample(self, prompt: str, *, n: int = 1, **kw: object) -> list[Sample]:
        import time

        time.sleep(0.05)
        self.order.append("describe" if prompt.endswith("-- Question:") else "answer")
        return super().sample(prompt, n=n, **kw)


def test_a_time_budget_ends_with_answered_questions_not_a_pile_of_descriptions(
    geo_dir: Path, tmp_path: Path
) -> None:
    """Under `max_minutes`, describing and answering interleave: when the budget runs out every
    written question but at most the round in flight is answered (the run used to describe all
    300 programs first and answer one), and a rerun goes on from there."""
    from symgen.config import AnswerGenConfig, QuestionGenConfig, VerifyConfig
    from symgen.dataset import read_jsonl
    from symgen.generate.run import run_generate

    out = tmp_path / "p.jsonl"

    def run(gen: SlowDescriber) -> None:
        run_generate(
            db_path=geo_dir / "geography.sqlite",
            seeds_path=geo_dir / "seed_10.jsonl",
            out_path=out,
            open_gen=lambda: gen,
            n_questions=300,
            qcfg=QuestionGenConfig(source="programs"),
            acfg=AnswerGenConfig(samples=2),
            vcfg=VerifyConfig(min_votes="1"),
            progress=False,
            log=lambda _m: None,
            max_minutes=1 / 60,
        )

    gen = SlowDescriber()
    run(gen)
    asked = read_jsonl(tmp_path / "p.questions.jsonl")
    answered = read_jsonl(out) + read_jsonl(tmp_path / "p.rejected.jsonl")
    assert 2 <= len(answered) < 300 and len(asked) - len(answered) <= 1
    assert gen.order[:4] == ["describe", "answer", "describe", "answer"]
    run(SlowDescriber())
    more = read_jsonl(out) + read_jsonl(tmp_path / "p.rejected.jsonl")
    assert len(more) > len(answered)
    assert len({r["question"] for r in more}) == len(more)  # nothing answered twice
