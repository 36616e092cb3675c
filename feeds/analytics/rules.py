"""The counting rules, after the IAB Podcast Measurement Technical Guidelines v2.x.

https://iabtechlab.com/standards/podcast-measurement-guidelines/

One module for both sources: the ``/media/`` view and CloudFront logs each turn
a request into a :class:`MediaRequest` and ask :meth:`EventMaker.event_for`
for the raw event to store; :mod:`feeds.analytics.aggregate` then merges the
events with :func:`merge_range` and :func:`threshold_bytes`.

* Only ``GET`` answered ``200`` or ``206`` counts; a response of at most
  :data:`PROBE_MAX_BYTES` bytes (``Range: bytes=0-1``, ``bytes=0-0``: players
  probing for range support) is ignored.
* Known bots and non-listening clients (the OPAWG lists) are ignored.
* A listener is an HMAC of client address + user agent keyed with a secret
  salt of the request's UTC day; the address itself is never stored, and a
  salt is deleted two days after its day, when no window can need it.
* One listener's byte ranges of one rendition within 24 hours are merged
  (overlaps count once) and make one download once they cover one minute of
  audio at the rendition's bitrate, or the whole file if it is shorter (but
  for the bytes a range probe fetches: :func:`threshold_bytes`).
"""

from __future__ import annotations

import hashlib
import hmac
import secrets
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from typing import NamedTuple

from django.db import IntegrityError, transaction

from episodes.presets import get_preset
from feeds.analytics import packed
from feeds.analytics.clients import classify
from feeds.analytics.models import DownloadEvent, ListenerSalt
from podcasthost.rows import insert_rows

COUNTED_METHODS = frozenset({"GET"})
COUNTED_STATUSES = frozenset({200, 206})
PROBE_MAX_BYTES = 2
WINDOW = timedelta(hours=24)
# Audio a download must cover, at the rendition's bitrate (IAB v2: one minute).
MINIMUM_SECONDS = 60
# A salt lives while a window opened on its day can still receive requests.
SALT_KEEP_DAYS = 2


@dataclass(frozen=True, slots=True)
class MediaRequest:
    """One request for a media file, as either source saw it."""

    at: datetime  # aware, UTC
    path: str  # URL path, decoded
    method: str
    status: int
    first_byte: int  # first byte of the body sent (0 without a range)
    bytes_served: int  # body bytes sent
    user_agent: str
    client_address: str


class Event(NamedTuple):
    """A stored download event, in the column order of :class:`DownloadEvent`.

    ``requests`` is :func:`feeds.analytics.packed.pack` of every request it holds.
    """

    at: datetime
    rendition_id: int
    listener: str
    listener_before: str
    requests: bytes
    request_count: int
    user_agent: str
    app: str
    device: str
    os: str
    source: str
    aggregated: bool = False


def store_events(events: list[Event]) -> int:
    """Insert ``events`` as :class:`DownloadEvent` rows (one ``executemany``)."""
    return insert_rows(DownloadEvent, Event._fields, events)


def threshold_bytes(*, bitrate: int | None, size_bytes: int, preset: str = "") -> int:
    """Bytes a listener must fetch for a download: one minute of audio, or the whole file.

    The whole file less :data:`PROBE_MAX_BYTES`: a player that probes with
    ``bytes=0-1`` and then fetches ``bytes=2-`` has the whole file, but the
    probe's bytes are ignored (never merged), so they cannot be required.
    """
    if not bitrate:
        try:
            bitrate = get_preset(preset).bitrate
        except KeyError:
            bitrate = 128_000
    minute = bitrate * MINIMUM_SECONDS // 8
    if size_bytes <= minute:
        return max(1, size_bytes - PROBE_MAX_BYTES)
    return minute


def merge_range(ranges: list[list[int]], first: int, last: int) -> list[list[int]]:
    """``ranges`` (sorted, disjoint ``[first, last]``) with ``[first, last]`` added, merged."""
    merged: list[list[int]] = []
    placed = False
    for lo, hi in ranges:
        if hi + 1 < first:
            merged.append([lo, hi])
        elif last + 1 < lo:
            if not placed:
                merged.append([first, last])
                placed = True
            merged.append([lo, hi])
        else:  # overlapping or adjacent: absorb
            first, last = min(first, lo), max(last, hi)
    if not placed:
        merged.append([first, last])
    merged.sort()
    return merged


def covered_bytes(ranges: list[list[int]]) -> int:
    return sum(hi - lo + 1 for lo, hi in ranges)


