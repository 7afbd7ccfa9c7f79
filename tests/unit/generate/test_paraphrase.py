"""Paraphrases of verified pairs: which values a rewrite must keep, which rewrites are refused,
and the prompt's cache-friendly layout. The loop runs on a scripted generator here; the real
LLM and the anchored check run in test_generate_e2e."""

from __future__ import annotations

from pathlib import Path

import pytest

from symgen.config import AnswerGenConfig, QuestionGenConfig, VerifyConfig
from symgen.dataset import read_jsonl, write_jsonl
from symgen.generate.run import RunStats, run_generate
from symgen.generate.sources.paraphrases import (
    paraphrase_questions,
    rewrite_rejection,
    values_named,
)
from symgen.generators.base import GenStats, Sample
from symgen.tasks.sql.prompt import paraphrase_prompt

AUSTIN = "SELECT city.population FROM city WHERE city.city_name = 'austin'"
VALUES = [  # question, SQL, values the question spells out (a rewrite must keep them)
    ("how many people live in austin", AUSTIN, ["austin"]),
    ("how many people live in Austin ?", AUSTIN, ["austin"]),
    ("what is the population of the capital of texas", AUSTIN, []),  # 'austin' is not named
    (
        "rivers longer than 500 km in texas",
        "SELECT river_name FROM river WHERE length > 500 AND traverse = 'texas'",
        ["texas", "500"],
    ),
    (  # 150000 is the SQL's reading of "major", not a number the user wrote
        "major cities in ohio",
        "SELECT city_name FROM city WHERE population > 150000 AND state_name = 'ohio'",
        ["ohio"],
    ),
    (
        "flights from o'hare",
        "SELECT * FROM flights WHERE origin = 'o''hare'",
        ["o'hare"],
    ),
    (  # a number inside a quoted value is not a separate number
        "what is on route 66",
        "SELECT name FROM place WHERE road = 'route 66'",
        ["route 66"],
    ),
    ("how many people live in austinburg", AUSTIN, []),  # whole words only
]


@pytest.mark.parametrize(("question", "sql", "want"), VALUES)
def test_values_named(question: str, sql: str, want: list[str]) -> None:
    assert values_named(question, sql) == want


CFG = QuestionGenConfig()
REJECTIONS = [  # rewrite of "how many people live in austin" -> reason (None: usable)
    ("how many residents does austin have", None),
    ("what is the population of austin", None),
    ("how many people live in dallas", "paraphrase_lost_value"),
    ("population", "paraphrase_length"),
    ("how many people live in austin", "paraphrase_duplicate"),
    ("How many people live in Austin?", "paraphrase_duplicate"),
    (" ".join(["austin"] * 40), "paraphrase_length"),
]


@pytest.mark.parametrize(("rewrite", "why"), REJECTIONS)
def test_rewrite_rejection(rewrite: str, why: str | None) -> None:
    source = "how many people live in austin"
    assert (
        rewrite_rejection(rewrite, source, AUSTIN, {"how many people live in austin"}, CFG) == why
    )


def test_prompt_shares_everything_but_the_question() -> None:
    users = ["give me the cities in virginia", "what is the capital of texas"]
    a = paraphrase_prompt(users, "how many people live in austin")
    b = paraphrase_prompt(users, "what  is the\nlongest river")
    head = a[: a.rindex("-- Question:")]
    assert b.startswith(head)  # llama.cpp reuses the cached prefix
    assert b.endswith("-- Question: what is the longest river\n-- Asked another way:")
    assert all(f"-- {q}" in head for q in users)  # the users' own wording sets the register


class Scripted:
    """Replies with the next list of rewrites on each call, recording the prompts."""

    name = "scripted"

    def __init__(self, replies: list[list[str]]) -> None:
        self.replies, self.stats = replies, GenStats()
        self.prompts: list[str] = []

    def sample(self, prompt: str, *, n: int = 1, **_: object) -> list[Sample]:
        self.prompts.append(prompt)
        return [Sample(text, -0.1, 5) for text in self.replies[len(self.prompts) - 1][:n]]

    def close(self) -> None:
        pass


