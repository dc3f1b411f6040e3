"""Realistic generated activity for demos and trials: sign-ups, logins, payments, refunds.

The shape is what a young product's data looks like, so the cohort heatmap has something
to show:

- sign-ups spread over every day of the window, growing over time, fewer at weekends;
  user ids are handed out in sign-up order (as an auto-increment column would);
- every user logs in on the day they sign up (some come back hours later that day, so
  hourly cohorts have something after hour 0), then less and less often as their account
  ages (each user has their own engagement and eventually stops coming back); some
  logins are followed by a logout;
- a paid subset: more engaged users are likelier to pay, first within days of signing
  up, then once a month while they stay, and now and then again on a day they log in
  (a repeat purchase: first-time cohorts of payers have something after day 0);
- rare refunds, a few days after a payment;
- two properties per user, for segments and breakdowns: ``plan`` (``paid`` for payers,
  else ``free``, as the demo shop keeps it) and the sign-up ``channel``.

Everything is drawn from one seeded :class:`random.Random`, so the same arguments always
give the same marks. Marks are produced lazily, one user at a time, so any number of
users fits in bounded memory; :func:`write_demo_data` writes them in chunks.
"""

from __future__ import annotations

import random
from collections.abc import Callable, Generator, Iterator
from datetime import datetime, timedelta
from typing import Final

import attrs

from flask_bitmapist.domain import MARK_CHUNK_SIZE, BitmapRepository, IdMapper, Mark, localize
from flask_bitmapist.services.marking import (
    DEFAULT_POLICY,
    MarkingPolicy,
    PendingMark,
    write_marks,
)
from flask_bitmapist.services.segments import UserRow, write_properties

__all__ = [
    "DEMO_EVENTS",
    "LOGGED_IN",
    "LOGGED_OUT",
    "PAID",
    "REFUNDED",
    "SIGNED_UP",
    "DemoDataSpec",
    "generate_demo_marks",
    "write_demo_data",
]

#: The events the demo app registers, one per way of registering them: the SQLAlchemy
#: mixin (``user:created``), Flask-Login (``user:logged_in``/``user:logged_out``), the
#: ``@mark`` decorator (``user:paid``) and ``mark_event`` (``user:refunded``).
SIGNED_UP: Final = "user:created"
LOGGED_IN: Final = "user:logged_in"
LOGGED_OUT: Final = "user:logged_out"
PAID: Final = "user:paid"
REFUNDED: Final = "user:refunded"
DEMO_EVENTS: Final = (SIGNED_UP, LOGGED_IN, LOGGED_OUT, PAID, REFUNDED)

MAX_DAYS: Final = 3660
MAX_USERS: Final = 10_000_000

_SECONDS_PER_DAY: Final = 86_400
# How the sign-up rate moves over the window: it doubles from the first day to the
# last, and weekends see fewer sign-ups than weekdays.
_GROWTH: Final = 1.0
_WEEKEND_FACTOR: Final = 0.6
# Login probability on day k after sign-up is engagement * _LOGIN_RATE * (k + 1) ** -_DECAY,
# until the user's last active day.
_LOGIN_RATE: Final = 1.2
_DECAY: Final = 0.5
_MEAN_LIFETIME_DAYS: Final = 45.0
_LOGOUT_PROBABILITY: Final = 0.4
# A new user logs in again later on their sign-up day with this probability.
_SAME_DAY_RETURN: Final = 0.3
# Paying: the chance to convert grows with engagement (about one user in four overall);
# the first payment comes a few days after sign-up, renewals every 30 days.
_BASE_CONVERSION: Final = 0.05
_CONVERSION_PER_ENGAGEMENT: Final = 0.6
_MEAN_DAYS_TO_PAY: Final = 4.0
_BILLING_CYCLE_DAYS: Final = 30
# A payer logged in on another day buys again with this probability.
_REPEAT_PURCHASE: Final = 0.35
_REFUND_PROBABILITY: Final = 0.03
_MAX_DAYS_TO_REFUND: Final = 3
# Where users come from (the ``channel`` property), and how often.
_CHANNELS: Final = ("search", "ads", "referral", "direct")
_CHANNEL_WEIGHTS: Final = (40, 25, 20, 15)


