"""Test stores the tests share: the in-process store, counting its reads."""

from __future__ import annotations

from collections.abc import Sequence

from flask_bitmapist.domain import Bitmap, BitmapId
from flask_bitmapist.infra import InMemoryRepository


class FetchCounting(InMemoryRepository):
    """The in-process store, counting the calls that read event bitmaps (``fetches``)."""

    def __init__(self) -> None:
        super().__init__()
        self.fetches = 0

    def fetch(self, ids: Sequence[BitmapId], *, max_bytes: int | None = None) -> list[Bitmap]:
        self.fetches += 1
        return super().fetch(ids, max_bytes=max_bytes)
