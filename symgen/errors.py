"""User-facing errors: the message says what is wrong and what to do; the CLI maps them to exit codes."""

from __future__ import annotations


class SymgenError(Exception):
    """An error caused by input or environment, reported without a traceback.

    `exit_code` 2 means bad input (usage, malformed file); 3 means a missing resource.
    """

    def __init__(self, message: str, *, exit_code: int = 2) -> None:
        super().__init__(message)
        self.exit_code = exit_code


class MissingResource(SymgenError):
    """A file, package or model the command needs is not there."""

    def __init__(self, message: str) -> None:
        super().__init__(message, exit_code=3)
