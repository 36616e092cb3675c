"""What download analytics stores, and for how long.

* :class:`DownloadEvent`: the media requests that passed the request rules
  (GET, 200/206, a rendition, not a bot, not a probe) of one listener for one
  rendition on one UTC day, as one ingest saw them: each request's time and
  byte range (:mod:`feeds.analytics.packed`). It holds the listener's salted
  hashes, never the address; it is deleted ``ANALYTICS_RAW_RETENTION_DAYS``
  after its first request, once aggregated.
* :class:`ListenerSalt`: the secret of one UTC day; deleted two days later,
  after which that day's hashes can no longer be linked to an address.
* :class:`ListeningWindow`: one listener's merged byte ranges of one rendition
  over 24 hours; deleted two days after it opened.
* :class:`ProcessedLogFile`: each CDN log file ingested, so a replay counts nothing.
* The aggregates, kept for good: :class:`EpisodeDownloadDay`,
  :class:`AppDownloadDay`, :class:`DeviceDownloadDay`.
"""

from __future__ import annotations

from datetime import datetime

from django.db import models

from episodes.models import Episode, Podcast, Rendition

__all__ = [
    "AggregationLease",
    "AppDownloadDay",
    "DeviceDownloadDay",
    "DownloadEvent",
    "EpisodeDownloadDay",
    "ListenerSalt",
    "ListeningWindow",
    "ProcessedLogFile",
]


class ListenerSalt(models.Model):
    day = models.DateField(unique=True)
    secret = models.CharField(max_length=64)

    def __str__(self) -> str:
        return f"salt of {self.day}"


class DownloadEvent(models.Model):
    class Source(models.TextChoices):
        MEDIA_VIEW = "media", "/media/ view"
        CLOUDFRONT = "cloudfront", "CloudFront log"

    at = models.DateTimeField()
    rendition = models.ForeignKey(Rendition, on_delete=models.CASCADE, related_name="+")
    # HMAC of address + user agent with the salt of the request's day, and with
    # the previous day's: a 24-hour window that spans midnight still matches.
    listener = models.CharField(max_length=32)
    listener_before = models.CharField(max_length=32)
    # Each request: (microseconds since the epoch, first byte, last byte), see
    # feeds.analytics.packed. One row per request would cost a million INSERTs
    # for a million log lines; the aggregation still sees every request.
    requests = models.BinaryField()
    request_count = models.PositiveIntegerField(default=1)
    user_agent = models.CharField(max_length=512)
    app = models.CharField(max_length=100)
    device = models.CharField(max_length=100)
    os = models.CharField(max_length=40)
    source = models.CharField(max_length=12, choices=Source.choices)
    aggregated = models.BooleanField(default=False)

    class Meta:
        # One index serves both the aggregation (pending, by time) and the pruning
        # (aggregated, older than retention); each more index slows every insert.
        indexes = [models.Index(fields=["aggregated", "at"], name="dlevent_pending_idx")]

    def __str__(self) -> str:
        return f"{self.rendition_id} {self.at:%Y-%m-%d %H:%M:%S} ({self.request_count} requests)"

    def request_list(self) -> list[tuple[datetime, int, int]]:
        """``[(time, first byte, last byte), …]`` of the requests this row holds."""
        from feeds.analytics.packed import from_microseconds, unpack

        return [(from_microseconds(us), a, b) for us, a, b in unpack(self.requests)]


class ListeningWindow(models.Model):
    rendition = models.ForeignKey(Rendition, on_delete=models.CASCADE, related_name="+")
    # The opening request's listener hashes (see DownloadEvent): with the
    # before-hash, a log line from before midnight delivered late still finds
    # the window a request after midnight opened.
    listener = models.CharField(max_length=32)
    listener_before = models.CharField(max_length=32, blank=True, default="")
    started_at = models.DateTimeField()
    # Sorted, disjoint [first, last] byte ranges heard so far.
    ranges = models.JSONField(default=list)
    counted = models.BooleanField(default=False)

    class Meta:
        indexes = [
            models.Index(fields=["rendition", "listener", "started_at"], name="dlwindow_idx"),
            models.Index(fields=["started_at"], name="dlwindow_started_idx"),
        ]

    def __str__(self) -> str:
        return f"{self.rendition_id} {self.listener} {self.started_at:%Y-%m-%d %H:%M}"


class ProcessedLogFile(models.Model):
    name = models.CharField(max_length=1024, unique=True)
    processed_at = models.DateTimeField()
    lines = models.PositiveIntegerField(default=0)
    events = models.PositiveIntegerField(default=0)
    skipped = models.PositiveIntegerField(default=0)

    def __str__(self) -> str:
        return self.name


class EpisodeDownloadDay(models.Model):
    episode = models.ForeignKey(Episode, on_delete=models.CASCADE, related_name="download_days")
    day = models.DateField()
    downloads = models.PositiveIntegerField(default=0)

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["episode", "day"], name="episode_download_day_once")
        ]

    def __str__(self) -> str:
        return f"{self.episode_id} {self.day}: {self.downloads}"


class AppDownloadDay(models.Model):
    podcast = models.ForeignKey(Podcast, on_delete=models.CASCADE, related_name="+")
    day = models.DateField()
    app = models.CharField(max_length=100)
    downloads = models.PositiveIntegerField(default=0)

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["podcast", "day", "app"], name="app_download_day_once")
        ]

    def __str__(self) -> str:
        return f"{self.podcast_id} {self.day} {self.app}: {self.downloads}"


class DeviceDownloadDay(models.Model):
    podcast = models.ForeignKey(Podcast, on_delete=models.CASCADE, related_name="+")
    day = models.DateField()
    device = models.CharField(max_length=100)
    os = models.CharField(max_length=40)
    downloads = models.PositiveIntegerField(default=0)

    class Meta:
        constraints = [
            models.UniqueConstraint(
                fields=["podcast", "day", "device", "os"], name="device_download_day_once"
            )
        ]

    def __str__(self) -> str:
        return f"{self.podcast_id} {self.day} {self.device}/{self.os}: {self.downloads}"


class AggregationLease(models.Model):
    """One aggregation at a time: a conditional UPDATE of this row takes the lease."""

    name = models.CharField(max_length=32, unique=True)
    until = models.DateTimeField(null=True, blank=True)

    def __str__(self) -> str:
        return f"{self.name} until {self.until}"
