"""Progress bars: tqdm for people, JSON lines for programs (the editor server).

With SYMGEN_PROGRESS=json every bar prints `{"progress": desc, "done": n, "total": t, ...}`
lines on stderr instead of drawing, so a parent process can relay `$/progress` without
scraping terminal escapes.
"""

from __future__ import annotations

import json
import os
import sys
import time
from typing import Any

from tqdm import tqdm


class JsonBar:
    """The small part of tqdm's interface the pipeline uses, reported as JSON lines."""

    def __init__(
        self, total: float | None = None, desc: str = "", initial: float = 0, **_: Any
    ) -> None:
        self.total, self.desc, self.n = total, desc, initial
        self.postfix: dict[str, Any] = {}
        self._last = 0.0
        self._emit(force=True)

    def _emit(self, force: bool = False) -> None:
        now = time.monotonic()
        if not force and now - self._last < 0.25:
            return
        self._last = now
        line = {"progress": self.desc, "done": self.n, "total": self.total, **self.postfix}
        print(json.dumps(line), file=sys.stderr, flush=True)

    def update(self, n: float = 1) -> None:
        self.n += n
        self._emit(force=self.total is not None and self.n >= self.total)

    def set_postfix(self, **kw: Any) -> None:
        self.postfix = {k: v for k, v in kw.items()}

    def close(self) -> None:
        self._emit(force=True)

    def __enter__(self) -> JsonBar:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


def bar(*, disable: bool = False, **kw: Any) -> Any:
    """A tqdm bar, or a JsonBar when SYMGEN_PROGRESS=json (never disabled then)."""
    if os.environ.get("SYMGEN_PROGRESS") == "json":
        return JsonBar(**kw)
    return tqdm(disable=disable, **kw)