@attrs.frozen
class DemoDataSpec:
    """What to generate: ``users`` sign-ups over the ``days`` days ending with ``now``'s day.

    Build it with :meth:`create`, which validates.
    """

    now: datetime
    days: int = 90
    users: int = 5000
    seed: int = 0

    @classmethod
    def create(
        cls,
        *,
        now: datetime,
        days: int = 90,
        users: int = 5000,
        seed: int = 0,
    ) -> DemoDataSpec:
        """Validate: ``days`` in 1..3660, ``users`` in 1..10,000,000, ``seed`` an int."""
        for name, value, upper in (("days", days, MAX_DAYS), ("users", users, MAX_USERS)):
            if isinstance(value, bool) or not isinstance(value, int):
                raise TypeError(f"{name} must be an int, got {value!r}")
            if not 1 <= value <= upper:
                raise ValueError(f"{name} must be between 1 and {upper}, got {value!r}")
        if isinstance(seed, bool) or not isinstance(seed, int):
            raise TypeError(f"seed must be an int, got {seed!r}")
        # Kept in its zone: the days generated are the local days of the app's calendar.
        return cls(localize(now), days, users, seed)

    @property
    def first_day(self) -> datetime:
        """Local midnight of the window's first day, in ``now``'s zone."""
        today = self.now.replace(hour=0, minute=0, second=0, microsecond=0)
        return today - timedelta(days=self.days - 1)


def _signups_per_day(spec: DemoDataSpec, rng: random.Random) -> list[int]:
    """How many users sign up each day: exactly ``spec.users`` in all, apportioned to
    noisy, growing weights by largest remainder."""
    weights = []
    for day in range(spec.days):
        trend = 1.0 + _GROWTH * day / max(spec.days - 1, 1)
        weekday = (spec.first_day + timedelta(days=day)).weekday()
        season = _WEEKEND_FACTOR if weekday >= 5 else 1.0
        weights.append(trend * season * rng.uniform(0.8, 1.2))
    total = sum(weights)
    shares = [spec.users * w / total for w in weights]
    counts = [int(share) for share in shares]
    by_remainder = sorted(range(spec.days), key=lambda d: shares[d] - counts[d], reverse=True)
    for day in by_remainder[: spec.users - sum(counts)]:
        counts[day] += 1
    return counts


