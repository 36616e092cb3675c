"""The per-show downloads dashboard in the admin, and its CSV export.

Reached from the show's admin page (``episodes/admin.py`` routes
``<id>/downloads/`` and ``<id>/downloads.csv`` here after its own
``get_object``, so another creator's show answers 404 as everywhere).
"""

from __future__ import annotations

from datetime import date, timedelta

from django.http import HttpRequest, HttpResponse
from django.template.response import TemplateResponse
from django.utils import timezone

from episodes.models import Podcast
from feeds.analytics import charts, reports

DAYS = 90
TOP = 10
COMPARED_EPISODES = 12


def dashboard_context(podcast: Podcast, *, today: date) -> dict:
    """Everything the dashboard shows: the charts (SVG) and the per-episode table."""
    daily = reports.daily_downloads(podcast, today=today, days=DAYS)
    since = today - timedelta(days=DAYS - 1)
    totals = reports.episode_totals(podcast)
    published = [t for t in totals if t.published is not None][:COMPARED_EPISODES]
    apps = reports.top_apps(podcast, since=since, limit=TOP)
    devices = reports.top_devices(podcast, since=since, limit=TOP)
    total = sum(n for _, n in daily)
    return {
        "podcast": podcast,
        "days": DAYS,
        "total_90_days": total,
        "totals": totals,
        "daily_chart": charts.daily_bars(
            "downloads-per-day",
            daily,
            title=f"Downloads per day, last {DAYS} days",
            desc=f"{total:,} downloads from {daily[0][0]:%d %b %Y} to {today:%d %b %Y}; "
            f"the busiest day had {max(n for _, n in daily):,}.",
        ),
        "launch_chart": charts.horizontal_bars(
            "first-days",
            [(t.title, (t.first_7_days, t.first_30_days)) for t in published],
            series=("First 7 days", "First 30 days"),
            title="Each episode's first 7 and 30 days",
            desc="Downloads of each of the latest episodes in the 7 and 30 days after it "
            "was published.",
        ),
        "apps_chart": charts.horizontal_bars(
            "top-apps",
            [(name, (n,)) for name, n in apps],
            series=("Downloads",),
            title=f"Top apps, last {DAYS} days",
            desc=", ".join(f"{name}: {n:,}" for name, n in apps) or "No downloads yet.",
        ),
        "devices_chart": charts.horizontal_bars(
            "top-devices",
            [(name, (n,)) for name, n in devices],
            series=("Downloads",),
            title=f"Top devices, last {DAYS} days",
            desc=", ".join(f"{name}: {n:,}" for name, n in devices) or "No downloads yet.",
        ),
    }


def dashboard(request: HttpRequest, podcast: Podcast, context: dict) -> TemplateResponse:
    """The dashboard page; ``context`` is the admin's (site header, permissions)."""
    today = timezone.localdate()
    return TemplateResponse(
        request,
        "admin/feeds/downloads.html",
        {
            **context,
            **dashboard_context(podcast, today=today),
            "title": f"Downloads: {podcast.title}",
        },
    )


def csv_export(podcast: Podcast) -> HttpResponse:
    """The per-episode totals as a CSV download (the same as ``manage.py downloads --csv``)."""
    response = HttpResponse(content_type="text/csv; charset=utf-8")
    response["Content-Disposition"] = f'attachment; filename="{podcast.slug}-downloads.csv"'
    reports.write_csv(reports.episode_totals(podcast), response)
    return response
