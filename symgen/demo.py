"""`symgen demo`: the newcomer's main job on the bundled GeoQuery demo database.

Runs the data pipeline (seeds → prompt → LLM → verifier → dataset) from the 10 human seeds and
prints what it produced. Resumable: rerunning continues where an interrupted demo stopped.
"""

from __future__ import annotations

import json
import os
from pathlib import Path

from symgen.config import AnswerGenConfig, QuestionGenConfig, VerifyConfig
from symgen.dataset import read_jsonl
from symgen.errors import MissingResource
from symgen.generate import Generator, open_generator
from symgen.pipeline import run_generate

REPO = Path(__file__).resolve().parent.parent


def demo_data_dir(explicit: str | None = None) -> Path:
    """GeoQuery from shared/data (next to the repo), or $SYMGEN_SHARED_DATA, or --data."""
    candidates = [Path(p) for p in (explicit, os.environ.get("SYMGEN_SHARED_DATA")) if p]
    candidates.append(REPO.parent / "shared" / "data")
    for base in candidates:
        for path in (base, base / "geoquery"):
            if (path / "geography.sqlite").is_file() and (path / "seed_10.jsonl").is_file():
                return path
    raise MissingResource(
        "demo data not found: looked for geoquery/geography.sqlite and seed_10.jsonl under "
        + ", ".join(str(c) for c in candidates)
        + "; pass --data DIR or set SYMGEN_SHARED_DATA"
    )


def run_demo(
    *, data: str | None, out_dir: Path, questions: int, generator: str, threads: int | None
) -> int:
    geo = demo_data_dir(data)
    out = out_dir / "geoquery.symgen.jsonl"
    print(f"SymGen demo: {questions} questions about {geo / 'geography.sqlite'} from 10 seed pairs")
    print(f"output: {out} (rerun to resume)\n")

    def open_gen() -> Generator:
        return open_generator(generator, n_threads=threads)

    stats = run_generate(
        db_path=geo / "geography.sqlite",
        seeds_path=geo / "seed_10.jsonl",
        out_path=out,
        open_gen=open_gen,
        n_questions=questions,
        qcfg=QuestionGenConfig(),
        acfg=AnswerGenConfig(),
        vcfg=VerifyConfig(),
    )
    kept = read_jsonl(out) if out.exists() else []
    print(f"\n{len(kept)} execution-verified pairs; this run: {json.dumps(stats.as_dict())}")
    for pair in kept[:5]:
        print(
            f"\n  Q: {pair['question']}\n  SQL: {pair['query']}\n  votes {pair['votes']}/{pair['n_samples']}"
        )
    print(
        "\nNext: generate more with `symgen generate --db ... --seeds ... --out ...` "
        "(see README); training and the editor server come next in the pipeline."
    )
    return 0
