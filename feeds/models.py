"""What the feeds app remembers: the last good rendering of each feed and every publication.

``FeedState`` (one row per podcast) is the source of truth the public feed view
serves from: the bytes (plain and gzip) of the last rendering that was written
to the feeds storage, its content hash (the strong ETag) and ``built_at`` (the
``lastBuildDate`` and ``Last-Modified``). A failed render or upload never
touches it, so listeners keep getting the last good feed. It also carries the
per-podcast "publish requested" marker that debounces bursts of changes.

``FeedPublication`` is the history shown in the admin: one row per attempt
that wrote (or failed to write) the feed.
"""

from __future__ import annotations

from django.db import models

from episodes.models import Podcast


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

    def __str__(self) -> str:
        return f"feed of {self.podcast.slug}"


class FeedPublication(models.Model):
    class Status(models.TextChoices):
        PUBLISHED = "published", "Published"
        FAILED = "failed", "Failed"

    podcast = models.ForeignKey(Podcast, on_delete=models.CASCADE, related_name="publications")
    created_at = models.DateTimeField()
    status = models.CharField(max_length=10, choices=Status.choices)
    content_hash = models.CharField(max_length=64)
    item_count = models.PositiveIntegerField(default=0)
    size_bytes = models.PositiveIntegerField(default=0)
    storage_key = models.CharField(max_length=300)
    invalidation_id = models.CharField(max_length=100, blank=True)
    error = models.TextField(blank=True)

    class Meta:
        indexes = [models.Index(fields=["podcast", "-created_at"], name="feedpub_podcast_idx")]

    def __str__(self) -> str:
        return f"{self.podcast.slug} {self.status} {self.created_at:%Y-%m-%d %H:%M:%S}"
