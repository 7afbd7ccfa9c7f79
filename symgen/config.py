"""Defaults for each pipeline stage, one dataclass per stage; CLI flags override fields."""

from __future__ import annotations

from dataclasses import dataclass

# How the SQL engine treats quoted values the question does not contain (`symgen.engine.grounding`):
# "prefer" (default) re-ranks beams, and masks decoding only when no beam is grounded;
# "constrain" always masks decoding; "off" neither.
GROUNDING = ("off", "prefer", "constrain")


@dataclass
class QuestionGenConfig:
    """gen-q: sample new questions from the schema and the seed questions."""

    temperature: float = 0.8
    per_call: int = 16  # questions sampled together from one prompt (multi-sequence batch)
    shots: int = 10  # seed questions shown per prompt (shuffled each call, for diversity)
    min_words: int = 5  # keep 5 < words < 40, as in the paper
    max_words: int = 40
    max_tokens: int = 48
    max_calls_factor: int = 4  # give up after questions * factor / per_call calls
    # "llm": new questions sampled from the seed questions (the paper's gen-q). "programs" (SQL):
    # SQL sampled from a grammar over the whole schema, described by the LLM, then checked by
    # back-translation (`symgen.tasks.sql.programs`): broader coverage, SQL correct by construction.
    source: str = "llm"
    describe_temperature: float = 0.3  # a program has one meaning: describe it near-greedily
    # program-first: show the describer what each SQL returns (`-- Result:` line), so a column
    # whose name hides its meaning (`river.traverse` holds states) is described by its values
    describe_results: bool = True
    max_rows: int = 30  # programs whose result is longer make no sensible question
    # program-first: sample only these grammar templates (empty: all, in turn); e.g. the shapes a
    # small generator describes well, or the hard ones for a bigger generator
    templates: tuple[str, ...] = ()
    # "paraphrases" (SQL): rewrites of already verified pairs (`symgen.generate.sources.paraphrases`), checked like
    # program-first pairs against the pair's SQL
    paraphrases_per_pair: int = 3  # rewrites sampled together per verified question
    paraphrase_temperature: float = 0.9  # diverse wording; the anchored check guards the meaning
    paraphrase_min_words: int = 2  # "how large is texas": users' questions can be this short
    # "llm" (Bash): topics each gen-q call asks about in turn (`symgen.tasks.bash.commands`), so
    # new questions cover more than the seeds' commands; empty: the seeds alone steer
    focus: tuple[str, ...] = ()


# Program-first pairs are checked against a known program rather than voted among themselves: an
# answer that reproduces the program's exact result is evidence the question says what the program
# does, so fewer samples and a single agreeing one suffice (40 GeoQuery programs, 0.5B: 14 kept,
# 3 of them on one vote of 4; none contradicted its question).
PROGRAM_FIRST_SAMPLES = 4
PROGRAM_FIRST_MIN_VOTES = "1"

# Python: functions that pass the same test calls can still be wrong together, and a looser
# majority kept many of them: on 60 MBPP train tasks (1.5B, benchmarks/python_verifier.py)
# 4 samples all agreeing kept 15 at 73% precision (85% leaving out signature mismatches), 3 of 8
# agreeing kept 38 at 47%; 8 samples all agreeing did no better than 4, at twice the cost.
# On tasks not used to choose it: 661-720 kept 15 at 80%, 721-780 kept 12 at 50% (MBPP's
# unstated conventions); 69% over all 180, short of the 80% aimed at.
PYTHON_SAMPLES = 4
PYTHON_MIN_VOTES = "all"
# ...and the winner must reproduce every output the LLM predicted for its test calls (CodeT's dual
# agreement, VerifyConfig.expected_outputs). Named the most precise request-only rule after
# 601-780 (18 of 23 kept right, 78%), then run on 60 fresh tasks (781-840): 12 of 14 (86%); over
# all 240 tasks 30 of 37 (81%) vs 48 of 68 (71%) for the vote alone, at about half the yield on
# MBPP's requests (in `symgen generate`'s own run: 14 kept vs 19, a quarter fewer).
PYTHON_EXPECTED_OUTPUTS = 1.0

