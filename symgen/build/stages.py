"""The stages of `symgen build`, one function each: thin adapters over the verbs' library code.

Each takes the build's inputs, its stage of the recipe and its minutes, and returns what the
build record and the report keep about it. Every one resumes: generation through its run files,
training through its checkpoint, the rest are cheap and deterministic.
"""

from __future__ import annotations

import shutil
import sys
import time
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from symgen.build.holdout import split_held_out, sql_key
from symgen.build.recipe import Recipe, Stage
from symgen.config import AnswerGenConfig, QuestionGenConfig, VerifyConfig, vote_defaults
from symgen.dataset import question_key, read_jsonl, write_jsonl
from symgen.errors import SymgenError
from symgen.generators.base import Generator
from symgen.progress import bar as progress_bar


@dataclass(frozen=True)
class BuildInputs:
    db: str  # a path or a postgresql:// URL
    db_name: str
    dialect: str
    seeds: Path  # the checked seeds (those whose SQL runs), written by the build
    out: Path
    recipe: Recipe
    budget: float  # minutes
    open_gen: Callable[[], Generator]
    threads: int | None = None
    eval_path: Path | None = None
    workspace: Path | None = None  # None: the model is not installed for the editor
    name: str = "model"
    seed: int = 0
    progress: bool = True

    @property
    def data(self) -> Path:
        return self.out / "data"

    def generated(self, stage: str) -> Path:
        return self.data / f"{stage}.jsonl"

    @property
    def model_dir(self) -> Path:
        return self.out / "model"


def log(message: str) -> None:
    print(message, file=sys.stderr, flush=True)


# ---- generate ---------------------------------------------------------------------------------
def generate(b: BuildInputs, stage: Stage, minutes: float, probe_done: bool) -> dict[str, Any]:
    from symgen.generate.run import run_generate

    source = stage.opt("source", "llm")
    samples, votes = vote_defaults("sql", source != "llm")
    qcfg = QuestionGenConfig(source=source, templates=tuple(stage.opt("templates", [])))
    acfg = AnswerGenConfig(
        samples=stage.opt("samples", samples),
        round_size=stage.opt("round_size", AnswerGenConfig.round_size),
        max_tokens=stage.opt("max_tokens", AnswerGenConfig.max_tokens),
    )
    vcfg = VerifyConfig(min_votes=str(stage.opt("min_votes", votes)))
    out = b.generated(stage.name)
    paraphrase_from = None
    if source == "paraphrases":
        paraphrase_from = b.data / f"{stage.name}.input.jsonl"
        write_jsonl(paraphrase_from, pairs_of(b, stage.opt("paraphrase")))

    def run(n: int, budget: float) -> Any:
        return run_generate(
            db_path=b.db, seeds_path=b.seeds, out_path=out, open_gen=b.open_gen,
            n_questions=n, qcfg=qcfg, acfg=acfg, vcfg=vcfg, seed=b.seed, progress=b.progress,
            max_minutes=round(budget, 2), paraphrase_from=paraphrase_from,
        )  # fmt: skip

    started = time.monotonic()
    probe = stage.opt("probe", 0)
    if probe and not probe_done:
        stats = run(probe, minutes)
        if not count_lines(out):
            raise SymgenError(diagnose(b, stage, stats.as_dict(), probe), exit_code=4)
        minutes -= (time.monotonic() - started) / 60
    if minutes > 0:
        run(stage.opt("questions", 100), minutes)
    return summary_of(b, stage)


def summary_of(b: BuildInputs, stage: Stage) -> dict[str, Any]:
    """Kept and rejected counts, reasons and samples drawn, read back from the run's files (so
    they hold for the whole stage across resumes, not only this call)."""
    out = b.generated(stage.name)
    rejected = out.with_name(out.stem + ".rejected.jsonl")
    kept = read_jsonl(out) if out.is_file() else []
    rej = read_jsonl(rejected) if rejected.is_file() else []
    drawn = sum(int(r.get("n_samples", 0)) for r in kept + rej)
    return {
        "kept": len(kept),
        "rejected": len(rej),
        "reasons": dict(Counter(str(r.get("reason", "?")) for r in rej).most_common()),
        "samples_per_pair": round(drawn / len(kept), 1) if kept else None,
        "votes": dict(
            Counter(f"{r.get('votes')}/{r.get('n_samples')}" for r in kept).most_common(8)
        ),
    }


def diagnose(b: BuildInputs, stage: Stage, stats: dict[str, Any], probe: int) -> str:
    """Why no answer was verified in the probe, in the words a user can act on."""
    reasons = summary_of(b, stage)["reasons"] | {
        k: v for k, v in stats.get("failures", {}).items() if v
    }
    top = ", ".join(f"{n} {why}" for why, n in sorted(reasons.items(), key=lambda kv: -kv[1])[:5])
    return (
        f"stopped early: the generator verified no answer for the first {probe} questions on "
        f"{b.db_name} ({top or 'no candidates'}), so the budget would buy no data. Try the bigger "
        "generator (--generator qwen2.5-coder-1.5b), check that the seeds' questions and SQL "
        f"match the database, or look at the rejected answers in "
        f"{b.generated(stage.name).with_suffix('.rejected.jsonl')}. Rerun to resume"
    )


def count_lines(path: Path) -> int:
    if not path.is_file():
        return 0
    with path.open("rb") as f:
        return sum(1 for line in f if line.strip())


