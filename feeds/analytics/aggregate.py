"""Raw events → downloads → daily aggregates; then what is no longer needed is deleted.

:func:`aggregate_downloads` takes pending events in time order, merges each
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

from django.conf import settings
from django.db import IntegrityError, transaction
from django.db.models import F, Q

from episodes.models import Rendition
from feeds.analytics import rules
from feeds.analytics.models import (
    AggregationLease,
    AppDownloadDay,
    DeviceDownloadDay,
    DownloadEvent,
    EpisodeDownloadDay,
    ListeningWindow,
)

logger = logging.getLogger(__name__)

BATCH = 2000
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


def aggregate_downloads(*, now: datetime) -> dict[str, int]:
    """Count every pending event; return ``{"events": n, "downloads": m}``.

    Idempotent: an event is counted once (it is marked in the same transaction).
    Raises :class:`Busy` when another aggregation holds the lease.
    """
    if not _take_lease(now):
        raise Busy("Another aggregation is running.")
    totals = {"events": 0, "downloads": 0}
    try:
        thresholds: dict[int, tuple[int, int, int]] = {}
        while True:
            with transaction.atomic():
                batch = list(
                    DownloadEvent.objects.filter(aggregated=False).order_by("at", "pk")[:BATCH]
                )
                if not batch:
                    break
                totals["downloads"] += _count_batch(batch, thresholds)
                DownloadEvent.objects.filter(pk__in=[e.pk for e in batch]).update(aggregated=True)
                totals["events"] += len(batch)
    finally:
        _release()
    return totals


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


def _count_batch(batch: list[DownloadEvent], facts: dict[int, tuple[int, int, int]]) -> int:
    _rendition_facts({e.rendition_id for e in batch}, facts)
    listeners = {e.listener for e in batch} | {e.listener_before for e in batch}
    earliest, latest = batch[0].at, batch[-1].at
    windows: dict[tuple[int, str], list[ListeningWindow]] = {}
    for window in ListeningWindow.objects.filter(
        rendition_id__in={e.rendition_id for e in batch},
        listener__in=listeners,
        started_at__gt=earliest - rules.WINDOW,
        started_at__lt=latest + rules.WINDOW,
    ):
        windows.setdefault((window.rendition_id, window.listener), []).append(window)
    changed: dict[int, ListeningWindow] = {}
    created: list[ListeningWindow] = []
    episodes: Counter[tuple[int, date]] = Counter()
    apps: Counter[tuple[int, date, str]] = Counter()
    devices: Counter[tuple[int, date, str, str]] = Counter()
    for event in batch:
        episode_id, podcast_id, threshold = facts[event.rendition_id]
        window = _window_for(event, windows)
        if window is None:
            window = ListeningWindow(
                rendition_id=event.rendition_id, listener=event.listener, started_at=event.at
            )
            windows.setdefault((event.rendition_id, event.listener), []).append(window)
            created.append(window)
        elif window.pk is not None:
            changed[window.pk] = window
        if event.at < window.started_at:  # a late log line from before the window opened
            window.started_at = event.at
        window.ranges = rules.merge_range(window.ranges, event.first_byte, event.last_byte)
        if not window.counted and rules.covered_bytes(window.ranges) >= threshold:
            window.counted = True
            day = window.started_at.date()
            episodes[episode_id, day] += 1
            apps[podcast_id, day, event.app] += 1
            devices[podcast_id, day, event.device, event.os] += 1
    ListeningWindow.objects.bulk_create(created)
    ListeningWindow.objects.bulk_update(changed.values(), ["started_at", "ranges", "counted"])
    for (episode_id, day), n in episodes.items():
        _add(EpisodeDownloadDay, n, episode_id=episode_id, day=day)
    for (podcast_id, day, app), n in apps.items():
        _add(AppDownloadDay, n, podcast_id=podcast_id, day=day, app=app)
    for (podcast_id, day, device, os), n in devices.items():
        _add(DeviceDownloadDay, n, podcast_id=podcast_id, day=day, device=device, os=os)
    return sum(episodes.values())


def _window_for(
    event: DownloadEvent, windows: dict[tuple[int, str], list[ListeningWindow]]
) -> ListeningWindow | None:
    """The listener's window within 24 hours of ``event``: the latest opened before it, else
    the earliest opened after it (a log line delivered late)."""
    candidates = windows.get((event.rendition_id, event.listener), []) + windows.get(
        (event.rendition_id, event.listener_before), []
    )
    before = [w for w in candidates if event.at - rules.WINDOW < w.started_at <= event.at]
    if before:
        return max(before, key=lambda w: w.started_at)
    after = [w for w in candidates if event.at < w.started_at < event.at + rules.WINDOW]
    return min(after, key=lambda w: w.started_at) if after else None


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
