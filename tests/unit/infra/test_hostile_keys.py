"""Keys other clients wrote: names that cannot be shown safely are left out, others kept."""

from __future__ import annotations

import fakeredis

from flask_bitmapist.infra import RedisRepository


def test_event_listing_leaves_out_names_with_bidirectional_controls_only() -> None:
    client = fakeredis.FakeRedis(server=fakeredis.FakeServer())
    for name in ("song played", "zero\u200bwidth", "evil\u202eexe.gpj", "isolate\u2066x"):
        client.setbit(f"trackist_{name}_2026-11-27".encode(), 3, 1)
    client.set(b"trackist_bad\xed\xa0\x80utf8_2026-11-27", b"\x10")  # a lone surrogate, encoded
    assert RedisRepository(client).event_names() == frozenset({"song played", "zero\u200bwidth"})
