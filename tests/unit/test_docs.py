"""The README and the manual cannot rot: their examples run, their command lines succeed,
their links resolve, their tables hold.

The pages are README.md and every docs/*.md, found by globbing, so a page added later is
checked like the others:

- Every ```python block of a page runs, in file order, in one namespace of the page's own
  (a reader goes through a page top to bottom; a page's first block sets up what its
  examples need, usually the README's quickstart app), with the default storage switched
  to ``memory://``. A failure points at the page's own line.
- Every ``$ ...`` line of a ```console block is ``flask --app examples.demo_app ...``
  and runs against the demo app, exiting 0; a page's ```csv block is the file
  ``import`` reads in that page's command lines.
- Every ``flask bitmapist`` command is shown on some page.
- Relative links point at files that exist, and at headings those files have.
- Every docs page can be reached from the README by following links (the manual's
  index, docs/README.md, lists them all).
- The sample cohort table is exactly what the CLI prints for the demo's data; the settings
  table lists every ``BITMAPIST_*`` key of ``flask_bitmapist.flask.config`` with its
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
from flask_bitmapist.flask.cli import bitmapist_cli
from flask_bitmapist.flask.config import DEFAULTS

ROOT = Path(__file__).resolve().parents[2]
README = ROOT / "README.md"
DOCS = ROOT / "docs"
PAGES = [README, *sorted(DOCS.glob("*.md"))]
FENCE = re.compile(r"^```(\w*)\s*$")
DEMO_COMMAND = "$ flask --app examples.demo_app "
LINK = re.compile(r"\[[^\]]*\]\(([^)\s]+)\)")


def page_id(page: Path) -> str:
    return page.relative_to(ROOT).as_posix()


@attrs.frozen
class Block:
    """One fenced code block: its page, language, text, first line of code, section."""

    page: Path
    language: str
    code: str
    line: int
    section: str


def read_blocks(page: Path) -> list[Block]:
    """Every fenced block of ``page`` (a Markdown file), in order."""
    blocks: list[Block] = []
    section = ""
    opened: tuple[str, int] | None = None
    lines: list[str] = []
    for number, line in enumerate(page.read_text(encoding="utf-8").splitlines(), start=1):
        fence = FENCE.match(line)
        if opened is None:
            if line.startswith("#"):
                section = line.lstrip("#").strip()
            elif fence:
                opened, lines = (fence.group(1), number + 1), []
        elif line.startswith("```"):
            blocks.append(Block(page, opened[0], "\n".join(lines) + "\n", opened[1], section))
            opened = None
        else:
            lines.append(line)
    assert opened is None, f"{page_id(page)}: the block opened at line {opened[1] - 1} is open"
    return blocks


BLOCKS = {page: read_blocks(page) for page in PAGES}


def blocks_of(language: str, page: Path | None = None) -> list[Block]:
    pages = PAGES if page is None else [page]
    return [block for p in pages for block in BLOCKS[p] if block.language == language]


def test_the_manual_has_its_pages_and_the_readme_starts_with_the_two_commands() -> None:
    names = {page.name for page in PAGES}
    assert {
        "README.md",
        "guide.md",
        "cohorts-and-expressions.md",
        "dashboard-and-api.md",
        "cli.md",
        "configuration.md",
        "storage-and-scaling.md",
        "reliability.md",
        "migrating-from-0.1.md",
    } <= names
    first = BLOCKS[README][0]
    assert first.language == "sh"
    assert first.code.startswith("make demo") and "\nmake test" in first.code
    assert len(README.read_text(encoding="utf-8").splitlines()) <= 200


def test_the_pages_have_examples_where_a_reader_needs_them() -> None:
    sections = {block.section for block in blocks_of("python")}
    assert {
        "Quickstart",
        "A cohort",
        "Four ways to register events",
        "Querying",
        "Cohorts",
        "Two ways to write the secondary",
        "Three modes",
        "Dashboard and API",
        "Configuration",
        "Non-integer user ids: `BITMAPIST_MAP_IDS`",
        "Reliability: when Redis is down",
    } <= sections


@pytest.mark.parametrize("page", [p for p in PAGES if blocks_of("python", p)], ids=page_id)
def test_every_python_example_of_a_page_runs_in_order(
    page: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    # The examples use the default storage, a local Redis; here it is the in-process one.
    monkeypatch.setitem(DEFAULTS, "BITMAPIST_REDIS_URL", "memory://")
    # A real module per page, as a reader's file would be (SQLAlchemy looks models'
    # modules up); the page's blocks share it, no other page sees it.
    name = "docs_" + re.sub(r"\W", "_", page.stem)
    module = types.ModuleType(name)
    monkeypatch.setitem(sys.modules, name, module)
    for block in blocks_of("python", page):
        # Pad with blank lines so that a traceback names the page's own line numbers;
        # dont_inherit: the examples run without this file's __future__ imports.
        source = "\n" * (block.line - 1) + block.code
        exec(compile(source, str(page), "exec", dont_inherit=True), module.__dict__)


@pytest.fixture(scope="module")
def demo_cli(tmp_path_factory: pytest.TempPathFactory) -> FlaskCliRunner:
    # The in-process store, and an instance folder of its own for the files commands
    # write (``copy --to sqlite:///...``).
    app = create_app(
        {"DEMO_USERS": 400, "DEMO_DAYS": 60, "BITMAPIST_REDIS_URL": "memory://"},
        instance_path=str(tmp_path_factory.mktemp("demo-instance")),
    )
    return app.test_cli_runner()


def demo_commands() -> list[tuple[Path, int, list[str]]]:
    commands = []
    for block in blocks_of("console"):
        for offset, line in enumerate(block.code.splitlines()):
            where = f"{page_id(block.page)}:{block.line + offset}"
            if line.startswith("$ "):
                assert line.startswith(DEMO_COMMAND), f"{where}: {line}"
                args = shlex.split(line[len(DEMO_COMMAND) :])
                commands.append((block.page, block.line + offset, args))
    return commands


def test_every_cli_command_is_shown_on_some_page() -> None:
    shown = {args[1] for _, _, args in demo_commands() if args[0] == "bitmapist"}
    assert set(bitmapist_cli.commands) <= shown


@pytest.mark.parametrize(
    ("page", "line", "args"),
    demo_commands(),
    ids=[f"{page_id(page)}:{line}" for page, line, _ in demo_commands()],
)
def test_every_command_line_succeeds(
    demo_cli: FlaskCliRunner,
    page: Path,
    line: int,
    args: list[str],
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    for block in blocks_of("csv", page):
        (tmp_path / "events.csv").write_text(block.code, encoding="utf-8")
    monkeypatch.chdir(tmp_path)
    result = demo_cli.invoke(args=args)
    assert result.exit_code == 0, f"{page_id(page)}:{line}: {result.output}"


def slug(heading: str) -> str:
    """GitHub's anchor for a heading: lower case, punctuation dropped, spaces to '-'."""
    text = heading.strip().lower()
    return re.sub(r"[^\w\- ]", "", text).replace(" ", "-")


