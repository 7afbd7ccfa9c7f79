"""Python program text: cleaning a completion into a function, its doctest-style test calls
and outputs, the asserts MBPP gives, the canonical spelling, and the static checks a candidate
passes before it runs. Pure text functions; execution is `symgen.tasks.python.sandbox`'s."""

from __future__ import annotations

import ast
import builtins
import math
from collections.abc import Sequence
from typing import Any

from symgen.tasks.python._sandbox_runner import canon

TEST_MARK = "# >>> "
STOP: tuple[str, ...] = ("\n# ", "\n#\n", "\nassert", "\nprint(", "\nif __name__", "\n```")
MAX_TESTS = 5
_BUILTINS = set(dir(builtins))


def postprocess(completion: str) -> str:
    """The function text: leading comment/test lines (`# >>> f(2)`, a model writing one more
    test) skipped, cut at the first stop, code fences dropped, trailing space removed."""
    lines = completion.replace("\r\n", "\n").split("\n")
    while lines and (not lines[0].strip() or lines[0].lstrip().startswith("#")):
        lines.pop(0)
    text = "\n".join(lines)
    for stop in STOP:
        idx = text.find(stop)
        if idx >= 0:
            text = text[:idx]
    lines = [ln for ln in text.split("\n") if not ln.strip().startswith("```")]
    return "\n".join(lines).strip("\n").rstrip()


def parse(program: str) -> ast.Module | None:
    try:
        return ast.parse(program)
    except (SyntaxError, ValueError, RecursionError, MemoryError):
        return None


def functions(program: str) -> list[str]:
    """Names of the top-level functions the program defines."""
    tree = parse(program)
    if tree is None:
        return []
    return [n.name for n in tree.body if isinstance(n, (ast.FunctionDef, ast.AsyncFunctionDef))]


def canonical(program: str) -> str:
    """One spelling per program: `ast.unparse` (comments, spacing and quotes normalised)."""
    tree = parse(program)
    return ast.unparse(tree) if tree is not None else program.strip()


def entry_point(tests: Sequence[str]) -> str | None:
    """The function the test calls call (the first call's name)."""
    for test in tests:
        tree = parse(test)
        if tree and tree.body and isinstance(tree.body[0], ast.Expr):
            call = tree.body[0].value
            if isinstance(call, ast.Call) and isinstance(call.func, ast.Name):
                return call.func.id
    return None


def doctests_from_asserts(asserts: Sequence[str], program: str = "") -> list[tuple[str, str]]:
    """(test call, expected output) from MBPP-style asserts: the first call of a function
    `program` defines (or, without a program, the first non-builtin call) in each assert; the
    output is the literal it is compared with (`assert f(x) == 4`), or "" when the assert says
    something else (`math.isclose(...)`, `set(f(x)) == ...`)."""
    defined = set(functions(program)) if program else set()
    out = []
    for line in asserts:
        tree = parse(line)
        if tree is None or not tree.body or not isinstance(tree.body[0], ast.Assert):
            continue
        test = tree.body[0].test
        for node in ast.walk(test):
            if isinstance(node, ast.Call) and isinstance(node.func, ast.Name):
                name = node.func.id
                if name in defined or (not defined and name not in _BUILTINS):
                    out.append((ast.unparse(node), _compared_literal(test, node)))
                    break
    return out


def _compared_literal(test: ast.expr, call: ast.Call) -> str:
    """`L` in `call == L` (or `L == call`) when L is a literal, else ""."""
    if not (isinstance(test, ast.Compare) and len(test.ops) == 1):
        return ""
    if not isinstance(test.ops[0], ast.Eq):
        return ""
    left, right = test.left, test.comparators[0]
    other = right if left is call else left if right is call else None
    if other is None:
        return ""
    text = ast.unparse(other)
    return text if literal(text) is not None else ""


