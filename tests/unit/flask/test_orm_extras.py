"""Peewee, MongoEngine and fakeredis are extras: using the integration or the testing kit's
fakeredis switch without them raises an error naming the extra to install."""

from __future__ import annotations

import subprocess
import sys
import textwrap

import pytest

SCRIPT = textwrap.dedent(
    """
    import importlib.abc
    import sys

    BLOCKED = {"peewee", "mongoengine", "fakeredis"}

    class Blocker(importlib.abc.MetaPathFinder):
        def find_spec(self, name, path=None, target=None):
            if name.split(".")[0] in BLOCKED:
                raise ModuleNotFoundError(f"No module named {name!r}", name=name)
            return None

    sys.meta_path.insert(0, Blocker())

    import flask_bitmapist
    from flask_bitmapist import MissingExtra

    for name in ("PeeweeBitmapistable", "MongoEngineBitmapistable"):
        try:
            getattr(flask_bitmapist, name)
        except MissingExtra as exc:
            print(f"{name}: {exc}")
    """
)


@pytest.fixture(scope="module")
def without_extras() -> dict[str, str]:
    result = subprocess.run(
        [sys.executable, "-c", SCRIPT], capture_output=True, text=True, timeout=60, check=False
    )
    assert result.returncode == 0, result.stderr
    return dict(line.split(": ", 1) for line in result.stdout.splitlines())


def test_the_peewee_mixin_without_peewee_names_the_extra(
    without_extras: dict[str, str],
) -> None:
    assert without_extras["PeeweeBitmapistable"] == (
        "PeeweeBitmapistable needs peewee, which is not installed: "
        "pip install 'flask-bitmapist[peewee]'"
    )


def test_the_mongoengine_mixin_without_mongoengine_names_the_extra(
    without_extras: dict[str, str],
) -> None:
    assert without_extras["MongoEngineBitmapistable"] == (
        "MongoEngineBitmapistable needs mongoengine, which is not installed: "
        "pip install 'flask-bitmapist[mongoengine]'"
    )
