"""An app's own project uses the testing kit from the built wheel: in a clean virtualenv
holding the wheel (with its ``testing`` extra) and pytest, ``app_project/``'s suite asks
for the fixture ``analytics`` in its own test file, next to its own ``app`` fixture, and
passes. Nothing of this checkout is importable there."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
PROJECT = Path(__file__).resolve().parent / "app_project"


def run(*command: str | Path, cwd: Path) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [str(part) for part in command],
        cwd=cwd,
        capture_output=True,
        text=True,
        timeout=600,
        check=False,
        # The outer pytest's variables would leak into the inner one.
        env={
            **{k: v for k, v in os.environ.items() if not k.startswith("PYTEST_")},
            "PIP_DISABLE_PIP_VERSION_CHECK": "1",
        },
    )


def succeed(*command: str | Path, cwd: Path = ROOT) -> str:
    result = run(*command, cwd=cwd)
    assert result.returncode == 0, f"{command}:\n{result.stdout}\n{result.stderr}"
    return result.stdout


@pytest.fixture(scope="module")
def venv(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A clean virtualenv with the wheel, its ``testing`` extra, and pytest."""
    out = tmp_path_factory.mktemp("wheel")
    succeed(sys.executable, "-m", "build", "--wheel", "--outdir", out, ROOT)
    [wheel] = out.glob("*.whl")
    venv = tmp_path_factory.mktemp("app-venv") / "venv"
    succeed(sys.executable, "-m", "venv", "--without-pip", venv)
    python = venv / "bin" / "python"
    succeed(
        sys.executable,
        "-m",
        "pip",
        "--python",
        python,
        "install",
        "--quiet",
        f"{wheel}[testing]",
        "pytest",
    )
    return venv


def test_the_wheel_registers_the_plugin(venv: Path, tmp_path: Path) -> None:
    script = (
        "from importlib import metadata; "
        "print(*[f'{e.name}={e.value}' for e in metadata.entry_points(group='pytest11')]); "
        "import flask_bitmapist.testing as t; print(t.__file__)"
    )
    name, module = succeed(venv / "bin" / "python", "-c", script, cwd=tmp_path).splitlines()
    assert name == "flask_bitmapist=flask_bitmapist.testing"
    assert "/venv/" in module and module.endswith("flask_bitmapist/testing.py")


def test_the_apps_own_suite_uses_the_fixture_and_passes(venv: Path, tmp_path: Path) -> None:
    project = tmp_path / "shop"
    shutil.copytree(PROJECT, project)

    result = run(
        venv / "bin" / "python",
        "-m",
        "pytest",
        "-p",
        "no:cacheprovider",
        "-W",
        "error",
        "-v",
        cwd=project,
    )

    assert result.returncode == 0, result.stdout + result.stderr
    assert "4 passed" in result.stdout
