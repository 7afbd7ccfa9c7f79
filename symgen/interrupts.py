"""What stopping a long job means: SIGINT and SIGTERM both stop it the way Ctrl-C does.

The interrupt path (KeyboardInterrupt) is where every job saves what is done: pairs and run
stats (`symgen generate`), a checkpoint (`symgen train`). Without this, a background job started
from a non-interactive shell has SIGINT ignored, and `kill`, `timeout`, a CI runner or a process
manager (SIGTERM) ends the process mid-write.
"""

from __future__ import annotations

import signal


def _stop(signum: int, _frame: object) -> None:
    raise KeyboardInterrupt(signum)  # the signal number rides along for the exit code


def stop_like_ctrl_c() -> None:
    """Route SIGINT and SIGTERM to KeyboardInterrupt (call once, in a main)."""
    signal.signal(signal.SIGINT, signal.default_int_handler)
    signal.signal(signal.SIGTERM, _stop)


def exit_code(exc: KeyboardInterrupt) -> int:
    """The shell's convention, 128 + the signal (130 for Ctrl-C, 143 for SIGTERM)."""
    return 128 + (int(exc.args[0]) if exc.args else signal.SIGINT)
