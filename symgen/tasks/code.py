"""What code languages (Bash, Python, ...) share: seeds, the `#` prompt layout, the generation
context the pipeline drives. A language supplies a `Task` and a `CodeContext` subclass in its own
module and one line in `LANGUAGES`; nothing else changes.

Seeds are JSONL. Accepted field names: the request in `question` (or NL2Bash's `nl`, MBPP's
`text`), the program in `query` (or `command`/`cmd`, MBPP's `code`); Python seeds may carry test
calls in `tests` (["f(1, 2)", ...], with their expected outputs in `outputs`: ["3", ...]) or
MBPP's `test_list` asserts, from which the calls and compared literals are taken.
"""

from __future__ import annotations

import hashlib
import importlib
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Protocol

from symgen.config import AnswerGenConfig, VerifyConfig
from symgen.dataset import read_jsonl
from symgen.errors import SymgenError
from symgen.tasks.base import Task
from symgen.verify import PromptedVote, Verdict

LANGUAGES = {"bash": "symgen.tasks.bash.task", "python": "symgen.tasks.python.task"}
QUESTION_FIELDS = ("question", "nl", "text")
PROGRAM_FIELDS = ("query", "command", "cmd", "code")


@dataclass(frozen=True)
class CodeSeed:
    """One (request, program) example, with test calls for languages that execute."""

    question: str
    program: str
    tests: tuple[str, ...] = ()
    id: str = ""
    outputs: tuple[str, ...] = ()  # expected output of each test call ("" = unknown)


def first_field(row: dict[str, Any], names: Sequence[str]) -> str | None:
    for name in names:
        value = row.get(name)
        if isinstance(value, str) and value.strip():
            return value
    return None


def read_code_seeds(path: str | Path) -> list[CodeSeed]:
    """Seeds in any accepted field naming (see the module docstring); line-numbered errors."""
    out = []
    for lineno, row in enumerate(read_jsonl(path), start=1):
        question, program = first_field(row, QUESTION_FIELDS), first_field(row, PROGRAM_FIELDS)
        if question is None or program is None:
            raise SymgenError(
                f"{path}:{lineno}: needs a request ({'/'.join(QUESTION_FIELDS)}) and a program "
                f"({'/'.join(PROGRAM_FIELDS)})"
            )
        tests, outputs = row.get("tests"), row.get("outputs") or []
        if not isinstance(tests, list):
            from symgen.tasks.python.program import doctests_from_asserts

            pairs = doctests_from_asserts(row.get("test_list") or [], program)
            tests, outputs = [c for c, _ in pairs], [o for _, o in pairs]
        ident = row.get("id", row.get("task_id", f"{Path(path).name}:{lineno}"))
        out.append(
            CodeSeed(
                " ".join(question.split()),
                program.replace("\r\n", "\n").strip("\n"),
                tuple(str(t) for t in tests),
                str(ident),
                tuple(str(o) for o in outputs),
            )
        )
    return out


def language(name: str) -> Any:
    """The module of code language `name`."""
    if name not in LANGUAGES:
        raise SymgenError(f"unknown task {name!r}; choose sql, {', '.join(LANGUAGES)}")
    return importlib.import_module(LANGUAGES[name])


def make_task(name: str) -> Task:
    task: Task = language(name).make_task()
    return task


class Scoring(Protocol):
    """How `symgen eval` scores a code language's predictions: the language decides (Bash
    compares text, since its commands are never run; Python runs the gold asserts)."""

    summary_metrics: tuple[tuple[str, str], ...]  # (summary metric, record field it averages)

    def score(self, pred: str, gold: str, asserts: Sequence[str], setup: str) -> dict[str, Any]:
        """The record fields of one prediction against its gold program."""
        ...


def scoring(name: str) -> Scoring:
    """Code language `name`'s scoring (its task object)."""
    task: Scoring = language(name).make_task()
    return task


