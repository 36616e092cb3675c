"""Publishing to the feeds bucket behind CloudFront, against moto (in-process AWS)."""

from __future__ import annotations

import gzip
from contextlib import contextmanager
from datetime import timedelta

import boto3
import pytest
from botocore.stub import Stubber
from celery.exceptions import Retry
from django.conf import settings
from django.core.files.base import ContentFile
from django.core.files.storage import storages
from django.utils import timezone
from moto import mock_aws

from episodes.models import Episode, Rendition
from feeds.models import FeedPublication, FeedState
from feeds.publishing import PublishBusy, PublishError, publish_due, publish_feed
from feeds.rss import build_feed
from feeds.tasks import publish_feed_task
from tests.feeds.conftest import parse_both

BUCKET = "test-feeds"


@pytest.fixture
def aws(settings, aws_credentials):
    """moto's S3 and CloudFront; the ``feeds`` storage is an S3Storage on a moto bucket."""
    with mock_aws():
        s3 = boto3.client("s3", region_name="us-east-1")
        s3.create_bucket(Bucket=BUCKET)
        cloudfront = boto3.client("cloudfront", region_name="us-east-1")
        distribution = cloudfront.create_distribution(
            DistributionConfig={
                "CallerReference": "test",
                "Comment": "feeds",
                "Enabled": True,
                "Origins": {
                    "Quantity": 1,
                    "Items": [
                        {
                            "Id": "feeds",
                            "DomainName": f"{BUCKET}.s3.amazonaws.com",
                            "S3OriginConfig": {"OriginAccessIdentity": ""},
                        }
                    ],
                },
                "DefaultCacheBehavior": {
                    "TargetOriginId": "feeds",
                    "ViewerProtocolPolicy": "redirect-to-https",
                    "MinTTL": 0,
                    "ForwardedValues": {"QueryString": False, "Cookies": {"Forward": "none"}},
                    "TrustedSigners": {"Enabled": False, "Quantity": 0},
                },
            }
        )["Distribution"]
        stores = dict(settings.STORAGES)
        stores["feeds"] = {
            "BACKEND": "podcasthost.storage.s3.S3Storage",
            "OPTIONS": {
                "bucket_name": BUCKET,
                "region_name": "us-east-1",
                "querystring_auth": False,
                "file_overwrite": True,
                "default_acl": None,
                # settings.AWS_S3_ENDPOINT_URL is "" when unset, which django-storages
                # reads as its default and boto3 refuses: say "none" explicitly.
                "endpoint_url": None,
                # One attempt per call: our task does the retrying, fast.
                "client_config": __import__("botocore.config").config.Config(
                    retries={"max_attempts": 1, "mode": "standard"}
                ),
            },
        }
        settings.STORAGES = stores
        settings.CLOUDFRONT_DISTRIBUTION_ID = distribution["Id"]
        yield {"s3": s3, "cloudfront": cloudfront, "distribution_id": distribution["Id"]}


@pytest.fixture
def show(make_podcast, make_published, django_capture_on_commit_callbacks):
    podcast = make_podcast()
    make_published(podcast, title="First")
    # Creating the rows queued a publish; start every test from a clean marker.
    FeedState.objects.filter(podcast=podcast).update(publish_requested_at=None)
    return podcast


def invalidated_paths(aws) -> list[list[str]]:
    cf, dist = aws["cloudfront"], aws["distribution_id"]
    listing = cf.list_invalidations(DistributionId=dist)["InvalidationList"]
    paths = []
    for summary in listing.get("Items", []):
        batch = cf.get_invalidation(DistributionId=dist, Id=summary["Id"])["Invalidation"]
        paths.append(batch["InvalidationBatch"]["Paths"]["Items"])
    return paths


class PutCounter:
    """Counts the PutObject requests that reach S3 (a botocore event, not our code)."""

    def __init__(self):
        self.count = 0

    def __call__(self, **kwargs):
        self.count += 1


def s3_client():
    return storages["feeds"].connection.meta.client


def test_publish_writes_the_feed_with_type_and_cache_header_and_invalidates(aws, show, now):
    result = publish_feed(show.pk, now=now)
    obj = aws["s3"].get_object(Bucket=BUCKET, Key=f"{show.slug}/feed.xml")
    body = obj["Body"].read()
    assert body == build_feed(show, now=now).body
    assert obj["ContentType"] == "application/rss+xml; charset=utf-8"
    assert obj["CacheControl"] == "public, max-age=300"
    fp, pp = parse_both(body)
    assert [e.title for e in fp.entries] == ["First"]
    assert [e["title"] for e in pp["episodes"]] == ["First"]
    assert invalidated_paths(aws) == [[f"/{show.slug}/feed.xml"]]
    publication = FeedPublication.objects.get(podcast=show)
    assert publication.status == "published"
    assert publication.invalidation_id == result.invalidation_id != ""
    assert publication.item_count == 1
    assert publication.content_hash == result.content_hash


