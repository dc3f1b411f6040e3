"""Reading and importing files of past events (``user_id,event,timestamp`` rows) or of
properties (``user_id,property,value`` rows, read with ``properties=True``: ``flask
bitmapist import --properties``).

A file holds one kind of row: the caller says which, so a file of the other kind fails on
its header (CSV) or on each row (JSON Lines), naming the columns expected. A property row
with an empty value (CSV) or a ``null`` one (JSON Lines) removes the user's property.

Two formats:

- CSV with a header row naming the columns ``user_id``, ``event`` and ``timestamp`` (in
  any order; other columns are ignored);
- JSON Lines: one object per line with those three keys.

A timestamp is ISO 8601 (``2026-11-27T13:05:00Z``, ``2026-11-27 13:05``, ``2026-11-27``;
without an offset it means local time in the app's zone, ``BITMAPIST_TIMEZONE``) or a
number of seconds since the Unix epoch (read by :func:`~flask_bitmapist.domain.parse_timestamp`,
as the dashboard's ``now=`` and the CLI's ``--now`` are).

The file is streamed: rows are read, validated and written a chunk at a time, so a file of
any size is imported in bounded memory. A bad row (unreadable, a bad id, event name or
timestamp) becomes a :class:`BadRow` with its line number and is never written; the rows
around it are. Marks are idempotent (setting a bit twice changes nothing), so running an
import again after an interruption is safe.

Rows are checked with the app's marking policy, as ``mark_event`` checks its marks
(:meth:`~flask_bitmapist.services.marking.MarkingPolicy.pending`): ints, or with
``BITMAPIST_MAP_IDS`` also strings (a UUID in a file is its text). Mapped ids are mapped a
chunk at a time with the app's id map, just before the chunk is written
(:func:`~flask_bitmapist.services.marking.write_marks`).
"""

from __future__ import annotations

import csv
from collections.abc import Callable, Iterable, Iterator
from itertools import chain
from pathlib import PurePath
from typing import BinaryIO, Final, Literal, cast

import attrs

from flask_bitmapist.domain import (
    DEFAULT_MAX_PROPERTY_VALUES,
    MARK_CHUNK_SIZE,
    BitmapRepository,
    IdMapper,
    external_id_text,
    parse_timestamp,
    validate_property_name,
    validate_property_value,
    validate_user_id,
)
from flask_bitmapist.domain.segments import PropertyAssignment, too_many_values
from flask_bitmapist.exceptions import EventFileError
from flask_bitmapist.services.bounded_json import InvalidJson, load_json
from flask_bitmapist.services.marking import (
    DEFAULT_POLICY,
    MarkingPolicy,
    PendingMark,
    UnmappedMark,
    refuse_unmapped_text,
    write_marks,
)

__all__ = [
    "COLUMNS",
    "FORMATS",
    "PROPERTY_COLUMNS",
    "BadRow",
    "EventFileReader",
    "EventRow",
    "ImportSummary",
    "PropertyRow",
    "import_property_rows",
    "import_rows",
    "parse_user_id",
]

#: The columns (CSV) or keys (JSON Lines) every row must have.
COLUMNS: Final = ("user_id", "event", "timestamp")
#: The columns or keys of a file of properties.
PROPERTY_COLUMNS: Final = ("user_id", "property", "value")
FileFormat = Literal["csv", "jsonl"]
FORMATS: Final[tuple[FileFormat, ...]] = ("csv", "jsonl")
_SUFFIXES: Final[dict[str, FileFormat]] = {
    ".csv": "csv",
    ".jsonl": "jsonl",
    ".ndjson": "jsonl",
    ".json": "jsonl",
}
_BOM: Final = b"\xef\xbb\xbf"
#: How many bad rows an import keeps for its report (the rest are only counted), so a
#: file that is bad throughout still imports in bounded memory.
MAX_REPORTED_BAD_ROWS: Final = 100


@attrs.frozen
class EventRow:
    """A valid row: the mark to write (its id still unmapped with ``map_ids``) and the
    line it starts on."""

    line: int
    mark: PendingMark


@attrs.frozen
class PropertyRow:
    """A valid property row: the user (its id still the app's with ``map_ids``), the
    property, its value (None: remove it), and the line it starts on."""

    line: int
    user_id: object
    name: str
    value: str | None


@attrs.frozen
class BadRow:
    """A row that is skipped: the line it starts on and why."""

    line: int
    reason: str

    def __str__(self) -> str:
        return f"line {self.line}: {self.reason}"


