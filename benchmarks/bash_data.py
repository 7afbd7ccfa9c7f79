"""What Bash training sets look like beside users' requests: the data's side of the gap (issue 6).

Generated Bash data trains a task model to 0.28-0.30 char BLEU whatever the generator, the focus
or the count (1,225-5,516 pairs), while as many human pairs reach 0.36 and the generator's
answers to human requests 0.32-0.33 (README, Bash). This script measures, with no LLM and no
training, how each set's requests and commands differ from NL2Bash's, so a change to gen-q can
be judged on its data before hours of answering and training:

  q_words / q_vocab   request length, and distinct words in the first `--n` requests (a set
                      that repeats itself in other words has a small vocabulary)
  near_dup            share of those requests with another one sharing > 70% of its words
  coverage            for each of 300 held-out human requests (the end of the human pool: in no
                      seed, no test pair and no human row below 11,000 pairs), the best word
                      overlap (Jaccard) with any request of the set; averaged
  cmd_chars / piped / find / first_cmds   the commands' length, share with a pipe, share
                      starting with `find`, distinct first commands
With `--records TAG`, the rows of `code_tasks_bash_TAG` (from `.symgen/bench/code/`) are split
into char BLEU with and without its brevity penalty: how much of a row's loss is answers shorter
than the reference.

    python -m benchmarks.bash_data [--n 900] [--records q15_s0]   # results/bash_data/bash_data.json
"""

from __future__ import annotations

import argparse
import statistics
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from benchmarks.code_tasks import WORK, bash_splits
from benchmarks.common import ROOT, markdown_table, write_result
from symgen.dataset import question_key, read_jsonl
from symgen.tasks.bash.task import char_bleu, commands_and_flags, piped

GENERATED = ROOT / "benchmarks" / "generated"
HELD_OUT = 300
NEAR = 0.7

Pair = tuple[str, str]  # (request, command)
# a run's other files: what was asked, refused, or (history-first) which commands were described
RUN_FILES = (".questions.jsonl", ".rejected.jsonl", ".described.jsonl")


def words(question: str) -> frozenset[str]:
    return frozenset(question_key(question).split())


def jaccard(a: frozenset[str], b: frozenset[str]) -> float:
    return len(a & b) / len(a | b) if a or b else 1.0


def first_command(command: str) -> str:
    names = list(commands_and_flags([command]))
    return names[0] if names else ""


def profile(pairs: Sequence[Pair], held_out: Sequence[str]) -> dict[str, Any]:
    """The measures above for one set of pairs (all of them: cut it to the size compared)."""
    ws = [words(q) for q, _ in pairs]
    near = sum(
        any(jaccard(w, other) > NEAR for j, other in enumerate(ws) if j != i)
        for i, w in enumerate(ws)
    )
    firsts = [first_command(c) for _, c in pairs]
    coverage = [max(jaccard(words(h), w) for w in ws) for h in held_out]
    return {
        "pairs": len(pairs),
        "q_words": round(statistics.mean(len(q.split()) for q, _ in pairs), 1),
        "q_vocab": len(set().union(*ws)),
        "near_dup": round(near / len(pairs), 3),
        "coverage": round(statistics.mean(coverage), 3),
        "cmd_chars": round(statistics.mean(len(c) for _, c in pairs), 1),
        "piped": round(sum(map(piped, (c for _, c in pairs))) / len(pairs), 3),
        "find": round(firsts.count("find") / len(pairs), 3),
        "first_cmds": len(set(firsts)),
    }


def bleu_without_brevity(hypothesis: str, reference: str) -> float:
    """Char BLEU without its brevity penalty (the n-gram precisions alone)."""
    return char_bleu(hypothesis, reference, brevity_penalty=False)


def brevity(records: Sequence[dict[str, Any]]) -> dict[str, Any]:
    """One row's char BLEU, the same without brevity penalty, and its answers' length."""
    return {
        "char_bleu": round(statistics.mean(char_bleu(r["pred"], r["gold"]) for r in records), 3),
        "without_brevity_penalty": round(
            statistics.mean(bleu_without_brevity(r["pred"], r["gold"]) for r in records), 3
        ),
        "pred_chars": round(statistics.mean(len(r["pred"]) for r in records), 1),
        "gold_chars": round(statistics.mean(len(r["gold"]) for r in records), 1),
        "short": round(
            sum(len(r["pred"]) < 0.7 * len(r["gold"]) for r in records) / len(records), 3
        ),
    }


def generated_sets(root: Path) -> list[tuple[str, list[Pair]]]:
    """Every tracked Bash run's kept pairs, named by generator folder and run."""
    found = []
    for path in sorted(root.rglob("nl2bash.*.jsonl")):
        if path.name.endswith(RUN_FILES):
            continue
        where = path.parent.relative_to(root)
        name = path.name.removeprefix("nl2bash.").removesuffix(".jsonl")
        label = name if where == Path(".") else f"{where}/{name}"
        found.append((label, [(r["question"], r["query"]) for r in read_jsonl(path)]))
    return found


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--n", type=int, default=900, help="pairs of each set compared (its first)")
    ap.add_argument("--records", action="append", default=[], metavar="TAG")
    args = ap.parse_args()
    seeds, pool, _ = bash_splits(100)
    held_out = [r["question"] for r in pool[-HELD_OUT:]]
    sets = [("human", [(r["question"], r["command"]) for r in pool[: args.n]])]
    sets += [("seeds", [(r["question"], r["command"]) for r in seeds])]
    sets += [(name, pairs[: args.n]) for name, pairs in generated_sets(GENERATED)]
    rows = [{"set": name, **profile(pairs, held_out)} for name, pairs in sets if pairs]
    print(markdown_table(rows, list(rows[0])))
    brevity_rows = []
    for tag in args.records:
        path = WORK / f"code_tasks_bash_{tag}.records.jsonl"
        if not path.is_file():
            raise SystemExit(f"{path}: no records; run benchmarks.code_tasks with --tag {tag}")
        records = read_jsonl(path)
        for row in dict.fromkeys(r["row"] for r in records):
            mine = [r for r in records if r["row"] == row]
            brevity_rows.append({"run": tag, "row": row, **brevity(mine)})
    if brevity_rows:
        print()
        print(markdown_table(brevity_rows, list(brevity_rows[0])))
    write_result("bash_data", "bash_data", {"n": args.n, "sets": rows, "brevity": brevity_rows})


if __name__ == "__main__":
    main()
