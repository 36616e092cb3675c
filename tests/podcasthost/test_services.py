"""The private Redis that ``make run`` and the tests start works as a broker would use it."""

from __future__ import annotations

import redis


def test_redis_answers_and_stores(redis_url):
    client = redis.Redis.from_url(redis_url)

    client.set("podcasthost:test", "value")

    assert client.ping() is True
    assert client.get("podcasthost:test") == b"value"
