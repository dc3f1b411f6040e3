"""What every BitmapRepository promises, as one suite run against each implementation.

Subclass :class:`RepositoryContract` in a test module and give it a ``repository`` fixture
that yields an empty repository; pytest collects the inherited tests for that backend.
"""

from __future__ import annotations

import random
import threading
from datetime import date, datetime, timedelta, timezone
from zoneinfo import ZoneInfo

import pytest

from flask_bitmapist.domain import (
    Bitmap,
    BitmapId,
    BitmapRepository,
    InvalidUserId,
    InvalidUserIdType,
    Mark,
    Period,
    TimeGroup,
)
from flask_bitmapist.domain.errors import InvalidSegmentName
from flask_bitmapist.domain.segments import (
    PropertyAssignment,
    PropertyValue,
    SavedCohort,
    UserSetId,
)

__all__ = ["RepositoryContract"]

NOW = datetime(2026, 11, 27, 13, 45, tzinfo=timezone.utc)
STORED_GROUPS = (TimeGroup.MONTH, TimeGroup.WEEK, TimeGroup.DAY, TimeGroup.HOUR)


def bitmap_id(event: str, group: TimeGroup | None, moment: datetime = NOW) -> BitmapId:
    """The bitmap of ``event`` in the ``group`` period containing ``moment`` (None: lifetime)."""
    return BitmapId(event, None if group is None else Period.containing(group, moment))


def assign(user_id: int, name: str, value: str | None) -> PropertyAssignment:
    return PropertyAssignment.create(user_id, name, value)


def holders(repository: BitmapRepository, name: str, value: str) -> list[int]:
    """The users whose property ``name`` holds ``value``, ascending."""
    [bitmap] = repository.fetch_user_sets([PropertyValue(name, value)])
    return list(bitmap)


def users(
    repository: BitmapRepository, event: str, group: TimeGroup | None, moment: datetime = NOW
) -> list[int]:
    """The user ids stored for ``event`` in that period, ascending."""
    [bitmap] = repository.fetch([bitmap_id(event, group, moment)])
    return list(bitmap)


