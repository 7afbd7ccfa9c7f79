"""Shared helpers for benchmark scripts: data location, recipes, tables, JSON results, reports.

Results live in `benchmarks/results/<benchmark>/` (one folder per script), the tables the
reports quote in `benchmarks/reports/<benchmark>.md` between marker comments that the scripts
rewrite from those results (`update_report`), and experiments as TOML recipes in
`benchmarks/recipes/` (`--recipe FILE.toml`, `parse_args`).
"""

from __future__ import annotations

import argparse
import json
import os
import re
import subprocess
import sys
from collections.abc import Callable, Sequence
from decimal import ROUND_HALF_UP, Decimal
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
RESULTS = ROOT / "benchmarks" / "results"  # one folder per benchmark: results/<benchmark>/
REPORTS = ROOT / "benchmarks" / "reports"
RECIPES = ROOT / "benchmarks" / "recipes"


def shared_data() -> Path:
    """`../shared/data` beside the repo (or $SYMGEN_SHARED_DATA), or exit with a clear message."""
    path = Path(os.environ.get("SYMGEN_SHARED_DATA", ROOT.parent / "shared" / "data"))
    if not (path / "geoquery" / "geography.sqlite").is_file():
        sys.exit(f"benchmark data not found at {path}; set SYMGEN_SHARED_DATA to shared/data")
    return path


def markdown_table(rows: Sequence[dict[str, Any]], columns: Sequence[str]) -> str:
    def fmt(v: Any) -> str:
        return f"{v:.3f}" if isinstance(v, float) else str(v)

    lines = ["| " + " | ".join(columns) + " |", "|" + "---|" * len(columns)]
    lines += ["| " + " | ".join(fmt(r.get(c, "")) for c in columns) + " |" for r in rows]
    return "\n".join(lines)


def _member(text: str) -> str:
    """An argparse type for `NAME=DIR`: kept as typed (so `command_line` records it), checked."""
    name, sep, path = text.partition("=")
    if not (sep and name and path):
        raise argparse.ArgumentTypeError(f"expected NAME=DIR (an exported model dir), got {text!r}")
    return text


def add_member_arg(ap: argparse.ArgumentParser) -> None:
    """`--member NAME=DIR`, repeatable and several per flag: the ensemble benchmarks' members."""
    ap.add_argument(
        "--member", action="extend", nargs="+", required=True, type=_member,
        help="NAME=exported model dir",
    )  # fmt: skip


def named_members(args: argparse.Namespace) -> dict[str, str]:
    """The `--member` values as name → dir, in the order given; a repeated name is refused."""
    pairs = [m.split("=", 1) for m in args.member]
    named = dict(pairs)
    if len(named) != len(pairs):
        raise SystemExit(f"--member names repeat: {[n for n, _ in pairs]}")
    return named


# Options about how a script runs, not what it measures: left out of the recorded command.
_NOT_RECORDED = ("recipe", "report_only")


def command_line(module: str, args: argparse.Namespace) -> str:
    """The command that reproduces a benchmark run, as recorded beside its results (every
    option spelled out, a recipe's included, so it runs without the recipe file)."""

    def value(v: Any) -> str:
        return " ".join(map(str, v)) if isinstance(v, list) else str(v)

    return f"python -m {module} " + " ".join(
        f"--{k.replace('_', '-')}" + ("" if v is True else f" {value(v)}")
        for k, v in vars(args).items()
        if v is not False and v is not None and v != "" and k not in _NOT_RECORDED
    )


def run_symgen(*argv: str) -> None:
    """`python -m symgen ARGV` in a fresh process (no torch left loaded in the benchmark's);
    a failure ends the benchmark with the command's stderr."""
    proc = subprocess.run([sys.executable, "-m", "symgen", *argv], capture_output=True, text=True)
    if proc.returncode != 0:
        raise SystemExit(f"symgen {argv[0]} failed: {proc.stderr[-2000:]}")


# --- results: benchmarks/results/<benchmark>/<name>.json ---------------------------------------


def results_dir(benchmark: str) -> Path:
    """Where one benchmark script writes its results (JSON, per-run Markdown, charts)."""
    return RESULTS / benchmark


def read_result(benchmark: str, name: str) -> dict[str, Any]:
    path = results_dir(benchmark) / f"{name}.json"
    if not path.is_file():
        raise SystemExit(f"{path.relative_to(ROOT)}: no results (run the benchmark first)")
    result: dict[str, Any] = json.loads(path.read_text())
    return result


def merge_result(benchmark: str, name: str, payload: dict[str, Any]) -> Path:
    """Write `payload`'s keys into results/<benchmark>/<name>.json, keeping the keys earlier
    runs wrote (paper.json holds the main table's rows and every `--tag`'s)."""
    path = results_dir(benchmark) / f"{name}.json"
    previous = json.loads(path.read_text()) if path.is_file() else {}
    return write_result(benchmark, name, {**previous, **payload})