def anchors(page: Path) -> set[str]:
    return {
        slug(line.lstrip("#"))
        for line in page.read_text(encoding="utf-8").splitlines()
        if line.startswith("#")
    }


def outside_code(page: Path) -> str:
    """The page's text without its fenced blocks (links are not read inside code)."""
    return re.sub(r"^```.*?^```", "", page.read_text(encoding="utf-8"), flags=re.S | re.M)


@pytest.mark.parametrize("page", PAGES, ids=page_id)
def test_relative_links_resolve_to_files_and_headings(page: Path) -> None:
    for target in LINK.findall(outside_code(page)):
        if re.match(r"[a-z]+:", target):
            continue  # http(s), mailto: not checked here
        path, _, anchor = target.partition("#")
        linked = (page.parent / path).resolve() if path else page
        assert linked.exists(), f"{page_id(page)}: {target} does not exist"
        if anchor:
            assert anchor in anchors(linked), f"{page_id(page)}: no heading for {target}"


def linked_pages(page: Path) -> set[Path]:
    """The Markdown files ``page`` links to."""
    targets = (target.partition("#")[0] for target in LINK.findall(outside_code(page)))
    return {
        (page.parent / path).resolve()
        for path in targets
        if path.endswith(".md") and not re.match(r"[a-z]+:", path)
    }


def test_every_docs_page_can_be_reached_from_the_readme() -> None:
    reached, todo = {README.resolve()}, [README.resolve()]
    while todo:
        for linked in linked_pages(todo.pop()) - reached:
            if linked.exists():
                reached.add(linked)
                todo.append(linked)
    assert [page_id(page) for page in PAGES if page.resolve() not in reached] == []


def test_the_sample_cohort_table_is_what_the_cli_prints_for_the_demo_data() -> None:
    # The demo's data (its default size and seed), generated as of the sample's "now".
    (sample,) = [block for block in blocks_of("text") if block.code.startswith("primary:")]
    now = datetime.fromisoformat(re.findall(r"now (\S+)", sample.code)[0])
    app = Flask("docs-sample")
    app.config["BITMAPIST_REDIS_URL"] = "memory://"
    FlaskBitmapist(app, clock=lambda: now)
    runner = app.test_cli_runner()
    assert runner.invoke(args=["bitmapist", "demo-data"]).exit_code == 0
    command = next(
        args for page, _, args in demo_commands() if page == sample.page and "--mode" in args
    )
    assert runner.invoke(args=command).output == sample.code


def format_default(value: object) -> str:
    return f'"{value}"' if isinstance(value, str) else repr(value)


def test_the_settings_table_lists_every_key_with_its_default() -> None:
    text = (DOCS / "configuration.md").read_text(encoding="utf-8")
    rows = re.findall(r"^\| `(BITMAPIST_\w+)` \| `([^`]*)` \|", text, re.M)
    assert [key for key, _ in rows] == list(DEFAULTS)
    assert {key: default for key, default in rows} == {
        key: format_default(value) for key, value in DEFAULTS.items()
    }
