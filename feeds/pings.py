"""Telling directories that a feed changed: a WebSub publish ping and a podping.

Each is off while its setting is empty. Both are sent after a publish wrote a
changed feed (``feed_published`` with ``changed=True``), each by its own task so
one failing does not hold up the other.

* WebSub: the feed names its hub (``<atom:link rel="hub">``); the publisher
  tells the hub the topic changed with ``hub.mode=publish&hub.url=<feed URL>``,
  the form hubs such as Google's and Superfeedr accept.
  https://www.w3.org/TR/websub/#publishing
* podping: ``GET <PODPING_URL>?url=<feed URL>&reason=<reason>&medium=<medium>``
  with the token as ``Authorization``, as podping.cloud expects.
  https://github.com/Podcastindex-org/podping.cloud

A 2xx answer is success. No answer, 429 or 5xx raises :class:`PingError`
(transient: the task retries with backoff); any other answer is logged as
refused and not retried (our request is wrong, so a retry would not help).
"""

from __future__ import annotations

import logging
from urllib.parse import urlencode

from django.conf import settings

from episodes.models import Podcast
from podcasthost import outbound

logger = logging.getLogger(__name__)

#: podping's reasons and mediums: https://github.com/Podcastindex-org/podping-hivewriter
PODPING_REASONS = ("update", "live", "liveEnd")
PODPING_MEDIUMS = (
    "podcast",
    "music",
    "video",
    "film",
    "audiobook",
    "newsletter",
    "blog",
)


class PingError(Exception):
    """The hub or podping gave no answer, or a busy/broken one: retry later."""


def _check(answer: outbound.Answer, what: str) -> str:
    if answer.ok:
        return f"{what}: {answer.status}"
    excerpt = answer.body[:200].decode("utf-8", "replace").strip()
    message = f"{what} answered {answer.status}: {excerpt}"
    if answer.transient:
        raise PingError(message)
    # Our request is wrong (a bad token, a hub that does not know us): say so
    # once in the log, where the operator looks; retrying would not help.
    logger.warning("%s; not retried", message)
    return f"refused: {message}"


def _send(method: str, url: str, what: str, **kwargs) -> str:
    try:
        answer = outbound.send(method, url, timeout=settings.OUTBOUND_TIMEOUT_SECONDS, **kwargs)
    except outbound.OutboundError as exc:
        raise PingError(f"{what}: {exc}") from exc
    return _check(answer, what)


def ping_websub(podcast_id: int) -> str:
    """Tell ``WEBSUB_HUB_URL`` that the show's feed changed; what happened, in words.

    Idempotent (a second ping makes the hub fetch the feed once more). Off
    ("off") when no hub is set. Raises :class:`PingError` when worth retrying.
    """
    hub = settings.WEBSUB_HUB_URL
    if not hub:
        return "off"
    podcast = Podcast.objects.filter(pk=podcast_id).first()
    if podcast is None:
        return "gone"
    body = urlencode({"hub.mode": "publish", "hub.url": podcast.feed_url}).encode()
    return _send(
        "POST",
        hub,
        "WebSub hub",
        body=body,
        headers={"Content-Type": "application/x-www-form-urlencoded"},
    )


def podping_url(feed_url: str, *, reason: str, medium: str) -> str:
    """The podping request URL for ``feed_url``; raises ``ValueError`` on an unknown value."""
    if reason not in PODPING_REASONS:
        raise ValueError(f"Unknown podping reason {reason!r}; use one of {PODPING_REASONS}.")
    if medium not in PODPING_MEDIUMS:
        raise ValueError(f"Unknown podping medium {medium!r}; use one of {PODPING_MEDIUMS}.")
    query = urlencode({"url": feed_url, "reason": reason, "medium": medium})
    separator = "&" if "?" in settings.PODPING_URL else "?"
    return f"{settings.PODPING_URL}{separator}{query}"


def ping_podping(podcast_id: int, *, reason: str = "update", medium: str = "podcast") -> str:
    """Send a podping for the show's feed to ``PODPING_URL``; what happened, in words.

    Off ("off") when no URL is set. Raises :class:`PingError` when worth retrying.
    """
    if not settings.PODPING_URL:
        return "off"
    podcast = Podcast.objects.filter(pk=podcast_id).first()
    if podcast is None:
        return "gone"
    url = podping_url(podcast.feed_url, reason=reason, medium=medium)
    return _send("GET", url, "podping", headers={"Authorization": settings.PODPING_TOKEN})
