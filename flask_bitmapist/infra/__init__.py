"""Adapters that implement the domain's repository port."""

from __future__ import annotations

from flask_bitmapist.infra.memory import InMemoryRepository

__all__ = ["InMemoryRepository"]
