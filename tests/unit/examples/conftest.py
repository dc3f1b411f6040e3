"""The demo's tests run on the in-process store, as every unit test does; the demo's own
file (``sqlite:///demo.db``) is tested in a temporary instance folder."""

from __future__ import annotations

import pytest


@pytest.fixture(autouse=True)
def in_process_store(monkeypatch: pytest.MonkeyPatch) -> None:
    """``BITMAPIST_REDIS_URL=memory://`` and the shop's users in memory
    (``DEMO_DATABASE_URL=sqlite://``), which the demo reads from the environment: nothing
    is written into its instance folder."""
    monkeypatch.setenv("BITMAPIST_REDIS_URL", "memory://")
    monkeypatch.setenv("DEMO_DATABASE_URL", "sqlite://")