def write_result(benchmark: str, name: str, payload: dict[str, Any]) -> Path:
    path = results_dir(benchmark) / f"{name}.json"
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps(payload, indent=2) + "\n")
    return path


# --- recipes: --recipe FILE.toml -----------------------------------------------------------------


def add_recipe_arg(ap: argparse.ArgumentParser) -> None:
    """`--recipe FILE.toml`: the options of a recorded experiment (benchmarks/recipes/)."""
    ap.add_argument(
        "--recipe",
        metavar="FILE.toml",  # kept a str: scripts record vars(args) as JSON
        help="take options from this TOML file (keys: the long option names, with - or _; "
        '`recipe = "OTHER.toml"` starts from another file); flags given here override it',
    )


def add_report_arg(ap: argparse.ArgumentParser, report: str) -> None:
    """`--report-only`: rewrite the report's tables from the results JSON, run nothing."""
    ap.add_argument(
        "--report-only",
        action="store_true",
        help=f"only rewrite the tables of {report} from the results JSON (no other option "
        "is read, nothing runs)",
    )


def _long_options(ap: argparse.ArgumentParser) -> dict[str, tuple[str, argparse.Action]]:
    """Each long option's name with `_` for `-` → (the option string, its action)."""
    options: dict[str, tuple[str, argparse.Action]] = {}
    for action in ap._actions:
        for opt in action.option_strings:
            if opt.startswith("--"):
                options.setdefault(opt[2:].replace("-", "_"), (opt, action))
    return options


def load_recipe(
    ap: argparse.ArgumentParser, path: Path, _seen: tuple[Path, ...] = ()
) -> dict[str, tuple[Any, Path]]:
    """A recipe's options as name → (value, the file that set it), checked against `ap`'s
    options; a `recipe` key names a file to start from (relative to this one), whose values
    this file's override."""
    import tomllib  # Python 3.11+, as the benchmarks' environment; the library runs on 3.10

    path = path.resolve()
    if path in _seen:
        raise SystemExit(f"{path}: recipes include each other ({' -> '.join(map(str, _seen))})")
    try:
        data = tomllib.loads(path.read_text())
    except FileNotFoundError:
        raise SystemExit(f"--recipe {path}: no such file") from None
    except tomllib.TOMLDecodeError as e:
        raise SystemExit(f"{path}: not valid TOML: {e}") from None
    options = _long_options(ap)
    values: dict[str, tuple[Any, Path]] = {}
    for key, value in data.items():
        name = key.replace("-", "_")
        if name == "recipe":
            if not isinstance(value, str):
                raise SystemExit(f"{path}: `recipe` names a file, got {value!r}")
            values = load_recipe(ap, path.parent / value, (*_seen, path)) | values
            continue
        if name not in options or name in ("help", "report_only"):
            raise SystemExit(f"{path}: unknown key {key!r}: not an option of {ap.prog}")
        if isinstance(value, dict):
            raise SystemExit(f"{path}: {key!r} is a table; recipes hold option = value only")
        values[name] = (value, path)
    return values


def recipe_argv(
    ap: argparse.ArgumentParser, path: Path, skip: set[str] | frozenset[str] = frozenset()
) -> list[str]:
    """The command-line tokens a recipe stands for (options named in `skip` left out), so
    argparse checks a recipe's values as it checks typed ones."""
    options = _long_options(ap)
    argv: list[str] = []
    for name, (value, source) in load_recipe(ap, path).items():
        opt, action = options[name]
        if action.dest in skip:
            continue
        flag = action.nargs == 0
        if flag != isinstance(value, bool):
            want = "true or false" if flag else "a value (not true/false)"
            raise SystemExit(f"{source}: {name!r} takes {want}, got {value!r}")
        if isinstance(action, argparse.BooleanOptionalAction):
            argv.append(opt if value else f"--no-{opt[2:]}")
        elif flag:  # store_true / store_false: the value that differs from the default sets it
            if value != action.default:
                argv.append(opt)
        elif isinstance(value, list):
            if action.nargs in ("+", "*") or (isinstance(action.nargs, int) and action.nargs > 1):
                argv += [opt, *map(str, value)]
            elif isinstance(action, argparse._AppendAction | argparse._ExtendAction):
                for v in value:
                    argv.append(f"{opt}={v}")
            else:
                raise SystemExit(f"{source}: {name!r} takes one value, got {value!r}")
        else:
            argv.append(f"{opt}={value}")  # `=`: a value such as "-1,-2" stays a value
    return argv


def _given(ap: argparse.ArgumentParser, argv: Sequence[str]) -> set[str]:
    """The dests `argv` sets explicitly (defaults suppressed, nothing required)."""
    saved = [(a, a.default, a.required) for a in ap._actions]
    try:
        for action in ap._actions:
            action.default, action.required = argparse.SUPPRESS, False
        given, _ = ap.parse_known_args(list(argv))
    finally:
        for action, default, required in saved:
            action.default, action.required = default, required
    return set(vars(given))


