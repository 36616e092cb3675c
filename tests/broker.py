"""A real Redis broker for one test, and a reader of the messages queued on it."""

from __future__ import annotations

import base64
import json
import random
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass

from podcasthost.celery import app
from podcasthost.services import free_port


def _reset_producer_pool() -> None:
    app._pool = None
    app.amqp._producer_pool = None


@contextmanager
def broker_at(url: str) -> Iterator[None]:
    """Send tasks to the broker at ``url`` (not eagerly) inside the block."""
    previous = (app.conf.CELERY_TASK_ALWAYS_EAGER, app.conf.CELERY_BROKER_URL)
    app.conf.CELERY_TASK_ALWAYS_EAGER = False
    app.conf.CELERY_BROKER_URL = url
    _reset_producer_pool()
    try:
        yield
    finally:
        app.conf.CELERY_TASK_ALWAYS_EAGER, app.conf.CELERY_BROKER_URL = previous
        _reset_producer_pool()


def unreachable_broker_url() -> str:
    """A Redis URL on a local port nothing listens on: every publish is refused."""
    return f"redis://127.0.0.1:{free_port(0)}/0"


@dataclass(frozen=True)
class Queued:
    task: str
    kwargs: dict
    eta: str | None


def queued_messages(url: str, queue: str = "celery") -> list[Queued]:
    """The task messages waiting in ``queue`` at ``url``, oldest first (kombu's Redis layout)."""
    import redis

    client = redis.Redis.from_url(url)
    messages = []
    for raw in reversed(client.lrange(queue, 0, -1)):
        envelope = json.loads(raw)
        _args, kwargs, _embed = json.loads(base64.b64decode(envelope["body"]))
        headers = envelope["headers"]
        messages.append(Queued(headers["task"], kwargs, headers.get("eta")))
    return messages


@contextmanager
def private_redis_db(redis_url: str) -> Iterator[str]:
    """``redis_url`` on a Redis database of its own, emptied before and after the block."""
    import redis

    url = redis_url.rsplit("/", 1)[0] + f"/{random.randint(1, 15)}"
    client = redis.Redis.from_url(url)
    client.flushdb()
    try:
        yield url
    finally:
        client.flushdb()
