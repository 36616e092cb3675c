"""Celery tasks of the feeds app: thin wrappers around :mod:`feeds.publishing`.

The policy is :class:`podcasthost.tasks.PodcastTask`'s; the sweep is scheduled
in ``CELERY_BEAT_SCHEDULE`` (:mod:`podcasthost.settings`).
"""

from __future__ import annotations

from django.conf import settings
from django.utils import timezone

from feeds import pings, publishing
from feeds.analytics import log_queue
from feeds.analytics import pipeline as analytics_pipeline
from podcasthost.tasks import task


@task(autoretry_for=(publishing.PublishError,), retry_backoff_max=300)
def publish_feed_task(*, podcast_id: int) -> None:
    """Publish one podcast's feed if it changed. Idempotent; retried on failure with backoff."""
    publishing.publish_feed(podcast_id)


@task()
def publish_due_feeds() -> None:
    """Periodic sweep: queue publishes for scheduled episodes now due and lost/failed ones."""
    publishing.publish_due()


@task(autoretry_for=(pings.PingError,), retry_backoff_max=300)
def ping_websub(*, podcast_id: int) -> str:
    """Tell the WebSub hub the feed changed. Idempotent; retried with backoff; off when unset."""
    return pings.ping_websub(podcast_id)


@task(autoretry_for=(pings.PingError,), retry_backoff_max=300)
def ping_podping(*, podcast_id: int, reason: str = "update", medium: str = "podcast") -> str:
    """Send a podping for the feed. Idempotent; retried with backoff; off when unset."""
    return pings.ping_podping(podcast_id, reason=reason, medium=medium)


@task(expires=60)
def consume_cdn_logs() -> dict[str, int] | None:
    """Periodic: ingest the log files ``CDN_LOGS_QUEUE_URL`` announces. A no-op when unset."""
    queue_url = settings.CDN_LOGS_QUEUE_URL
    if not queue_url:
        return None
    return log_queue.consume_queue(queue_url)


@task(expires=120)
def aggregate_downloads() -> dict[str, int] | None:
    """Periodic: count pending download events, then delete what retention no longer keeps.

    Idempotent; skipped (``None``) while another aggregation runs.
    """
    return analytics_pipeline.aggregate_and_prune(now=timezone.now())
