"""`symgen` command line: one module per verb (`add_parser` + `run`, heavy imports inside `run`).

The verbs are listed in the order a user runs them. Verb groups from other packages (the lab's
research verbs) register through the `symgen.verbs` entry point, so this package never
imports them.
"""

from __future__ import annotations

import argparse
from collections.abc import Sequence
from importlib.metadata import entry_points

from symgen.cli import (
    ask,
    augment,
    build,
    complete,
    db_copy,
    demo,
    export,
    generate,
    models,
    train,
    verify,
)
from symgen.cli import (
    eval as eval_verb,
)
from symgen.cli.common import (
    check_outputs,
    db_error_message,
    db_specs,
    err,
    input_options,
    is_db_error,
)
from symgen.errors import SymgenError
from symgen.interrupts import exit_code, stop_like_ctrl_c

VERBS = (
    build,
    generate,
    verify,
    augment,
    train,
    export,
    eval_verb,
    complete,
    ask,
    models,
    db_copy,
    demo,
)


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="symgen",
        description="Execution-verified training data from a few examples, a small task model "
        "trained on it, served to editors.",
    )
    sub = parser.add_subparsers(dest="command", required=True, metavar="VERB")
    common = input_options()
    for verb in VERBS:
        verb.add_parser(sub, common)
    for plugin in sorted(entry_points(group="symgen.verbs"), key=lambda ep: ep.name):
        plugin.load()(sub, common)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    from symgen.dataset import MAX_LINE_BYTES, line_limit

    parser = build_parser()
    args = parser.parse_args(argv)
    # SIGINT and SIGTERM mean "stop, keep what is done"; the editor server cancels jobs this way
    stop_like_ctrl_c()
    try:
        with line_limit(getattr(args, "max_line_bytes", MAX_LINE_BYTES)):
            check_outputs(args)
            code: int = args.func(args)
        return code
    except SymgenError as exc:
        err(str(exc))
        return exc.exit_code
    except ValueError as exc:  # bad option values (e.g. --min-votes)
        err(str(exc))
        return 2
    except KeyboardInterrupt as exc:
        err("interrupted")
        return exit_code(exc)
    except OSError as exc:  # a file the command names cannot be read or written
        if exc.filename is None:
            raise
        err(f"{exc.filename}: {exc.strerror or exc}")
        return 3 if isinstance(exc, FileNotFoundError) else 2
    except MemoryError:
        err("out of memory: an input is too big for this machine (see --max-line-bytes)")
        return 2
    except Exception as exc:
        if not is_db_error(exc):  # a bug: keep its traceback
            raise
        err(db_error_message(db_specs(args), exc))
        return 2
