"""Synthetic CloudFront logs with a known answer, through the real ingest and counting path."""

from __future__ import annotations

import gzip
import shutil
from datetime import timedelta

import pytest

from feeds.analytics.aggregate import aggregate_downloads
from feeds.analytics.models import (
    AppDownloadDay,
    DeviceDownloadDay,
    DownloadEvent,
    EpisodeDownloadDay,
    ListeningWindow,
    ProcessedLogFile,
)
from feeds.analytics.pipeline import ingest_log_sources
from tests.analytics.conftest import (
    APPLE,
    BOT,
    FIXTURES,
    MINUTE_BYTES,
    OVERCAST,
    POCKETCASTS,
    SIZE,
    SPOTIFY,
    T0,
    cf_line,
    write_log,
)


def downloads(rendition) -> int:
    return sum(
        EpisodeDownloadDay.objects.filter(episode=rendition.episode).values_list(
            "downloads", flat=True
        )
    )


def ingest(tmp_path, lines, name="E2EXAMPLE.2026-11-30-09.a1b2c3d4.gz", **kwargs):
    path = write_log(tmp_path / name, lines, **kwargs)
    [result] = ingest_log_sources([str(path)], now=T0 + timedelta(days=1))
    aggregate_downloads(now=T0 + timedelta(days=1))
    return result


def test_one_listener_fetching_in_20_ranges_is_one_download(tmp_path, rendition):
    step = SIZE // 20
    lines = [
        cf_line(T0 + timedelta(seconds=i), first=i * step, last=(i + 1) * step - 1)
        for i in range(20)
    ]

    result = ingest(tmp_path, lines)

    assert result.events == 20
    assert downloads(rendition) == 1


def test_a_bytes_0_1_probe_is_no_download(tmp_path, rendition):
    result = ingest(tmp_path, [cf_line(T0, first=0, last=1)])

    assert result.ignored == {"probe": 1}
    assert downloads(rendition) == 0


def test_a_bot_fetching_everything_is_no_download(tmp_path, rendition):
    result = ingest(tmp_path, [cf_line(T0, agent=BOT, status=200, first=None)])

    assert result.ignored == {"bot": 1}
    assert downloads(rendition) == 0


def test_two_listeners_behind_one_address_with_different_apps_are_two(tmp_path, rendition):
    ingest(tmp_path, [cf_line(T0, agent=OVERCAST), cf_line(T0, agent=SPOTIFY)])

    assert downloads(rendition) == 2
    apps = dict(AppDownloadDay.objects.values_list("app", "downloads"))
    assert apps == {"Overcast": 1, "Spotify": 1}


def test_a_repeat_after_24_hours_is_a_second_download(tmp_path, rendition):
    ingest(tmp_path, [cf_line(T0), cf_line(T0 + timedelta(hours=24, seconds=1))])

    assert downloads(rendition) == 2
    days = dict(EpisodeDownloadDay.objects.values_list("day", "downloads"))
    assert days == {T0.date(): 1, (T0 + timedelta(days=1)).date(): 1}


def test_a_repeat_within_24_hours_across_midnight_is_the_same_download(tmp_path, rendition):
    # 23:50 and 08:00 the next day: two UTC days, two salts, one listener.
    late = T0.replace(hour=23, minute=50)

    ingest(tmp_path, [cf_line(late), cf_line(late + timedelta(hours=8, minutes=10))])

    assert downloads(rendition) == 1


def test_a_late_line_from_before_midnight_joins_the_window_opened_after_it(tmp_path, rendition):
    # The hour-00 log is counted first; the hour-23 log of the day before arrives later.
    midnight = T0.replace(hour=0) + timedelta(days=1)
    ingest(tmp_path, [cf_line(midnight + timedelta(minutes=10))], name="E2.2026-12-01-00.bb.gz")
    assert downloads(rendition) == 1

    ingest(tmp_path, [cf_line(midnight - timedelta(minutes=10))], name="E2.2026-11-30-23.aa.gz")

    # One listener, one file, 20 minutes apart: still one download, now on the earlier day.
    assert downloads(rendition) == 1
    assert ListeningWindow.objects.get().started_at == midnight - timedelta(minutes=10)


