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

from collections.abc import Iterable, Sequence
from datetime import UTC, datetime
from typing import Any

from django.db import connection, models

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


def _preparers(model: type[models.Model], fields: Sequence[str]) -> list:
    prepared = []
    for name in fields:
        field = model._meta.get_field(name)
        if isinstance(field, models.DateTimeField | models.JSONField):
            prepared.append(field)
        else:
            prepared.append(None)
    return prepared


def insert_rows(
    model: type[models.Model], fields: Sequence[str], rows: Iterable[Sequence[Any]]
) -> int:
    """INSERT ``rows`` (values in ``fields`` order) with one ``executemany``; returns the count.

    The ORM's ``bulk_create`` builds a model instance and compiles every value
    of every row, about 30 µs a row; a log of a million lines cannot afford it.
    Values that need the database's form (datetimes, JSON) go through their
    field's ``get_db_prep_save`` (memoised per datetime: log lines share seconds).
    """
    qn = connection.ops.quote_name
    columns = ", ".join(qn(model._meta.get_field(f).column) for f in fields)
    placeholders = ", ".join(["%s"] * len(fields))
    # Only quoted names of our own models go into the SQL; every value is a parameter.
    table = qn(model._meta.db_table)
    sql = f"INSERT INTO {table} ({columns}) VALUES ({placeholders})"  # noqa: S608
    preparers = _preparers(model, fields)
    memo: dict[Any, Any] = {}
    adapt_datetime = connection.ops.adapt_datetimefield_value
    if connection.vendor == "sqlite" and connection.timezone == UTC:
        # What SQLite's adaptation makes of an aware UTC datetime (naive UTC text),
        # without its per-value settings and timezone lookups.
        def adapt_datetime(value, adapt=adapt_datetime):
            if value.tzinfo is UTC:
                return str(value.replace(tzinfo=None))
            return adapt(value)

    # Only the few columns that need a database form are touched: a Python call
    # per value of every row would cost more than the INSERT itself.
    special = [(i, f) for i, f in enumerate(preparers) if f is not None]

    def prepare(field, value):
        if value is None:
            return value
        if isinstance(field, models.JSONField):
            return field.get_db_prep_save(value, connection)
        if isinstance(value, datetime) and value.utcoffset() is not None:
            # An aware datetime needs only the backend's adaptation; the field's
            # get_prep_value would only check awareness, at twice the cost.
            return adapt_datetime(value)
        found = memo.get(value)
        if found is None:
            if len(memo) > 100_000:
                memo.clear()
            found = memo[value] = field.get_db_prep_save(value, connection)
        return found

    if special:
        params = []
        for row in rows:
            values = list(row)
            for i, field in special:
                values[i] = prepare(field, values[i])
            params.append(values)
    else:
        params = list(rows)
    if not params:
        return 0
    with connection.cursor() as cursor:
        cursor.executemany(sql, params)
    return len(params)


def update_rows(
    model: type[models.Model], fields: Sequence[str], rows: Iterable[Sequence[Any]]
) -> int:
    """``UPDATE … SET fields WHERE id = …`` for each row ``(*values, pk)``; one ``executemany``."""
    qn = connection.ops.quote_name
    assignments = ", ".join(f"{qn(model._meta.get_field(f).column)} = %s" for f in fields)
    table, pk = qn(model._meta.db_table), qn(model._meta.pk.column)
    sql = f"UPDATE {table} SET {assignments} WHERE {pk} = %s"  # noqa: S608
    preparers = [*_preparers(model, fields), None]
    params = [
        tuple(
            v if f is None else f.get_db_prep_save(v, connection)
            for f, v in zip(preparers, row, strict=True)
        )
        for row in rows
    ]
    if not params:
        return 0
    with connection.cursor() as cursor:
        cursor.executemany(sql, params)
    return len(params)


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
    listener = models.CharField(max_length=32)
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
