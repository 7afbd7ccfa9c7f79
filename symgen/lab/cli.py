"""`symgen lab ...`: the research verbs, registered with the core CLI through the `symgen.verbs`
entry point (pyproject.toml), so the product's command line never imports the lab."""

from __future__ import annotations

import argparse
from typing import Any

from symgen.lab.verbs import augment, compose, ensemble, generate, label, train

VERBS = (generate, augment, train, ensemble, label, compose)


def add_parser(sub: Any, common: argparse.ArgumentParser) -> None:
    lab = sub.add_parser(
        "lab",
        help="recipes measured and not adopted (see docs/decisions.md): ensembles, "
        "pseudo-labels, compositions, ...",
    )
    verbs = lab.add_subparsers(dest="lab_command", required=True, metavar="VERB")
    for verb in VERBS:
        verb.add_parser(verbs, common)