def pairs_of(b: BuildInputs, stages: list[str]) -> list[dict[str, Any]]:
    """The verified pairs of these stages ("seeds": the checked seeds), each tagged with it."""
    out: list[dict[str, Any]] = []
    for name in stages:
        path = b.seeds if name == "seeds" else b.generated(name)
        if path.is_file():
            out.extend(
                {"question": r["question"], "query": r["query"], "source": name}
                for r in read_jsonl(path)
            )
    return out


# ---- collect: every verified pair, less the held-back ones ------------------------------------
def collect(b: BuildInputs) -> dict[str, Any]:
    """`data/pairs.jsonl` (training) and `data/held_out.jsonl`: deterministic, rewritten each
    time (cheap), so a resumed build trains on exactly what it trained on before."""
    sources = ["seeds", *(s.name for s in b.recipe.stages if s.run == "generate")]
    seen: set[str] = set()
    pairs = []
    for p in pairs_of(b, sources):
        if (key := question_key(p["question"])) not in seen:
            seen.add(key)
            pairs.append(p)
    seeds = [p["query"] for p in pairs if p["source"] == "seeds"]
    train, held = split_held_out(pairs, b.recipe.hold_out, keep=seeds, dialect=b.dialect)
    write_jsonl(b.data / "pairs.jsonl", train)
    write_jsonl(b.data / "held_out.jsonl", held)
    return {"pairs": len(pairs), "train": len(train), "held_out": len(held)}


# ---- augment, train, export, evaluate -------------------------------------------------------
def augment(b: BuildInputs, stage: Stage) -> dict[str, Any]:
    from symgen.databases.base import open_database
    from symgen.tasks.sql.augment import with_augmented

    pairs = read_jsonl(b.data / "pairs.jsonl")
    with open_database(b.db) as database:
        out, stats = with_augmented(pairs, database, per_pair=stage.opt("per_pair", 4), seed=b.seed)
    # a swap can land on a held-back query (delaware -> florida): it stays out of training too
    held = {sql_key(r["query"], b.dialect) for r in read_jsonl(b.data / "held_out.jsonl")}
    kept = [r for r in out if sql_key(r["query"], b.dialect) not in held]
    write_jsonl(b.data / "train.jsonl", kept)
    return {
        "pairs": len(pairs),
        "swapped": stats.written - (len(out) - len(kept)),
        "train_pairs": len(kept),
    }


def train_data(b: BuildInputs) -> Path:
    augmented = b.data / "train.jsonl"
    return augmented if any(s.run == "augment" for s in b.recipe.stages) else b.data / "pairs.jsonl"


def train(b: BuildInputs, stage: Stage, minutes: float) -> dict[str, Any]:
    from symgen.train.loop import TrainConfig
    from symgen.train.loop import train as run_train

    cfg = TrainConfig(
        arch=stage.opt("arch", "tiny"),
        epochs=stage.opt("epochs"),
        max_steps=stage.opt("max_steps"),
        max_minutes=round(minutes, 2),
        seed=stage.opt("seed", b.seed),
        ema_decay=stage.opt("ema_decay"),
        threads=b.threads,
    )
    with progress_bar(desc="train", unit="step", disable=not b.progress) as bar:

        def progress(step: int, total: int, loss: float) -> None:
            bar.total = total
            bar.update(step - bar.n)
            bar.set_postfix(loss=f"{loss:.3f}")

        meta = run_train([train_data(b)], [b.db], b.out / "train", cfg, progress=progress)
    return {
        "params": meta["params"],
        "examples": meta["examples"],
        "steps": meta.get("steps"),
        "train_minutes": meta.get("train_minutes"),
        "loss_curve": meta.get("loss_curve", []),
    }


def export(b: BuildInputs, stage: Stage) -> dict[str, Any]:
    from symgen.export.onnx import export as run_export

    if b.model_dir.exists():
        shutil.rmtree(b.model_dir)  # a half-written export from an interrupted run
    manifest = run_export(b.out / "train", b.model_dir, int8=stage.opt("int8", True), name=b.name)
    result = {
        "mb": manifest.get("mb_on_disk"),
        "int8": bool(manifest.get("default_int8")),
        "model": str(b.model_dir),
    }
    if b.workspace is not None:
        target = b.workspace / ".symgen" / "models" / b.name
        if target.exists():
            shutil.rmtree(target)
        shutil.copytree(b.model_dir, target)
        result["installed"] = str(target)
    return result


def evaluate(b: BuildInputs, stage: Stage) -> dict[str, Any]:
    from symgen.evaluate import Item, evaluate_in_fresh_process, read_items

    sets: dict[str, list[Item]] = {
        "held_out": [
            Item(b.db_name, r["question"], r["query"])
            for r in read_jsonl(b.data / "held_out.jsonl")
        ]
    }
    if b.eval_path is not None:
        sets["eval"] = read_items(b.eval_path, b.db_name)
    out: dict[str, Any] = {}
    for name, items in sets.items():
        if not items:
            continue
        log(
            f"    scoring on {len(items)} {name.replace('_', '-')} pairs (one thread, as the editor)"
        )
        res = evaluate_in_fresh_process(
            b.model_dir, items, [Path(b.db)], beams=stage.opt("beams", 4),
            decode=stage.opt("decode", "greedy-fallback"),
        )  # fmt: skip
        write_jsonl(b.out / f"eval.{name}.records.jsonl", res["records"])
        out[name] = {
            k: res["summary"].get(k)
            for k in ("n", "exec_acc", "exact_match", "latency_p50_ms", "latency_p95_ms")
        }
    return out
