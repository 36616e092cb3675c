"""CloudFront log files → raw download events, each file exactly once.

A file is read as a stream (gzip or plain) and recorded in one transaction
together with its :class:`~feeds.analytics.models.ProcessedLogFile` row,
named by the file's base name (:func:`delivery_name`): CloudFront names every
delivery uniquely, so a replay is a no-op whether the file comes from the log
bucket or as a local copy of it. A crash mid-file leaves nothing behind, so
the file is simply read again.
"""

from __future__ import annotations

import gzip
import io
import logging
import zlib
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path
from typing import IO, Any
from urllib.parse import urlsplit

from django.conf import settings
from django.db import IntegrityError, transaction

from episodes.models import Rendition
from feeds.analytics import rules
from feeds.analytics.blocks import BlockCounter, blocks
from feeds.analytics.cloudfront import LogParser
from feeds.analytics.coalesce import Coalescer
from feeds.analytics.models import DownloadEvent, ProcessedLogFile
from feeds.analytics.rules import EventMaker
from podcasthost.storage import get_storage

logger = logging.getLogger(__name__)

GZIP_MAGIC = b"\x1f\x8b"
# Whether clean blocks take the column-by-column path (feeds.analytics.blocks);
# False reads every line with LogParser.scan (the tests compare the two).
FAST_PATH = True


class LogSourceError(Exception):
    """A log file or location that cannot be read; the message says which and why."""


@dataclass
class FileResult:
    name: str
    already: bool = False
    lines: int = 0
    events: int = 0
    skipped: int = 0
    ignored: dict[str, int] = field(default_factory=dict)


def rendition_paths() -> dict[str, int]:
    """URL path → rendition id, for every rendition (``/key`` and its media URL's path)."""
    media = get_storage("media")
    paths: dict[str, int] = {}
    for pk, key in Rendition.objects.values_list("pk", "key").iterator():
        paths["/" + key] = pk
        paths[urlsplit(media.url(key)).path] = pk
    return paths


class _Prefixed(io.RawIOBase):
    """``head`` then the rest of ``raw``: a stream whose first bytes were read to sniff it."""

    def __init__(self, head: bytes, raw: IO[bytes]) -> None:
        self.head, self.raw = head, raw

    def readable(self) -> bool:
        return True

    def readinto(self, buffer) -> int:
        if self.head:
            n = min(len(buffer), len(self.head))
            buffer[:n], self.head = self.head[:n], self.head[n:]
            return n
        data = self.raw.read(len(buffer))
        buffer[: len(data)] = data
        return len(data)


@contextmanager
def _content(raw: IO[bytes]) -> Iterator[IO[bytes]]:
    """The file's bytes, gunzipped when it starts with the gzip magic."""
    head = raw.read(2)
    stream: IO[bytes] = io.BufferedReader(_Prefixed(head, raw), 1 << 16)
    if head == GZIP_MAGIC:
        stream = gzip.GzipFile(fileobj=stream)
    with stream:
        yield stream


def delivery_name(location: str) -> str:
    """The name a log file is recorded by: its base name (``E2ABC.2026-11-30-09.a1b2.gz``).

    CloudFront's delivery names hold the distribution, the hour and a unique
    id, so ``s3://logs/cdn/E2….gz`` and a downloaded ``./E2….gz`` are one file.
    """
    return location.rstrip("/").rsplit("/", 1)[-1] or location


