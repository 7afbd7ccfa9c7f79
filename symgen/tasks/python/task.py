"""Python as a symbolic language: candidate functions executed in the sandbox on test calls the
LLM wrote for the question; candidates agree when they return the same outputs.

Prompt layout, per demonstration (doctest style; an output line when the seed's assert gives one):
    # Question: Write a function to find the shared elements of two lists.
    # >>> similar_elements((3, 4, 5, 6), (5, 7, 4, 10))
    # (4, 5)
    # >>> similar_elements((1, 2, 3, 4), (5, 4, 3, 7))
    # (3, 4)
    def similar_elements(a, b):
        ...
gen-a first writes the `# >>>` test calls and their expected outputs for a new question
(greedy), then samples K functions after them. The test calls name the entry point every
candidate must define. Two signals then check a function, as in CodeT's dual agreement: other
samples return the same outputs (the vote), and the outputs are the ones the LLM predicted
(`VerifyConfig.expected_outputs`, the share of predicted outputs the winner must reproduce).
"""

from __future__ import annotations

import ast
import dataclasses
from collections.abc import Sequence
from typing import Any

from symgen.config import PYTHON_EXPECTED_OUTPUTS, PYTHON_MIN_VOTES, PYTHON_SAMPLES
from symgen.generators.base import Generator
from symgen.tasks.base import Outcome
from symgen.tasks.code import CodeContext, CodeSeed
from symgen.tasks.python.program import (
    STOP,
    TEST_MARK,
    alias_setup,
    calls_from_asserts,
    canonical,
    doctest_block,
    entry_point,
    output_matches,
    parse,
    parse_doctests,
    postprocess,
    static_check,
)
from symgen.tasks.python.sandbox import (
    Limits,
    SandboxCounter,
    SandboxResult,
    require_isolation,
    run_python,
)
from symgen.verify import Candidate, MinVotes, Verdict, sample_candidates, verify

NAME = "python"
TEST_STOP: tuple[str, ...] = ("\ndef ", "\nimport ", "\nfrom ", "\nclass ", "\n\n", "\n@")
INSTRUCTION = (
    "# Python functions, one for each request, each after a few test calls (# >>>) and the "
    "results they return."
)
QUESTION_INSTRUCTION = (
    "# Requests users wrote for small Python functions; write new, different ones."
)


# ---- the verifier's task -----------------------------------------------------------------------
class PythonTask:
    """Candidates for one question, executed in the sandbox on that question's test calls."""

    name = NAME
    answer_prefix = ""
    stop: tuple[str, ...] = STOP
    needs_database = False
    supports_placeholders = False
    label_smoothing = 0.0  # not measured for Python
    vote_defaults: tuple[int, str] | None = (PYTHON_SAMPLES, PYTHON_MIN_VOTES)
    expected_outputs: float | None = PYTHON_EXPECTED_OUTPUTS  # CodeT's dual agreement
    needs_tests = True  # candidates run on the question's test calls

    @staticmethod
    def canonical(program: str) -> str:
        return canonical(program)

    # `symgen eval`'s summary: (metric, the record field it averages)
    summary_metrics: tuple[tuple[str, str], ...] = (("pass_at_1", "passed"),)

    def __init__(
        self,
        tests: Sequence[str] = (),
        limits: Limits | None = None,
        counter: SandboxCounter | None = None,
    ) -> None:
        self.tests = tuple(tests)
        self.entry = entry_point(self.tests)
        self.limits = limits or Limits(timeout_s=5.0)
        self.counter = counter or SandboxCounter()

    def with_tests(self, tests: Sequence[str]) -> PythonTask:
        return PythonTask(tests, self.limits, self.counter)

    def score(
        self, pred: str, gold: str, asserts: Sequence[str] = (), setup: str = ""
    ) -> dict[str, Any]:
        """A prediction is right when every gold assert passes in the sandbox (pass@1): a
        function can be right without matching the gold text."""
        return {"passed": bool(pred.strip() and asserts) and passes_asserts(pred, asserts, setup)}

    def postprocess(self, completion: str) -> str:
        return postprocess(completion)

    def static_check(self, program: str) -> str | None:
        return static_check(program, self.entry)

    def dedup_key(self, program: str) -> str:
        return canonical(program)

    def execute(self, program: str) -> Outcome:
        if not self.tests:
            return Outcome(failure="no_tests")
        result = self.counter.add(run_python(program, self.tests, limits=self.limits))
        if not result.ok:
            return Outcome(failure=f"sandbox_{result.status}")
        values = tuple(p.value if p.ok else f"!{p.error}" for p in result.probes)
        if all(not p.ok for p in result.probes):
            return Outcome(failure="runtime_error")
        if all(v == "None" for v in values):
            return Outcome(failure="empty_result")  # e.g. printed instead of returning
        return Outcome(key=values)


def make_task() -> PythonTask:
    return PythonTask()


def run_asserts(
    program: str, asserts: Sequence[str], setup: str = "", limits: Limits | None = None
) -> SandboxResult:
    """MBPP's asserts run in the sandbox after the program (its only function aliased to the
    name the asserts call, if it differs)."""
    entry = next(iter(calls_from_asserts(asserts)), "")
    name = entry.split("(", 1)[0] if entry else None
    return run_python(
        program + alias_setup(program, name),
        list(asserts),
        setup=setup,
        limits=limits or Limits(timeout_s=10.0),
    )


def passes_asserts(
    program: str, asserts: Sequence[str], setup: str = "", limits: Limits | None = None
) -> bool:
    """MBPP's check: every assert passes (see `run_asserts`)."""
    result = run_asserts(program, asserts, setup, limits)
    return result.ok and bool(result.probes) and all(p.ok for p in result.probes)