def test_unchanged_feed_is_not_uploaded_again(aws, show, now):
    publish_feed(show.pk, now=now)
    puts = PutCounter()
    s3_client().meta.events.register("before-call.s3.PutObject", puts)
    result = publish_feed(show.pk, now=now + timedelta(minutes=5))
    assert result.changed is False
    assert puts.count == 0
    assert len(invalidated_paths(aws)) == 1
    assert FeedPublication.objects.filter(podcast=show).count() == 1


@contextmanager
def s3_put_fails():
    """S3 answers 500 InternalError to the next PutObject (botocore's Stubber on the client)."""
    stubber = Stubber(s3_client())
    stubber.add_client_error(
        "put_object",
        service_error_code="InternalError",
        service_message="boom",
        http_status_code=500,
    )
    with stubber:
        yield
        stubber.assert_no_pending_responses()


def test_s3_failure_keeps_the_old_feed_and_is_retried(
    aws, show, now, client, django_capture_on_commit_callbacks, settings
):
    publish_feed(show.pk, now=now)
    key = f"{show.slug}/feed.xml"
    old_body = aws["s3"].get_object(Bucket=BUCKET, Key=key)["Body"].read()
    # Eagerly run, Celery raises Retry where a worker would schedule the next attempt.
    with (
        s3_put_fails(),
        pytest.raises(Retry) as retry,
        django_capture_on_commit_callbacks(execute=True),
    ):
        episode = show.episodes.get()
        episode.title = "Renamed"
        episode.save()
    assert isinstance(retry.value.exc, PublishError)

    assert aws["s3"].get_object(Bucket=BUCKET, Key=key)["Body"].read() == old_body
    failure = FeedPublication.objects.get(podcast=show, status="failed")
    assert "InternalError" in failure.error
    state = FeedState.objects.get(podcast=show)
    assert "InternalError" in state.last_error
    # Listeners still get the last good feed from the app.
    fp, _ = parse_both(client.get(f"/{show.slug}/feed.xml").content)
    assert [e.title for e in fp.entries] == ["First"]
    assert len(invalidated_paths(aws)) == 1

    # S3 recovers; the retry (as the worker would run it) publishes the change.
    publish_feed_task.apply(kwargs={"podcast_id": show.pk}, retries=1).get()
    fp, _ = parse_both(aws["s3"].get_object(Bucket=BUCKET, Key=key)["Body"].read())
    assert [e.title for e in fp.entries] == ["Renamed"]
    assert FeedState.objects.get(podcast=show).last_error == ""
    assert len(invalidated_paths(aws)) == 2


def test_failed_publish_is_picked_up_by_the_sweep(
    aws, show, now, django_capture_on_commit_callbacks
):
    publish_feed(show.pk, now=now)
    show.title = "Retitled"
    show.save()
    with s3_put_fails(), pytest.raises(PublishError):
        publish_feed(show.pk)
    # While the task's own retries may still run, the sweep leaves it to them...
    with django_capture_on_commit_callbacks(execute=True):
        assert publish_due() == []
    # ...once they are exhausted or lost, the sweep sees the error and publishes again.
    later = timezone.now() + timedelta(seconds=settings.FEED_STALE_REQUEST_SECONDS + 1)
    with django_capture_on_commit_callbacks(execute=True):
        assert publish_due(now=later) == [show.pk]
    body = aws["s3"].get_object(Bucket=BUCKET, Key=f"{show.slug}/feed.xml")["Body"].read()
    assert parse_both(body)[0].feed.title == "Retitled"


def test_a_burst_of_changes_publishes_once(aws, show, django_capture_on_commit_callbacks):
    with django_capture_on_commit_callbacks(execute=True) as callbacks:
        episode = show.episodes.get()
        for n in range(5):
            episode.title = f"Edit {n}"
            episode.save()
        show.title = "New show title"
        show.save()
    # One publish queued (the publish itself then queues the episode's announcement).
    queued = [c for c in callbacks if c.__qualname__.startswith("enqueue_publish")]
    assert len(queued) == 1
    assert FeedPublication.objects.filter(podcast=show).count() == 1
    fp, _ = parse_both(
        aws["s3"].get_object(Bucket=BUCKET, Key=f"{show.slug}/feed.xml")["Body"].read()
    )
    assert fp.feed.title == "New show title"
    assert [e.title for e in fp.entries] == ["Edit 4"]