class _Generator:
    """Draws one user's history at a time; all randomness comes from ``rng``."""

    def __init__(self, spec: DemoDataSpec, policy: MarkingPolicy) -> None:
        self.spec = spec
        self.policy = policy
        self.rng = random.Random(spec.seed)
        # Its own stream: the properties change no mark the seed gave before.
        self.channel_rng = random.Random(spec.seed + 1)
        self.today = spec.days - 1
        self.seconds_today = int(
            (spec.now - spec.first_day).total_seconds() - self.today * _SECONDS_PER_DAY
        )

    def moment(self, day: int, after: int = 0) -> tuple[datetime, int]:
        """A random moment of ``day``, at least ``after`` seconds into it, never after now."""
        last = self.seconds_today if day == self.today else _SECONDS_PER_DAY - 1
        second = self.rng.randint(min(after, last), last)
        return self.spec.first_day + timedelta(days=day, seconds=second), second

    def mark(self, event: str, user_id: int, moment: datetime) -> Mark:
        # Not policy.pending: the demo's ids are 1..N whatever the policy's id settings.
        return Mark.create(
            event,
            user_id,
            moment,
            hourly=self.policy.hourly_for(event),
            unique=self.policy.unique,
            zone=self.policy.zone,
            retention=self.policy.retention,
        )

    def histories(self) -> Iterator[Mark | UserRow]:
        """Each user's marks, then their properties (``(user_id, name, value)`` rows)."""
        user_id = 0
        for day, count in enumerate(_signups_per_day(self.spec, self.rng)):
            for _ in range(count):
                user_id += 1
                paid = yield from self.user(user_id, day)
                [channel] = self.channel_rng.choices(_CHANNELS, _CHANNEL_WEIGHTS)
                yield (user_id, "plan", "paid" if paid else "free")
                yield (user_id, "channel", channel)

    def user(self, user_id: int, signup_day: int) -> Generator[Mark, None, bool]:
        """One user's marks; returns whether they pay."""
        rng = self.rng
        engagement = rng.betavariate(2.0, 4.0)
        last_active = signup_day + int(
            rng.expovariate(1.0 / (_MEAN_LIFETIME_DAYS * 2 * engagement + 1))
        )
        last_active = min(last_active, self.today)
        pay_days = self.pay_days(signup_day, last_active, engagement)

        moment, second = self.moment(signup_day)
        yield self.mark(SIGNED_UP, user_id, moment)
        first_payment = min(pay_days, default=None)
        for day in range(signup_day, last_active + 1):
            age = day - signup_day
            renews = day in pay_days
            # Paying needs a session; otherwise logins thin out as the account ages.
            if day == signup_day or renews:
                login_second = second if day == signup_day else None
            elif rng.random() < engagement * _LOGIN_RATE * (age + 1) ** -_DECAY:
                login_second = None
            else:
                continue
            if login_second is None:
                moment, login_second = self.moment(day)
            yield self.mark(LOGGED_IN, user_id, moment)
            repeat = first_payment is not None and day > first_payment and not renews
            if renews or (repeat and rng.random() < _REPEAT_PURCHASE):
                paid_at, _ = self.moment(day, after=login_second)
                yield self.mark(PAID, user_id, paid_at)
                if rng.random() < _REFUND_PROBABILITY:
                    refund_day = day + rng.randint(0, _MAX_DAYS_TO_REFUND)
                    if refund_day <= self.today:
                        refunded_at, _ = self.moment(refund_day)
                        yield self.mark(REFUNDED, user_id, max(refunded_at, paid_at))
            if rng.random() < _LOGOUT_PROBABILITY:
                logout_at, _ = self.moment(day, after=login_second)
                yield self.mark(LOGGED_OUT, user_id, logout_at)
            if day == signup_day and rng.random() < _SAME_DAY_RETURN:
                back_at, _ = self.moment(day, after=login_second + 3600)
                yield self.mark(LOGGED_IN, user_id, back_at)
        return bool(pay_days)

    def pay_days(self, signup_day: int, last_active: int, engagement: float) -> frozenset[int]:
        """The days a user pays on: none for most, else a first payment soon after
        sign-up and a renewal every billing cycle while they stay."""
        rng = self.rng
        if rng.random() >= _BASE_CONVERSION + _CONVERSION_PER_ENGAGEMENT * engagement:
            return frozenset()
        first = signup_day + int(rng.expovariate(1.0 / _MEAN_DAYS_TO_PAY))
        return frozenset(range(first, last_active + 1, _BILLING_CYCLE_DAYS))


def generate_demo_marks(
    spec: DemoDataSpec, policy: MarkingPolicy = DEFAULT_POLICY
) -> Iterator[Mark]:
    """Lazily yield the marks of ``spec``'s users, one user's history after another, with
    the hourly and lifetime bitmaps ``policy`` asks for.

    >>> from datetime import datetime
    >>> spec = DemoDataSpec.create(now=datetime(2026, 11, 27, 12), days=7, users=3)
    >>> first = next(generate_demo_marks(spec))
    >>> first.event, first.user_id
    ('user:created', 1)
    """
    return (item for item in _Generator(spec, policy).histories() if isinstance(item, Mark))


def write_demo_data(
    repository: BitmapRepository,
    spec: DemoDataSpec,
    *,
    policy: MarkingPolicy = DEFAULT_POLICY,
    id_mapper: IdMapper | None = None,
    chunk_size: int = MARK_CHUNK_SIZE,
    on_chunk: Callable[[int], None] | None = None,
) -> int:
    """Generate ``spec``'s marks and write them in chunks (:func:`write_marks`), and the
    users' properties a chunk at a time as they come; returns how many marks were written.

    With ``policy.map_ids`` and an ``id_mapper`` the users 1..N are the app's ids, mapped
    as ``mark_event`` maps them (one ``assign`` call per chunk), so they read back as 1..N.
    """
    rows: list[UserRow] = []

    def marks() -> Iterator[PendingMark]:
        for item in _Generator(spec, policy).histories():
            if isinstance(item, Mark):
                yield policy.to_map(item)
                continue
            rows.append(item)
            if len(rows) >= chunk_size:
                save_rows()

    def save_rows() -> None:
        write_properties(
            repository,
            rows,
            max_user_id=policy.max_user_id,
            id_mapper=id_mapper if policy.map_ids else None,
            chunk_size=chunk_size,
        )
        rows.clear()

    written = write_marks(
        repository,
        marks(),
        policy=policy,
        id_mapper=id_mapper,
        chunk_size=chunk_size,
        on_chunk=on_chunk,
    )
    save_rows()
    return written