def parse_user_id(value: object, *, map_ids: bool) -> object:
    """The user id a field holds.

    Without ``map_ids`` integer literals in text become ints; anything else is left for
    validation to refuse. With it, text is a str id without its surrounding whitespace,
    and only an int written canonically (``42``, ``-7``: the text an int is known by in
    the id map) becomes an int: the row's user is then the same either way, and reading
    gives back an int, as for an app marking ints. ``007`` stays the str ``"007"``: as an
    int it would be user ``7``, another user.
    """
    if not isinstance(value, str):
        return value
    text = value.strip()
    if map_ids:
        digits = text[1:] if text[:1] == "-" else text
        if digits.isascii() and digits.isdigit() and str(int(text)) == text:
            return int(text)
        return text
    if text.isdigit() or (text[:1] in "+-" and text[1:].isdigit()):
        return int(text)
    return value


class EventFileReader:
    """Iterates the rows of a CSV or JSON Lines file as :class:`EventRow` / :class:`BadRow`.

    ``source`` is a binary file (a path opened with ``"rb"``, or ``sys.stdin.buffer``); it is
    read line by line, so memory does not grow with the file. ``bytes_read`` tells how far
    reading got (for a progress bar). The format comes from ``file_format``, else the file
    name's suffix, else the first line (``{`` starts JSON Lines). CSV's header is read when
    the reader is created: a missing column raises :class:`EventFileError` before any row.
    Each row's mark is built with ``policy`` (default: daily, weekly and monthly bitmaps,
    int ids); with ``policy.map_ids`` user ids may be strings too, and each row's mark is
    an :class:`~flask_bitmapist.services.marking.UnmappedMark` (see :func:`import_rows`).
    """

    def __init__(
        self,
        source: BinaryIO,
        *,
        name: str = "",
        file_format: FileFormat | None = None,
        policy: MarkingPolicy = DEFAULT_POLICY,
        properties: bool = False,
    ) -> None:
        self.name = name or getattr(source, "name", "") or "<input>"
        #: Whether rows are properties (``user_id,property,value``), not events.
        self.properties = properties
        self.columns: tuple[str, ...] = PROPERTY_COLUMNS if properties else COLUMNS
        self.bytes_read = 0
        self._source = source
        self.policy = policy
        self._bad_encoding: set[int] = set()
        self._lines = self._decoded_lines()
        self._first = next(self._lines, None)
        self.format: FileFormat = file_format or self._detect_format()
        if self.format not in FORMATS:
            raise EventFileError(f"unknown format {self.format!r}; expected csv or jsonl")
        self._columns: dict[str, int] = {}
        if self.format == "csv":
            self._columns = self._read_header()

    # -- lines ---------------------------------------------------------------------

    def _decoded_lines(self) -> Iterator[tuple[int, str]]:
        """(line number, text) of each line; a line that is not UTF-8 is remembered, so
        the row it belongs to is reported instead of stopping the import."""
        for number, raw in enumerate(self._source, start=1):
            self.bytes_read += len(raw)
            if number == 1 and raw.startswith(_BOM):
                raw = raw[len(_BOM) :]
            try:
                text = raw.decode("utf-8")
            except UnicodeDecodeError:
                self._bad_encoding.add(number)
                text = raw.decode("utf-8", errors="replace")
            yield number, text

    def _remaining_lines(self) -> Iterator[tuple[int, str]]:
        first = () if self._first is None else (self._first,)
        self._first = None
        return chain(first, self._lines)

    def _detect_format(self) -> FileFormat:
        suffix = PurePath(self.name).suffix.lower()
        if suffix in _SUFFIXES:
            return _SUFFIXES[suffix]
        first = self._first[1].lstrip() if self._first is not None else ""
        return "jsonl" if first.startswith("{") else "csv"

    # -- CSV -------------------------------------------------------------------------

    def _read_header(self) -> dict[str, int]:
        if self._first is None:
            raise EventFileError(
                f"{self.name} is empty: a CSV file needs a header row naming "
                f"{', '.join(self.columns)}"
            )
        number, text = self._first
        self._first = None
        if number in self._bad_encoding:
            raise EventFileError(f"{self.name}: the header (line {number}) is not UTF-8 text")
        header = [name.strip().lower() for name in next(csv.reader([text]), [])]
        missing = [column for column in self.columns if column not in header]
        if missing:
            other = COLUMNS if self.properties else PROPERTY_COLUMNS
            hint = (
                ""
                if any(column not in header for column in other)
                else (
                    " (a file of events: import it without --properties)"
                    if self.properties
                    else " (a file of properties: import it with --properties)"
                )
            )
            raise EventFileError(
                f"{self.name}: the header {text.strip()!r} has no "
                f"{' or '.join(repr(m) for m in missing)} column; the first line must name "
                f"the columns {', '.join(self.columns)}{hint}"
            )
        return {column: header.index(column) for column in self.columns}

    def _csv_rows(self) -> Iterator[EventRow | PropertyRow | BadRow]:
        lines = self._remaining_lines()
        # csv reads quoted fields across lines: remember which lines each record spans.
        spans: list[int] = []

        def texts() -> Iterator[str]:
            for number, text in lines:
                spans.append(number)
                yield text

        width = max(self._columns.values()) + 1
        records = csv.reader(texts(), strict=True)
        while True:
            try:
                record: list[str] | None = next(records, None)
                error = ""
            except csv.Error as exc:
                record, error = [], f"malformed CSV ({exc})"
            if record is None:
                return
            first, last = spans[0], spans[-1]
            where = f" (the row spans lines {first}-{last})" if last > first else ""
            bad_lines = sorted(self._bad_encoding.intersection(spans))
            spans.clear()
            if error:
                yield BadRow(first, error + where)
            elif not record or record == [""]:
                continue
            elif bad_lines:
                yield BadRow(first, f"line {bad_lines[0]} is not UTF-8 text")
            elif len(record) < width:
                yield BadRow(
                    first,
                    f"{len(record)} field{'s' if len(record) != 1 else ''} where "
                    f"{', '.join(self.columns)} were expected: {record!r}{where}",
                )
            else:
                fields = [record[self._columns[column]] for column in self.columns]
                if self.properties and not fields[2].strip():
                    yield self._property_row(first, fields[0], fields[1], None)
                else:
                    yield self._row(first, *fields)

    # -- JSON Lines --------------------------------------------------------------------

    def _jsonl_rows(self) -> Iterator[EventRow | PropertyRow | BadRow]:
        for number, text in self._remaining_lines():
            if not text.strip():
                continue
            if number in self._bad_encoding:
                yield BadRow(number, "not UTF-8 text")
                continue
            try:
                item = load_json(text)
            except InvalidJson as exc:
                yield BadRow(number, str(exc))
                continue
            if not isinstance(item, dict):
                yield BadRow(number, f"expected a JSON object, got {text.strip()[:80]!r}")
                continue
            missing = [key for key in self.columns if key not in item]
            if missing:
                yield BadRow(number, f"missing {', '.join(repr(m) for m in missing)}")
                continue
            yield self._row(number, *(item[key] for key in self.columns))

    # -- rows --------------------------------------------------------------------------

    def _row(
        self, line: int, user_id: object, event: object, timestamp: object
    ) -> EventRow | PropertyRow | BadRow:
        if self.properties:
            return self._property_row(line, user_id, event, timestamp)
        if isinstance(event, str):
            event = event.strip()
        try:
            moment = parse_timestamp(timestamp, self.policy.zone)
            user_id = parse_user_id(user_id, map_ids=self.policy.map_ids)
            return EventRow(line, self.policy.pending(event, user_id, moment))
        except (ValueError, TypeError) as exc:
            return BadRow(line, str(exc))

    def _property_row(
        self, line: int, user_id: object, name: object, value: object
    ) -> PropertyRow | BadRow:
        name = name.strip() if isinstance(name, str) else name
        value = value.strip() if isinstance(value, str) else value
        try:
            user_id = parse_user_id(user_id, map_ids=self.policy.map_ids)
            if self.policy.map_ids:
                external_id_text(user_id)
            else:
                refuse_unmapped_text(user_id)
                validate_user_id(user_id, self.policy.max_user_id)
            return PropertyRow(
                line,
                user_id,
                validate_property_name(name),
                None if value is None else validate_property_value(value),
            )
        except (ValueError, TypeError) as exc:
            return BadRow(line, str(exc))

    def _rows(self) -> Iterator[EventRow | PropertyRow | BadRow]:
        if self.format == "csv":
            return self._csv_rows()
        return self._jsonl_rows()

    def __iter__(self) -> Iterator[EventRow | BadRow]:
        if self.properties:
            raise TypeError("this reader reads properties: iterate its property_rows()")
        return cast("Iterator[EventRow | BadRow]", self._rows())

    def property_rows(self) -> Iterator[PropertyRow | BadRow]:
        """The rows of a reader made with ``properties=True``."""
        if not self.properties:
            raise TypeError("this reader reads events: iterate it")
        return cast("Iterator[PropertyRow | BadRow]", self._rows())


