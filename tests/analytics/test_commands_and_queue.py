"""ingest_cdn_logs, consume_cdn_logs (S3 → SQS, moto) and downloads, as an operator runs them."""

from __future__ import annotations

import csv
import gzip
import io
import json
from datetime import timedelta

import boto3
import pytest
from django.core.management import CommandError, call_command

from feeds.analytics.models import DownloadEvent, EpisodeDownloadDay, ProcessedLogFile
from feeds.tasks import consume_cdn_logs
from tests.analytics.conftest import HEADER, OVERCAST, SPOTIFY, T0, cf_line, write_log


def run(*args) -> str:
    out = io.StringIO()
    call_command(*args, stdout=out, stderr=io.StringIO())
    return out.getvalue()


def downloads() -> int:
    return sum(EpisodeDownloadDay.objects.values_list("downloads", flat=True))


def test_ingest_cdn_logs_counts_files_and_says_what_it_did(tmp_path, rendition):
    a = write_log(tmp_path / "E2.2026-11-30-09.aaaa.gz", [cf_line(T0, agent=OVERCAST)])
    b = write_log(tmp_path / "E2.2026-11-30-10.bbbb.gz", [cf_line(T0, agent=SPOTIFY), "junk"])

    out = run("ingest_cdn_logs", str(a), str(b))

    assert "E2.2026-11-30-09.aaaa.gz: 1 lines, 1 events, 0 ignored, 0 skipped" in out
    assert "E2.2026-11-30-10.bbbb.gz: 2 lines, 1 events, 0 ignored, 1 skipped" in out
    assert "Downloads counted: 2." in out
    assert downloads() == 2


def test_ingest_cdn_logs_twice_counts_once(tmp_path, rendition):
    log = write_log(tmp_path / "E2.2026-11-30-09.aaaa.gz", [cf_line(T0)])
    run("ingest_cdn_logs", str(log))

    out = run("ingest_cdn_logs", str(log))

    assert "already processed, nothing counted" in out
    assert downloads() == 1


def test_an_unreadable_file_fails_the_run_but_not_the_others(tmp_path, rendition):
    good = write_log(tmp_path / "good.gz", [cf_line(T0)])
    broken = tmp_path / "broken.gz"
    broken.write_bytes(b"\x1f\x8b\x08\x00garbage")

    with pytest.raises(CommandError) as failure:
        run("ingest_cdn_logs", str(broken), str(tmp_path / "missing.gz"), str(good))

    assert "2 source(s) could not be read" in str(failure.value)
    assert "missing.gz: no such file" in str(failure.value)
    assert downloads() == 1
    assert list(ProcessedLogFile.objects.values_list("name", flat=True)) == ["good.gz"]


@pytest.fixture
def log_bucket(settings, aws_credentials):
    """In-process moto: a log bucket notifying an SQS queue of each new log file."""
    from moto import mock_aws

    with mock_aws():
        s3 = boto3.client("s3", region_name="us-east-1")
        sqs = boto3.client("sqs", region_name="us-east-1")
        s3.create_bucket(Bucket="cdn-logs")
        queue = sqs.create_queue(QueueName="cdn-logs", Attributes={"VisibilityTimeout": "0"})[
            "QueueUrl"
        ]
        arn = sqs.get_queue_attributes(QueueUrl=queue, AttributeNames=["QueueArn"])
        s3.put_bucket_notification_configuration(
            Bucket="cdn-logs",
            NotificationConfiguration={
                "QueueConfigurations": [
                    {
                        "QueueArn": arn["Attributes"]["QueueArn"],
                        "Events": ["s3:ObjectCreated:*"],
                        "Filter": {"Key": {"FilterRules": [{"Name": "prefix", "Value": "cdn/"}]}},
                    }
                ]
            },
        )
        # Drain moto's s3:TestEvent so each test starts from an empty queue.
        sqs.purge_queue(QueueUrl=queue)
        settings.CDN_LOGS_QUEUE_URL = queue
        yield {"s3": s3, "sqs": sqs, "queue": queue}


def put_log(log_bucket, key: str, lines: list[str]) -> None:
    body = gzip.compress((HEADER + "".join(f"{line}\n" for line in lines)).encode())
    log_bucket["s3"].put_object(Bucket="cdn-logs", Key=key, Body=body)


def test_ingest_cdn_logs_reads_an_s3_prefix(log_bucket, rendition):
    put_log(log_bucket, "cdn/E2.2026-11-30-09.aaaa.gz", [cf_line(T0, agent=OVERCAST)])
    put_log(log_bucket, "cdn/E2.2026-11-30-10.bbbb.gz", [cf_line(T0, agent=SPOTIFY)])
    put_log(log_bucket, "other/E2.2026-11-30-10.cccc.gz", [cf_line(T0, ip="192.0.2.200")])

    out = run("ingest_cdn_logs", "s3://cdn-logs/cdn/")

    assert "s3://cdn-logs/cdn/E2.2026-11-30-09.aaaa.gz: 1 lines, 1 events" in out
    assert downloads() == 2


