"""The synthetic data set both benchmarks use, built with numpy straight into bitmaps.

``users`` users sign up over ``DAYS`` days, ids growing with the signup day (as
auto-increment ids do); activity decays with the days since signup; about 12% are payers,
each paying on a quarter of their active days; 1% of payments are refunded.
"""

from __future__ import annotations

from datetime import datetime, timezone

import numpy as np
import numpy.typing as npt

from flask_bitmapist.domain import Period, TimeGroup

__all__ = ["DAYS", "EVENTS", "NOW", "Packed", "day_periods", "generate"]

NOW = datetime(2026, 11, 27, 15, 0, tzinfo=timezone.utc)
DAYS = 60
EVENTS = ("signup", "active", "paid", "refunded")

#: One day's users of one event, packed in Redis's bit order (numpy.packbits's).
Packed = npt.NDArray[np.uint8]


def day_periods(n_days: int = DAYS) -> list[Period]:
    """The ``n_days`` days ending with NOW's day, oldest first."""
    today = Period.containing(TimeGroup.DAY, NOW)
    return [today.shift(d - n_days + 1) for d in range(n_days)]


def _thin(
    bits: npt.NDArray[np.bool_], rate: float, rng: np.random.Generator
) -> npt.NDArray[np.bool_]:
    """Keep each set bit with probability ``rate``."""
    kept = np.zeros_like(bits)
    ids = np.flatnonzero(bits)
    kept[ids[rng.random(ids.size) < rate]] = True
    return kept


def generate(users: int, seed: int, n_days: int = DAYS) -> dict[str, list[Packed]]:
    """Per event, one packed bitmap per day of :func:`day_periods` (``n_days`` of them)."""
    rng = np.random.default_rng(seed)
    signup_day = np.sort(rng.integers(0, n_days, size=users))
    signed_up_by = np.searchsorted(signup_day, np.arange(n_days), side="right")
    payer = rng.random(users) < 0.12
    days: dict[str, list[Packed]] = {event: [] for event in EVENTS}
    for d in range(n_days):
        known = int(signed_up_by[d])
        age = d - signup_day[:known]
        signup = np.zeros(users, dtype=bool)
        signup[:known] = age == 0
        active = np.zeros(users, dtype=bool)
        active[:known] = rng.random(known) < 0.04 + 0.56 * np.exp(-age / 8.0)
        paid = _thin(active & payer, 0.25, rng)
        refunded = _thin(paid, 0.01, rng)
        for event, bits in zip(EVENTS, (signup, active, paid, refunded), strict=True):
            days[event].append(np.packbits(bits))
    return days