@attrs.define
class ImportSummary:
    """How an import went; updated as it goes, so it is accurate even after a failure."""

    rows: int = 0
    written: int = 0
    skipped: int = 0
    #: The first bad rows (at most MAX_REPORTED_BAD_ROWS), in file order.
    bad_rows: list[BadRow] = attrs.Factory(list)
    #: Every row up to this line has been written or skipped (0 before the first chunk):
    #: after an interruption, the import can go on from the next line.
    done_through_line: int = 0


def import_rows(
    repository: BitmapRepository,
    rows: Iterable[EventRow | BadRow],
    *,
    chunk_size: int = MARK_CHUNK_SIZE,
    summary: ImportSummary | None = None,
    on_chunk: Callable[[ImportSummary], None] | None = None,
    max_reported: int = MAX_REPORTED_BAD_ROWS,
    id_mapper: IdMapper | None = None,
    policy: MarkingPolicy = DEFAULT_POLICY,
) -> ImportSummary:
    """Write the valid rows in chunks of ``chunk_size`` marks, skipping and counting the bad.

    Pass your own ``summary`` to read how far the import got if storage fails mid-way
    (:class:`~flask_bitmapist.domain.StorageUnavailable` propagates, from mapping ids or
    from writing). ``on_chunk`` is called after each chunk is written.

    Rows read with ``map_ids`` need the app's ``id_mapper``: each chunk's ids are mapped
    with one ``assign`` call (a mapped int beyond ``policy.max_user_id`` raises
    :class:`~flask_bitmapist.domain.InvalidUserId` and stops the import), then the chunk
    is written with one ``repository.mark`` call (:func:`write_marks`). A chunk's rows were
    all validated when read, so only storage can fail after its ids are mapped; should the
    write then fail, those ids keep their ints without bits yet. That is harmless: ints are
    only ever handed out, never moved or reused, so importing again finds the same ints and
    writes the same bits, and live marks of those users use them too.
    """
    summary = ImportSummary() if summary is None else summary
    last_line = 0

    def valid_marks() -> Iterator[PendingMark]:
        nonlocal last_line
        for row in rows:
            summary.rows += 1
            last_line = row.line
            if isinstance(row, BadRow):
                summary.skipped += 1
                if len(summary.bad_rows) < max_reported:
                    summary.bad_rows.append(row)
                continue
            if id_mapper is None and isinstance(row.mark, UnmappedMark):
                # Unmapped marks would be left out: refuse rather than lose rows silently.
                raise ValueError(
                    f"line {row.line} holds an unmapped user id ({row.mark.user_id!r}): rows "
                    "read with map_ids need the app's id_mapper"
                )
            yield row.mark

    def written(count: int) -> None:
        # A chunk is cut right after its last mark is read: every row through the line
        # just read is done.
        summary.written += count
        summary.done_through_line = last_line
        if on_chunk is not None:
            on_chunk(summary)

    write_marks(
        repository,
        valid_marks(),
        policy=policy,
        id_mapper=id_mapper,
        chunk_size=chunk_size,
        on_chunk=written,
    )
    if summary.done_through_line != last_line or not summary.written:
        written(0)  # bad rows after the last chunk, or nothing to write
    return summary


