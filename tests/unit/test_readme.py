"""README.md cannot rot: its Python examples run, its command lines succeed, its tables hold.

- Every ```python block runs, in file order, in one namespace (a reader goes through the
  README top to bottom, and later sections use the ``app`` of the quickstart), with the
  default storage switched to ``memory://``. A failure points at the README's own line.
- Every ``$ flask --app examples.demo_app bitmapist ...`` line of a ```console block runs
  against the demo app and exits 0; the ```csv block is the file ``import`` reads.
- The sample cohort table is exactly what the CLI prints for the demo's data.
- The settings table lists every ``BITMAPIST_*`` key of ``flask_bitmapist.flask.config`` with its
  default, in order.
"""

from __future__ import annotations

import re
import shlex
import sys
import types
from datetime import datetime
from pathlib import Path

import attrs
import pytest
from flask import Flask
from flask.testing import FlaskCliRunner

from examples.demo_app import create_app
from flask_bitmapist import FlaskBitmapist
from flask_bitmapist.flask.config import DEFAULTS

README = Path(__file__).resolve().parents[2] / "README.md"
FENCE = re.compile(r"^```(\w*)\s*$")
DEMO_COMMAND = "$ flask --app examples.demo_app "


@attrs.frozen
class Block:
    """One fenced code block: its language, text, first line of code, and section."""

    language: str
    code: str
    line: int
    section: str


def read_blocks(text: str) -> list[Block]:
    """Every fenced block of ``text`` (a Markdown file), in order."""
    blocks: list[Block] = []
    section = ""
    opened: tuple[str, int] | None = None
    lines: list[str] = []
    for number, line in enumerate(text.splitlines(), start=1):
        fence = FENCE.match(line)
        if opened is None:
            if line.startswith("#"):
                section = line.lstrip("#").strip()
            elif fence:
                opened, lines = (fence.group(1), number + 1), []
        elif line.startswith("```"):
            blocks.append(Block(opened[0], "\n".join(lines) + "\n", opened[1], section))
            opened = None
        else:
            lines.append(line)
    assert opened is None, f"README.md: the block opened at line {opened[1] - 1} is not closed"
    return blocks


BLOCKS = read_blocks(README.read_text(encoding="utf-8"))


def blocks_of(language: str) -> list[Block]:
    return [block for block in BLOCKS if block.language == language]


def section_of(heading: str) -> str:
    text = README.read_text(encoding="utf-8")
    start = text.index(f"\n## {heading}\n")
    end = text.find("\n## ", start + 1)
    return text[start : end if end > 0 else None]


def test_the_readme_has_examples_where_a_reader_needs_them() -> None:
    sections = {block.section for block in blocks_of("python")}
    assert {
        "Quickstart",
        "Four ways to register events",
        "Querying",
        "Cohorts",
        "Two ways to write the secondary",
        "Three modes",
        "Configuration",
        "Reliability: when Redis is down",
    } <= sections
    first = BLOCKS[0]
    assert first.language == "sh"
    assert first.code.startswith("make demo") and "\nmake test" in first.code


def test_every_python_example_runs_in_order(monkeypatch: pytest.MonkeyPatch) -> None:
    # The examples use the default storage, a local Redis; here it is the in-process one.
    monkeypatch.setitem(DEFAULTS, "BITMAPIST_REDIS_URL", "memory://")
    # A real module, as a reader's file would be (SQLAlchemy looks models' modules up).
    module = types.ModuleType("readme")
    monkeypatch.setitem(sys.modules, "readme", module)
    for block in blocks_of("python"):
        # Pad with blank lines so that a traceback names the README's own line numbers;
        # dont_inherit: the examples run without this file's __future__ imports.
        source = "\n" * (block.line - 1) + block.code
        exec(compile(source, str(README), "exec", dont_inherit=True), module.__dict__)


@pytest.fixture(scope="module")
def demo_cli() -> FlaskCliRunner:
    app = create_app({"DEMO_USERS": 400, "DEMO_DAYS": 60})
    return app.test_cli_runner()


def demo_commands() -> list[tuple[int, list[str]]]:
    commands = []
    for block in blocks_of("console"):
        for offset, line in enumerate(block.code.splitlines()):
            if line.startswith("$ "):
                assert line.startswith(DEMO_COMMAND), f"README.md:{block.line + offset}: {line}"
                commands.append((block.line + offset, shlex.split(line[len(DEMO_COMMAND) :])))
    return commands


def test_the_readme_shows_every_cli_command() -> None:
    shown = {args[1] for _, args in demo_commands()}
    assert shown == {"events", "cohort", "import", "demo-data"}


@pytest.mark.parametrize(
    ("line", "args"), demo_commands(), ids=[f"line{n}" for n, _ in demo_commands()]
)
def test_every_command_line_of_the_readme_succeeds(
    demo_cli: FlaskCliRunner,
    line: int,
    args: list[str],
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    (csv_block,) = blocks_of("csv")
    (tmp_path / "events.csv").write_text(csv_block.code, encoding="utf-8")
    monkeypatch.chdir(tmp_path)
    result = demo_cli.invoke(args=args)
    assert result.exit_code == 0, f"README.md:{line}: {result.output}"


def test_the_sample_cohort_table_is_what_the_cli_prints_for_the_demo_data() -> None:
    # The demo's data (its default size and seed), generated as of the sample's "now".
    (sample,) = blocks_of("text")
    now = datetime.fromisoformat(re.findall(r"now (\S+)", sample.code)[0])
    app = Flask("readme-sample")
    app.config["BITMAPIST_REDIS_URL"] = "memory://"
    FlaskBitmapist(app, clock=lambda: now)
    runner = app.test_cli_runner()
    assert runner.invoke(args=["bitmapist", "demo-data"]).exit_code == 0
    command = next(args for _, args in demo_commands() if "--mode" in args)
    assert runner.invoke(args=command).output == sample.code


def format_default(value: object) -> str:
    return f'"{value}"' if isinstance(value, str) else repr(value)


def test_the_settings_table_lists_every_key_with_its_default() -> None:
    rows = re.findall(r"^\| `(BITMAPIST_\w+)` \| `([^`]*)` \|", section_of("Configuration"), re.M)
    assert [key for key, _ in rows] == list(DEFAULTS)
    assert {key: default for key, default in rows} == {
        key: format_default(value) for key, value in DEFAULTS.items()
    }
