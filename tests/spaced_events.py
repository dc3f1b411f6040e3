"""Events named with spaces, written as Doist bitmapist's ``mark_event`` writes them.

bitmapist accepts any event name; this package reads such names but never writes them, so
tests put them in storage the way bitmapist would: one SETBIT per month, ISO week and day
key.
"""

from __future__ import annotations

import redis

#: (event, user ids, day of November 2026) as bitmapist marked them.
SPACED_EVENTS = (
    ("signed up", (1, 2, 3), 25),
    ("song played", (1,), 27),
    ("song skipped", (2,), 27),
)


def write_spaced_events(client: redis.Redis) -> None:
    """Users 1-3 signed up on the 25th; on the 27th 1 played a song and 2 skipped one."""
    for event, user_ids, day in SPACED_EVENTS:
        for suffix in ("2026-11", "W2026-48", f"2026-11-{day}"):
            for user_id in user_ids:
                client.setbit(f"trackist_{event}_{suffix}", user_id, 1)
