"""Where questions come from: the LLM (gen-q), paraphrases of verified pairs, SQL programs, shell history.

One module per source; `SOURCES` registers each under the name `--questions-from` gives
(`QuestionGenConfig.source`), and the run looks its source up there. A source's `start` checks
and reads its inputs when the job starts and gives the stage that writes the questions
(`symgen.generate.sources.base`); which tasks can answer a source's questions is the task's
call (`question_sources` on its context).
"""

from __future__ import annotations

from symgen.errors import SymgenError
from symgen.generate.sources import history, llm, paraphrases, programs
from symgen.generate.sources.base import Start

SOURCES: dict[str, Start] = {
    "llm": llm.start,
    "programs": programs.start,
    "paraphrases": paraphrases.start,
    "history": history.start,
}


def source(name: str) -> Start:
    """The start of source `name`; an unknown name lists the known ones."""
    if name not in SOURCES:
        raise SymgenError(f"unknown question source {name!r}; choose {', '.join(SOURCES)}")
    return SOURCES[name]