def bucket_titles(aws, show) -> list[str]:
    body = aws["s3"].get_object(Bucket=BUCKET, Key=f"{show.slug}/feed.xml")["Body"].read()
    return [e.title for e in parse_both(body)[0].entries]


def test_episode_becoming_ready_is_published(
    aws, show, make_episode, now, django_capture_on_commit_callbacks
):
    publish_feed(show.pk, now=now)
    episode = make_episode(show, title="Fresh", publish_at=now - timedelta(minutes=1))
    FeedState.objects.filter(podcast=show).update(publish_requested_at=None)
    # A transcoder that bulk-creates its rows sends no post_save: the transition must publish.
    # The file is real: the publish gate fetches every new enclosure's headers.
    storages["media"].save("k/x.mp3", ContentFile(b"123456789"))
    Rendition.objects.bulk_create(
        [
            Rendition(
                episode=episode, preset="mp3", key="k/x.mp3", mime_type="audio/mpeg", size_bytes=9
            )
        ]
    )
    Episode.objects.filter(pk=episode.pk).update(status=Episode.Status.PROCESSING)
    episode.refresh_from_db()
    with django_capture_on_commit_callbacks(execute=True):
        assert episode.mark_ready()
    assert bucket_titles(aws, show) == ["Fresh", "First"]


def test_unpublish_and_delete_remove_the_episode(
    aws, show, make_published, now, django_capture_on_commit_callbacks
):
    with django_capture_on_commit_callbacks(execute=True):
        second = make_published(show, title="Second", publish_at=now - timedelta(minutes=5))
    assert bucket_titles(aws, show) == ["Second", "First"]
    with django_capture_on_commit_callbacks(execute=True):
        second.publish_at = None
        second.save()
    assert bucket_titles(aws, show) == ["First"]
    with django_capture_on_commit_callbacks(execute=True):
        show.episodes.get(title="First").delete()
    assert bucket_titles(aws, show) == []


def test_scheduled_episode_is_published_by_the_sweep(
    aws, show, make_published, now, django_capture_on_commit_callbacks
):
    import time_machine

    with django_capture_on_commit_callbacks(execute=True):
        make_published(show, title="Scheduled", publish_at=now + timedelta(seconds=30))
    assert bucket_titles(aws, show) == ["First"]
    with django_capture_on_commit_callbacks(execute=True):
        assert publish_due(now=now) == []
    with (
        time_machine.travel(now + timedelta(seconds=45), tick=False),
        django_capture_on_commit_callbacks(execute=True),
    ):
        assert publish_due() == [show.pk]
    assert bucket_titles(aws, show) == ["Scheduled", "First"]


def test_periodic_task_is_registered_with_beat():
    from podcasthost.celery import app

    app.loader.import_default_modules()
    app.finalize()
    names = {entry["task"] for entry in app.conf.beat_schedule.values()}
    assert "feeds.tasks.publish_due_feeds" in names


def test_one_publish_per_feed_at_a_time(aws, show, now):
    """A publish that finds another one running writes nothing and asks to be retried."""
    publish_feed(show.pk, now=now)
    first = aws["s3"].get_object(Bucket=BUCKET, Key=f"{show.slug}/feed.xml")["Body"].read()
    FeedState.objects.filter(podcast=show).update(publishing_until=now + timedelta(minutes=1))
    show.title = "Retitled"
    show.save()

    with pytest.raises(PublishBusy):
        publish_feed(show.pk, now=now)

    body = aws["s3"].get_object(Bucket=BUCKET, Key=f"{show.slug}/feed.xml")["Body"].read()
    assert body == first
    # The lease of a crashed publisher expires; then the feed is published.
    publish_feed(show.pk, now=now + timedelta(minutes=2))
    body = aws["s3"].get_object(Bucket=BUCKET, Key=f"{show.slug}/feed.xml")["Body"].read()
    assert parse_both(body)[0].feed.title == "Retitled"
    assert FeedState.objects.get(podcast=show).publishing_until is None


# --- FeedState: the marker, the lease, the rendering, the failure (conditional writes) ---


@pytest.fixture
def quiet_show(make_podcast):
    """A show whose FeedState exists with no publish requested yet."""
    podcast = make_podcast()
    FeedState.objects.filter(podcast=podcast).update(publish_requested_at=None)
    return podcast


def test_request_publish_sets_the_marker_once_and_queues_one_publish_after_commit(
    quiet_show, now, django_capture_on_commit_callbacks
):
    with django_capture_on_commit_callbacks() as callbacks:
        first = FeedState.objects.request_publish(quiet_show.pk, now=now)
        second = FeedState.objects.request_publish(quiet_show.pk, now=now + timedelta(seconds=1))

    assert (first, second) == (True, False)
    assert len(callbacks) == 1
    assert FeedState.objects.get(podcast=quiet_show).publish_requested_at == now


