"""Task name → its language's task class, for code that knows a task only by name.

Training, export and evaluation read a task name from the command line or a run's files; they
ask the class (`task_for(name).needs_database`) instead of comparing names, so adding a language
is one line here and a few attributes on its task class.
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any, Protocol

from symgen.errors import SymgenError

# A run or model that names no task is SQL: the only task before code tasks existed.
DEFAULT_TASK = "sql"
TASK_CLASSES = {
    "sql": "symgen.tasks.sql.task:SqlTask",
    "bash": "symgen.tasks.bash.task:BashTask",
    "python": "symgen.tasks.python.task:PythonTask",
}


class Language(Protocol):
    """What a task class tells the code that has no database or model to build one with."""

    name: str
    # the model's input starts with a database's schema, and each pair names its database
    needs_database: bool
    # the request's values become placeholders that the engine fills in (Bash's paths...);
    # also `symgen train`'s default for the task (`--placeholders` / `--no-placeholders`)
    supports_placeholders: bool
    # `symgen train`'s label smoothing when --label-smoothing is not given (measured per task)
    label_smoothing: float
    # (samples, min votes) when `symgen generate` is not told them; None: the general defaults
    vote_defaults: tuple[int, str] | None
    # share of the LLM's predicted test outputs the winner must reproduce (`--expected-outputs`);
    # None: the task's candidates predict no outputs, and the flag is refused
    expected_outputs: float | None
    # each candidates row must carry test calls (the candidates run on them)
    needs_tests: bool

    @staticmethod
    def canonical(program: str) -> str:
        """One spelling per program, for a code model's training target."""
        ...


def task_for(name: str) -> type[Language]:
    """The task class of `name`; an unknown name is a clear error listing the known ones."""
    if name not in TASK_CLASSES:
        raise SymgenError(f"unknown task {name!r}; choose {', '.join(TASK_CLASSES)}")
    module, cls = TASK_CLASSES[name].split(":")
    found: type[Language] = getattr(importlib.import_module(module), cls)
    return found


def tasks_with(attribute: str) -> list[str]:
    """Names of the tasks whose class has `attribute` true (for error messages)."""
    return [name for name in TASK_CLASSES if getattr(task_for(name), attribute)]


# `symgen generate`'s context class of each task (`symgen.generate.context.GenContext`).
CONTEXT_CLASSES = {
    "sql": "symgen.tasks.sql.context:SqlContext",
    "bash": "symgen.tasks.bash.task:Context",
    "python": "symgen.tasks.python.task:Context",
}


def context_for(name: str) -> Any:
    """The generation context class of task `name` (typed where it is used, by
    `symgen.generate.context.ContextClass`); an unknown name lists the known ones."""
    if name not in CONTEXT_CLASSES:
        raise SymgenError(f"unknown task {name!r}; choose {', '.join(CONTEXT_CLASSES)}")
    module, cls = CONTEXT_CLASSES[name].split(":")
    return getattr(importlib.import_module(module), cls)


if TYPE_CHECKING:  # mypy checks that every registered class answers the questions
    from symgen.tasks.bash.task import BashTask
    from symgen.tasks.python.task import PythonTask
    from symgen.tasks.sql.task import SqlTask

    _ANSWERS: tuple[type[Language], ...] = (SqlTask, BashTask, PythonTask)
