"""`symgen generate`: seeds → informative prompt → LLM questions and answers → verifier → JSONL.

The staged loop, and only that: the task's context (`context`), the question source
(`sources`), the answer stage (`answer`) and the run's identity and resume (`identity`) are
each in their own module.

Resumable by construction. Next to OUT.jsonl live
  OUT.questions.jsonl  every generated question (gen-q), appended as produced
  OUT.rejected.jsonl   questions the verifier turned down, with the reason
  OUT.run.json         the run's identity (DB, seeds, generator, prompt hash) and its stats
A rerun with the same OUT reuses the questions and skips every question already in OUT or
OUT.rejected, so nothing is generated twice; an interrupt loses at most the question in flight.
"""

from __future__ import annotations

import sys
import time
from collections import Counter
from collections.abc import Callable
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

from symgen.config import AnswerGenConfig, QuestionGenConfig, VerifyConfig
from symgen.dataset import question_key
from symgen.errors import SymgenError
from symgen.generate.answer import Answerer, answer_stage
from symgen.generate.context import open_context
from symgen.generate.identity import (
    Resumed,
    RunFiles,
    check_same_generator,
    fingerprint,
    previous_run,
    write_run,
)
from symgen.generate.sources import source
from symgen.generate.sources.base import GenQ, Inputs
from symgen.generators.base import Generator
from symgen.progress import bar as progress_bar
from symgen.verify import MinVotes


@dataclass
class RunStats:
    questions_generated: int = 0
    questions_answered: int = 0
    kept: int = 0
    rejected: int = 0
    failures: Counter[str] = field(default_factory=Counter)  # garbage output, by class
    seconds: float = 0.0
    left_for_later: int = 0  # questions a time budget left unanswered (a rerun answers them)
    samples_drawn: int = 0  # gen-a samples over the answered questions (adaptive rounds draw fewer)

    def as_dict(self) -> dict[str, Any]:
        d = asdict(self)
        d["failures"] = dict(self.failures)
        return d

    @classmethod
    def resumed(cls, previous: dict[str, Any] | None) -> RunStats:
        """The totals a resumed run continues from (its run.json's)."""
        before = (previous or {}).get("stats", {})
        return cls(
            kept=before.get("kept", 0),
            rejected=before.get("rejected", 0),
            seconds=before.get("seconds", 0.0),
        )


def interleaved(
    gen_q: Callable[[int, bool], list[str]],
    answer: Callable[[list[str], bool], None],
    questions: list[str],
    n_questions: int,
    deadline: float,
    qcfg: QuestionGenConfig,
    stats: RunStats,
    progress: bool,
) -> None:
    """Rounds of one gen-q call's worth of questions (`qcfg.per_call`; one for programs, whose
    every question is one call), each answered before the next round, until `n_questions` or
    the deadline. One progress bar over the questions. A run that has answered nothing yet
    starts one round past the deadline, so every run makes progress."""
    step = 1 if qcfg.source != "llm" else max(1, qcfg.per_call)
    with progress_bar(
        total=n_questions, initial=len(questions), desc="gen-q+a+verify", unit="q",
        disable=not progress,
    ) as bar:  # fmt: skip
        while len(questions) < n_questions and (
            time.monotonic() < deadline or not stats.questions_answered
        ):
            new = gen_q(min(n_questions, len(questions) + step), False)
            if not new:
                break  # the source has nothing more to give
            answer(new, False)
            bar.update(len(new))
            bar.set_postfix(kept=stats.kept, rejected=stats.rejected)
            if stats.left_for_later:
                break


