"""What the aggregates say about one show: the numbers behind the dashboard, CSV and command."""

from __future__ import annotations

import csv
from collections import defaultdict
from dataclasses import dataclass
from datetime import date, timedelta
from typing import TextIO

from django.db.models import Sum

from episodes.models import Episode, Podcast
from feeds.analytics.models import AppDownloadDay, DeviceDownloadDay, EpisodeDownloadDay

CSV_HEADER = ("episode", "slug", "published", "downloads", "first_7_days", "first_30_days")


@dataclass(frozen=True)
class EpisodeTotal:
    title: str
    slug: str
    published: date | None
    downloads: int
    first_7_days: int
    first_30_days: int


def episode_totals(podcast: Podcast, *, since: date | None = None) -> list[EpisodeTotal]:
    """Each episode's downloads (from ``since`` on, if given), newest first; two queries."""
    days = EpisodeDownloadDay.objects.filter(episode__podcast=podcast)
    per_episode: dict[int, list[tuple[date, int]]] = defaultdict(list)
    for episode_id, day, n in days.values_list("episode_id", "day", "downloads"):
        per_episode[episode_id].append((day, n))
    totals = []
    episodes = Episode.objects.filter(podcast=podcast).order_by("-publish_at", "-pk")
    for episode in episodes.only("pk", "title", "slug", "publish_at"):
        rows = per_episode.get(episode.pk, [])
        published = episode.publish_at.date() if episode.publish_at else None

        def within(n_days: int, rows=rows, published=published) -> int:
            if published is None:
                return 0
            end = published + timedelta(days=n_days)
            return sum(n for day, n in rows if published <= day < end)

        totals.append(
            EpisodeTotal(
                title=episode.title,
                slug=episode.slug,
                published=published,
                downloads=sum(n for day, n in rows if since is None or day >= since),
                first_7_days=within(7),
                first_30_days=within(30),
            )
        )
    return totals


def daily_downloads(podcast: Podcast, *, today: date, days: int = 90) -> list[tuple[date, int]]:
    """Downloads per day for the ``days`` days ending ``today``, zeros included."""
    start = today - timedelta(days=days - 1)
    found = dict(
        EpisodeDownloadDay.objects.filter(episode__podcast=podcast, day__gte=start, day__lte=today)
        .values("day")
        .annotate(n=Sum("downloads"))
        .values_list("day", "n")
    )
    return [
        (start + timedelta(days=i), found.get(start + timedelta(days=i), 0)) for i in range(days)
    ]


def top_apps(podcast: Podcast, *, since: date, limit: int = 10) -> list[tuple[str, int]]:
    rows = (
        AppDownloadDay.objects.filter(podcast=podcast, day__gte=since)
        .values("app")
        .annotate(n=Sum("downloads"))
        .order_by("-n", "app")
        .values_list("app", "n")
    )
    return list(rows[:limit])


def top_devices(podcast: Podcast, *, since: date, limit: int = 10) -> list[tuple[str, int]]:
    rows = (
        DeviceDownloadDay.objects.filter(podcast=podcast, day__gte=since)
        .values("device", "os")
        .annotate(n=Sum("downloads"))
        .order_by("-n", "device", "os")
        .values_list("device", "os", "n")
    )
    return [(f"{device} ({os})", n) for device, os, n in rows[:limit]]


def write_csv(totals: list[EpisodeTotal], out: TextIO) -> None:
    """The per-episode totals as CSV, one header row then one row per episode."""
    writer = csv.writer(out)
    writer.writerow(CSV_HEADER)
    for t in totals:
        writer.writerow(
            (
                _safe_cell(t.title),
                t.slug,
                t.published.isoformat() if t.published else "",
                t.downloads,
                t.first_7_days,
                t.first_30_days,
            )
        )


def _safe_cell(value: str) -> str:
    # A title starting with = + - @ would run as a formula in a spreadsheet (CSV injection).
    return f"'{value}" if value[:1] in ("=", "+", "-", "@", "\t", "\r") else value
