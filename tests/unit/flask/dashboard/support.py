"""What the dashboard tests share: the fixed now, a hostile event name, the heatmap reader."""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime, timezone
from html.parser import HTMLParser

from flask import Flask

#: The dashboard's "now": a Friday afternoon.
NOW = datetime(2026, 11, 27, 15, 20, tzinfo=timezone.utc)


#: Event names are user data; this one would run script if it were not escaped.
XSS_EVENT = "<img/src=x/onerror=alert(1)>"


EVENTS = ("signed_up", "paid", "refunded", XSS_EVENT)


AppFactory = Callable[..., Flask]


class HeatmapReader(HTMLParser):
    """Collects the heatmap's cells, ``(row, col) -> (data-count, shown text)``, and the
    row totals of its body."""

    def __init__(self) -> None:
        super().__init__()
        self.cells: dict[tuple[int, int], tuple[int, str]] = {}
        self.totals: list[int] = []
        self._cell: tuple[int, int, int] | None = None
        self._in_users = False
        self._in_body = False
        self._text = ""

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        if tag == "tbody":
            self._in_body = True
        found = dict(attrs)
        classes = (found.get("class") or "").split()
        if tag == "td" and "cell" in classes and found.get("data-row") is not None:
            self._cell = (
                int(found["data-row"] or 0),
                int(found["data-col"] or 0),
                int(found["data-count"] or 0),
            )
            self._text = ""
        elif tag == "td" and "users" in classes and self._in_body:
            self._in_users = True
            self._text = ""

    def handle_data(self, data: str) -> None:
        self._text += data

    def handle_endtag(self, tag: str) -> None:
        if tag == "tbody":
            self._in_body = False
        if tag != "td":
            return
        if self._cell is not None:
            row, col, count = self._cell
            self.cells[(row, col)] = (count, self._text.strip())
            self._cell = None
        elif self._in_users:
            text = self._text.strip().replace(",", "")
            if text.isdigit():
                self.totals.append(int(text))
            self._in_users = False


def read_heatmap(html: str) -> HeatmapReader:
    """Parse a page (or the heatmap fragment) into its cells."""
    reader = HeatmapReader()
    reader.feed(html)
    return reader