class Salts:
    """The secret salt of each UTC day, created on first use; cached per instance."""

    def __init__(self) -> None:
        self._secrets: dict[date, bytes] = {}

    def secret(self, day: date) -> bytes:
        if day not in self._secrets:
            self._secrets[day] = _salt_of(day).encode()
        return self._secrets[day]


def _salt_of(day: date) -> str:
    found = ListenerSalt.objects.filter(day=day).values_list("secret", flat=True).first()
    if found:
        return found
    try:
        with transaction.atomic():
            return ListenerSalt.objects.create(day=day, secret=secrets.token_hex(32)).secret
    except IntegrityError:  # another process made it first
        return ListenerSalt.objects.get(day=day).secret


def delete_old_salts(now: datetime) -> int:
    """Delete salts older than :data:`SALT_KEEP_DAYS`; their hashes can never be recomputed."""
    cutoff = now.date() - timedelta(days=SALT_KEEP_DAYS)
    return ListenerSalt.objects.filter(day__lt=cutoff).delete()[0]


def _listener(secret: bytes, address: str, user_agent: str) -> str:
    message = f"{address}\n{user_agent}".encode()
    # hmac.digest is OpenSSL's one-shot HMAC: the same value as hmac.new(), without
    # building two hash objects in Python for every listener.
    return hmac.digest(secret, message, hashlib.sha256).hex()[:32]


class EventMaker:
    """Applies the request rules and builds stored events; one per ingest run or request."""

    def __init__(self, source: str, salts: Salts | None = None) -> None:
        self.source = source
        self.salts = salts or Salts()

    def reason_to_ignore(self, request: MediaRequest) -> str | None:
        """Why ``request`` is not listening (``"method"``, ``"status"``, ``"probe"``, ``"bot"``)."""
        return ignore_reason(
            request.method, request.status, request.bytes_served, request.user_agent
        )

    def event_for(self, request: MediaRequest, rendition_id: int) -> Event | str:
        """The stored event of the one request ``request``, or why it is ignored."""
        reason = self.reason_to_ignore(request)
        if reason is not None:
            return reason
        first = request.first_byte
        return self.event(
            rendition_id,
            request.at.date(),
            request.client_address,
            request.user_agent,
            packed.new((packed.microseconds(request.at), first, first + request.bytes_served - 1)),
        )

    def event(self, rendition_id: int, day: date, address: str, user_agent: str, requests) -> Event:
        """The event holding ``requests`` (flat ``us, first, last…``, all on ``day``) of
        the listener ``address`` + ``user_agent``."""
        return self.packed_event(rendition_id, day, address, user_agent, packed.pack(requests))

    def packed_event(
        self, rendition_id: int, day: date, address: str, user_agent: str, data: bytes
    ) -> Event:
        """Like :meth:`event`, for requests already in their stored form (:func:`packed.pack`)."""
        client = classify(user_agent)
        listener, listener_before = self.listeners(day, address, user_agent)
        return Event(
            packed.from_microseconds(packed.earliest(data)),
            rendition_id,
            listener,
            listener_before,
            data,
            len(data) // packed.REQUEST_BYTES,
            user_agent[:512],
            client.app[:100],
            client.device[:100],
            client.os[:40],
            self.source,
        )

    def listeners(self, day: date, address: str, user_agent: str) -> tuple[str, str]:
        """The listener's hashes with the salt of ``day`` and with the day before's.

        Not cached: an ingest asks once per stored event, and a cache large
        enough to help would hold more memory than the requests it stores.
        """
        return (
            _listener(self.salts.secret(day), address, user_agent),
            _listener(self.salts.secret(day - timedelta(days=1)), address, user_agent),
        )


def is_listening(method: str, status: int, bytes_served: int, user_agent: str) -> bool:
    """Whether a request counts (:func:`ignore_reason` is None); the ingest's fast path."""
    return (
        method in COUNTED_METHODS
        and status in COUNTED_STATUSES
        and bytes_served > PROBE_MAX_BYTES
        and not classify(user_agent).is_bot
    )


def ignore_reason(method: str, status: int, bytes_served: int, user_agent: str) -> str | None:
    """Why a request is not listening (``"method"``, ``"status"``, ``"probe"``, ``"bot"``)."""
    if method not in COUNTED_METHODS:
        return "method"
    if status not in COUNTED_STATUSES:
        return "status"
    if bytes_served <= PROBE_MAX_BYTES:
        return "probe"
    if classify(user_agent).is_bot:
        return "bot"
    return None
