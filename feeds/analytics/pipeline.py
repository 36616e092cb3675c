"""The use-cases of download analytics that commands and tasks call, one call each."""

from __future__ import annotations

from collections.abc import Callable, Iterable
from datetime import datetime
from pathlib import Path

from feeds.analytics import aggregate
from feeds.analytics.ingest import (
    FileResult,
    LogSourceError,
    ingest_path,
    ingest_s3_object,
    rendition_paths,
    s3_client,
    s3_keys,
)
from feeds.analytics.models import DownloadEvent
from feeds.analytics.rules import EventMaker


def aggregate_and_prune(*, now: datetime) -> dict[str, int] | None:
    """Count pending events and delete expired data; ``None`` if another run holds the lease."""
    try:
        counts = aggregate.aggregate_downloads(now=now)
    except aggregate.Busy:
        return None
    pruned = aggregate.prune(now=now)
    return {**counts, **{f"deleted {name}": n for name, n in pruned.items()}}


def ingest_log_sources(
    sources: Iterable[str],
    *,
    now: datetime,
    on_file: Callable[[FileResult | LogSourceError], object] = lambda result: None,
) -> list[FileResult | LogSourceError]:
    """Ingest local log files and ``s3://BUCKET/PREFIX`` locations, then aggregate.

    Every readable file is ingested; each unreadable one is returned as its
    :class:`LogSourceError` (and passed to ``on_file``, as is each result).
    """
    paths = rendition_paths()
    maker = EventMaker(DownloadEvent.Source.CLOUDFRONT)
    results: list[FileResult | LogSourceError] = []

    def done(result: FileResult | LogSourceError) -> None:
        results.append(result)
        on_file(result)

    s3 = None
    for source in sources:
        try:
            if source.startswith("s3://"):
                s3 = s3 or s3_client()
                bucket, keys = s3_keys(source, s3=s3)
                if not keys:
                    raise LogSourceError(f"{source}: no log files there")
                for key in keys:
                    try:
                        done(
                            ingest_s3_object(bucket, key, now=now, s3=s3, paths=paths, maker=maker)
                        )
                    except LogSourceError as exc:
                        done(exc)
            else:
                done(ingest_path(Path(source), now=now, paths=paths, maker=maker))
        except LogSourceError as exc:
            done(exc)
    return results
