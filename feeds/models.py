"""What the feeds app remembers: the last good rendering of each feed and every publication.

``FeedState`` (one row per podcast) is the source of truth the public feed view
serves from: the bytes (plain and gzip) of the last rendering that was written
to the feeds storage, its content hash (the strong ETag) and ``built_at`` (the
``lastBuildDate`` and ``Last-Modified``). A failed render or upload never
touches it, so listeners keep getting the last good feed. It also carries the
per-podcast "publish requested" marker that debounces bursts of changes.

Its changes are conditional UPDATEs through named methods (the marker, the
publish lease, the stored rendering, the last failure), in the same
compare-and-swap idiom as the episode lifecycle.

It also holds the publish gate's verdict (:mod:`feeds.gate`): the findings of
the last check, and ``blocked_at`` while errors keep the last good feed in place.

``FeedPublication`` is the history shown in the admin: one row per attempt
that wrote, failed to write, or was blocked from writing the feed.
"""

from __future__ import annotations

import gzip
from datetime import datetime, timedelta
from typing import TYPE_CHECKING

from django.db import models
from django.db.models import F, Q

from episodes.models import Podcast
from feeds.signals import feed_publish_planned, feed_publish_requested

if TYPE_CHECKING:
    from feeds.rss import RenderedFeed


def gzip_body(body: bytes) -> bytes:
    """The gzip bytes served to apps that accept them; the same feed always gives the same bytes."""
    return gzip.compress(body, compresslevel=9, mtime=0)


class FeedStateQuerySet(models.QuerySet):
    def request_publish(self, podcast_id: int, *, now: datetime) -> bool:
        """Set ``podcast_id``'s "publish requested" marker unless it is set; ``True`` if it was.

        The winner (the first change of a burst) sends
        :data:`~feeds.signals.feed_publish_requested`; later calls find the
        marker set and do nothing until the publish clears it.
        """
        self.get_or_create(podcast_id=podcast_id)
        won = (
            self.filter(podcast_id=podcast_id, publish_requested_at__isnull=True).update(
                publish_requested_at=now
            )
            == 1
        )
        if won:
            feed_publish_requested.send(sender=FeedState, podcast_id=podcast_id)
        return won

    def clear_stale_requests(self, *, before: datetime) -> list[int]:
        """Clear markers set before ``before`` (their task was lost); returns those podcast ids."""
        stale = self.filter(publish_requested_at__lt=before)
        podcast_ids = list(stale.values_list("podcast_id", flat=True))
        stale.update(publish_requested_at=None)
        return podcast_ids

    def failed_quietly(self, *, since: datetime) -> FeedStateQuerySet:
        """Feeds whose last publish failed (or never reached storage) and rest since ``since``.

        Nothing is queued for them and no failure is newer than ``since``: their
        own retries have ended.
        """
        return self.filter(
            ~Q(content_hash=F("published_hash")) | ~Q(last_error=""),
            publish_requested_at__isnull=True,
        ).exclude(last_error_at__gte=since)


