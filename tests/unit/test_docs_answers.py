"""docs/answers.md cannot rot: its Python examples run, in order, in one namespace."""

from __future__ import annotations

from pathlib import Path

from tests.unit.test_readme import read_blocks

PAGE = Path(__file__).resolve().parents[2] / "docs" / "answers.md"
BLOCKS = [b for b in read_blocks(PAGE.read_text(encoding="utf-8")) if b.language == "python"]


def test_the_page_has_examples_and_the_first_sets_up_an_app() -> None:
    assert len(BLOCKS) >= 4
    assert "memory://" in BLOCKS[0].code


def test_the_python_examples_run_in_order() -> None:
    namespace: dict[str, object] = {"__name__": "docs_answers"}
    for block in BLOCKS:
        # Padded with blank lines so that a traceback names the page's own line.
        code = compile("\n" * (block.line - 1) + block.code, str(PAGE), "exec")
        exec(code, namespace)
