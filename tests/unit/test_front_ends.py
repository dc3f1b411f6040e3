"""The front ends are thin: no module of the facade builds an engine; they ask the answer
pipeline of services for an answer by kind (DESIGN section 2, "One answer, one pipeline")."""

from __future__ import annotations

import ast
from pathlib import Path

import flask_bitmapist.flask

FACADE = Path(flask_bitmapist.flask.__file__).parent


def _engine_constructions(path: Path) -> list[str]:
    found = []
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if isinstance(node, ast.Call):
            func = node.func
            name = func.id if isinstance(func, ast.Name) else getattr(func, "attr", "")
            if name.endswith("Engine"):
                found.append(f"{path.relative_to(FACADE)}:{node.lineno} {name}(...)")
    return found


def test_no_facade_module_constructs_an_engine() -> None:
    modules = sorted(FACADE.rglob("*.py"))
    assert len(modules) > 20  # the walk sees the whole facade
    assert [hit for path in modules for hit in _engine_constructions(path)] == []


def test_no_facade_module_imports_an_engine() -> None:
    imported = [
        f"{path.relative_to(FACADE)}: {alias.name}"
        for path in sorted(FACADE.rglob("*.py"))
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8")))
        if isinstance(node, ast.ImportFrom)
        for alias in node.names
        if alias.name.endswith("Engine") and alias.name != "CohortEngine"
    ]
    # CohortEngine is named only as the type of the state's bitmap reader.
    assert imported == []