# ---- prompts and generation ----------------------------------------------------------------------
def modules_used(programs: Sequence[str]) -> list[str]:
    seen: dict[str, None] = {}
    for program in programs:
        tree = parse(program)
        for node in ast.walk(tree) if tree else ():
            if isinstance(node, ast.Import):
                for alias in node.names:
                    seen.setdefault(alias.name)
            elif isinstance(node, ast.ImportFrom) and node.module:
                seen.setdefault(node.module)
    return list(seen)


class Context(CodeContext):
    name = NAME
    question_instruction = QUESTION_INSTRUCTION
    task: PythonTask

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        require_isolation()  # refuse before any LLM time is spent, saying why
        super().__init__(*args, **kwargs)

    def check_seed(self, seed: CodeSeed) -> str | None:
        return static_check(seed.program)

    def header(self) -> str:
        modules = modules_used([s.program for s in self.demos])
        line = f"# Modules seen: {', '.join(modules)}" if modules else ""
        return f"{INSTRUCTION}\n{line}" if line else INSTRUCTION

    def demo(self, seed: CodeSeed) -> str:
        tests = doctest_block(seed.tests[:3], seed.outputs[:3])
        return f"{self.question_block(seed.question)}{tests}{canonical(seed.program)}\n"

    def write_tests(
        self, generator: Generator, question: str, seed: int | None, given: Sequence[str] = ()
    ) -> list[tuple[str, str]]:
        """Test calls and the outputs the LLM expects, greedy, in the demonstrations' style.
        `given` calls (a request that shows how its function is called) come first; the LLM
        predicts their outputs and adds calls of its own."""
        if given:
            head = "".join(f"{TEST_MARK}{call}\n" for call in given[:-1])
            head += f"{TEST_MARK}{given[-1]}\n#"
        else:
            head = TEST_MARK.rstrip()
        raw = generator.sample(
            self.prompt(question) + head,
            n=1,
            temperature=0.0,
            max_tokens=256,
            stop=TEST_STOP,
            seed=seed,
        )
        if not raw:
            return []
        text = head + raw[0].text if given else TEST_MARK + raw[0].text.lstrip()
        return parse_doctests(text)

    def answer(
        self,
        generator: Generator,
        question: str,
        *,
        samples: int,
        temperature: float,
        min_votes: MinVotes,
        seed: int | None = None,
        given: Sequence[str] = (),
    ) -> tuple[Verdict, list[Candidate]]:
        """Test calls first (greedy; `given` calls first), then K candidate functions after
        them, then the vote and the check against the predicted outputs."""
        doctests = self.write_tests(generator, question, seed, given)
        tests = [call for call, _ in doctests]
        outputs = [out for _, out in doctests]
        self.last_tests, self.last_outputs, self.last_match = tuple(tests), tuple(outputs), None
        task = self.task.with_tests(tests)
        if not tests:
            return Verdict(False, None, 0, 0, samples, 0, [], None, {}, "no_tests"), []
        cands = sample_candidates(
            generator,
            self.prompt(question) + doctest_block(tests, outputs),
            task,
            samples=samples,
            temperature=temperature,
            max_tokens=max(self.answer_cfg.max_tokens, 256),
            seed=seed,
        )
        verdict, self.last_match = vote_and_expect(
            task, cands, min_votes, outputs, self.verify_cfg.expected_outputs
        )
        return verdict, cands

    def identity(self) -> dict[str, str]:
        share = self.verify_cfg.expected_outputs
        return super().identity() | ({"expected_outputs": str(share)} if share else {})

    def record(self, question: str, verdict: Verdict) -> dict[str, Any]:
        match = {}
        if self.last_match is not None:
            match = {"expected_matched": self.last_match[0], "expected_checked": self.last_match[1]}
        return (
            super().record(question, verdict)
            | {"tests": list(self.last_tests), "outputs": list(self.last_outputs)}
            | match
        )

    last_tests: tuple[str, ...] = ()
    last_outputs: tuple[str, ...] = ()
    last_match: tuple[int, int] | None = None


def vote_and_expect(
    task: PythonTask,
    candidates: Sequence[Candidate],
    min_votes: MinVotes,
    outputs: Sequence[str],
    share: float,
) -> tuple[Verdict, tuple[int, int] | None]:
    """The vote, then the winner's results against the predicted `outputs` (one place for
    `symgen generate` and `symgen verify`): the verdict and (matched, checked), None when
    nothing won."""
    verdict = verify(task, candidates, min_votes)
    if not verdict.kept or verdict.program is None:
        return verdict, None
    key = task.execute(verdict.program).key
    match = expectation(key if isinstance(key, tuple) else (), outputs)
    if not expectation_met(match, share):
        verdict = dataclasses.replace(verdict, kept=False, reason="expected_outputs")
    return verdict, match


def expectation(values: Sequence[Any], outputs: Sequence[str]) -> tuple[int, int]:
    """(matched, checked): of the tests whose output the LLM predicted as a literal, how many
    the function's results (the sandbox's canonical texts) reproduce."""
    matched = checked = 0
    for value, expected in zip(values, outputs, strict=False):
        same = output_matches(expected, str(value))
        if same is not None:
            checked += 1
            matched += same
    return matched, checked


def expectation_met(match: tuple[int, int] | None, share: float) -> bool:
    """The kept function reproduces at least `share` of the predicted outputs; with no
    prediction to check, the vote alone decides (a policy of 0 never rejects)."""
    if match is None or share <= 0:
        return True
    matched, checked = match
    return checked == 0 or matched >= share * checked - 1e-9
