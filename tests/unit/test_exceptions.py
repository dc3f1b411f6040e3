"""Every error the package raises on purpose is a public class of flask_bitmapist.exceptions,
defined there or (the domain's) in domain/errors.py, and exported from the package top."""

from __future__ import annotations

import importlib
import inspect
import pkgutil

import flask_bitmapist
from flask_bitmapist import exceptions
from flask_bitmapist.exceptions import BitmapistError

HOMES = {"flask_bitmapist.exceptions", "flask_bitmapist.domain.errors"}


def error_classes() -> dict[str, type[BaseException]]:
    found: dict[str, type[BaseException]] = {}
    for info in pkgutil.walk_packages(flask_bitmapist.__path__, "flask_bitmapist."):
        module = importlib.import_module(info.name)
        for _, value in inspect.getmembers(module, inspect.isclass):
            if issubclass(value, BitmapistError):
                found[f"{value.__module__}.{value.__qualname__}"] = value
    return found


def test_every_error_class_is_defined_in_exceptions_or_the_domain() -> None:
    classes = error_classes()
    assert len(classes) >= 15
    assert {name.rsplit(".", 1)[0] for name in classes} <= HOMES, sorted(classes)


def test_exceptions_exports_each_error_class_once() -> None:
    classes = {cls.__name__: cls for cls in error_classes().values()}
    assert sorted(exceptions.__all__) == sorted(classes)
    for name, cls in classes.items():
        assert getattr(exceptions, name) is cls
        assert getattr(flask_bitmapist, name) is cls
        assert name in flask_bitmapist.__all__
        assert cls.__doc__, f"{name} needs a docstring"


def test_validation_errors_are_value_or_type_errors() -> None:
    for cls in error_classes().values():
        if cls.__name__.startswith("Invalid") or cls.__name__.endswith("FileError"):
            assert issubclass(cls, (ValueError, TypeError)), cls
