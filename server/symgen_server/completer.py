"""Models + database + cache: turns a request text into validated, formatted SQL or code.

Holds no LSP types. Resolves the SQL model (setting, else newest SQL model under the workspace's
.symgen/models/) and the database (setting, else the one the model was trained on), and one model
per code task (bash, python: setting, else the newest model of that task there); hot-reloads
models when their directories change, and caches answers by (request, schema/task, model).
"""

from __future__ import annotations

import json
import threading
import time
from collections import OrderedDict, deque
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from symgen.databases.base import is_url, public_spec
from symgen.engine.checks import Completion
from symgen.engine.manifest import MANIFEST, graph_file
from symgen.engine.model import Cancelled, TaskModel
from symgen.errors import SymgenError
from symgen.tasks.registry import DEFAULT_TASK, TASK_CLASSES, task_for
from symgen.tasks.sql.model_input import DbKnowledge
from symgen.tasks.sql.result_check import ReturnsRows
from symgen_server.settings import Settings


@dataclass(frozen=True)
class Suggestion:
    sql: str
    valid: bool
    problem: str | None
    engine_ms: float
    cached: bool


# the tasks that read only the comment, one model each; the database task (SQL) has the others
CODE_TASKS = tuple(name for name in TASK_CLASSES if not task_for(name).needs_database)
DATABASE_TASKS = tuple(name for name in TASK_CLASSES if task_for(name).needs_database)
Stamp = tuple[tuple[str, int, int], ...]  # a model directory's files, to notice a change


def _task_of(model_dir: Path) -> str:
    """The manifest's task; "" when it is unreadable, not JSON or not an object."""
    try:
        manifest = json.loads((model_dir / MANIFEST).read_text())
    except (OSError, ValueError, RecursionError):
        return ""
    return str(manifest.get("task", DEFAULT_TASK)) if isinstance(manifest, dict) else ""


def newest_model(root: Path | None, task: str = DEFAULT_TASK) -> Path | None:
    """The most recently exported model of `task` under `<root>/.symgen/models/`."""
    if root is None:
        return None
    found = sorted(
        (
            p.parent
            for p in (root / ".symgen" / "models").glob(f"*/{MANIFEST}")
            if _task_of(p.parent) == task
        ),
        key=lambda d: _mtime(d / MANIFEST),
    )
    return found[-1] if found else None


def _mtime(path: Path) -> float:
    try:
        return path.stat().st_mtime
    except OSError:  # removed meanwhile
        return 0.0


_NEEDS = ("onnx", "tokenizer", "eos_id", "num_layers", "num_kv_heads", "head_dim")


def load_model(model_dir: Path, threads: int) -> tuple[TaskModel | None, str]:
    """The model, or None and why not; never raises. A corrupt graph or tokenizer fails with
    onnxruntime's or tokenizers' own error, which rarely names the file: `broken_file` does."""
    try:
        return TaskModel(model_dir, threads=threads), ""
    except SymgenError as exc:
        return None, str(exc)
    except Exception as exc:
        return None, (
            f"{broken_file(model_dir, exc)} is unreadable, truncated or corrupt "
            f"({_brief(exc)}); re-export the model with `symgen export`"
        )


def broken_file(model_dir: Path, exc: BaseException) -> Path:
    """Which of the model's files made loading fail: the manifest if it is not a complete
    JSON object, the tokenizer if it does not load, else the graph the error names (or the
    main graph)."""
    manifest_path = model_dir / MANIFEST
    try:
        manifest: dict[str, Any] = json.loads(manifest_path.read_text())
        tokenizer = model_dir / str(manifest["tokenizer"])
        graph = model_dir / graph_file(manifest)
        if not all(key in manifest for key in _NEEDS):
            return manifest_path
    except (OSError, ValueError, KeyError, TypeError):
        return manifest_path
    try:
        from tokenizers import Tokenizer

        Tokenizer.from_file(str(tokenizer))
    except Exception:
        return tokenizer
    named = [p for p in model_dir.glob("*.onnx") if str(p) in str(exc)]
    return named[0] if named else graph


def unreadable_manifests(root: Path | None) -> list[str]:
    """Workspace model dirs skipped because their manifest is empty or not JSON."""
    if root is None:
        return []
    return [
        f"{p} is empty or not a JSON object"
        for p in sorted((root / ".symgen" / "models").glob(f"*/{MANIFEST}"))
        if not _task_of(p.parent)
    ]


def trained_databases(model: TaskModel) -> list[str]:
    """The database paths/URLs the manifest says the model was trained on (none if malformed)."""
    found = model.manifest.get("databases")
    if not isinstance(found, dict):
        return []
    return [str(d["path"]) for d in found.values() if isinstance(d, dict) and "path" in d]


def _brief(exc: BaseException) -> str:
    """An exception in one short line: C++ libraries' messages run to many."""
    text = " ".join(str(exc).split()) or type(exc).__name__
    return text if len(text) <= 200 else text[:197] + "..."