class RepositoryContract:
    """The repository port's behaviour; subclasses provide the ``repository`` fixture."""

    # -- reading what is not there -------------------------------------------------

    def test_a_bitmap_never_marked_is_the_empty_set(self, repository: BitmapRepository) -> None:
        [bitmap] = repository.fetch([bitmap_id("user:paid", TimeGroup.DAY)])
        assert bitmap == Bitmap()
        assert len(bitmap) == 0

    def test_fetching_nothing_returns_an_empty_list(self, repository: BitmapRepository) -> None:
        assert repository.fetch([]) == []

    def test_an_empty_store_has_no_events(self, repository: BitmapRepository) -> None:
        assert repository.event_names() == frozenset()

    def test_a_year_cannot_be_fetched_only_its_months(self, repository: BitmapRepository) -> None:
        year = BitmapId("user:paid", Period.containing(TimeGroup.YEAR, NOW))
        with pytest.raises(ValueError, match="year 2026"):
            repository.fetch([year])

    # -- what a mark sets ----------------------------------------------------------

    def test_a_mark_sets_its_month_week_and_day_but_not_its_hour(
        self, repository: BitmapRepository
    ) -> None:
        repository.mark([Mark.create("user:paid", 42, NOW)])
        assert users(repository, "user:paid", TimeGroup.MONTH) == [42]
        assert users(repository, "user:paid", TimeGroup.WEEK) == [42]
        assert users(repository, "user:paid", TimeGroup.DAY) == [42]
        assert users(repository, "user:paid", TimeGroup.HOUR) == []
        assert users(repository, "user:paid", None) == []

    def test_an_hourly_mark_sets_its_hour_too(self, repository: BitmapRepository) -> None:
        repository.mark([Mark.create("user:paid", 42, NOW, hourly=True)])
        assert users(repository, "user:paid", TimeGroup.HOUR) == [42]
        assert users(repository, "user:paid", TimeGroup.HOUR, NOW - timedelta(hours=1)) == []

    def test_a_unique_mark_sets_the_lifetime_flag(self, repository: BitmapRepository) -> None:
        repository.mark([Mark.create("user:premium", 7, NOW, unique=True)])
        assert users(repository, "user:premium", None) == [7]
        assert users(repository, "user:premium", TimeGroup.DAY) == [7]

    def test_a_mark_touches_no_other_period_or_event(self, repository: BitmapRepository) -> None:
        repository.mark([Mark.create("user:paid", 42, NOW, hourly=True)])
        yesterday = NOW - timedelta(days=1)
        for group in STORED_GROUPS:
            assert users(repository, "user:paid", group, NOW - timedelta(days=400)) == []
            assert users(repository, "user:refunded", group) == []
        assert users(repository, "user:paid", TimeGroup.DAY, yesterday) == []

    def test_marks_land_in_the_utc_period_of_their_moment(
        self, repository: BitmapRepository
    ) -> None:
        # 00:30 on the 28th in UTC+2 is 22:30 on the 27th in UTC.
        local = datetime(2026, 11, 28, 0, 30, tzinfo=timezone(timedelta(hours=2)))
        repository.mark([Mark.create("user:login", 5, local, hourly=True)])
        assert users(repository, "user:login", TimeGroup.DAY, datetime(2026, 11, 27)) == [5]
        assert users(repository, "user:login", TimeGroup.DAY, datetime(2026, 11, 28)) == []
        assert users(repository, "user:login", TimeGroup.HOUR, datetime(2026, 11, 27, 22)) == [5]

    def test_a_naive_moment_means_utc(self, repository: BitmapRepository) -> None:
        repository.mark([Mark.create("user:login", 5, datetime(2026, 11, 27, 23, 59))])
        assert users(repository, "user:login", TimeGroup.DAY, datetime(2026, 11, 27)) == [5]

    @pytest.mark.parametrize(
        ("moment", "iso_week"),
        [
            (datetime(2026, 12, 31), "W2026-53"),
            (datetime(2027, 1, 3), "W2026-53"),
            (datetime(2027, 1, 4), "W2027-1"),
            (datetime(2019, 12, 30), "W2020-1"),
        ],
    )
    def test_weeks_are_iso_weeks_across_new_year(
        self, repository: BitmapRepository, moment: datetime, iso_week: str
    ) -> None:
        repository.mark([Mark.create("user:login", 3, moment)])
        week = Period.containing(TimeGroup.WEEK, moment)
        assert week.key_suffix == iso_week
        assert users(repository, "user:login", TimeGroup.WEEK, moment) == [3]
        assert users(repository, "user:login", TimeGroup.MONTH, moment) == [3]

    def test_marking_twice_is_the_same_as_marking_once(self, repository: BitmapRepository) -> None:
        mark = Mark.create("user:paid", 9, NOW)
        repository.mark([mark])
        repository.mark([mark, mark])
        assert users(repository, "user:paid", TimeGroup.DAY) == [9]

    def test_user_zero_and_large_user_ids_are_stored(self, repository: BitmapRepository) -> None:
        ids = [0, 1, 7, 8, 63, 64, 2**24 + 3]
        repository.mark(Mark.create("user:seen", uid, NOW) for uid in ids)
        [bitmap] = repository.fetch([bitmap_id("user:seen", TimeGroup.DAY)])
        assert list(bitmap) == ids
        assert bitmap.to_redis_bytes()[:9] == b"\xc1\x80\x00\x00\x00\x00\x00\x01\x80"

    # -- bulk ---------------------------------------------------------------------

    def test_a_bulk_mark_stores_what_marking_one_by_one_would(
        self, repository: BitmapRepository
    ) -> None:
        rng = random.Random(20261127)
        events = ["user:signup", "user:active", "user_paid", "a_2026"]
        marks = [
            Mark.create(
                rng.choice(events),
                rng.randrange(5000),
                NOW - timedelta(hours=rng.randrange(24 * 40)),
                hourly=rng.random() < 0.3,
                unique=rng.random() < 0.1,
            )
            for _ in range(3000)
        ]
        expected: dict[BitmapId, set[int]] = {}
        for mark in marks:
            for target in mark.targets():
                expected.setdefault(target, set()).add(mark.user_id)

        repository.mark(marks)

        ids = list(expected)
        assert [set(b) for b in repository.fetch(ids)] == [expected[i] for i in ids]
        assert repository.event_names() == frozenset(events)

    def test_a_bulk_mark_takes_any_iterable_of_any_size(self, repository: BitmapRepository) -> None:
        # Backends that write in chunks run this with chunks smaller than the input.
        count = 5_000
        repository.mark(Mark.create("user:active", uid, NOW) for uid in range(0, 2 * count, 2))
        [day] = repository.fetch([bitmap_id("user:active", TimeGroup.DAY)])
        assert len(day) == count
        assert 2 * (count - 1) in day
        assert 1 not in day

    def test_fetch_returns_the_bitmaps_in_the_order_asked(
        self, repository: BitmapRepository
    ) -> None:
        repository.mark([Mark.create("b", 2, NOW), Mark.create("a", 1, NOW)])
        ids = [
            bitmap_id("b", TimeGroup.DAY),
            bitmap_id("missing", TimeGroup.DAY),
            bitmap_id("a", TimeGroup.MONTH),
            bitmap_id("b", TimeGroup.DAY),
        ]
        assert [list(b) for b in repository.fetch(ids)] == [[2], [], [1], [2]]

    def test_concurrent_marks_all_land(self, repository: BitmapRepository) -> None:
        def mark_range(start: int) -> None:
            for uid in range(start, start + 200):
                repository.mark([Mark.create("user:active", uid, NOW)])

        threads = [threading.Thread(target=mark_range, args=(i * 200,)) for i in range(4)]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join()
        assert users(repository, "user:active", TimeGroup.DAY) == list(range(800))

    # -- unmarking ----------------------------------------------------------------

    def test_unmark_clears_that_user_only(self, repository: BitmapRepository) -> None:
        repository.mark(Mark.create("user:paid", uid, NOW, hourly=True) for uid in (1, 2, 3))
        repository.unmark([Mark.create("user:paid", 2, NOW, hourly=True)])
        for group in STORED_GROUPS:
            assert users(repository, "user:paid", group) == [1, 3]

    def test_unmark_clears_the_lifetime_flag_when_asked(self, repository: BitmapRepository) -> None:
        repository.mark([Mark.create("user:premium", 4, NOW, unique=True)])
        repository.unmark([Mark.create("user:premium", 4, NOW, unique=True)])
        assert users(repository, "user:premium", None) == []

    def test_unmarking_what_was_never_marked_creates_nothing(
        self, repository: BitmapRepository
    ) -> None:
        repository.unmark([Mark.create("user:ghost", 12, NOW, hourly=True, unique=True)])
        assert repository.event_names() == frozenset()
        assert users(repository, "user:ghost", TimeGroup.DAY) == []

    def test_an_event_is_listed_while_one_of_its_bitmaps_has_a_user(
        self, repository: BitmapRepository
    ) -> None:
        last_month = NOW - timedelta(days=40)
        repository.mark([Mark.create("user:paid", 5, NOW), Mark.create("user:paid", 6, last_month)])
        repository.unmark([Mark.create("user:paid", 5, NOW)])
        assert repository.event_names() == frozenset({"user:paid"})
        repository.unmark([Mark.create("user:paid", 6, last_month)])
        assert repository.event_names() == frozenset()
        assert users(repository, "user:paid", TimeGroup.DAY) == []

    def test_unmarking_past_the_end_of_a_bitmap_never_grows_it(
        self, repository: BitmapRepository
    ) -> None:
        repository.mark([Mark.create("user:paid", 5, NOW)])
        day = bitmap_id("user:paid", TimeGroup.DAY)
        assert repository.sizes([day]) == [1]
        repository.unmark([Mark.create("user:paid", 2**26 - 1, NOW)])
        assert repository.sizes([day]) == [1]
        assert users(repository, "user:paid", TimeGroup.DAY) == [5]

    def test_unmarking_clears_inside_and_ignores_past_the_end_in_one_call(
        self, repository: BitmapRepository
    ) -> None:
        repository.mark(Mark.create("user:paid", uid, NOW) for uid in (3, 700))
        repository.unmark(Mark.create("user:paid", uid, NOW) for uid in (3, 70_000))
        assert users(repository, "user:paid", TimeGroup.DAY) == [700]
        assert repository.sizes([bitmap_id("user:paid", TimeGroup.DAY)]) == [700 // 8 + 1]

    # -- bounded reads -------------------------------------------------------------

    @pytest.mark.parametrize("max_bytes", [0, 1, 2, 13, 125, 126, 10_000])
    def test_a_bounded_fetch_holds_exactly_the_users_below_the_bound(
        self, repository: BitmapRepository, max_bytes: int
    ) -> None:
        ids = [0, 7, 8, 15, 100, 999, 1000, 1007]
        repository.mark(Mark.create("user:paid", uid, NOW) for uid in ids)
        day = bitmap_id("user:paid", TimeGroup.DAY)
        [bitmap] = repository.fetch([day], max_bytes=max_bytes)
        assert list(bitmap) == [uid for uid in ids if uid < 8 * max_bytes]

    def test_a_bounded_fetch_of_many_keys_keeps_their_order(
        self, repository: BitmapRepository
    ) -> None:
        repository.mark([Mark.create("a", 3, NOW), Mark.create("b", 90, NOW)])
        ids = [bitmap_id(e, TimeGroup.DAY) for e in ("b", "missing", "a")]
        assert [list(b) for b in repository.fetch(ids, max_bytes=4)] == [[], [], [3]]
        assert [list(b) for b in repository.fetch(ids, max_bytes=12)] == [[90], [], [3]]

    @pytest.mark.parametrize("bad", [-1, 1.5, "8", True])
    def test_a_bad_bound_is_a_value_error_naming_it(
        self, repository: BitmapRepository, bad: object
    ) -> None:
        with pytest.raises(ValueError, match="max_bytes"):
            repository.fetch([bitmap_id("a", TimeGroup.DAY)], max_bytes=bad)  # type: ignore[arg-type]

    def test_sizes_are_bytes_stored_and_zero_for_a_missing_bitmap(
        self, repository: BitmapRepository
    ) -> None:
        repository.mark([Mark.create("user:paid", 8 * 100, NOW, unique=True)])
        ids = [
            bitmap_id("user:paid", TimeGroup.DAY),
            bitmap_id("user:paid", None),
            bitmap_id("never", TimeGroup.DAY),
        ]
        assert repository.sizes(ids) == [101, 101, 0]
        assert repository.sizes([]) == []

    @pytest.mark.parametrize("max_bytes", [None, 0, 1, 2, 13, 125, 126, 10_000])
    def test_a_count_is_the_length_of_the_same_bounded_fetch(
        self, repository: BitmapRepository, max_bytes: int | None
    ) -> None:
        ids = [0, 7, 8, 15, 100, 999, 1000, 1007]
        repository.mark(Mark.create("user:paid", uid, NOW) for uid in ids)
        repository.mark([Mark.create("a", 3, NOW)])
        wanted = [bitmap_id(e, TimeGroup.DAY) for e in ("user:paid", "missing", "a")]
        expected = [len(bitmap) for bitmap in repository.fetch(wanted, max_bytes=max_bytes)]
        assert repository.count(wanted, max_bytes=max_bytes) == expected
        below = 8 * max_bytes if max_bytes is not None else 2**32
        assert expected[0] == len([uid for uid in ids if uid < below])
        assert repository.count([], max_bytes=max_bytes) == []

    @pytest.mark.parametrize("bad", [-1, 1.5, "8", True])
    def test_a_count_with_a_bad_bound_is_a_value_error_naming_it(
        self, repository: BitmapRepository, bad: object
    ) -> None:
        with pytest.raises(ValueError, match="max_bytes"):
            repository.count([bitmap_id("a", TimeGroup.DAY)], max_bytes=bad)  # type: ignore[arg-type]

    # -- event names ----------------------------------------------------------------

    def test_event_names_lists_every_marked_event_whatever_its_name(
        self, repository: BitmapRepository
    ) -> None:
        names = {"user:signup", "user_signed_up", "a_2026", "x_u", "2026-11", "W2026-48", "ünï:ç"}
        repository.mark(Mark.create(name, 1, NOW, hourly=True, unique=True) for name in names)
        assert repository.event_names() == frozenset(names)

    def test_a_listing_gives_each_event_its_newest_stored_period(
        self, repository: BitmapRepository
    ) -> None:
        repository.mark(
            [
                Mark.create("user:paid", 1, datetime(2026, 11, 2, 9)),
                Mark.create("user:paid", 1, datetime(2026, 11, 25, 9)),
                Mark.create("user:signup", 1, datetime(2025, 3, 4, 9)),
                Mark.create("a_2026", 2, datetime(2026, 11, 26, 9), hourly=True, unique=True),
            ]
        )
        listing = repository.list_events()
        assert listing.complete
        assert listing.keys_read >= 10
        assert list(zip(listing.names, listing.newest, strict=True)) == [
            ("a_2026", datetime(2026, 11, 26, 9)),
            ("user:paid", datetime(2026, 11, 25)),
            ("user:signup", datetime(2025, 3, 4)),
        ]

    @pytest.mark.parametrize(
        ("containing", "expected"),
        [
            ("", {"user:Paid", "user:paid_out", "a*[b]", "ünï:ç", "x_u"}),
            ("PAID", {"user:Paid", "user:paid_out"}),
            ("d_o", {"user:paid_out"}),
            ("*[", {"a*[b]"}),
            ("ünï", {"ünï:ç"}),
            ("ÜNÏ", set()),  # only ASCII letters ignore case
            ("2026", set()),  # a key's period is not part of its name
            ("x_u_", set()),
        ],
    )
    def test_a_listing_keeps_the_names_containing_the_search(
        self, repository: BitmapRepository, containing: str, expected: set[str]
    ) -> None:
        names = ["user:Paid", "user:paid_out", "a*[b]", "ünï:ç", "x_u"]
        repository.mark(Mark.create(name, 1, NOW, unique=True) for name in names)
        listing = repository.list_events(containing=containing)
        assert list(listing.names) == sorted(expected)  # marked together: by name
        assert listing.complete

    def test_a_listing_stops_after_its_key_budget_and_says_so(
        self, repository: BitmapRepository
    ) -> None:
        repository.mark(Mark.create(f"e{i}", 1, NOW) for i in range(20))
        whole = repository.list_events(max_keys=10_000)
        assert whole.complete and list(whole.names) == sorted(f"e{i}" for i in range(20))
        cut = repository.list_events(max_keys=5)
        # Storage reads whole replies: it may read all 60 keys at once, and then is complete.
        assert cut.keys_read >= 5
        assert cut.complete == (cut.keys_read == whole.keys_read)
        assert set(cut.names) <= set(whole.names)
        if not cut.complete:
            assert len(cut.names) < 20

    # -- stored months (how far back first-ever answers read) --------------------------

    def test_stored_months_lists_each_events_months_across_years(
        self, repository: BitmapRepository
    ) -> None:
        moments = [datetime(2019, 12, 31, 23), datetime(2024, 2, 29, 12), NOW]
        repository.mark(Mark.create("user:paid", 3, t, hourly=True, unique=True) for t in moments)
        repository.mark([Mark.create("user:signup", 4, datetime(2021, 7, 1))])
        months = repository.stored_months(["user:paid", "user:signup", "user:never"])
        assert months == {
            "user:paid": frozenset({date(2019, 12, 1), date(2024, 2, 1), date(2026, 11, 1)}),
            "user:signup": frozenset({date(2021, 7, 1)}),
            "user:never": frozenset(),
        }

    def test_stored_months_keeps_apart_events_whose_names_extend_each_other(
        self, repository: BitmapRepository
    ) -> None:
        # "a" is a prefix of "a_2019" and of "a*[b]": their keys must not count as a's.
        repository.mark([Mark.create("a_2019", 1, datetime(2020, 5, 5))])
        repository.mark([Mark.create("a*[b]", 1, datetime(2021, 6, 6))])
        repository.mark([Mark.create("a", 1, NOW)])
        months = repository.stored_months(["a", "a*[b]"])
        assert months == {
            "a": frozenset({date(2026, 11, 1)}),
            "a*[b]": frozenset({date(2021, 6, 1)}),
        }

    def test_stored_months_are_labels_in_no_zone(self, repository: BitmapRepository) -> None:
        # A month key names a month of the calendar it was written in; when that month
        # began is the app's calendar's to say, so the listing gives the label only.
        la = ZoneInfo("America/Los_Angeles")
        repository.mark([Mark.create("a", 1, datetime(2026, 11, 1, 0, 30), zone=la)])
        repository.mark([Mark.create("b", 1, datetime(2026, 10, 31, 23, 30), zone=timezone.utc)])
        assert repository.stored_months(["a", "b"]) == {
            "a": frozenset({date(2026, 11, 1)}),
            "b": frozenset({date(2026, 10, 1)}),
        }

    # -- copying (flask bitmapist copy) ------------------------------------------------

    def test_stored_ids_lists_every_bitmap_the_marks_set(
        self, repository: BitmapRepository
    ) -> None:
        assert repository.stored_ids() == []
        marks = [
            Mark.create("user:paid", 3, NOW, hourly=True, unique=True),
            Mark.create("a_2026", 70_000, NOW - timedelta(days=40)),
        ]
        repository.mark(marks)
        expected = {target for mark in marks for target in mark.targets()}
        assert set(repository.stored_ids()) == expected
        assert len(repository.stored_ids()) == len(expected)

    def test_merge_adds_users_to_a_bitmap_and_keeps_its_others(
        self, repository: BitmapRepository
    ) -> None:
        day = bitmap_id("user:paid", TimeGroup.DAY)
        lifetime = bitmap_id("user:new", None)
        repository.mark([Mark.create("user:paid", 1, NOW)])
        repository.merge([(day, Bitmap.from_ids([2, 70_000])), (lifetime, Bitmap.from_ids([0, 9]))])
        assert [list(b) for b in repository.fetch([day, lifetime])] == [[1, 2, 70_000], [0, 9]]
        assert repository.sizes([day, lifetime]) == [70_000 // 8 + 1, 2]
        assert repository.event_names() == frozenset({"user:paid", "user:new"})
        year = BitmapId("user:paid", Period.containing(TimeGroup.YEAR, NOW))
        with pytest.raises(ValueError, match="year 2026"):
            repository.merge([(year, Bitmap.from_ids([1]))])

    # -- bad input --------------------------------------------------------------------

    def test_an_item_that_is_not_a_mark_is_refused_before_anything_is_written(
        self, repository: BitmapRepository
    ) -> None:
        good = Mark.create("user:paid", 1, NOW)
        with pytest.raises(TypeError, match="expected a Mark, got 'user:paid'"):
            repository.mark([good, "user:paid"])  # type: ignore[list-item]
        assert repository.event_names() == frozenset()
        assert users(repository, "user:paid", TimeGroup.DAY) == []

    @pytest.mark.parametrize(
        ("user_id", "error"),
        [(-1, InvalidUserId), (2**32, InvalidUserId), ("7", InvalidUserIdType)],
    )
    def test_a_mark_built_around_validation_is_refused_before_anything_is_written(
        self, repository: BitmapRepository, user_id: object, error: type[Exception]
    ) -> None:
        bad = Mark("user:paid", user_id, NOW)  # type: ignore[arg-type]
        with pytest.raises(error, match=repr(user_id).replace("'", ".")):
            repository.mark([Mark.create("user:paid", 1, NOW), bad])
        assert repository.event_names() == frozenset()

    # -- properties (DESIGN section 13) -------------------------------------------------

    def test_an_empty_store_has_no_properties_and_no_saved_cohorts(
        self, repository: BitmapRepository
    ) -> None:
        assert repository.property_values() == {}
        assert repository.cohort_names() == frozenset()
        assert repository.fetch_user_sets([PropertyValue("plan", "pro")]) == [Bitmap()]
        assert repository.fetch_user_sets([SavedCohort("beta")]) == [Bitmap()]
        assert repository.fetch_user_sets([]) == []

    def test_setting_a_property_puts_the_user_in_that_value(
        self, repository: BitmapRepository
    ) -> None:
        repository.set_properties([assign(7, "plan", "pro"), assign(9, "plan", "free")])
        assert holders(repository, "plan", "pro") == [7]
        assert holders(repository, "plan", "free") == [9]
        assert repository.property_values() == {"plan": frozenset({"pro", "free"})}

    def test_setting_another_value_moves_the_user(self, repository: BitmapRepository) -> None:
        repository.set_properties([assign(7, "plan", "pro"), assign(8, "plan", "pro")])
        repository.set_properties([assign(7, "plan", "free")])
        assert holders(repository, "plan", "pro") == [8]
        assert holders(repository, "plan", "free") == [7]

    def test_the_last_assignment_of_a_user_in_a_batch_wins(
        self, repository: BitmapRepository
    ) -> None:
        repository.set_properties(
            [assign(7, "plan", "pro"), assign(7, "plan", "free"), assign(7, "plan", "team")]
        )
        assert repository.property_values() == {"plan": frozenset({"team"})}
        assert holders(repository, "plan", "team") == [7]

    def test_none_removes_the_property_and_a_value_left_empty_is_dropped(
        self, repository: BitmapRepository
    ) -> None:
        repository.set_properties([assign(7, "plan", "pro"), assign(8, "plan", "free")])
        repository.set_properties([assign(7, "plan", None), assign(99, "plan", None)])
        assert holders(repository, "plan", "pro") == []
        assert repository.property_values() == {"plan": frozenset({"free"})}
        repository.set_properties([assign(8, "plan", None)])
        assert repository.property_values() == {}

    def test_properties_are_independent_of_each_other_and_of_events(
        self, repository: BitmapRepository
    ) -> None:
        repository.mark([Mark.create("plan", 7, NOW)])
        repository.set_properties([assign(7, "plan", "pro"), assign(7, "channel", "ads")])
        repository.set_properties([assign(7, "channel", None)])
        assert holders(repository, "plan", "pro") == [7]
        assert users(repository, "plan", TimeGroup.DAY) == [7]
        assert repository.property_values() == {"plan": frozenset({"pro"})}
        assert repository.event_names() == frozenset({"plan"})

    def test_property_keys_are_no_events_and_no_months(self, repository: BitmapRepository) -> None:
        # Values shaped like bitmapist's suffixes, names like events.
        repository.set_properties(
            [assign(1, "user:paid", "x_2026-11"), assign(2, "plan_x", "u"), assign(3, "a", "_u")]
        )
        repository.save_cohort("user:paid_2026-11", Bitmap.from_ids([1]))
        assert repository.event_names() == frozenset()
        assert repository.stored_months(["user:paid", "plan", "a"]) == {
            "user:paid": frozenset(),
            "plan": frozenset(),
            "a": frozenset(),
        }

    def test_many_assignments_cross_batches_and_land(self, repository: BitmapRepository) -> None:
        count = 2500
        repository.set_properties(
            assign(uid, "plan", ("free", "pro", "team")[uid % 3]) for uid in range(count)
        )
        for index, value in enumerate(("free", "pro", "team")):
            assert holders(repository, "plan", value) == list(range(index, count, 3))

    def test_a_new_value_past_the_cap_is_refused_and_its_position_returned(
        self, repository: BitmapRepository
    ) -> None:
        assert (
            repository.set_properties(
                [assign(1, "plan", "free"), assign(2, "plan", "pro"), assign(5, "plan", "free")],
                max_values=2,
            )
            == []
        )
        refused = repository.set_properties(
            [assign(1, "plan", "team"), assign(3, "plan", "pro"), assign(4, "plan", "gold")],
            max_values=2,
        )
        assert refused == [0, 2]
        # The refused users keep their value; the others are applied.
        assert holders(repository, "plan", "free") == [1, 5]
        assert holders(repository, "plan", "pro") == [2, 3]
        assert repository.property_values() == {"plan": frozenset({"free", "pro"})}

    def test_refused_positions_count_across_batches_and_properties(
        self, repository: BitmapRepository
    ) -> None:
        items = [assign(uid, "plan", "pro") for uid in range(1500)]
        items += [
            assign(1, "channel", "ads"),
            assign(1, "plan", "team"),
            assign(2, "channel", "seo"),
        ]
        assert repository.set_properties(items, max_values=1) == [1501, 1502]

    def test_concurrent_writers_never_leave_a_user_in_two_values(
        self, repository: BitmapRepository
    ) -> None:
        # Four writers move the same 50 users to their own value, 10 times each, in
        # batches of one: whichever wins a user, it is in exactly one value.
        plans = ["free", "pro", "team", "gold"]

        def move_all(plan: str) -> None:
            for _ in range(10):
                for uid in range(50):
                    repository.set_properties([assign(uid, "plan", plan)])

        threads = [threading.Thread(target=move_all, args=(plan,)) for plan in plans]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join()
        held = [holders(repository, "plan", plan) for plan in plans]
        assert sorted(uid for users in held for uid in users) == list(range(50))

    def test_a_key_is_one_bitmap_whatever_zone_its_period_was_taken_in(
        self, repository: BitmapRepository
    ) -> None:
        # Written through a Los Angeles week, read through the same week taken in Tokyo:
        # one key (W2026-48), as bitmapist names it, so one bitmap.
        moment = datetime(2026, 11, 27, 13, 45, tzinfo=ZoneInfo("America/Los_Angeles"))
        repository.mark([Mark.create("user:paid", 7, moment)])
        tokyo = moment.astimezone(ZoneInfo("Asia/Tokyo"))
        week = BitmapId("user:paid", Period.containing(TimeGroup.WEEK, tokyo))
        assert week.key_suffix == "W2026-48"
        assert [list(b) for b in repository.fetch([week])] == [[7]]
        assert repository.count([week]) == [1]

    def test_a_value_freed_under_the_cap_makes_room(self, repository: BitmapRepository) -> None:
        repository.set_properties([assign(1, "plan", "free")], max_values=1)
        repository.set_properties([assign(1, "plan", "pro")], max_values=1)
        assert repository.property_values() == {"plan": frozenset({"pro"})}

    def test_a_bounded_fetch_of_user_sets_holds_the_users_below_the_bound(
        self, repository: BitmapRepository
    ) -> None:
        repository.set_properties([assign(uid, "plan", "pro") for uid in (1, 15, 16, 900)])
        repository.save_cohort("beta", Bitmap.from_ids([3, 16, 2000]))
        bitmaps = repository.fetch_user_sets(
            [SavedCohort("beta"), PropertyValue("plan", "pro")], max_bytes=2
        )
        assert [list(b) for b in bitmaps] == [[3], [1, 15]]

    def test_user_sets_are_counted_as_they_are_read(self, repository: BitmapRepository) -> None:
        repository.set_properties([assign(uid, "plan", "pro") for uid in (1, 15, 16, 900)])
        repository.set_properties([assign(7, "plan", "free")])
        repository.save_cohort("beta", Bitmap.from_ids([3, 16, 2000]))
        ids: list[UserSetId] = [
            SavedCohort("beta"),
            PropertyValue("plan", "pro"),
            PropertyValue("plan", "gold"),
            SavedCohort("nobody"),
            PropertyValue("plan", "free"),
        ]
        assert repository.count_user_sets(ids) == [3, 4, 0, 0, 1]
        for max_bytes in (0, 1, 2, 200):
            read = repository.fetch_user_sets(ids, max_bytes=max_bytes)
            assert repository.count_user_sets(ids, max_bytes=max_bytes) == [len(b) for b in read]
        assert repository.count_user_sets([]) == []

    @pytest.mark.parametrize(
        ("item", "error"),
        [
            (PropertyAssignment(1, "plan name", "pro"), InvalidSegmentName),
            (PropertyAssignment(1, "plan", "pro plus"), InvalidSegmentName),
            (PropertyAssignment(1, "pl=an", "pro"), InvalidSegmentName),
            (PropertyAssignment(1, "{plan}", "pro"), InvalidSegmentName),
            (PropertyAssignment(-1, "plan", "pro"), InvalidUserId),
            ("plan=pro", TypeError),
        ],
    )
    def test_a_bad_assignment_is_refused_before_anything_is_written(
        self, repository: BitmapRepository, item: object, error: type[Exception]
    ) -> None:
        with pytest.raises(error):
            repository.set_properties([assign(5, "plan", "pro"), item])  # type: ignore[list-item]
        assert repository.property_values() == {}

    # -- saved cohorts -------------------------------------------------------------------

    def test_a_saved_cohort_is_listed_and_read_back(self, repository: BitmapRepository) -> None:
        repository.save_cohort("beta_testers", Bitmap.from_ids([1, 5, 2**20]))
        repository.save_cohort("nobody", Bitmap())
        assert repository.cohort_names() == frozenset({"beta_testers", "nobody"})
        assert repository.fetch_user_sets([SavedCohort("beta_testers"), SavedCohort("nobody")]) == [
            Bitmap.from_ids([1, 5, 2**20]),
            Bitmap(),
        ]

    def test_saving_a_cohort_again_replaces_it(self, repository: BitmapRepository) -> None:
        repository.save_cohort("beta", Bitmap.from_ids([1, 2**20]))
        repository.save_cohort("beta", Bitmap.from_ids([3]))
        assert repository.fetch_user_sets([SavedCohort("beta")]) == [Bitmap.from_ids([3])]

    def test_deleting_a_cohort_forgets_it_and_says_whether_it_was_there(
        self, repository: BitmapRepository
    ) -> None:
        repository.save_cohort("beta", Bitmap.from_ids([1]))
        assert repository.delete_cohort("beta") is True
        assert repository.delete_cohort("beta") is False
        assert repository.cohort_names() == frozenset()
        assert repository.fetch_user_sets([SavedCohort("beta")]) == [Bitmap()]

    def test_a_saved_cohort_and_a_property_of_one_name_are_apart(
        self, repository: BitmapRepository
    ) -> None:
        repository.save_cohort("plan", Bitmap.from_ids([1]))
        repository.set_properties([assign(2, "plan", "pro")])
        assert repository.fetch_user_sets([SavedCohort("plan"), PropertyValue("plan", "pro")]) == [
            Bitmap.from_ids([1]),
            Bitmap.from_ids([2]),
        ]

    @pytest.mark.parametrize("name", ["", "a b", "a=b", "bitop_x", 7])
    def test_a_bad_cohort_name_is_refused_before_anything_is_written(
        self, repository: BitmapRepository, name: object
    ) -> None:
        with pytest.raises(InvalidSegmentName):
            repository.save_cohort(name, Bitmap.from_ids([1]))  # type: ignore[arg-type]
        assert repository.cohort_names() == frozenset()
