"""Raw events → downloads → daily aggregates; then what is no longer needed is deleted.

:func:`aggregate_downloads` takes pending events in time order, unpacks the
requests each holds (:mod:`feeds.analytics.packed`), merges each request
into its listener's 24-hour :class:`~feeds.analytics.models.ListeningWindow`
(:mod:`feeds.analytics.rules`), and when a window first covers the threshold
adds one download to the day the window opened: per episode, per app, per
device and OS. Each batch is one transaction, so a crash counts a batch
entirely or not at all. :func:`prune` deletes aggregated events older than
``ANALYTICS_RAW_RETENTION_DAYS``, windows that can no longer grow, and old salts.
"""

from __future__ import annotations

import logging
from collections import Counter
from datetime import date, datetime, timedelta
from operator import itemgetter

from django.conf import settings
from django.db import IntegrityError, transaction
from django.db.models import F, Q

from episodes.models import Rendition
from feeds.analytics import packed, rules
from feeds.analytics.models import (
    AggregationLease,
    AppDownloadDay,
    DeviceDownloadDay,
    DownloadEvent,
    EpisodeDownloadDay,
    ListeningWindow,
)
from podcasthost.rows import insert_rows, update_rows

logger = logging.getLogger(__name__)

# Events a batch holds at most, and requests: an event holds a listener's
# requests of a day, so a batch is cut by both to keep its memory bounded.
BATCH = 5000
BATCH_REQUESTS = 25_000
LEASE = timedelta(minutes=10)
# Windows stay this long after opening: an event delayed in a CDN log may still join.
WINDOW_KEEP = timedelta(days=2)


class Busy(Exception):
    """Another process is aggregating right now; its run will include these events."""


def _take_lease(now: datetime) -> bool:
    AggregationLease.objects.get_or_create(name="downloads")
    return (
        AggregationLease.objects.filter(name="downloads")
        .filter(Q(until__isnull=True) | Q(until__lt=now))
        .update(until=now + LEASE)
        == 1
    )


def _release() -> None:
    AggregationLease.objects.filter(name="downloads").update(until=None)


class _Window:
    """A :class:`ListeningWindow` row while a batch is counted (plain, for speed)."""

    __slots__ = (
        "before",
        "counted",
        "dirty",
        "listener",
        "pk",
        "ranges",
        "rendition_id",
        "started_at",
    )

    def __init__(self, pk, rendition_id, listener, before, started_at, ranges, counted) -> None:
        self.pk, self.rendition_id, self.listener, self.before = pk, rendition_id, listener, before
        self.started_at, self.ranges, self.counted = started_at, ranges, counted
        self.dirty = False

    def lookup_keys(self) -> list[tuple[int, str]]:
        """Where requests find this window: by the listener's hash with the salt of
        the day it opened, and with the day before's (a late line from before midnight)."""
        keys = [(self.rendition_id, self.listener)]
        if self.before:
            keys.append((self.rendition_id, self.before))
        return keys


_EVENT_FIELDS = (
    "pk",
    "at",
    "rendition_id",
    "listener",
    "listener_before",
    "requests",
    "app",
    "device",
    "os",
)
# Below every backend's limit of parameters in one query.
_IN_CHUNK = 900


def aggregate_downloads(*, now: datetime) -> dict[str, int]:
    """Count every pending event; return ``{"events": n, "downloads": m}``.

    Idempotent: an event is counted once (it is marked in the same transaction).
    Raises :class:`Busy` when another aggregation holds the lease.
    """
    if not _take_lease(now):
        raise Busy("Another aggregation is running.")
    totals = {"events": 0, "downloads": 0}
    try:
        facts: dict[int, tuple[int, int, int]] = {}
        while True:
            with transaction.atomic():
                pending = DownloadEvent.objects.filter(aggregated=False).order_by("at", "pk")
                sizes = list(pending.values_list("request_count", flat=True)[:BATCH])
                if not sizes:
                    break
                rows = list(pending.values_list(*_EVENT_FIELDS)[: _batch_length(sizes)])
                batch = _requests_of(rows)
                totals["downloads"] += _count_batch(batch, facts)
                ids = [row[0] for row in rows]
                for i in range(0, len(ids), _IN_CHUNK):
                    DownloadEvent.objects.filter(pk__in=ids[i : i + _IN_CHUNK]).update(
                        aggregated=True
                    )
                totals["events"] += len(batch)  # requests, as the ingest counts them
    finally:
        _release()
    return totals


def _batch_length(sizes: list[int]) -> int:
    """How many of the next events (their request counts ``sizes``) make one batch:
    at least one, and no more than :data:`BATCH_REQUESTS` requests if that is possible."""
    total = 0
    for n, size in enumerate(sizes):
        total += size
        if total > BATCH_REQUESTS:
            return max(n, 1)
    return len(sizes)


def _requests_of(rows: list[tuple]) -> list[tuple]:
    """Every request the event ``rows`` hold, one tuple each, in time order.

    ``(pk, at, rendition id, listener, listener before, first, last, app, device, os)``:
    the counting below sees each request as if it had been stored alone.
    """
    times: dict[int, datetime] = {}
    requests = []
    for pk, _at, rendition_id, listener, before, data, app, device, os in rows:
        for us, first, last in packed.unpack(data):
            at = times.get(us)
            if at is None:
                at = times[us] = packed.from_microseconds(us)
            requests.append((pk, at, rendition_id, listener, before, first, last, app, device, os))
    requests.sort(key=itemgetter(1))  # stable: a row's requests keep their order
    return requests


