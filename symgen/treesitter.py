"""tree-sitter parsers from the offline grammar wheels (tree-sitter-sql/-python/-bash)."""

from __future__ import annotations

import importlib
from functools import lru_cache
from typing import Any

GRAMMARS = ("sql", "python", "bash")


@lru_cache(maxsize=4)
def parser(language: str) -> Any:
    """A cached `tree_sitter.Parser` for `language` (one of `GRAMMARS`)."""
    import tree_sitter as ts

    if language not in GRAMMARS:
        raise ValueError(f"no grammar for {language}")
    grammar = importlib.import_module(f"tree_sitter_{language}")  # offline wheels, no downloads
    return ts.Parser(ts.Language(grammar.language()))