def test_overlapping_ranges_count_once_toward_the_minute(tmp_path, rendition):
    # The same 40 seconds fetched three times is still 40 seconds: no download.
    forty_seconds = MINUTE_BYTES * 2 // 3
    lines = [cf_line(T0 + timedelta(minutes=i), first=0, last=forty_seconds) for i in range(3)]

    ingest(tmp_path, lines)

    assert downloads(rendition) == 0


def test_ranges_reaching_one_minute_together_count(tmp_path, rendition):
    half = MINUTE_BYTES // 2
    lines = [
        cf_line(T0, first=0, last=half - 1),
        cf_line(T0 + timedelta(minutes=5), first=half, last=MINUTE_BYTES - 1),
    ]

    ingest(tmp_path, lines)

    assert downloads(rendition) == 1


def test_an_aborted_transfer_counts_the_bytes_sent_not_the_range_asked(tmp_path, rendition):
    # Asked for everything, sent 1,000 bytes before the app went away.
    ingest(tmp_path, [cf_line(T0, status=200, first=None, served=1000 - 350)])

    assert downloads(rendition) == 0


def test_a_file_shorter_than_a_minute_counts_when_fetched_whole(tmp_path, rendition):
    rendition.size_bytes = 20_000
    rendition.save()

    ingest(tmp_path, [cf_line(T0, first=0, last=19_999)])

    assert downloads(rendition) == 1


def test_a_short_file_fetched_whole_after_a_range_probe_counts(tmp_path, rendition):
    # bytes=0-1 (ignored, as every probe) then bytes=2- : the whole 30-second file.
    rendition.size_bytes = 30_000
    rendition.save()

    ingest(tmp_path, [cf_line(T0, first=0, last=1), cf_line(T0, first=2, last=29_999)])

    assert downloads(rendition) == 1


def test_a_short_file_fetched_all_but_its_end_does_not_count(tmp_path, rendition):
    rendition.size_bytes = 30_000
    rendition.save()

    ingest(tmp_path, [cf_line(T0, first=0, last=29_000)])

    assert downloads(rendition) == 0


def test_only_get_200_206_counts(tmp_path, rendition):
    lines = [
        cf_line(T0, method="HEAD", agent=OVERCAST),
        cf_line(T0, status=304, agent=SPOTIFY),
        cf_line(T0, status=403, agent=POCKETCASTS),
    ]

    result = ingest(tmp_path, lines)

    assert result.ignored == {"method": 1, "status": 2}
    assert downloads(rendition) == 0


def test_malformed_lines_are_counted_as_skipped_and_the_rest_counts(tmp_path, rendition):
    good = cf_line(T0)
    lines = [
        "garbage",
        good.replace("206", "two-oh-six", 1),
        "\t".join(good.split("\t")[:10]),
        good.replace("2026-11-30", "2026-13-45", 1),
        "x" * 100_000,
        good,
    ]

    result = ingest(tmp_path, lines)

    assert result.skipped == 5
    assert result.events == 1
    assert downloads(rendition) == 1
    assert ProcessedLogFile.objects.get().skipped == 5


def test_a_file_that_is_no_log_is_refused_and_the_real_one_counts_later(tmp_path, rendition):
    # An S3 error document saved under the log's name, then the real file.
    path = tmp_path / "E2.2026-11-30-09.a1b2.gz"
    path.write_bytes(b'<?xml version="1.0"?>\n<Error><Code>AccessDenied</Code></Error>\n')

    [refused] = ingest_log_sources([str(path)], now=T0)

    assert "not a CloudFront log (none of its 2 lines could be read)" in str(refused)
    assert not ProcessedLogFile.objects.exists()
    write_log(path, [cf_line(T0)])
    [counted] = ingest_log_sources([str(path)], now=T0)
    assert counted.events == 1


def test_the_same_log_file_processed_twice_counts_once(tmp_path, rendition):
    path = write_log(tmp_path / "E2EXAMPLE.2026-11-30-09.feedbeef.gz", [cf_line(T0)])

    first = ingest_log_sources([str(path)], now=T0)
    again = ingest_log_sources([str(path)], now=T0)
    aggregate_downloads(now=T0)

    assert first[0].events == 1 and not first[0].already
    assert again[0].already
    assert DownloadEvent.objects.count() == 1
    assert downloads(rendition) == 1


