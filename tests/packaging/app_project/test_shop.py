"""The shop's own tests of its analytics, with the fixture the installed package brings."""

from datetime import date

import pytest

from flask_bitmapist.testing import Marked


def test_signing_up_is_marked_on_the_shops_day(client, analytics):
    assert client.post("/signup", data={"user_id": 7}).status_code == 201

    # 23:30 UTC is already the 28th in Paris, the shop's zone.
    analytics.assert_marked("user:signed_up", 7, at=date(2026, 11, 28))
    analytics.assert_not_marked("user:signed_up", 7, at=date(2026, 11, 27))
    assert analytics.marks() == [Marked("user:signed_up", 7, date(2026, 11, 28))]


def test_a_failure_lists_what_the_user_got(client, analytics):
    client.get("/?user=7")

    with pytest.raises(AssertionError, match=r"user 7 got: home:visited on 2026-11-28"):
        analytics.assert_marked("user:signed_up", 7)


def test_each_test_starts_empty_and_reset_empties(client, analytics):
    assert analytics.marks() == []
    client.get("/?user=1")
    analytics.reset()
    assert analytics.marks() == []
    analytics.assert_not_marked("home:visited", 1)


def test_fakeredis_holds_bitmapists_keys(client, analytics):
    redis = analytics.use_fakeredis()
    client.post("/signup", data={"user_id": 3})

    assert redis.getbit("trackist_user:signed_up_2026-11-28", 3) == 1
    analytics.assert_marked("user:signed_up", 3)