class CodeContext(PromptedVote):
    """Prompts and verification of one code language for `symgen generate` (one per run)."""

    name = ""
    question_instruction = ""
    question_sources: tuple[str, ...] = ("llm",)  # `--questions-from` sources it can answer
    takes_focus = False  # gen-q topics in turn (`--focus-commands`)

    def __init__(
        self,
        seeds: Sequence[CodeSeed],
        answer_cfg: AnswerGenConfig | None = None,
        verify_cfg: VerifyConfig | None = None,
    ) -> None:
        self.answer_cfg = answer_cfg or AnswerGenConfig()
        self.verify_cfg = verify_cfg or VerifyConfig()
        self.skipped_seeds: list[tuple[CodeSeed, str]] = []
        self.demos: list[CodeSeed] = []
        self.seed_questions = [s.question for s in seeds]  # every seed's, as read: gen-q's shots
        for seed in seeds:
            why = self.check_seed(seed)
            (self.skipped_seeds.append((seed, why)) if why else self.demos.append(seed))
        if not self.demos:
            raise SymgenError(
                f"none of the {len(seeds)} {self.name} seeds is usable: "
                + "; ".join(f"{s.id}: {why}" for s, why in self.skipped_seeds[:5])
            )
        self.task = make_task(self.name)

    # ---- language hooks -------------------------------------------------------------------
    def check_seed(self, seed: CodeSeed) -> str | None:
        raise NotImplementedError

    def header(self) -> str:
        """Instruction + symbolic knowledge, the first lines of every prompt."""
        raise NotImplementedError

    def demo(self, seed: CodeSeed) -> str:
        raise NotImplementedError

    # ---- shared layout --------------------------------------------------------------------
    @staticmethod
    def question_block(question: str) -> str:
        return f"# Question: {' '.join(question.split())}\n"

    @property
    def knowledge(self) -> str:
        return self.header()

    def prefix_text(self) -> str:
        """The part shared by every answer prompt (llama.cpp keeps its KV cache)."""
        return f"{self.header()}\n\n" + "\n".join(self.demo(s) for s in self.demos) + "\n"

    def prompt(self, question: str) -> str:
        return self.prefix_text() + self.question_block(question)

    @property
    def prompt_hash(self) -> str:
        return hashlib.sha256(self.prefix_text().encode()).hexdigest()[:16]

    def focus_line(self, focus: str) -> str:
        """The gen-q prompt's line that asks for questions about `focus` (a language's hook)."""
        raise SymgenError(f"--task {self.name} has no gen-q focus")

    def describe_prompt(self, program: str) -> str:
        """The prompt whose continuation is the request for `program` (a language's hook, for
        history-first data)."""
        raise SymgenError(f"--task {self.name} cannot describe programs")

    def question_prompt(self, shots: Sequence[str], focus: str | None = None) -> str:
        lines = "".join(self.question_block(q) for q in shots)
        ask = "" if focus is None else self.focus_line(focus) + "\n"
        return f"{self.header()}\n\n{self.question_instruction}\n{lines}{ask}# Question:"

    def identity(self) -> dict[str, str]:
        return {"task": self.name, "prompt_hash": self.prompt_hash}

    def record(self, question: str, verdict: Verdict) -> dict[str, Any]:
        return {"question": question, "query": verdict.program, "task": self.name}

    # ---- a `symgen generate` run (`symgen.generate.context.GenContext`) ---------------------
    @classmethod
    def for_run(
        cls,
        seeds_path: Path,
        db_path: str | Path | None,
        answer_cfg: AnswerGenConfig,
        verify_cfg: VerifyConfig,
        seed_dialect: str | None,
    ) -> CodeContext:
        """The context of a run from the seeds file (code needs no database)."""
        return cls(read_code_seeds(seeds_path), answer_cfg, verify_cfg)

    @property
    def seed_ids(self) -> list[str]:
        return [s.id for s in self.demos]

    def notices(self) -> list[str]:
        return [f"warning: seed {s.id} skipped: {why}" for s, why in self.skipped_seeds]

    def run_identity(self, seeds_sha: str) -> dict[str, str]:
        return {"seeds_sha": seeds_sha, **self.identity()}

    def unstated(self, question: str, program: str) -> list[str]:
        return []  # a number a request leaves unsaid is SQL's check (`number_grounding`)


def build_context(
    name: str,
    seeds: Sequence[CodeSeed],
    answer_cfg: AnswerGenConfig | None = None,
    verify_cfg: VerifyConfig | None = None,
) -> CodeContext:
    ctx: CodeContext = language(name).Context(seeds, answer_cfg, verify_cfg)
    return ctx