def test_aggregating_twice_counts_nothing_more(tmp_path, rendition):
    ingest(tmp_path, [cf_line(T0)])

    again = aggregate_downloads(now=T0 + timedelta(days=1))

    assert again == {"events": 0, "downloads": 0}
    assert downloads(rendition) == 1


def test_events_aggregated_in_separate_runs_still_merge(tmp_path, rendition):
    half = MINUTE_BYTES // 2
    ingest(tmp_path, [cf_line(T0, first=0, last=half - 1)], name="a.gz")
    assert downloads(rendition) == 0

    ingest(tmp_path, [cf_line(T0 + timedelta(hours=2), first=half, last=SIZE - 1)], name="b.gz")

    assert downloads(rendition) == 1


def test_a_plain_text_log_is_read_too(tmp_path, rendition):
    ingest(tmp_path, [cf_line(T0)], name="plain.log", compress=False)

    assert downloads(rendition) == 1


def test_a_truncated_gzip_file_records_nothing_and_can_be_retried(tmp_path, rendition):
    path = write_log(tmp_path / "cut.gz", [cf_line(T0 + timedelta(seconds=i)) for i in range(500)])
    whole = path.read_bytes()
    path.write_bytes(whole[: len(whole) // 2])

    [failed] = ingest_log_sources([str(path)], now=T0)

    assert "cut.gz" in str(failed)
    assert DownloadEvent.objects.count() == 0
    assert not ProcessedLogFile.objects.exists()
    path.write_bytes(whole)
    [retried] = ingest_log_sources([str(path)], now=T0)
    assert retried.events == 500


def test_a_corrupt_gzip_file_is_a_clear_error_and_the_run_goes_on(tmp_path, rendition):
    bad = write_log(tmp_path / "bad.gz", [cf_line(T0)])
    data = bytearray(bad.read_bytes())
    data[10] = 0b111  # the first deflate block: final, of the reserved type 3
    bad.write_bytes(bytes(data))
    good = write_log(tmp_path / "good.gz", [cf_line(T0 + timedelta(hours=1))])

    failed, result = ingest_log_sources([str(bad), str(good)], now=T0)

    assert "bad.gz" in str(failed) and "invalid block type" in str(failed)
    assert result.events == 1
    assert list(ProcessedLogFile.objects.values_list("name", flat=True)) == ["good.gz"]


def test_cloudfront_fixture_file_parses_with_its_header_and_encoded_agents(tmp_path, rendition):
    """A log file as CloudFront writes it (gzip, #Version/#Fields, %-encoded agents)."""
    path = tmp_path / "E2EXAMPLE.2026-11-30-09.0a1b2c3d.gz"
    shutil.copy(FIXTURES / "E2EXAMPLE.2026-11-30-09.0a1b2c3d.gz", path)
    assert gzip.decompress(path.read_bytes()).startswith(b"#Version: 1.0\n#Fields: date time")

    [result] = ingest_log_sources([str(path)], now=T0)
    aggregate_downloads(now=T0)

    # The fixture's README (fixtures/README.md) gives its known answer.
    assert result.lines == 9
    assert result.skipped == 1
    assert result.ignored == {"probe": 1, "bot": 1, "not audio": 1, "method": 1}
    assert downloads(rendition) == 3
    apps = dict(AppDownloadDay.objects.values_list("app", "downloads"))
    assert apps == {"Apple Podcasts": 1, "Overcast": 1, "Spotify": 1}
    devices = {(d, os) for d, os in DeviceDownloadDay.objects.values_list("device", "os")}
    assert ("Android Phone", "Android") in devices
    agents = set(DownloadEvent.objects.values_list("user_agent", flat=True))
    assert "Spotify/8.8.12 Android/33 (SM-G991B)" in agents  # decoded, spaces restored


def test_raw_addresses_are_never_stored(tmp_path, rendition):
    ingest(tmp_path, [cf_line(T0, ip="203.0.113.99")])

    for row in DownloadEvent.objects.values():
        assert "203.0.113.99" not in " ".join(str(v) for v in row.values())


@pytest.mark.parametrize("agent", [APPLE, OVERCAST])
def test_the_same_listener_gets_a_different_hash_on_another_day(tmp_path, rendition, agent):
    ingest(tmp_path, [cf_line(T0, agent=agent), cf_line(T0 + timedelta(days=3), agent=agent)])

    first, later = DownloadEvent.objects.order_by("at").values_list("listener", flat=True)
    assert first != later