def ingest_stream(
    name: str,
    opener: Callable[[], IO[bytes]],
    *,
    now: datetime,
    paths: dict[str, int] | None = None,
    maker: EventMaker | None = None,
) -> FileResult:
    """Record the events of the log file ``name`` (where it is read from) unless
    the same delivery (:func:`delivery_name`) was processed before.

    Raises :class:`LogSourceError` if the file cannot be read or is not a log
    (no line of it can be read); nothing is recorded then. Malformed lines
    among readable ones are counted, not raised.
    """
    paths = rendition_paths() if paths is None else paths
    maker = maker or EventMaker(DownloadEvent.Source.CLOUDFRONT)
    result = FileResult(name)
    delivery = delivery_name(name)
    if ProcessedLogFile.objects.filter(name=delivery).exists():
        result.already = True
        return result
    parser = LogParser()
    try:
        with transaction.atomic():
            record = ProcessedLogFile.objects.create(name=delivery, processed_at=now)
            with opener() as raw, _content(raw) as stream:
                coalescer = Coalescer(maker)
                fast = BlockCounter(parser, paths, maker)
                for block in blocks(stream):
                    if block.startswith(b"#"):  # the file's header: its own lines first
                        end = block.find(b"\n") + 1 or len(block)
                        while block.startswith(b"#", end):
                            end = block.find(b"\n", end) + 1 or len(block)
                        _scan_lines(block[:end], parser, paths, coalescer, result.ignored)
                        block = block[end:]
                    if block and (FAST_PATH is False or not fast.take(block)):
                        _scan_lines(block, parser, paths, coalescer, result.ignored)
                if parser.lines and parser.skipped >= parser.lines:
                    # An error page or another file saved under the log's name: recording
                    # it would make the real file, fetched again, count as seen.
                    raise LogSourceError(
                        f"{name}: not a CloudFront log (none of its {parser.lines:,} "
                        "lines could be read); nothing recorded"
                    )
                coalescer.flush()
                fast.flush()
                result.events = coalescer.requests + fast.requests
                for reason, n in fast.ignored.items():
                    result.ignored[reason] = result.ignored.get(reason, 0) + n
            result.lines, result.skipped = parser.lines, parser.skipped
            record.lines, record.events, record.skipped = (
                result.lines,
                result.events,
                parser.skipped,
            )
            record.save(update_fields=["lines", "events", "skipped"])
    except IntegrityError:
        # Another process recorded the same file meanwhile: it counts it, not us.
        return FileResult(name, already=True)
    # zlib.error: corrupt compressed data (gzip raises it as is, not as BadGzipFile).
    except (OSError, EOFError, gzip.BadGzipFile, zlib.error, ValueError) as exc:
        raise LogSourceError(f"{name}: {exc}") from exc
    return result


def _scan_lines(
    block: bytes,
    parser: LogParser,
    paths: dict[str, int],
    coalescer: Coalescer,
    ignored: dict[str, int],
) -> None:
    """Count the lines of ``block`` one by one (:meth:`LogParser.scan`)."""
    add = coalescer.add
    listening = rules.is_listening
    lines = block.decode("utf-8", "replace").split("\n")
    for us, day, path, method, status, first, served, agent, address in parser.scan(lines):
        rendition_id = paths.get(path)
        if rendition_id is not None and listening(method, status, served, agent):
            add(rendition_id, day, address, agent, us, first, first + served - 1)
            continue
        reason = (
            "not audio"
            if rendition_id is None
            else rules.ignore_reason(method, status, served, agent)
        )
        ignored[reason] = ignored.get(reason, 0) + 1


def ingest_path(path: Path, *, now: datetime, **kwargs: Any) -> FileResult:
    """A local log file, named by its base name (CloudFront's names are unique)."""
    if not path.is_file():
        raise LogSourceError(f"{path}: no such file")
    return ingest_stream(path.name, lambda: path.open("rb"), now=now, **kwargs)


def s3_client() -> Any:
    import boto3

    return boto3.client(
        "s3", region_name=settings.AWS_REGION, endpoint_url=settings.AWS_S3_ENDPOINT_URL or None
    )


def ingest_s3_object(
    bucket: str, key: str, *, now: datetime, s3: Any = None, **kwargs: Any
) -> FileResult:
    """One log object of the log bucket, named ``s3://bucket/key``."""
    s3 = s3 or s3_client()

    def opener() -> IO[bytes]:
        try:
            return s3.get_object(Bucket=bucket, Key=key)["Body"]
        except Exception as exc:
            raise OSError(f"cannot read s3://{bucket}/{key}: {exc}") from exc

    return ingest_stream(f"s3://{bucket}/{key}", opener, now=now, **kwargs)


def s3_keys(url: str, *, s3: Any = None) -> tuple[str, list[str]]:
    """(bucket, keys) of the log files under ``s3://BUCKET/PREFIX``, in key order."""
    parts = urlsplit(url)
    if parts.scheme != "s3" or not parts.netloc:
        raise LogSourceError(f"{url}: expected s3://BUCKET/PREFIX")
    s3 = s3 or s3_client()
    keys: list[str] = []
    try:
        for page in s3.get_paginator("list_objects_v2").paginate(
            Bucket=parts.netloc, Prefix=parts.path.lstrip("/")
        ):
            keys.extend(obj["Key"] for obj in page.get("Contents", []) if obj["Size"] > 0)
    except Exception as exc:
        raise LogSourceError(f"{url}: {exc}") from exc
    return parts.netloc, sorted(keys)