def parse_args(
    ap: argparse.ArgumentParser, argv: Sequence[str] | None = None
) -> argparse.Namespace:
    """`ap.parse_args(argv)`, reading `--recipe FILE.toml` first: the recipe's options, then
    the flags given, which override the recipe's (a repeatable option given replaces the
    recipe's list). With `--report-only` (`add_report_arg`) nothing else is parsed: the
    namespace holds `report_only=True` only."""
    argv = list(sys.argv[1:] if argv is None else argv)
    pre = argparse.ArgumentParser(add_help=False, allow_abbrev=False)
    pre.add_argument("--recipe", type=Path)
    pre.add_argument("--report-only", action="store_true")
    known, _ = pre.parse_known_args(argv)
    if known.report_only and "report_only" in _long_options(ap):
        return argparse.Namespace(report_only=True)
    if known.recipe is None:
        args = ap.parse_args(argv)
        if getattr(args, "recipe", None):  # an abbreviation the pre-parse did not read
            ap.error("spell out --recipe (or --recipe=FILE)")
        return args
    return ap.parse_args([*recipe_argv(ap, known.recipe, skip=_given(ap, argv)), *argv])


# --- reports: tables between marker comments in benchmarks/reports/<benchmark>.md -------------


# (report file, marker name, the table made from the results JSON): what a script writes
ReportTable = tuple[Path, str, Callable[[], str]]


def _marker(name: str) -> re.Pattern[str]:
    return re.compile(
        rf"(<!-- table:{re.escape(name)} -->\n).*?(\n<!-- /table -->)", flags=re.DOTALL
    )


def report_block(path: Path, name: str) -> str:
    """The text a report holds between `<!-- table:NAME -->` and its `<!-- /table -->`."""
    found = list(_marker(name).finditer(path.read_text()))
    if len(found) != 1:
        raise SystemExit(f"{path}: needs one `<!-- table:{name} -->` ... `<!-- /table -->`")
    return found[0].string[found[0].end(1) : found[0].start(2)].strip()


def update_report(path: Path, name: str, body: str) -> bool:
    """Put `body` between `<!-- table:NAME -->` and the next `<!-- /table -->` in `path` (the
    prose around it stays); True when the file changed. A missing marker is an error."""
    report_block(path, name)  # exactly one marker pair, or an error
    text = path.read_text()
    new = _marker(name).sub(lambda m: f"{m.group(1)}\n{body.strip()}\n{m.group(2)}", text)
    if new != text:
        path.write_text(new)
    return new != text


def write_report(tables: Sequence[ReportTable]) -> None:
    """Rewrite each (report, marker, table) and say which changed."""
    for path, name, make in tables:
        changed = update_report(path, name, make())
        where = path.relative_to(ROOT) if path.is_relative_to(ROOT) else path
        print(f"{where} table:{name}: {'updated' if changed else 'unchanged'}")


def table(header: Sequence[str], rows: Sequence[Sequence[str]]) -> str:
    """A Markdown table of already formatted cells."""
    lines = ["| " + " | ".join(header) + " |", "|" + "---|" * len(header)]
    return "\n".join(lines + ["| " + " | ".join(r) + " |" for r in rows])


DASH = "–"


def _rounded(v: float, digits: int, scale: int = 1) -> Decimal:
    """`v` × scale rounded half up on its decimal digits (0.615 → 0.62, as a reader rounds the
    JSON's printed value; float formatting would give 0.61)."""
    return (Decimal(repr(v)) * scale).quantize(Decimal(1).scaleb(-digits), rounding=ROUND_HALF_UP)


def pct(v: float | None, digits: int = 1) -> str:
    """0.5607 → 56.1%."""
    return DASH if v is None else f"{_rounded(v, digits, 100):.{digits}f}%"


def num(v: float | None, digits: int = 0) -> str:
    """14001 → 14,001; 9.66 with digits=1 → 9.7."""
    return DASH if v is None else f"{_rounded(v, digits):,.{digits}f}"


def ms(v: float | None) -> str:
    """A latency: one decimal under 100 ms, whole milliseconds above (9.7, 834, 2,639)."""
    return DASH if v is None else num(v, 1 if v < 100 else 0)


def params(n: float | None, digits: int = 1) -> str:
    """1540000000 → 1.5B, 4154880 → 4.2M, 494000000 → 494M."""
    if n is None:
        return DASH
    value, unit = (n / 1e9, "B") if n >= 1e9 else (n / 1e6, "M")
    text = num(value, digits)
    return (text.rstrip("0").rstrip(".") if "." in text and n >= 1e8 else text) + unit
