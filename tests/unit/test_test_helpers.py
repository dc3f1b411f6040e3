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


def test_no_test_module_imports_playwright_when_it_loads() -> None:
    # The suites at both ends of the dependency ranges deselect the browser tests and do
    # not install Playwright, but they still collect every module: a module-level import
    # fails their whole run. Browser tests import it under TYPE_CHECKING; the fixture
    # imports it when a browser is asked for. (tests/*/bitmapist run only beside bitmapist
    # and Playwright, in the dev environment.)
    modules = [p for p in sorted(TESTS.rglob("*.py")) if "bitmapist" not in p.parts]
    browser_modules = [p for p in modules if "playwright" in p.read_text(encoding="utf-8")]
    assert len(browser_modules) >= 3
    wrong = []
    for path in browser_modules:
        for node in ast.parse(path.read_text(encoding="utf-8")).body:
            if isinstance(node, ast.Import):
                names = [alias.name for alias in node.names]
            elif isinstance(node, ast.ImportFrom):
                names = [node.module or ""]
            else:
                continue
            if any(name.split(".")[0] == "playwright" for name in names):
                wrong.append(f"{path.relative_to(TESTS)}:{node.lineno}")
    assert wrong == []
