"""The CLI package: every command module registered once, arguments parsed once."""

from __future__ import annotations

import importlib
import pkgutil
from typing import Any

import click
import pytest

import flask_bitmapist.flask.cli as cli_package
from flask_bitmapist.flask.cli import COMMANDS, bitmapist_cli
from flask_bitmapist.flask.cli.cohort import _ChainCommand
from tests.unit.flask.cli.support import Cli


def _commands_defined_in_the_package() -> list[click.Command]:
    found = []
    for module_info in pkgutil.iter_modules(cli_package.__path__):
        module = importlib.import_module(f"{cli_package.__name__}.{module_info.name}")
        found += [
            value
            for value in vars(module).values()
            if isinstance(value, click.Command)
            and getattr(value.callback, "__module__", None) == module.__name__
        ]
    return found


def test_every_command_module_is_registered_in_the_group() -> None:
    defined = _commands_defined_in_the_package()
    assert {command.name for command in defined} >= {"events", "cohort", "import", "demo-data"}
    # A group's subcommands are registered through it.
    subcommands = [
        sub for c in COMMANDS if isinstance(c, click.Group) for sub in c.commands.values()
    ]
    assert {id(c) for c in defined} == {id(c) for c in [*COMMANDS, *subcommands]}
    assert {name: bitmapist_cli.commands[name] for name in bitmapist_cli.commands} == {
        command.name: command for command in COMMANDS
    }


def test_the_cohort_arguments_are_parsed_once(cli: Cli, monkeypatch: pytest.MonkeyPatch) -> None:
    parsers: list[Any] = []
    make_parser = _ChainCommand.make_parser

    def counting(self: _ChainCommand, ctx: click.Context) -> Any:
        parsers.append(make_parser(self, ctx))
        return parsers[-1]

    monkeypatch.setattr(_ChainCommand, "make_parser", counting)
    result = cli("cohort", "a", "b", "--or", "c", "--and", "d", "--format", "json")
    assert result.exit_code == 0, result.output
    assert len(parsers) == 1
