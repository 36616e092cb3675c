"""Storing a listener's requests together counts exactly what a row per request counts.

The ingest packs the requests of one listener, rendition and day into one
event (``feeds.analytics.packed``). These tests put the same random logs
through both ways of storing them: the ingest, and the media view's path of
one stored event per request (``EventMaker.event_for``); the aggregates must
be identical, whatever the order, the day boundaries and the junk.
"""

from __future__ import annotations

import random
from datetime import timedelta

import pytest

from episodes.models import Rendition
from feeds.analytics import aggregate, coalesce, packed
from feeds.analytics.aggregate import aggregate_downloads
from feeds.analytics.cloudfront import LogParser
from feeds.analytics.models import (
    AppDownloadDay,
    DeviceDownloadDay,
    DownloadEvent,
    EpisodeDownloadDay,
    ListeningWindow,
)
from feeds.analytics.pipeline import ingest_log_sources
from feeds.analytics.rules import EventMaker, Salts, store_events
from tests.analytics.conftest import APPLE, BOT, OVERCAST, SIZE, SPOTIFY, T0, cf_line, write_log

AGENTS = (APPLE, OVERCAST, SPOTIFY, BOT)


def random_log(rng: random.Random, lines: int) -> list[str]:
    """Requests of a few listeners over three days, crossing midnights, with probes and junk."""
    out = []
    for _ in range(lines):
        at = T0 + timedelta(seconds=rng.randrange(3 * 86_400))
        kind = rng.random()
        if kind < 0.03:
            out.append(rng.choice(["garbage", "\t".join(["x"] * 40), ""]))
            continue
        first = rng.randrange(0, SIZE, 1000)
        last = min(SIZE - 1, first + rng.choice((1, 999, 20_000, 70_000)))
        out.append(
            cf_line(
                at,
                ip=f"198.51.100.{rng.randrange(6)}",
                agent=rng.choice(AGENTS),
                first=first,
                last=last,
                status=rng.choice((206, 206, 206, 200, 304)),
                method="GET" if kind > 0.06 else "HEAD",
            )
        )
    return out


def counts() -> dict:
    return {
        "episodes": sorted(
            EpisodeDownloadDay.objects.values_list("episode_id", "day", "downloads")
        ),
        "apps": sorted(AppDownloadDay.objects.values_list("day", "app", "downloads")),
        "devices": sorted(
            DeviceDownloadDay.objects.values_list("day", "device", "os", "downloads")
        ),
    }


def reset() -> None:
    for model in (DownloadEvent, ListeningWindow, EpisodeDownloadDay, AppDownloadDay):
        model.objects.all().delete()
    DeviceDownloadDay.objects.all().delete()


def one_row_per_request(path, rendition: Rendition, salts: Salts) -> None:
    maker = EventMaker(DownloadEvent.Source.CLOUDFRONT, salts)
    with path.open() as lines:
        for request in LogParser().requests(lines):
            event = maker.event_for(request, rendition.pk)
            if not isinstance(event, str):
                store_events([event])


@pytest.mark.parametrize("seed", range(6))
def test_packed_and_one_row_per_request_count_the_same(tmp_path, rendition, seed, monkeypatch):
    rng = random.Random(seed)
    # Small limits, so that flushes in the middle of a file are exercised too.
    monkeypatch.setattr(coalesce, "MAX_HELD", rng.choice((7, 50, 10_000)))
    monkeypatch.setattr(coalesce, "MAX_GROUPS", rng.choice((3, 10_000)))
    # And small aggregation batches: cut by requests, within an event's day.
    monkeypatch.setattr(aggregate, "BATCH_REQUESTS", rng.choice((1, 40, 25_000)))
    files = [write_log(tmp_path / f"f{n}.log", random_log(rng, 300), compress=False) for n in "ab"]
    now = T0 + timedelta(days=4)

    results = []
    for f in files:
        results += ingest_log_sources([str(f)], now=now)
        aggregate_downloads(now=now)
    packed_counts = counts()
    stored_requests = sum(DownloadEvent.objects.values_list("request_count", flat=True))
    assert stored_requests == sum(r.events for r in results)
    assert DownloadEvent.objects.count() < stored_requests  # requests really were packed

    reset()
    salts = Salts()
    for f in files:
        one_row_per_request(f, rendition, salts)
        aggregate_downloads(now=now)

    assert counts() == packed_counts
    assert sum(n for *_, n in packed_counts["episodes"]) > 0


def test_a_packed_event_keeps_every_request_time_and_range(tmp_path, rendition):
    lines = [
        cf_line(T0 + timedelta(seconds=30), first=1000, last=1999),
        cf_line(T0, first=0, last=99),
        cf_line(T0 + timedelta(hours=14), first=5, last=5000),
    ]

    ingest_log_sources([str(write_log(tmp_path / "x.gz", lines))], now=T0)

    (event,) = DownloadEvent.objects.all()
    assert event.at == T0 and event.request_count == 3
    assert event.request_list() == [
        (T0 + timedelta(seconds=30), 1000, 1999),
        (T0, 0, 99),
        (T0 + timedelta(hours=14), 5, 5000),
    ]


def test_unpack_refuses_what_is_not_packed_requests():
    assert packed.unpack(packed.pack([1, 2, 3, 4, 5, 6])) == [(1, 2, 3), (4, 5, 6)]
    with pytest.raises(ValueError):
        packed.unpack(b"\x00" * 16)