def _rendition_facts(ids: set[int], known: dict[int, tuple[int, int, int]]) -> None:
    """Fill ``known[rendition id] = (episode id, podcast id, threshold bytes)``."""
    missing = ids - known.keys()
    rows = Rendition.objects.filter(pk__in=missing).values_list(
        "pk", "episode_id", "episode__podcast_id", "bitrate", "size_bytes", "preset"
    )
    for pk, episode_id, podcast_id, bitrate, size, preset in rows:
        known[pk] = (
            episode_id,
            podcast_id,
            rules.threshold_bytes(bitrate=bitrate, size_bytes=size, preset=preset),
        )


def _load_windows(batch: list[tuple]) -> dict[tuple[int, str], list[_Window]]:
    """The stored windows the batch's listeners may extend, by (rendition, listener)."""
    listeners = sorted({e[3] for e in batch} | {e[4] for e in batch})
    earliest, latest = batch[0][1], batch[-1][1]
    windows: dict[tuple[int, str], list[_Window]] = {}
    loaded: set[int] = set()
    for i in range(0, len(listeners), _IN_CHUNK):
        chunk = listeners[i : i + _IN_CHUNK]
        rows = ListeningWindow.objects.filter(
            Q(listener__in=chunk) | Q(listener_before__in=chunk),
            started_at__gt=earliest - rules.WINDOW,
            started_at__lt=latest + rules.WINDOW,
        ).values_list(
            "pk", "rendition_id", "listener", "listener_before", "started_at", "ranges", "counted"
        )
        for row in rows:
            if row[0] in loaded:  # found by both hashes, in two chunks
                continue
            loaded.add(row[0])
            window = _Window(*row)
            for key in window.lookup_keys():
                windows.setdefault(key, []).append(window)
    return windows


def _count_batch(batch: list[tuple], facts: dict[int, tuple[int, int, int]]) -> int:
    _rendition_facts({e[2] for e in batch}, facts)
    windows = _load_windows(batch)
    created: list[_Window] = []
    touched: list[_Window] = []
    episodes: Counter[tuple[int, date]] = Counter()
    apps: Counter[tuple[int, date, str]] = Counter()
    devices: Counter[tuple[int, date, str, str]] = Counter()
    for _pk, at, rendition_id, listener, before, first, last, app, device, os in batch:
        episode_id, podcast_id, threshold = facts[rendition_id]
        window = _window_for(
            at, windows.get((rendition_id, listener), ()), windows.get((rendition_id, before), ())
        )
        if window is None:
            window = _Window(None, rendition_id, listener, before, at, [], False)
            for key in window.lookup_keys():
                windows.setdefault(key, []).append(window)
            created.append(window)
        elif not window.dirty:
            touched.append(window)
        window.dirty = True
        if at < window.started_at:  # a late log line from before the window opened
            window.started_at = at
        window.ranges = rules.merge_range(window.ranges, first, last)
        if not window.counted and rules.covered_bytes(window.ranges) >= threshold:
            window.counted = True
            day = window.started_at.date()
            episodes[episode_id, day] += 1
            apps[podcast_id, day, app] += 1
            devices[podcast_id, day, device, os] += 1
    insert_rows(
        ListeningWindow,
        ("rendition_id", "listener", "listener_before", "started_at", "ranges", "counted"),
        (
            (w.rendition_id, w.listener, w.before, w.started_at, w.ranges, w.counted)
            for w in created
        ),
    )
    update_rows(
        ListeningWindow,
        ("started_at", "ranges", "counted"),
        ((w.started_at, w.ranges, w.counted, w.pk) for w in touched),
    )
    for (episode_id, day), n in episodes.items():
        _add(EpisodeDownloadDay, n, episode_id=episode_id, day=day)
    for (podcast_id, day, app), n in apps.items():
        _add(AppDownloadDay, n, podcast_id=podcast_id, day=day, app=app)
    for (podcast_id, day, device, os), n in devices.items():
        _add(DeviceDownloadDay, n, podcast_id=podcast_id, day=day, device=device, os=os)
    return sum(episodes.values())


def _window_for(at: datetime, *groups) -> _Window | None:
    """The listener's window within 24 hours of ``at``: the latest opened before it, else
    the earliest opened after it (a log line delivered late)."""
    best_before = best_after = None
    for group in groups:
        for w in group:
            if at - rules.WINDOW < w.started_at <= at:
                if best_before is None or w.started_at > best_before.started_at:
                    best_before = w
            elif at < w.started_at < at + rules.WINDOW and (
                best_after is None or w.started_at < best_after.started_at
            ):
                best_after = w
    return best_before or best_after


def _add(model, n: int, **key) -> None:
    """``downloads += n`` on the row of ``key``, creating it if needed."""
    if model.objects.filter(**key).update(downloads=F("downloads") + n):
        return
    try:
        with transaction.atomic():
            model.objects.create(downloads=n, **key)
    except IntegrityError:  # created meanwhile by another writer
        model.objects.filter(**key).update(downloads=F("downloads") + n)


def prune(*, now: datetime) -> dict[str, int]:
    """Delete aggregated raw events past retention, closed windows and old salts."""
    retention = timedelta(days=settings.ANALYTICS_RAW_RETENTION_DAYS)
    events = DownloadEvent.objects.filter(aggregated=True, at__lt=now - retention).delete()[0]
    windows = ListeningWindow.objects.filter(started_at__lt=now - WINDOW_KEEP).delete()[0]
    salts = rules.delete_old_salts(now)
    return {"events": events, "windows": windows, "salts": salts}