def import_property_rows(
    repository: BitmapRepository,
    rows: Iterable[PropertyRow | BadRow],
    *,
    chunk_size: int = MARK_CHUNK_SIZE,
    summary: ImportSummary | None = None,
    on_chunk: Callable[[ImportSummary], None] | None = None,
    max_reported: int = MAX_REPORTED_BAD_ROWS,
    id_mapper: IdMapper | None = None,
    max_user_id: int = DEFAULT_POLICY.max_user_id,
    max_values: int = DEFAULT_MAX_PROPERTY_VALUES,
) -> ImportSummary:
    """:func:`import_rows` for property rows: each chunk's ids mapped in one call (with
    ``id_mapper``), then set with one ``repository.set_properties`` call. A row whose value
    would pass ``max_values`` (``BITMAPIST_MAX_PROPERTY_VALUES``) is a bad row, reported
    by line; the user keeps their value.
    """
    summary = ImportSummary() if summary is None else summary

    def skip(row: BadRow) -> None:
        summary.skipped += 1
        if len(summary.bad_rows) < max_reported:
            summary.bad_rows.append(row)

    def write(chunk: list[PropertyRow], last_line: int) -> None:
        ids: list[object] = [row.user_id for row in chunk]
        if id_mapper is not None and chunk:
            ids = list(id_mapper.assign(ids))  # type: ignore[arg-type]
        assignments = [
            PropertyAssignment.create(uid, row.name, row.value, max_user_id=max_user_id)
            for uid, row in zip(ids, chunk, strict=True)
        ]
        refused = set(repository.set_properties(assignments, max_values=max_values))
        for position in sorted(refused):
            skip(
                BadRow(
                    chunk[position].line, str(too_many_values(assignments[position], max_values))
                )
            )
        summary.bad_rows.sort(key=lambda row: row.line)
        summary.written += len(chunk) - len(refused)
        summary.done_through_line = last_line
        if on_chunk is not None:
            on_chunk(summary)

    chunk: list[PropertyRow] = []
    last_line = 0
    for row in rows:
        summary.rows += 1
        last_line = row.line
        if isinstance(row, BadRow):
            skip(row)
        else:
            chunk.append(row)
        if len(chunk) >= chunk_size:
            write(chunk, last_line)
            chunk = []
    write(chunk, last_line)
    return summary
