"""The declared floors are the releases the lowest-versions run installs."""

from __future__ import annotations

import sys
from pathlib import Path

from packaging.requirements import Requirement
from packaging.utils import canonicalize_name

if sys.version_info >= (3, 11):
    import tomllib
else:  # pragma: no cover - Python 3.10
    import tomli as tomllib

ROOT = Path(__file__).resolve().parents[2]


def declared_floors() -> dict[str, str]:
    """``name -> lowest version`` of the core dependencies and of the extras an app installs
    (login, the ORMs, testing)."""
    project = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]
    extras = project["optional-dependencies"]
    floors: dict[str, str] = {}
    integrations = ("login", "sqlalchemy", "peewee", "mongoengine", "testing")
    for line in [*project["dependencies"], *(r for extra in integrations for r in extras[extra])]:
        requirement = Requirement(line)
        [floor] = [spec.version for spec in requirement.specifier if spec.operator == ">="]
        floors[canonicalize_name(requirement.name)] = floor
    return floors


def lowest_pins() -> dict[str, str]:
    pins: dict[str, str] = {}
    for line in (ROOT / "constraints" / "lowest.txt").read_text().splitlines():
        line = line.split("#")[0].strip()
        if line:
            name, _, version = line.partition("==")
            pins[canonicalize_name(name)] = version
    return pins


def test_every_declared_floor_is_pinned_in_the_lowest_constraints() -> None:
    floors = declared_floors()
    pins = lowest_pins()
    assert set(floors) <= set(pins)
    for name, floor in floors.items():
        # "2.0" and "2.0.0" are one release.
        assert Requirement(f"{name}=={floor}").specifier.contains(pins[name]), name


def test_nothing_is_pinned_without_a_version() -> None:
    assert all(pins for pins in lowest_pins().values())
