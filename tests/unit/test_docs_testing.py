"""docs/testing.md is a test file: its Python blocks, written out as one module, pass
under pytest with the plugin loaded by its entry point (test_docs.py runs them in order
too, as on every page)."""

from __future__ import annotations

import os
import re
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
PAGE = ROOT / "docs" / "testing.md"


def python_blocks(page: Path) -> list[str]:
    return re.findall(r"^```python\n(.*?)^```", page.read_text(encoding="utf-8"), re.S | re.M)


def run_pytest(directory: Path) -> subprocess.CompletedProcess[str]:
    """pytest in ``directory``, as an app's own suite runs: another root, no ini file."""
    return subprocess.run(
        [sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider", "-W", "error"],
        cwd=directory,
        capture_output=True,
        text=True,
        timeout=300,
        check=False,
        env={k: v for k, v in os.environ.items() if not k.startswith("PYTEST_")},
    )


def test_the_pages_tests_pass_under_pytest(tmp_path: Path) -> None:
    # The last block runs Analytics without pytest: test_docs.py runs it.
    tests = python_blocks(PAGE)[:-1]
    (tmp_path / "test_testing_page.py").write_text("\n\n".join(tests), encoding="utf-8")

    result = run_pytest(tmp_path)

    assert result.returncode == 0, result.stdout + result.stderr
    functions = sum(block.count("\ndef test_") + block.startswith("def test_") for block in tests)
    assert functions == 6
    assert f"{functions} passed" in result.stdout


def test_without_an_app_fixture_the_fixture_says_what_to_add(tmp_path: Path) -> None:
    (tmp_path / "test_no_app.py").write_text(
        "def test_it(analytics):\n    pass\n", encoding="utf-8"
    )

    result = run_pytest(tmp_path)

    assert result.returncode != 0
    assert "the analytics fixture needs a fixture named `app`" in result.stdout
