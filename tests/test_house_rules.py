"""The house's size rules, kept by a test: modules of at most 400 lines, functions of at most 60.

A long module or function is where a reader gets lost and where a change hides; the rules are
the ones the project writes down (docs/architecture.md). Each offender is listed as
`file:line`, so the failure says where to split. A function's length runs from its `def` line
to its last line (docstring and comments included, decorators not); nested functions count
on their own and inside the function that holds them.
"""

from __future__ import annotations

import ast
from pathlib import Path

from conftest import ROOT

PACKAGE = ROOT / "reconciler"
MAX_MODULE_LINES = 400
MAX_FUNCTION_LINES = 60


def module_offenders(root: Path, limit: int = MAX_MODULE_LINES) -> list[str]:
    """`file:1: N lines` for each module of `root` longer than `limit` lines."""
    found = []
    for path in sorted(root.rglob("*.py")):
        lines = len(path.read_text(encoding="utf-8").splitlines())
        if lines > limit:
            found.append(f"{path.relative_to(root.parent)}:1: {lines} lines")
    return found


def function_offenders(root: Path, limit: int = MAX_FUNCTION_LINES) -> list[str]:
    """`file:line: name N lines` for each function or method of `root` longer than `limit`."""
    found = []
    for path in sorted(root.rglob("*.py")):
        tree = ast.parse(path.read_text(encoding="utf-8"), filename=str(path))
        for node in ast.walk(tree):
            if isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef):
                assert node.end_lineno is not None
                lines = node.end_lineno - node.lineno + 1
                if lines > limit:
                    where = f"{path.relative_to(root.parent)}:{node.lineno}"
                    found.append(f"{where}: {node.name} {lines} lines")
    return sorted(found)


def test_no_module_is_over_400_lines() -> None:
    offenders = module_offenders(PACKAGE)
    assert not offenders, "modules over 400 lines:\n" + "\n".join(offenders)


def test_no_function_is_over_60_lines() -> None:
    offenders = function_offenders(PACKAGE)
    assert not offenders, "functions over 60 lines:\n" + "\n".join(offenders)


def test_the_checks_find_what_they_measure(tmp_path: Path) -> None:
    # The rules themselves can fail: a long module, a long method inside a class, a nested
    # function, and one exactly at the limit, which passes.
    package = tmp_path / "pkg"
    (package / "sub").mkdir(parents=True)
    body = "\n".join(f"    x{i} = {i}" for i in range(59))
    at_limit = f"def fine():\n{body}\n"  # 60 lines
    too_long = f"class C:\n    @staticmethod\n    def long():\n{body}\n        return 1\n"
    too_long = too_long.replace("\n    x", "\n        x")
    nested = "def outer():\n    async def inner():\n" + body.replace("    x", "        x")
    nested += "\n        return 2\n    return inner\n"
    (package / "ok.py").write_text(at_limit, encoding="utf-8")
    (package / "sub" / "cls.py").write_text(too_long, encoding="utf-8")
    (package / "sub" / "nest.py").write_text(nested, encoding="utf-8")
    (package / "big.py").write_text("x = 1\n" * 401, encoding="utf-8")
    assert module_offenders(package) == ["pkg/big.py:1: 401 lines"]
    assert function_offenders(package) == [
        "pkg/sub/cls.py:3: long 61 lines",
        "pkg/sub/nest.py:1: outer 63 lines",
        "pkg/sub/nest.py:2: inner 61 lines",
    ]