def run_generate(
    *,
    db_path: str | Path | None,
    seeds_path: Path,
    out_path: Path,
    open_gen: Callable[[], Generator],
    n_questions: int,
    qcfg: QuestionGenConfig,
    acfg: AnswerGenConfig,
    vcfg: VerifyConfig,
    seed: int = 0,
    progress: bool = True,
    log: Callable[[str], None] = lambda m: print(m, file=sys.stderr),
    seed_dialect: str | None = None,
    task: str = "sql",
    max_minutes: float | None = None,
    paraphrase_from: Path | None = None,
    history_from: Path | None = None,
    answerer: Answerer | None = None,
) -> RunStats:
    """The whole `symgen generate` job; see the module docstring for files and resume.

    `task` is `sql` (needs `db_path`) or a code language of `symgen.tasks.code.LANGUAGES`.
    `max_minutes` bounds this call's wall time: no new question is answered after it (at least
    one is, so every run makes progress) and the rest are left for a rerun, which resumes.
    `paraphrase_from` holds the verified pairs that `qcfg.source == "paraphrases"` rewrites;
    `history_from` the shell history whose commands `qcfg.source == "history"` describes.
    `answerer` decides the questions that come without a program instead of the context's vote
    (`symgen.generate.answer.Answerer`; its identity entries join the run's)."""
    min_votes = MinVotes.parse(vcfg.min_votes)
    start = source(qcfg.source)
    ctx = open_context(
        task,
        qcfg.source,
        seeds_path=seeds_path,
        db_path=db_path,
        answer_cfg=acfg,
        verify_cfg=vcfg,
        seed_dialect=seed_dialect,
    )
    for line in ctx.notices():
        log(line)
    identity = ctx.run_identity(fingerprint(seeds_path))
    stage = start(ctx, qcfg, Inputs(paraphrase_from, history_from), log)
    identity |= stage.identity
    if answerer is not None:
        identity |= answerer.identity()
    files = RunFiles.beside(out_path)
    out_path.parent.mkdir(parents=True, exist_ok=True)
    previous = previous_run(files, identity)
    resumed = Resumed.read(files)
    questions, programs = resumed.questions, resumed.programs
    stats = RunStats.resumed(previous)
    if previous:
        log(
            f"resuming {out_path}: {len(questions)} questions, {len(resumed.done)} already answered"
        )
    started = time.monotonic()
    deadline = None if max_minutes is None else started + 60 * max_minutes
    generator: Generator | None = None
    working = False  # the generator answered for itself: from here a stop keeps its work

    def save_run() -> None:
        stats.seconds = round(stats.seconds + time.monotonic() - started, 1)
        config = {"questions": asdict(qcfg), "answers": asdict(acfg), "verify": asdict(vcfg)}
        made_by = generator.name if generator else (previous or {}).get("generator")
        write_run(files, identity, made_by, config, ctx.seed_ids, stats.as_dict())

    try:
        missing = n_questions - len(questions)
        # --questions N means the first N questions: a smaller rerun does not answer the rest
        pending = [q for q in questions[:n_questions] if question_key(q) not in resumed.done]
        if missing <= 0 and not pending:
            log(f"nothing to do: {out_path} is complete for {n_questions} questions")
            # run.json keeps describing the run that made the data, not today's defaults
            return stats
        generator = open_gen()
        if answerer is not None:  # before the generator's name, which asks an endpoint
            answerer.check(ctx, generator)
        check_same_generator(previous, generator.name, out_path)
        working = True

        def answer(todo: list[str], show: bool) -> None:
            answer_stage(
                generator, ctx, todo, programs, out_path, files.rejected, acfg, min_votes, seed,
                stats, show, deadline, answerer, first=stats.questions_answered,
            )  # fmt: skip

        def gen_q(target: int, show: bool) -> list[str]:
            job = GenQ(
                generator, ctx, questions, programs, resumed.q_records, target,
                files.questions, qcfg, seed, stats, show,
            )  # fmt: skip
            return stage.run(job)

        if deadline is None:  # all questions, then all answers (the order runs always had)
            if missing > 0:
                pending += gen_q(n_questions, progress)
            answer(pending, progress)
        else:
            # a budget: question rounds and their answers interleave, so the time ends with
            # verified pairs rather than a pile of unanswered questions
            answer(pending, progress)
            interleaved(gen_q, answer, questions, n_questions, deadline, qcfg, stats, progress)
        if len(questions) < n_questions and (deadline is None or time.monotonic() < deadline):
            log(f"warning: only {len(questions)} distinct questions after the gen-q budget")
        if stats.left_for_later:
            log(
                f"time budget of {max_minutes:g} min reached: {stats.left_for_later} of "
                f"{n_questions} questions left unanswered; rerun to answer them"
            )
        elif deadline is not None and len(questions) < n_questions:
            log(
                f"time budget of {max_minutes:g} min reached after {len(questions)} of "
                f"{n_questions} questions, all answered ({stats.kept} kept in all); rerun "
                "to go on"
            )
    except KeyboardInterrupt:
        log(f"interrupted: {stats.kept} verified pairs so far are in {out_path}; rerun to resume")
        save_run()
        raise
    except SymgenError:
        if working:  # e.g. endpoints that stayed down: what was answered stays, a rerun resumes
            log(f"stopped: {stats.kept} verified pairs so far are in {out_path}; rerun to resume")
            save_run()
        raise
    finally:
        if generator is not None:
            generator.close()
    save_run()
    return stats