def calls_from_asserts(asserts: Sequence[str], program: str = "") -> list[str]:
    """Test calls from MBPP-style asserts (see `doctests_from_asserts`)."""
    return [call for call, _ in doctests_from_asserts(asserts, program)]


def literal(text: str) -> tuple[Any] | None:
    """`(value,)` when `text` is a Python literal, else None (a 1-tuple, since None is a value)."""
    try:
        return (ast.literal_eval(text.strip()),)
    except (ValueError, TypeError, SyntaxError, MemoryError, RecursionError):
        return None


def _same(a: Any, b: Any) -> bool:
    """`==`, with floats compared to 6 significant places (the sandbox rounds its floats)."""
    if isinstance(a, (list, tuple)) and isinstance(b, (list, tuple)):
        return type(a) is type(b) and len(a) == len(b) and all(map(_same, a, b))
    numbers = (int, float)
    if isinstance(a, numbers) and isinstance(b, numbers) and not isinstance(a, bool):
        return math.isclose(a, b, rel_tol=1e-6, abs_tol=1e-6)
    try:
        return bool(a == b)
    except Exception:  # an exotic __eq__: not the same
        return False


def output_matches(expected: str, actual: str) -> bool | None:
    """Does a sandbox result (its canonical text) equal the output the LLM predicted? None when
    the prediction is not a literal, so it cannot be checked."""
    want = literal(expected) if expected.strip() else None
    if want is None:
        return None
    if canon(want[0]) == actual:
        return True
    got = literal(actual)
    return got is not None and _same(want[0], got[0])


def parse_doctests(completion: str, entry: str | None = None) -> list[tuple[str, str]]:
    """(test call, expected output or "") from a `# >>> ...` continuation in doctest style: the
    `#` comment lines up to the first code line, calls of one function, deduplicated."""
    tests: list[tuple[str, str]] = []
    last: int | None = None  # index of the call an output line would belong to
    for i, line in enumerate(completion.split("\n")):
        line = line.strip()
        if i > 0 and not line.startswith("#"):
            break
        body = line.removeprefix("#").strip()
        is_call_line = body.startswith(">>>")
        body = body.removeprefix(">>>").strip()
        if not is_call_line:
            if last is not None and not tests[last][1] and literal(body) is not None:
                tests[last] = (tests[last][0], body)
            last = None
            continue
        last = None
        tree = parse(body) if body else None
        if tree is None or not tree.body or not isinstance(tree.body[0], ast.Expr):
            continue
        call = tree.body[0].value
        if not isinstance(call, ast.Call) or not isinstance(call.func, ast.Name):
            continue
        entry = entry or call.func.id
        text = ast.unparse(call)
        if call.func.id == entry and text not in (t for t, _ in tests):
            if len(tests) >= MAX_TESTS:
                break
            tests.append((text, ""))
            last = len(tests) - 1
    return tests


def parse_tests(completion: str, entry: str | None = None) -> list[str]:
    """Test calls from a `# >>> ...` continuation (see `parse_doctests`)."""
    return [call for call, _ in parse_doctests(completion, entry)]


def doctest_block(tests: Sequence[str], outputs: Sequence[str] = ()) -> str:
    """`# >>> call` lines, each followed by `# output` when the output is known."""
    lines = []
    for i, call in enumerate(tests):
        lines.append(f"{TEST_MARK}{call}\n")
        if i < len(outputs) and outputs[i]:
            lines.append(f"# {outputs[i]}\n")
    return "".join(lines)


def alias_setup(program: str, entry: str | None) -> str:
    """`entry = <the one function>` when the program names its only function differently (a
    model that only saw the request cannot know the name the tests call)."""
    names = functions(program)
    if entry and entry not in names and names:
        return f"\n{entry} = {names[-1]}\n"
    return ""


def static_check(program: str, entry: str | None = None) -> str | None:
    if not program.strip():
        return "empty"
    if parse(program) is None:
        return "syntax"
    names = functions(program)
    if not names:
        return "no_function"
    if entry and entry not in names:
        return "wrong_name"
    return None
