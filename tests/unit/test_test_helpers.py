"""Shared test helpers have their own modules (tests/strategies.py, support modules): no
test imports from another test module or from a conftest."""

from __future__ import annotations

import ast
from pathlib import Path

TESTS = Path(__file__).resolve().parents[1]


def test_no_test_imports_from_a_test_module_or_a_conftest() -> None:
    modules = sorted(TESTS.rglob("*.py"))
    assert len(modules) > 50
    wrong = [
        f"{path.relative_to(TESTS)}: from {node.module}"
        for path in modules
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8")))
        if isinstance(node, ast.ImportFrom)
        and node.module is not None
        and node.module.startswith("tests.")
        and node.module.rsplit(".", 1)[-1].startswith(("test_", "conftest"))
    ]
    assert wrong == []