def test_paraphrase_loop_dedups_across_pairs_and_counts_rejections() -> None:
    pairs = [
        ("how many people live in austin", AUSTIN),
        ("what is the population of austin", AUSTIN),
    ]
    gen = Scripted(
        [
            [
                " how many residents does austin have\n",
                "-- Asked another way: what is the population of austin",  # the other source
                "how many people live in dallas",  # lost the value
            ],
            [
                "how many residents does austin have",  # already produced for the first pair
                "austin 's population",
                "'tell me the population of austin'",
            ],
        ]
    )
    rejected: list[str] = []
    finished: list[str] = []  # sources whose every rewrite was yielded or refused
    loop = paraphrase_questions(
        gen,
        ["what is the capital of texas"],
        pairs,
        CFG,
        on_reject=rejected.append,
        on_done=finished.append,
    )
    first = next(loop)
    assert finished == []  # the first source's other two rewrites are still to come
    out = [first, *loop]
    assert finished == [pairs[0][0], pairs[1][0]]
    assert out == [
        ("how many residents does austin have", pairs[0][0], AUSTIN),
        ("austin 's population", pairs[1][0], AUSTIN),
        ("tell me the population of austin", pairs[1][0], AUSTIN),
    ]
    assert sorted(rejected) == [
        "paraphrase_duplicate",
        "paraphrase_duplicate",
        "paraphrase_lost_value",
    ]
    assert len(gen.prompts) == 2 and gen.prompts[1].endswith(
        "-- Question: what is the population of austin\n-- Asked another way:"
    )


def test_a_rerun_does_not_ask_again_for_pairs_whose_rewrites_were_all_refused(
    geo_dir: Path, tmp_path: Path
) -> None:
    """The pipeline's resume, with a scripted generator so that one pair's rewrites are surely
    all refused (the real LLM's e2e test is in test_generate_e2e): asking for more rewrites than
    the pairs give asks each pair once, and the same command again asks nothing. It used to
    ask again for the refused pair on every rerun, so a finished command's data kept growing."""
    sql_a = "SELECT state.capital FROM state WHERE state.state_name='texas';"
    sql_b = "SELECT state.area FROM state WHERE state.state_name='ohio';"
    pairs = tmp_path / "pairs.jsonl"
    write_jsonl(
        pairs,
        [
            {"question": "what is the capital of texas", "query": sql_a},
            {"question": "how big is ohio", "query": sql_b},
        ],
    )
    gen = Scripted(
        [
            ["what is the capital of texas", "the capital of dallas"],  # a duplicate, a lost value
            ["what is the area of ohio"],
            [sql_b] * 4,  # the answers to the one rewrite: it reproduces its pair's result
        ]
    )

    def run() -> RunStats:
        return run_generate(
            db_path=geo_dir / "geography.sqlite",
            seeds_path=geo_dir / "seed_10.jsonl",
            out_path=tmp_path / "para.jsonl",
            open_gen=lambda: gen,
            n_questions=6,  # more than two pairs can give
            qcfg=QuestionGenConfig(source="paraphrases", paraphrases_per_pair=2),
            acfg=AnswerGenConfig(samples=4),
            vcfg=VerifyConfig(min_votes=1),
            progress=False,
            log=lambda _m: None,
            paraphrase_from=pairs,
        )

    stats = run()
    assert stats.kept == 1 and len(gen.prompts) == 3
    assert [r["question"] for r in read_jsonl(tmp_path / "para.jsonl")] == [
        "what is the area of ohio"
    ]
    assert {r["question"] for r in read_jsonl(tmp_path / "para.reworded.jsonl")} == {
        "what is the capital of texas",
        "how big is ohio",
    }
    run()
    assert len(gen.prompts) == 3  # nothing asked again