def test_request_publish_creates_the_state_of_a_show_that_has_none(
    quiet_show, now, django_capture_on_commit_callbacks
):
    FeedState.objects.filter(podcast=quiet_show).delete()
    with django_capture_on_commit_callbacks() as callbacks:
        assert FeedState.objects.request_publish(quiet_show.pk, now=now) is True
    assert len(callbacks) == 1
    assert FeedState.objects.get(podcast=quiet_show).publish_requested_at == now


def test_clear_request_lets_the_next_change_queue_a_new_publish(
    quiet_show, now, django_capture_on_commit_callbacks
):
    with django_capture_on_commit_callbacks() as callbacks:
        FeedState.objects.request_publish(quiet_show.pk, now=now)
        assert FeedState.objects.get(podcast=quiet_show).clear_request() is True
        assert FeedState.objects.request_publish(quiet_show.pk, now=now) is True
    assert len(callbacks) == 2


def test_clear_stale_requests_clears_only_markers_older_than_the_cutoff(make_podcast, now):
    stale, fresh, idle = make_podcast(), make_podcast(), make_podcast()
    FeedState.objects.filter(podcast=stale).update(publish_requested_at=now - timedelta(hours=1))
    FeedState.objects.filter(podcast=fresh).update(publish_requested_at=now)
    FeedState.objects.filter(podcast=idle).update(publish_requested_at=None)

    assert FeedState.objects.clear_stale_requests(before=now - timedelta(minutes=1)) == [stale.pk]

    markers = dict(FeedState.objects.values_list("podcast_id", "publish_requested_at"))
    assert markers == {stale.pk: None, fresh.pk: now, idle.pk: None}


def test_take_lease_has_one_holder_until_the_lease_ends(quiet_show, now):
    holder = FeedState.objects.get(podcast=quiet_show)
    other = FeedState.objects.get(podcast=quiet_show)

    assert holder.take_lease(now, timedelta(minutes=5)) is True
    assert other.take_lease(now + timedelta(minutes=4), timedelta(minutes=5)) is False
    # A lease past its end (its publisher crashed) can be taken.
    assert other.take_lease(now + timedelta(minutes=6), timedelta(minutes=5)) is True

    assert FeedState.objects.get(pk=holder.pk).publishing_until == now + timedelta(minutes=11)


def test_release_by_a_publisher_whose_lease_ran_out_keeps_the_new_holders_lease(quiet_show, now):
    late = FeedState.objects.get(podcast=quiet_show)
    assert late.take_lease(now, timedelta(minutes=5))
    current = FeedState.objects.get(podcast=quiet_show)
    assert current.take_lease(now + timedelta(minutes=6), timedelta(minutes=5))

    assert late.release() is False
    assert FeedState.objects.get(pk=late.pk).publishing_until == now + timedelta(minutes=11)
    assert current.release() is True
    assert FeedState.objects.get(pk=late.pk).publishing_until is None


def test_store_rendering_is_what_the_view_serves_and_published_marks_the_storage_copy(
    quiet_show, now, client
):
    state = FeedState.objects.get(podcast=quiet_show)
    state.record_failure("S3: boom", now=now)
    rendered = build_feed(quiet_show, now=now)

    assert state.store_rendering(rendered, now=now) is True
    stored = FeedState.objects.get(pk=state.pk)
    assert (stored.content_hash, bytes(stored.body)) == (rendered.content_hash, rendered.body)
    assert gzip.decompress(bytes(stored.body_gzip)) == rendered.body
    assert (stored.built_at, stored.rendered_at, stored.item_count) == (now, now, 0)
    assert (stored.published_hash, stored.last_error) == ("", "S3: boom")
    assert client.get(f"/{quiet_show.slug}/feed.xml").content == rendered.body

    assert state.store_rendering(rendered, now=now, published=True, clear_error=True)
    stored = FeedState.objects.get(pk=state.pk)
    assert (stored.published_hash, stored.last_error) == (rendered.content_hash, "")


def test_record_failure_keeps_the_stored_rendering(quiet_show, now):
    state = FeedState.objects.get(podcast=quiet_show)
    rendered = build_feed(quiet_show, now=now)
    state.store_rendering(rendered, now=now, published=True)

    assert state.record_failure("InternalError: boom", now=now) is True

    stored = FeedState.objects.get(pk=state.pk)
    assert (stored.last_error, stored.last_error_at) == ("InternalError: boom", now)
    assert bytes(stored.body) == rendered.body
    assert stored.published_hash == rendered.content_hash
