"""Execution guidance: prefer a beam whose query returns rows on the user's database.

A small model's likeliest beam often has the right shape but a wrong value, join or comparison
and returns nothing; among beams that pass the schema check, the first that returns at least
one row is more often right (execution-guided decoding, Wang et al. 2018). An empty result can
be the right answer, so this is a preference, never a rejection: when no beam returns rows, the
engine keeps its first valid beam.

Runs generated SQL the way every execution here does: read-only connection, a short timeout
(the editor waits on it) and a row cap; opened lazily, once, and shared under a lock.
"""

from __future__ import annotations

import threading
from pathlib import Path

from symgen.databases.base import Database, open_database

GUIDE_TIMEOUT_S = 0.5  # per candidate; a query slower than this is not preferred
GUIDE_ROW_CAP = 1000  # more rows than this still counts as "returns rows"


class ReturnsRows:
    """`check(sql) -> bool`: does `sql` run without error and return at least one row?"""

    def __init__(self, spec: str | Path, *, timeout_s: float = GUIDE_TIMEOUT_S) -> None:
        self.spec = spec
        self.timeout_s = timeout_s
        self._db: Database | None = None
        self._lock = threading.Lock()

    def __call__(self, sql: str) -> bool:
        with self._lock:
            if self._db is None:
                self._db = open_database(self.spec, timeout_s=self.timeout_s, row_cap=GUIDE_ROW_CAP)
            result = self._db.execute(sql)
        return result.error == "row_cap" or (result.error is None and bool(result.rows))

    def close(self) -> None:
        with self._lock:
            if self._db is not None:
                self._db.close()
                self._db = None