def test_a_log_file_read_from_s3_and_then_as_a_local_copy_counts_once(
    log_bucket, rendition, tmp_path
):
    local = write_log(tmp_path / "E2.2026-11-30-09.aaaa.gz", [cf_line(T0)])
    log_bucket["s3"].put_object(
        Bucket="cdn-logs", Key="cdn/E2.2026-11-30-09.aaaa.gz", Body=local.read_bytes()
    )

    run("ingest_cdn_logs", "s3://cdn-logs/cdn/")
    again = run("ingest_cdn_logs", str(local))

    assert "already processed" in again, again
    assert downloads() == 1
    assert list(ProcessedLogFile.objects.values_list("name", flat=True)) == [local.name]


def test_an_empty_s3_prefix_is_an_error(log_bucket, rendition):
    with pytest.raises(CommandError, match="no log files there"):
        run("ingest_cdn_logs", "s3://cdn-logs/nothing/")


def test_log_files_announced_on_the_queue_are_counted_once(log_bucket, rendition):
    put_log(log_bucket, "cdn/E2.2026-11-30-09.aaaa.gz", [cf_line(T0, agent=OVERCAST)])
    put_log(log_bucket, "cdn/E2.2026-11-30-09.aaaa.gz", [cf_line(T0, agent=OVERCAST)])  # again

    counts = consume_cdn_logs()

    assert counts["files"] == 1 and counts["repeated"] == 1 and counts["kept"] == 0
    assert DownloadEvent.objects.count() == 1


def test_garbage_messages_are_deleted_and_unreadable_files_kept(log_bucket, rendition):
    sqs, queue = log_bucket["sqs"], log_bucket["queue"]
    sqs.send_message(QueueUrl=queue, MessageBody="not json")
    missing = {
        "Records": [
            {
                "eventSource": "aws:s3",
                "eventName": "ObjectCreated:Put",
                "s3": {"bucket": {"name": "cdn-logs"}, "object": {"key": "cdn/gone.gz"}},
            }
        ]
    }
    sqs.send_message(QueueUrl=queue, MessageBody=json.dumps(missing))

    counts = consume_cdn_logs()

    assert counts["ignored"] == 1
    assert counts["kept"] >= 1  # redelivered at once (visibility 0): kept each time
    assert not DownloadEvent.objects.exists()


def test_consume_cdn_logs_command_drains_the_queue(log_bucket, rendition):
    put_log(log_bucket, "cdn/E2.2026-11-30-09.aaaa.gz", [cf_line(T0), "junk"])

    out = run("consume_cdn_logs", "--once", "--wait-seconds", "0")

    assert "Log files ingested: 1 (1 events, 1 malformed lines skipped)" in out


def test_consume_cdn_logs_needs_a_queue(settings):
    settings.CDN_LOGS_QUEUE_URL = ""
    with pytest.raises(CommandError, match="CDN_LOGS_QUEUE_URL is not set"):
        run("consume_cdn_logs", "--once")


def test_without_a_queue_the_task_does_nothing(settings):
    settings.CDN_LOGS_QUEUE_URL = ""
    assert consume_cdn_logs() is None


@pytest.fixture
def counted(rendition, make_episode, tmp_path):
    second = make_episode(
        rendition.episode.podcast, title="=Second", slug="second", publish_at=T0 + timedelta(days=1)
    )
    EpisodeDownloadDay.objects.create(episode=rendition.episode, day=T0.date(), downloads=5)
    EpisodeDownloadDay.objects.create(
        episode=rendition.episode, day=(T0 + timedelta(days=10)).date(), downloads=3
    )
    EpisodeDownloadDay.objects.create(
        episode=second, day=(T0 + timedelta(days=40)).date(), downloads=2
    )
    return rendition.episode.podcast


def test_downloads_prints_per_episode_totals(counted):
    out = run("downloads", counted.slug)

    lines = out.splitlines()
    assert lines[0].split() == ["Episode", "Published", "Downloads", "7", "days", "30", "days"]
    assert lines[1].split() == ["=Second", "2026-12-01", "2", "0", "0"]
    assert lines[2].split() == ["Pilot", "2026-11-30", "8", "5", "8"]
    assert lines[-1] == "Total: 10 downloads."


def test_downloads_since_and_csv(counted):
    out = run("downloads", counted.slug, "--since", "2026-12-05", "--csv")

    rows = list(csv.reader(io.StringIO(out)))
    assert rows[0] == ["episode", "slug", "published", "downloads", "first_7_days", "first_30_days"]
    # A title starting with "=" cannot run as a spreadsheet formula.
    assert rows[1] == ["'=Second", "second", "2026-12-01", "2", "0", "0"]
    assert rows[2] == ["Pilot", "pilot", "2026-11-30", "3", "5", "8"]


def test_downloads_refuses_an_unknown_show_or_date(counted):
    with pytest.raises(CommandError, match="No show with slug: nope"):
        run("downloads", "nope")
    with pytest.raises(CommandError, match="use a date such as"):
        run("downloads", counted.slug, "--since", "yesterday")
