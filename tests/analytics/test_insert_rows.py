"""``insert_rows`` stores datetimes as the ORM would: the same instant reads back."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta, timezone

from feeds.analytics import packed
from feeds.analytics.models import DownloadEvent
from feeds.analytics.rules import EventMaker, store_events


def test_stored_event_times_read_back_as_the_same_instant(rendition):
    maker = EventMaker(DownloadEvent.Source.CLOUDFRONT)
    times = [
        datetime(2026, 11, 30, 23, 59, 59, 999_999, tzinfo=UTC),
        datetime(2026, 12, 1, tzinfo=UTC),  # no microseconds: SQLite's text has none either
        # Not UTC: stored as its UTC instant, whichever database.
        datetime(2026, 12, 1, 1, 30, 5, 250_000, tzinfo=timezone(timedelta(hours=2))),
    ]
    events = []
    for n, at in enumerate(times):
        event = maker.event(
            rendition.pk,
            at.date(),
            f"192.0.2.{n}",
            "Overcast/3.0",
            packed.new((packed.microseconds(at), 0, 99)),
        )
        events.append(event._replace(at=at))

    assert store_events(events) == 3

    stored = list(DownloadEvent.objects.order_by("pk").values_list("at", flat=True))
    assert stored == times
    assert DownloadEvent.objects.filter(at__lt=datetime(2026, 12, 1, tzinfo=UTC)).count() == 2
