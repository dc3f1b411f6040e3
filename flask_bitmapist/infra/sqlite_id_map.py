"""The id map in the embedded store's SQLite file, beside its bitmaps.

One table, ``bitmapist_ids``: the int (primary key), the id's text (unique) and the id as
first seen (type tag + text). New ids get the next ints inside one ``BEGIN IMMEDIATE``
transaction, so two processes mapping the same new id at once both get the int of
whichever wrote first, and ints are dense (0, 1, 2, ...) with no gaps.
"""

from __future__ import annotations

import sqlite3
from collections.abc import Sequence
from typing import Final

from flask_bitmapist.domain import DEFAULT_MAX_USER_ID
from flask_bitmapist.domain.ids import (
    ExternalId,
    IdMapper,
    decode_external_id,
    encode_external_id,
    external_id_text,
    map_full,
)
from flask_bitmapist.infra.sqlite_file import SqliteFile

__all__ = ["SqliteIdMapper"]

# SQLite binds at most 32,766 variables per statement (999 before 3.32): stay far below.
_BATCH: Final = 500


class SqliteIdMapper(IdMapper):
    """The id map in an SQLite file (see the module doc)."""

    def __init__(self, file: SqliteFile, *, max_int: int = DEFAULT_MAX_USER_ID) -> None:
        """Keep the map in ``file`` (shared with its repository), ints up to ``max_int``."""
        self.file = file
        self.max_int = max_int

    def assign(self, user_ids: Sequence[ExternalId]) -> list[int]:
        """The ints of ``user_ids``; new ids get the next ints, in one transaction. Every
        id is checked before anything is written."""
        pairs = [(external_id_text(uid), encode_external_id(uid)) for uid in user_ids]
        if not pairs:
            return []

        def write(connection: sqlite3.Connection) -> list[int]:
            known = self._lookup(connection, [text for text, _ in pairs])
            row = connection.execute("SELECT max(number) FROM bitmapist_ids").fetchone()
            following = 0 if row is None or row[0] is None else int(row[0]) + 1
            new: list[tuple[int, str, str]] = []
            ints = []
            for text, stored in pairs:
                number = known.get(text)
                if number is None:
                    if following > self.max_int:
                        raise map_full(self.max_int)
                    number = known[text] = following
                    new.append((number, text, stored))
                    following += 1
                ints.append(number)
            connection.executemany(
                "INSERT INTO bitmapist_ids (number, text, original) VALUES (?, ?, ?)", new
            )
            return ints

        return self.file.write("mapping ids", write)

    def find(self, user_ids: Sequence[ExternalId]) -> list[int | None]:
        """The ints of ids already mapped; None for the others."""
        texts = [external_id_text(uid) for uid in user_ids]
        if not texts:
            return []
        known = self.file.read("mapping ids", lambda c: self._lookup(c, texts))
        return [known.get(text) for text in texts]

    def originals(self, ints: Sequence[int]) -> list[ExternalId | None]:
        """The ids the ints were given to; None for an int the map never gave out."""
        wanted = sorted({n for n in ints if isinstance(n, int) and 0 <= n < 2**63})
        if not ints:
            return []

        def read(connection: sqlite3.Connection) -> dict[int, str]:
            found: dict[int, str] = {}
            for start in range(0, len(wanted), _BATCH):
                batch = wanted[start : start + _BATCH]
                marks = ",".join("?" * len(batch))
                rows = connection.execute(
                    f"SELECT number, original FROM bitmapist_ids WHERE number IN ({marks})",
                    batch,
                )
                found.update((int(n), str(original)) for n, original in rows)
            return found

        found = self.file.read("mapping ids", read)
        return [decode_external_id(found[n]) if n in found else None for n in ints]

    def count(self) -> int:
        """How many ids are mapped."""
        row = self.file.read(
            "mapping ids", lambda c: c.execute("SELECT count(*) FROM bitmapist_ids").fetchone()
        )
        return int(row[0])

    @staticmethod
    def _lookup(connection: sqlite3.Connection, texts: Sequence[str]) -> dict[str, int]:
        unique = sorted(set(texts))
        found: dict[str, int] = {}
        for start in range(0, len(unique), _BATCH):
            batch = unique[start : start + _BATCH]
            marks = ",".join("?" * len(batch))
            rows = connection.execute(
                f"SELECT text, number FROM bitmapist_ids WHERE text IN ({marks})", batch
            )
            found.update((str(text), int(number)) for text, number in rows)
        return found

    def __repr__(self) -> str:
        return f"SqliteIdMapper({str(self.file.path)!r})"