# `symgen train`'s label smoothing for Bash when --label-smoothing is not given
# (`BashTask.label_smoothing`; other tasks: 0). Bash: generated
# data is soft-voted (character BLEU), so many kept commands are near misses the model should
# not trust fully; 0.1 lifted the NL2Bash char BLEU of a model on 1,990 generated pairs from
# 0.213 to 0.245 (and did not change one on 2,000 human pairs: 0.326 / 0.327). SQL: 0.1 cost
# 4.3 dev / 3.6 held-out points on GeoQuery, so SQL (and unmeasured Python) train without it.
BASH_LABEL_SMOOTHING = 0.1

# `symgen train` uses placeholders where the task supports them (`supports_placeholders`: Bash)
# unless --no-placeholders (symgen.tasks.bash.literals). Bash: generated pairs repeat a few values, so a model
# trained on them writes its data's values instead of the request's; with the request's values
# as placeholders the engine fills in, NL2Bash char BLEU on the same 1,990 generated pairs went
# from 0.208 to 0.281 / 0.288 (seeds 0 / 1), and on 2,000 human pairs from 0.310 to 0.386.


@dataclass
class AnswerGenConfig:
    """gen-a: over-sample SQL answers per question for the verifier."""

    samples: int = 8
    temperature: float = 0.8
    max_tokens: int = 160  # per sample; 0: sized from the seeds' programs (`answer_tokens`)
    rows_per_table: int = 3
    # A `-- Values:` line naming DB columns that hold values the question mentions. Off: measured
    # on 60 GeoQuery dev questions (greedy, 0.5B) it cost accuracy, 28.3% vs 33.3% without,
    # because a value found in many columns steers the model to the wrong table.
    value_hints: bool = False
    # Adaptive sampling: draw the K samples in rounds of this many and stop once more samples
    # cannot change the verdict (`symgen.verify.vote_decided`); 0 = all K in one batch.
    round_size: int = 0
    # Schema-constrained decoding (`symgen.tasks.sql.grammar`): SQL candidates are sampled under
    # a GBNF grammar of the database's tables and columns (embedded llama.cpp generator only).
    grammar: bool = False


# Bounds on running one candidate SQL query, on every engine (`symgen.databases.base`; adapters and
# `open_database` take `memory_limit`). The text is refused before any parser sees it when
# longer than SQL_MAX_CHARS ("too_long"): a 4 MB line took sqlglot 134 s and > 3 GB, and the
# longest Spider/GeoQuery gold query is under 1 KB. An engine's working memory may grow by
# SQL_MEMORY_LIMIT per query (SQLite's heap, DuckDB's and the PostgreSQL client's worker
# process), one SQLite value may hold SQL_VALUE_BYTES (a step on it takes < 0.5 s, so the
# timeout holds) and a result SQL_RESULT_BYTES (10,000 rows of 6 KB); beyond any, the query
# fails as "out_of_memory".
SQL_MAX_CHARS = 64 * 1024
SQL_MEMORY_LIMIT = 512 * 2**20
SQL_VALUE_BYTES = 16 * 2**20
SQL_RESULT_BYTES = 64 * 2**20


@dataclass
class VerifyConfig:
    """The agreement verifier and its guarded execution."""

    min_votes: str = "3"  # count, or fraction of samples such as "0.5"
    allow_empty: bool = False  # empty/NULL-only results cannot win a vote
    timeout_s: float = 2.0
    row_cap: int = 10_000
    # Python: share of the outputs the LLM predicted for its own test calls (`# >>> f(2)` then
    # `# 4`) that the vote's winner must reproduce (CodeT's dual agreement); 0 = the vote alone.
    # `symgen generate/verify --task python` default to PYTHON_EXPECTED_OUTPUTS (measured there).
    expected_outputs: float = 0.0


# The reviewer's pick must still agree with another sample: 2 of 8 (it filters on its own).
REVIEWER_MIN_VOTES = "2"


def vote_defaults(task: str, programs: bool, reviewer: bool = False) -> tuple[int, str]:
    """(samples, min votes) when the command line leaves them out: each way of checking a
    question has its own measured rule (the constants above; a task's own on its class)."""
    from symgen.tasks.registry import task_for

    if programs:
        return PROGRAM_FIRST_SAMPLES, PROGRAM_FIRST_MIN_VOTES
    if (own := task_for(task).vote_defaults) is not None:
        return own
    votes = REVIEWER_MIN_VOTES if reviewer else VerifyConfig.min_votes
    return AnswerGenConfig.samples, votes