class CompletionFailed(SymgenError):
    """Decoding raised: the message names the graph; the request gets no completion."""


def format_sql(sql: str, style: str, dialect: str = "sqlite") -> str:
    import sqlglot

    try:
        text = sqlglot.transpile(sql, read=dialect, write=dialect, pretty=style == "pretty")[0]
    except Exception:
        text = sql.strip().rstrip(";")
    return text + ";"


class Completer:
    """Thread-safe; `complete` runs in a worker thread, the rest from the LSP loop."""

    def __init__(self) -> None:
        self.settings = Settings()
        self.root: Path | None = None
        self.model: TaskModel | None = None
        self.db: DbKnowledge | None = None
        self.guide: ReturnsRows | None = None  # execution guidance on `db`
        self.model_dir: Path | None = None
        self._model_stamp: Stamp = ()
        self.code_models: dict[str, TaskModel] = {}
        self.code_problems: dict[str, str] = {}
        self._code_stamps: dict[str, tuple[Path | None, Stamp]] = {}
        self.cache: OrderedDict[tuple[str, str, str], Suggestion] = OrderedDict()
        self.latencies: deque[float] = deque(maxlen=1000)  # engine ms of uncached completions
        self.problems: list[str] = []
        self.configured = 0  # how many times `configure` ran (the server re-tells problems)
        self._lock = threading.RLock()

    # ---- configuration ----------------------------------------------------------------------
    def _resolve(self, setting: str) -> Path | str | None:
        if not setting:
            return None
        if is_url(setting):
            return setting
        try:
            path = Path(setting).expanduser()
        except RuntimeError:  # `~user` with no such user: the path as written
            path = Path(setting)
        if not path.is_absolute() and self.root is not None:
            path = self.root / path
        return path

    def configure(self, settings: Settings, root: Path | None) -> list[str]:
        """(Re)load model and database; returns problems to tell the user (never raises)."""
        with self._lock:
            self.settings, self.root = settings, root
            self.problems = []
            self.configured += 1
            self._configure_model(settings, root)
            self._configure_db(settings)
            self._configure_code(settings, root)
            self.cache.clear()
            return list(self.problems)

    def _configure_model(self, settings: Settings, root: Path | None) -> None:
        model = self._resolve(settings.model)
        model_dir = Path(model) if model is not None else newest_model(root)
        self.model, self.model_dir = None, model_dir
        if model_dir is None:
            where = f"{root / '.symgen' / 'models'}" if root else "the workspace"
            skipped = unreadable_manifests(root)
            broken = f" (skipped: {'; '.join(skipped)})" if skipped else ""
            self.problems.append(
                f"SymGen: no model found in {where}{broken}. Train one (`symgen demo`, or the "
                "'SymGen: Train Model' command) or set symgen.model to an exported model dir."
            )
            return
        # stamped even when loading fails: a broken model is retried once its files change
        self._model_stamp = self._stamp(model_dir)
        self.model, problem = load_model(model_dir, settings.threads)
        if problem:
            self.problems.append(f"SymGen: cannot load model: {problem}")

    def _configure_db(self, settings: Settings) -> None:
        self.db = None
        if self.guide is not None:
            self.guide.close()
            self.guide = None
        db_path = self._resolve(settings.database)
        if db_path is None and self.model is not None:
            db_path = next(
                (p for p in trained_databases(self.model) if is_url(p) or Path(p).is_file()), None
            )
        if db_path is None:
            self.problems.append(
                "SymGen: no database set. Set symgen.database to your SQLite or DuckDB file, "
                "or a postgresql://user@host:port/dbname URL."
            )
            return
        try:
            self.db = DbKnowledge.load(db_path)
            self.problems.extend(f"SymGen: {w}" for w in self.db.warnings)
            if settings.execution_guided:
                self.guide = ReturnsRows(self.db.spec)
        except SymgenError as exc:
            self.problems.append(f"SymGen: {exc}")
        except Exception as exc:  # a corrupt file the driver rejects in its own words
            where = public_spec(str(db_path)) if is_url(db_path) else db_path
            self.problems.append(f"SymGen: cannot open the database {where}: {_brief(exc)}")

    def _configure_code(self, settings: Settings, root: Path | None) -> None:
        """One model per code task; a missing one is only reported when a .sh/.py asks."""
        self.code_models, self.code_problems, self._code_stamps = {}, {}, {}
        for task in CODE_TASKS:
            resolved = self._resolve(settings.code_model(task))
            model_dir = Path(resolved) if resolved is not None else newest_model(root, task)
            self._code_stamps[task] = (model_dir, self._stamp(model_dir) if model_dir else ())
            if model_dir is None:
                self.code_problems[task] = (
                    f"SymGen: no {task} model. Train one (`symgen generate/train/export --task "
                    f"{task}`) into .symgen/models/ or set symgen.{task}Model."
                )
                continue
            model, problem = load_model(model_dir, settings.threads)
            if model is None:
                self.code_problems[task] = f"SymGen: cannot load the {task} model: {problem}"
            elif model.task != task:
                self.code_problems[task] = (
                    f"SymGen: {model_dir} is a {model.task} model, not {task}"
                )
            else:
                self.code_models[task] = model

    @staticmethod
    def _stamp(model_dir: Path) -> Stamp:
        """Name, size and mtime of each file: a file restored with its old mtime still counts."""
        try:
            files = [(p.name, p.stat()) for p in model_dir.iterdir()]
        except (OSError, ValueError):  # ValueError: a NUL in the path
            return ()
        return tuple(sorted((name, st.st_size, st.st_mtime_ns) for name, st in files))

    def reload_if_changed(self) -> bool:
        """Hot reload: the model directory (or, with no model, a new workspace model) changed."""
        with self._lock:
            code_same = all(
                (self._stamp(d) if d else ()) == stamp
                and (d is not None or newest_model(self.root, task) is None)
                for task, (d, stamp) in self._code_stamps.items()
            )
            if self.model_dir is not None:
                if self._stamp(self.model_dir) == self._model_stamp and code_same:
                    return False
            elif newest_model(self.root) is None and code_same:
                return False
            self.configure(self.settings, self.root)
            return self.model is not None

    @property
    def ready(self) -> bool:
        return self.model is not None and self.db is not None and self.settings.enabled

    # ---- completion -------------------------------------------------------------------------
    def complete(
        self, request: str, should_stop: Callable[[], bool] | None = None
    ) -> Suggestion | None:
        """Validated SQL for `request`; None when not ready or cancelled."""
        model, db, settings, guide = self.model, self.db, self.settings, self.guide
        if model is None or db is None or not settings.enabled:
            return None
        return self._decode(
            (" ".join(request.lower().split()), db.schema_hash, str(model.onnx_path)),
            lambda: model.suggest(
                db,
                request,
                beams=settings.beam_size,
                max_tokens=settings.max_tokens,
                should_stop=should_stop,
                prefer=guide,
                ground_literals=settings.ground_literals,
            ),
            lambda sql: format_sql(sql, settings.format, db.dialect),
        )

    def complete_code(
        self, task: str, request: str, should_stop: Callable[[], bool] | None = None
    ) -> Suggestion | None:
        """Validated code of `task` (bash, python) for a comment; None when no model/cancelled."""
        model, settings = self.code_models.get(task), self.settings
        if model is None or not settings.enabled:
            return None
        return self._decode(
            (" ".join(request.lower().split()), task, str(model.onnx_path)),
            lambda: model.suggest_code(
                request,
                beams=settings.beam_size,
                max_tokens=max(settings.max_tokens, 256),
                should_stop=should_stop,
            ),
            lambda code: code,
        )

    def _decode(
        self,
        key: tuple[str, str, str],
        run: Callable[[], Completion],
        fmt: Callable[[str], str],
    ) -> Suggestion | None:
        """Cached decoding (`run` is the engine's greedy-fallback `suggest`), with latency."""
        with self._lock:
            hit = self.cache.get(key)
            if hit is not None:
                self.cache.move_to_end(key)
                return Suggestion(hit.sql, hit.valid, hit.problem, 0.0, True)
        start = time.perf_counter()
        try:
            result = run()
        except Cancelled:
            return None
        except Exception as exc:  # a graph that loads but cannot run, or a bug: not -32603
            raise CompletionFailed(
                f"SymGen: completing with {key[2]} failed ({type(exc).__name__}); "
                "no completions from it until it is fixed or re-exported"
            ) from exc
        ms = (time.perf_counter() - start) * 1000
        text = fmt(result.sql) if result.valid else result.sql
        suggestion = Suggestion(text, result.valid, result.problem, ms, False)
        with self._lock:
            self.latencies.append(ms)
            self.cache[key] = suggestion
            while len(self.cache) > 512:
                self.cache.popitem(last=False)
        return suggestion

    def status(self) -> dict[str, Any]:
        lat = sorted(self.latencies)
        return {
            "ready": self.ready,
            "model": str(self.model_dir) if self.model_dir else None,
            "model_name": self.model.name if self.model else None,
            "database": public_spec(self.db.spec) if self.db else None,
            "dialect": self.db.dialect if self.db else None,
            "schema_hash": self.db.schema_hash if self.db else None,
            "cache_entries": len(self.cache),
            "recent_completions": len(lat),
            "latency_p50_ms": round(lat[len(lat) // 2], 1) if lat else None,
            "latency_p95_ms": round(lat[int(0.95 * (len(lat) - 1))], 1) if lat else None,
            "recent_latencies_ms": [round(x, 2) for x in self.latencies],
            "problems": list(self.problems),
            "code_models": {t: str(m.dir) for t, m in self.code_models.items()},
        }
