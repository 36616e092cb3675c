"""Only aggregates are kept: raw events, windows and salts go once they are no longer needed."""

from __future__ import annotations

from datetime import timedelta

from feeds.analytics.aggregate import aggregate_downloads
from feeds.analytics.models import (
    DownloadEvent,
    EpisodeDownloadDay,
    ListenerSalt,
    ListeningWindow,
)
from feeds.analytics.pipeline import aggregate_and_prune, ingest_log_sources
from feeds.tasks import aggregate_downloads as aggregate_task
from tests.analytics.conftest import T0, cf_line, write_log


def ingest(tmp_path, lines, name):
    ingest_log_sources([str(write_log(tmp_path / name, lines))], now=T0)


def test_raw_events_are_deleted_after_the_retention_once_aggregated(tmp_path, rendition, settings):
    settings.ANALYTICS_RAW_RETENTION_DAYS = 7
    ingest(tmp_path, [cf_line(T0)], "a.gz")

    kept = aggregate_and_prune(now=T0 + timedelta(days=6, hours=23))
    assert kept["deleted events"] == 0 and DownloadEvent.objects.count() == 1

    gone = aggregate_and_prune(now=T0 + timedelta(days=7, hours=1))

    assert gone["deleted events"] == 1
    assert not DownloadEvent.objects.exists()
    # The aggregate stays.
    assert EpisodeDownloadDay.objects.get().downloads == 1


def test_pending_events_are_never_deleted_unaggregated(tmp_path, rendition):
    ingest(tmp_path, [cf_line(T0)], "a.gz")

    from feeds.analytics.aggregate import prune

    prune(now=T0 + timedelta(days=30))

    assert DownloadEvent.objects.count() == 1


def test_old_salts_are_deleted_and_todays_kept(tmp_path, rendition):
    ingest(tmp_path, [cf_line(T0)], "a.gz")
    assert set(ListenerSalt.objects.values_list("day", flat=True)) == {
        T0.date(),
        T0.date() - timedelta(days=1),
    }

    aggregate_and_prune(now=T0 + timedelta(days=3))

    assert not ListenerSalt.objects.filter(day__lte=T0.date()).exists()


def test_a_salt_is_secret_and_differs_per_day(tmp_path, rendition):
    ingest(tmp_path, [cf_line(T0)], "a.gz")

    secrets = list(ListenerSalt.objects.values_list("secret", flat=True))

    assert len(set(secrets)) == 2 and all(len(s) == 64 for s in secrets)


def test_windows_go_two_days_after_they_opened(tmp_path, rendition):
    ingest(tmp_path, [cf_line(T0)], "a.gz")
    aggregate_downloads(now=T0)
    assert ListeningWindow.objects.count() == 1

    aggregate_and_prune(now=T0 + timedelta(days=2, minutes=1))

    assert not ListeningWindow.objects.exists()


def test_the_beat_task_aggregates_and_prunes(tmp_path, rendition):
    ingest(tmp_path, [cf_line(T0)], "a.gz")

    counts = aggregate_task()

    assert counts["downloads"] == 1 and counts["events"] == 1
    assert EpisodeDownloadDay.objects.get().downloads == 1


def test_a_second_aggregation_waits_for_the_first(tmp_path, rendition):
    from feeds.analytics.aggregate import _take_lease

    ingest(tmp_path, [cf_line(T0)], "a.gz")
    assert _take_lease(T0)  # another process is aggregating

    assert aggregate_and_prune(now=T0 + timedelta(minutes=1)) is None
    assert not EpisodeDownloadDay.objects.exists()
    # Its lease expires if it died: the next run counts everything, once.
    assert aggregate_and_prune(now=T0 + timedelta(minutes=11))["downloads"] == 1