class FeedState(models.Model):
    podcast = models.OneToOneField(Podcast, on_delete=models.CASCADE, related_name="feed_state")
    content_hash = models.CharField(max_length=64, blank=True, help_text="SHA-256 of body.")
    body = models.BinaryField(default=b"", editable=False)
    body_gzip = models.BinaryField(default=b"", editable=False)
    item_count = models.PositiveIntegerField(default=0)
    built_at = models.DateTimeField(
        null=True, blank=True, help_text="When the content last changed (lastBuildDate)."
    )
    rendered_at = models.DateTimeField(
        null=True,
        blank=True,
        help_text="The moment the last successful render looked at: episodes scheduled "
        "up to it are in the feed.",
    )
    published_hash = models.CharField(
        max_length=64, blank=True, help_text="Hash of the feed last written to the feeds storage."
    )
    publish_requested_at = models.DateTimeField(
        null=True, blank=True, help_text="Set while a debounced publish is queued."
    )
    publishing_until = models.DateTimeField(
        null=True,
        blank=True,
        help_text="Lease of the publish running now: one publish per feed at a time.",
    )
    last_error = models.TextField(blank=True)
    last_error_at = models.DateTimeField(null=True, blank=True)
    findings = models.JSONField(
        default=list,
        blank=True,
        help_text="The publish gate's findings on the last rendering it checked: "
        "severity, message, how to fix it.",
    )
    checked_at = models.DateTimeField(
        null=True, blank=True, help_text="When the publish gate last checked this feed."
    )
    blocked_at = models.DateTimeField(
        null=True,
        blank=True,
        help_text="Set while the gate's errors keep the last good feed in place.",
    )

    objects = FeedStateQuerySet.as_manager()

    def __str__(self) -> str:
        return f"feed of {self.podcast.slug}"

    def _write_if(self, condition: Q, **changes) -> bool:
        """One UPDATE of this row, only if it still matches ``condition``; ``True`` if it did."""
        won = FeedState.objects.filter(condition, pk=self.pk).update(**changes) == 1
        if won:
            for name, value in changes.items():
                setattr(self, name, value)
        return won

    def take_lease(self, now: datetime, duration: timedelta) -> bool:
        """Become the one publish of this feed until ``now + duration``; ``False`` if leased.

        A lease past its end (its publisher crashed) can be taken.
        """
        return self._write_if(
            Q(publishing_until__isnull=True) | Q(publishing_until__lt=now),
            publishing_until=now + duration,
        )

    def release(self) -> bool:
        """End the lease this copy took; ``False`` if another publish holds the feed now."""
        return self._write_if(Q(publishing_until=self.publishing_until), publishing_until=None)

    def clear_request(self) -> bool:
        """Clear the "publish requested" marker: changes from now on request a new publish."""
        return self._write_if(Q(), publish_requested_at=None)

    def store_rendering(
        self,
        rendered: RenderedFeed,
        *,
        now: datetime,
        published: bool = False,
        clear_error: bool = False,
    ) -> bool:
        """Make ``rendered`` (rendered at ``now``) what the public feed view serves.

        ``published``: it was also written to the feeds storage. ``clear_error``:
        the publish succeeded, so the last failure is over. ``False`` if the row
        is gone.
        """
        changes: dict = {
            "content_hash": rendered.content_hash,
            "body": rendered.body,
            "body_gzip": gzip_body(rendered.body),
            "item_count": rendered.item_count,
            "built_at": rendered.built_at,
            "rendered_at": now,
        }
        if published:
            changes["published_hash"] = rendered.content_hash
        if clear_error:
            changes["last_error"] = ""
        return self._write_if(Q(), **changes)

    def record_failure(self, message: str, *, now: datetime) -> bool:
        """Note that a publish failed with ``message``; the stored rendering stays."""
        return self._write_if(Q(), last_error=message, last_error_at=now)

    def record_check(self, findings: list[dict], *, now: datetime, blocked: bool) -> bool:
        """Store the gate's ``findings``; ``blocked``: its errors kept the last good feed.

        A feed blocked before stays blocked since its first blocked check.
        """
        changes: dict = {"findings": findings, "checked_at": now}
        changes["blocked_at"] = (self.blocked_at or now) if blocked else None
        return self._write_if(Q(), **changes)


class FeedPublication(models.Model):
    class Status(models.TextChoices):
        PUBLISHED = "published", "Published"
        FAILED = "failed", "Failed"
        BLOCKED = "blocked", "Blocked by the publish gate"

    podcast = models.ForeignKey(Podcast, on_delete=models.CASCADE, related_name="publications")
    created_at = models.DateTimeField()
    status = models.CharField(max_length=10, choices=Status.choices)
    content_hash = models.CharField(max_length=64)
    item_count = models.PositiveIntegerField(default=0)
    size_bytes = models.PositiveIntegerField(default=0)
    storage_key = models.CharField(max_length=300)
    invalidation_id = models.CharField(max_length=100, blank=True)
    error = models.TextField(blank=True)
    note = models.TextField(
        blank=True, help_text="E.g. who published despite the gate's errors, and which."
    )

    class Meta:
        indexes = [models.Index(fields=["podcast", "-created_at"], name="feedpub_podcast_idx")]

    def __str__(self) -> str:
        return f"{self.podcast.slug} {self.status} {self.created_at:%Y-%m-%d %H:%M:%S}"


class PlannedPublishQuerySet(models.QuerySet):
    def plan(self, podcast_id: int, publish_at: datetime) -> bool:
        """Plan one publish of ``podcast_id``'s feed at ``publish_at``; ``True`` if it is new.

        The first plan of a (show, time) pair sends
        :data:`~feeds.signals.feed_publish_planned`, whose receiver queues the
        task with that ``eta`` after commit; a second plan of the same pair
        (an edit that kept the time, the sweep) does nothing.
        """
        _plan, created = self.get_or_create(podcast_id=podcast_id, publish_at=publish_at)
        if created:
            feed_publish_planned.send(
                sender=PlannedPublish, podcast_id=podcast_id, publish_at=publish_at
            )
        return created

    def forget(self, podcast_id: int, publish_at: datetime) -> None:
        """Drop a plan whose task could not be queued, so the sweep plans it again."""
        self.filter(podcast_id=podcast_id, publish_at=publish_at).delete()


class PlannedPublish(models.Model):
    """A publish queued with a Celery ``eta`` at a scheduled episode's ``publish_at``."""

    podcast = models.ForeignKey(Podcast, on_delete=models.CASCADE, related_name="planned_publishes")
    publish_at = models.DateTimeField()

    objects = PlannedPublishQuerySet.as_manager()

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["podcast", "publish_at"], name="planned_publish_once")
        ]

    def __str__(self) -> str:
        return f"{self.podcast.slug} at {self.publish_at:%Y-%m-%d %H:%M:%S}"


# Download analytics keeps its models beside its code; importing them here
# registers them with the feeds app.
from feeds.analytics.models import *  # noqa: E402, F403
