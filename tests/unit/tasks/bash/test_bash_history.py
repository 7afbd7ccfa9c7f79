"""History-first Bash data: reading shell histories, ranking and filtering their commands, the
soft check of a command against answers to its request, and `symgen generate --questions-from
history` end to end with a real GGUF (the tiny SmolLM2-135M)."""

from __future__ import annotations

import json
import subprocess
from pathlib import Path

import pytest

from symgen.errors import MissingResource
from symgen.tasks.bash import task as bash
from symgen.tasks.bash.history import history_lines, rank_commands, read_history, undescribed
from symgen.verify import Candidate, MinVotes, anchored_verdict
from tests.conftest import FIXTURES, SYMGEN
from tests.e2e.test_code_generate_e2e import first_lines, lines, shared
from tests.fixture_files import json_cases, params

_, HISTORY_CASES = json_cases(
    FIXTURES / "bash" / "history_formats.json", required=("history", "commands")
)


@pytest.mark.parametrize("case", params(HISTORY_CASES))
def test_history_lines_reads_each_shells_format(case: dict[str, list[str]]) -> None:
    text = "".join(line + "\n" for line in case["history"])
    assert history_lines(text) == case["commands"], case["name"]


def test_commands_ranked_by_use_then_recency_and_filtered() -> None:
    history = [
        "grep -r TODO src",
        "ls",  # one word: nothing to ask for
        "du -sh *",
        "ls  -la   /tmp",  # same command as the next spelling
        "mysql -u root --password=hunter2 db",  # a secret
        "export GITHUB_TOKEN=ghp_abcdefghijklmnopqrstuvwx",
        "curl https://bob:pw@example.com/x",
        "rm -rf /",  # destructive
        "echo 'unclosed",  # syntax
        "# a comment",
        "x" * 300,
        "ls -la /tmp",
        "getent passwd | cut -d: -f1",  # the passwd file is not a secret
    ]
    ranked = rank_commands(history)
    assert ranked.commands == [
        "ls -la /tmp",  # run twice: first, in its latest spelling
        "getent passwd | cut -d: -f1",  # then the most recent
        "du -sh *",
        "grep -r TODO src",
    ]
    assert ranked.skipped == {
        "one_word": 1,
        "secret": 3,
        "destructive": 1,
        "syntax": 1,
        "comment": 1,
        "too_long": 1,
        "repeated": 1,
    }


def test_read_history_missing_file_names_it_and_the_usual_places(tmp_path: Path) -> None:
    with pytest.raises(MissingResource) as err:
        read_history(tmp_path / "nope")
    assert str(tmp_path / "nope") in str(err.value) and "~/.zsh_history" in str(err.value)


def test_undescribed_skips_commands_already_described_in_any_spelling() -> None:
    assert undescribed(["du -sh *", "ls -la /tmp"], ["ls   -la /tmp"]) == ["du -sh *"]


def test_anchored_check_of_a_command_votes_softly() -> None:
    """A command is kept when answers to its request add up to one reproduction under the
    character-BLEU agreement; one exact answer suffices, unrelated ones do not."""
    task = bash.make_task()
    command = "find . -name '*.txt' -mtime -2"
    near = [Candidate("find . -name '*.txt' -mtime -1"), Candidate("find . -name '*.txt'")]
    far = [Candidate("df -h"), Candidate("uname -a"), Candidate("ps aux")]
    kept = anchored_verdict(task, command, [*near, Candidate(command)], MinVotes.parse("1"))
    assert kept.kept and kept.program == command and kept.support and kept.support > 1.5
    rejected = anchored_verdict(task, command, far, MinVotes.parse("1"))
    assert not rejected.kept and rejected.reason == "too_few_agree_with_program"
    assert rejected.support is not None and rejected.support < 0.5
    # exact-match tasks are unchanged: SQL has no soft support
    assert anchored_verdict(task, command, near, MinVotes.parse("2")).kept is False


@pytest.mark.llm
def test_generate_from_history_end_to_end(model_file, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    """Real LLM: each kept pair's command is the user's own (never an LLM answer), the requests
    are written and recorded with their command, a rerun asks nothing again, and a missing
    history file or a flag mix-up is a clear error."""
    gguf = model_file("smollm2-135m")
    seeds = first_lines(shared("nl2bash/pairs.jsonl"), tmp_path / "seeds.jsonl", 10)
    history = tmp_path / "zsh_history"
    mine = ["du -sh /var/log", "tar czf site.tgz public", "grep -rn 'def main' src"]
    history.write_text(
        "".join(f": 17000000{i:02d}:0;{c}\n" for i, c in enumerate(mine))
        + ": 1700000099:0;export API_KEY=abc123\n"
    )
    out = tmp_path / "pairs.jsonl"

    def generate(*source: str) -> subprocess.CompletedProcess[str]:
        cmd = [
            *SYMGEN, "generate", "--task", "bash", "--seeds", str(seeds), "--out", str(out),
            *source, "--questions", "3", "--samples", "3", "--generator", f"gguf:{gguf}",
            "--threads", "2", "--quiet",
        ]  # fmt: skip
        return subprocess.run(cmd, capture_output=True, text=True, timeout=900)

    proc = generate("--questions-from", "history", "--history", str(history))
    assert proc.returncode == 0, proc.stderr
    assert "3 commands to describe" in proc.stderr and "'secret': 1" in proc.stderr
    asked = lines(tmp_path / "pairs.questions.jsonl")
    described = lines(tmp_path / "pairs.described.jsonl")
    assert sorted(r["program"] for r in described) == sorted(mine)
    assert asked and all(r["program"] in mine and r["question"] for r in asked)
    kept, rejected = lines(out), lines(tmp_path / "pairs.rejected.jsonl")
    assert len(kept) + len(rejected) == len(asked)
    for record in kept:
        assert record["query"] in mine and "support" in record
        assert {r["question"]: r["program"] for r in asked}[record["question"]] == record["query"]
    run = json.loads((tmp_path / "pairs.run.json").read_text())
    assert run["identity"]["questions_from"] == "history"
    again = generate("--questions-from", "history", "--history", str(history))
    assert again.returncode == 0, again.stderr
    assert lines(tmp_path / "pairs.described.jsonl") == described  # nothing asked twice
    assert lines(out) == kept and lines(tmp_path / "pairs.questions.jsonl") == asked
    missing = generate("--questions-from", "history", "--history", str(tmp_path / "none"))
    assert missing.returncode == 3 and str(tmp_path / "none") in missing.stderr
    mixed = generate("--questions-from", "history")
    assert mixed.returncode == 2 and "--history FILE go together" in mixed.stderr
