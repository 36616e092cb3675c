"""Celery tasks of the feeds app: thin wrappers around :mod:`feeds.publishing`."""

from __future__ import annotations

from feeds import publishing
from podcasthost.celery import app


@app.task(
    acks_late=True,
    autoretry_for=(publishing.PublishError,),
    retry_backoff=5,
    retry_backoff_max=300,
    retry_jitter=True,
    max_retries=8,
)
def publish_feed_task(*, podcast_id: int, **kwargs) -> None:
    """Publish one podcast's feed if it changed. Idempotent; retried on failure with backoff."""
    publishing.publish_feed(podcast_id)


@app.task(acks_late=True)
def publish_due_feeds(**kwargs) -> None:
    """Periodic sweep: queue publishes for scheduled episodes now due and lost/failed ones."""
    publishing.publish_due()


@app.on_after_finalize.connect
def register_periodic_tasks(sender, **kwargs) -> None:
    # Every 30 s, so a scheduled episode appears within a minute of its publish_at.
    sender.add_periodic_task(30.0, publish_due_feeds.s(), name="feeds: publish due feeds")
