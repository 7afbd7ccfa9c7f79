"""`benchmarks.bash_data`: the measures that compare Bash training sets with users' requests,
on small hand-made sets whose answers are known (real tree-sitter-bash, no LLM)."""

from __future__ import annotations

from pathlib import Path

import pytest

from benchmarks.bash_data import bleu_without_brevity, brevity, generated_sets, profile
from symgen.dataset import write_jsonl
from symgen.tasks.bash.task import char_bleu, piped

PAIRS = [
    ("find all txt files in the current directory", "find . -name '*.txt'"),
    ("find all log files in the current directory", "find . -name '*.log'"),
    ("count lines of every python file", "cat *.py | wc -l"),
    ("show the disk usage of my home folder", 'du -sh ~ | grep "a|b"'),
]


def test_profile_counts_near_duplicates_pipes_and_coverage() -> None:
    held_out = ["find all txt files in the current directory", "reboot now please"]
    got = profile(PAIRS, held_out)
    assert got["pairs"] == 4
    # the two `find` requests share 6 of 8 distinct words (0.75 > 0.7); the others share none
    assert got["near_dup"] == 0.5
    # one held-out request is in the set (1.0), the other shares no word with it (0.0)
    assert got["coverage"] == 0.5
    assert got["piped"] == 0.5  # `cat | wc` and `du | grep`; `|` in the quotes does not count
    assert got["find"] == 0.5
    assert got["first_cmds"] == 3


def test_piped_reads_the_syntax_tree() -> None:
    assert piped("ls | wc -l")
    assert not piped("grep 'a|b' file")
    assert piped("find . -exec grep -l x {} \\; | sort")


@pytest.mark.parametrize(
    ("hyp", "ref"),
    [
        ("find . -name x", "find . -name x -type f -print"),  # shorter: the penalty is removed
        ("find . -name x -type f -print", "find . -name x"),  # longer: no penalty to remove
        ("", "ls"),
    ],
)
def test_bleu_without_brevity(hyp: str, ref: str) -> None:
    plain, without = char_bleu(hyp, ref), bleu_without_brevity(hyp, ref)
    if hyp and len(hyp) < len(ref):
        assert without > plain
    else:
        assert without == plain


def test_brevity_summarises_one_row() -> None:
    records = [
        {"pred": "ls", "gold": "ls -la /tmp"},
        {"pred": "find . -name x", "gold": "find . -name x"},
    ]
    got = brevity(records)
    assert got["short"] == 0.5
    assert got["pred_chars"] == 8.0 and got["gold_chars"] == 12.5
    assert got["without_brevity_penalty"] > got["char_bleu"]


def test_generated_sets_names_runs_by_generator(tmp_path: Path) -> None:
    row = {"question": "list files", "query": "ls"}
    write_jsonl(tmp_path / "nl2bash.symgen.jsonl", [row])
    write_jsonl(tmp_path / "nl2bash.symgen.questions.jsonl", [{"question": "list files"}])
    write_jsonl(tmp_path / "nl2bash.history.described.jsonl", [{"program": "ls -l"}])
    write_jsonl(tmp_path / "other" / "nl2bash.focus.jsonl", [row, row])
    write_jsonl(tmp_path / "geoquery.symgen.jsonl", [row])
    got = dict(generated_sets(tmp_path))
    assert got == {"symgen": [("list files", "ls")], "other/focus": [("list files", "ls")] * 2}
