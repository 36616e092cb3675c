"""Ingest of audio files that did not come through the admin.

* Files dropped into the input bucket as ``inbox/<podcast-slug>/<file name>``
  (``aws s3 cp``): S3 event notifications go to the SQS queue
  ``INGEST_QUEUE_URL``; the periodic task ``consume_ingest`` long-polls it
  briefly, copies each object to a key of its new episode's own
  (``uploads/<slug>/<guid>/…``) and, once the episode is committed, deletes
  it from ``inbox/`` (see :func:`ingest_dropped_object`).
* Local files (``manage.py ingest <slug> FILE...``): :func:`ingest_local_file`
  copies them into the uploads storage.

Either way a new episode is created (title from the file's tags, else its
name) and moved ``draft → uploaded``; the pipeline's receiver on
``episode_transitioned`` then processes it.

Why a periodic task rather than a long-running consumer: it runs on the worker
and beat that are deployed anyway (no extra process to supervise), each run is
short and bounded, and SQS's visibility timeout makes overlapping or crashed
runs harmless. A message that cannot be ingested (unknown show, key outside
``inbox/``, missing object) is logged and left on the queue; SQS's redrive
policy moves it to the dead-letter queue after ``maxReceiveCount`` receives.
https://docs.aws.amazon.com/AWSSimpleQueueService/latest/SQSDeveloperGuide/sqs-dead-letter-queues.html
"""

from __future__ import annotations

import logging
import re
import secrets
import subprocess
import tempfile
import uuid
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime, timedelta
from pathlib import Path

from django.core.files import File
from django.db import IntegrityError, transaction
from django.utils import timezone
from django.utils.text import slugify

from episodes.models import Episode, Podcast
from episodes.probe import ffmpeg_binary
from episodes.uploads import (
    UploadError,
    confirm_upload,
    max_upload_bytes,
    upload_key_for,
    uploads_storage,
)
from podcasthost import subprocesses

logger = logging.getLogger(__name__)

INBOX_KEY = re.compile(r"^inbox/(?P<slug>[-a-zA-Z0-9_]+)/(?P<name>[^/]+)$")
# Tags sit at the start of MP3 (ID3v2), WAV, FLAC and Ogg files; M4A files
# with their index at the end fall back to the file name.
TAG_HEAD_BYTES = 1024 * 1024
# Server-side copies: one CopyObject below this (boto3's default, 8 MiB, would
# turn every podcast episode into dozens of UploadPartCopy calls); multipart
# above, as CopyObject stops at 5 GB.
COPY_MULTIPART_THRESHOLD = 4 * 1024**3
COPY_PART_BYTES = 256 * 1024**2
# Namespace of drop_guid's UUIDv5s (a fixed random UUID: changing it would
# make a redelivery after a deploy look like a new drop).
DROP_NAMESPACE = uuid.UUID("5f0c2a57-8d1e-4c63-9b7a-2d4e6f8a1b3c")


class IngestError(Exception):
    """A dropped file that cannot be ingested as it is; the message says why."""


@dataclass(frozen=True)
class DroppedObject:
    key: str
    size_bytes: int | None
    event_at: datetime | None
    etag: str | None = None


# --- titles ---------------------------------------------------------------------


def read_title_tag(path: Path) -> str:
    """The ``title`` tag of an audio file as ffmpeg reads it; ``""`` if none or unreadable."""
    try:
        result = subprocesses.run(
            [ffmpeg_binary(), "-v", "error", "-nostdin", "-i", str(path), "-f", "ffmetadata", "-"],
            capture_output=True,
            timeout=30,
        )
    except (OSError, subprocess.TimeoutExpired):
        return ""
    for line in result.stdout.decode("utf-8", "replace").splitlines():
        if line.lower().startswith("title="):
            # ffmetadata escapes "=", ";", "#", "\" and newlines with a backslash.
            return re.sub(r"\\(.)", r"\1", line[len("title=") :]).strip()[:255]
    return ""


def title_from_name(filename: str) -> str:
    stem = filename.rsplit(".", 1)[0] if "." in filename else filename
    return re.sub(r"\s+", " ", re.sub(r"[_+]+", " ", stem)).strip()[:255] or "Untitled episode"


def title_for_stored(key: str, filename: str) -> str:
    """Title of an object in the uploads storage: its tag (read from its first MiB) or its name."""
    try:
        data = uploads_storage().read_start(key, TAG_HEAD_BYTES)
    except Exception:
        logger.warning("Could not read the head of %s for its tags", key, exc_info=True)
        data = b""
    title = ""
    if data:
        suffix = Path(filename).suffix[:10]
        with tempfile.NamedTemporaryFile(suffix=suffix) as tmp:
            tmp.write(data)
            tmp.flush()
            title = read_title_tag(Path(tmp.name))
    return title or title_from_name(filename)


# --- episodes -----------------------------------------------------------------------


def create_episode(
    podcast: Podcast, title: str, *, guid: uuid.UUID | str | None = None, **fields
) -> Episode:
    """A new draft episode with a slug unique within its show (and ``guid`` if given)."""
    base = slugify(title)[:90] or "episode"
    slug = base
    if Episode.objects.filter(podcast=podcast, slug=slug).exists():
        slug = f"{base}-{secrets.token_hex(3)}"
    if guid is not None:
        fields["guid"] = str(guid)
    return Episode.objects.create(podcast=podcast, title=title, slug=slug, **fields)


# --- dropped objects in the uploads storage ----------------------------------------------


@dataclass(frozen=True)
class _Stored:
    """What identifies one version of an object: a later drop at the same key differs."""

    size: int
    etag: str  # S3's ETag without quotes; "" on a local disk
    modified: datetime


def _head(storage, key: str) -> _Stored | None:
    """Size, ETag and modification time of ``key``; ``None`` if it does not exist."""
    head = storage.head(key)
    return None if head is None else _Stored(head.size_bytes, head.etag, head.modified_at)


def _copy(storage, src: str, dest: str, expected: _Stored) -> bool:
    """Copy ``src`` to ``dest`` inside the storage, server-side on S3.

    One request up to :data:`COPY_MULTIPART_THRESHOLD`, parts above.
    ``expected``'s ETag pins the version we checked: ``False`` (nothing
    copied) if ``src`` was replaced in between. Raises :class:`IngestError` if
    it was removed.
    """
    try:
        return storage.server_copy(
            src,
            dest,
            if_etag=expected.etag,
            multipart_threshold_bytes=COPY_MULTIPART_THRESHOLD,
            part_bytes=COPY_PART_BYTES,
        )
    except FileNotFoundError as exc:
        raise IngestError(f"{src!r} disappeared while being ingested.") from exc


def _same_version(current: _Stored | None, expected: _Stored) -> bool:
    return current is not None and (current.etag, current.modified, current.size) == (
        expected.etag,
        expected.modified,
        expected.size,
    )


def _is_this_drop(current: _Stored | None, obj: DroppedObject) -> bool:
    """Is the object now at ``obj.key`` the one the notification described?

    Same ETag, and last modified no later than the event (S3 stamps whole
    seconds); a file dropped again under the same name afterwards is not.
    """
    if current is None or not obj.etag or current.etag != obj.etag.strip('"'):
        return False
    return obj.event_at is None or current.modified <= obj.event_at + timedelta(seconds=1)


def _remove_inbox_object(storage, obj: DroppedObject, expected: _Stored | None) -> None:
    """Delete the dropped object unless a newer drop took its key (that one has its own event)."""
    current = _head(storage, obj.key)
    if current is None:
        return
    ours = _same_version(current, expected) if expected else _is_this_drop(current, obj)
    if ours:
        storage.delete(obj.key)
    else:
        logger.info("%s was dropped again since; leaving the new file for its own event", obj.key)


def drop_guid(podcast: Podcast, obj: DroppedObject) -> uuid.UUID:
    """The guid of the episode made from a drop: the same for every delivery of one event.

    A notification names the key, the event's time and the object's ETag; a
    redelivery repeats them, a new drop under the same name does not. Without
    an event time there is nothing to recognise a redelivery by: a fresh guid.
    """
    if obj.event_at is None:
        return uuid.uuid4()
    name = f"{podcast.podcast_guid}|{obj.key}|{obj.event_at.isoformat()}|{obj.etag or ''}"
    return uuid.uuid5(DROP_NAMESPACE, name)


def _already_ingested(podcast: Podcast, obj: DroppedObject, guid: uuid.UUID) -> Episode | None:
    episode = Episode.objects.filter(guid=guid).first()
    if episode is None and obj.event_at is not None:
        # Episodes ingested before drops were copied kept the inbox key as their source.
        episode = Episode.objects.filter(
            podcast=podcast, source_key=obj.key, uploaded_at__gte=obj.event_at
        ).first()
    return episode


def ingest_dropped_object(obj: DroppedObject, *, now: datetime | None = None) -> Episode | None:
    """Create an episode for a file dropped at ``inbox/<slug>/<name>`` and mark it uploaded.

    The file is copied (server-side on S3) to a key of the episode's own,
    ``uploads/<slug>/<guid>/…``, which becomes the source, so a later drop
    under the same name cannot overwrite audio a job is reading. The inbox
    object is deleted only after the episode is committed; if anything fails
    before, the copy is removed and the error propagates (the message stays
    on the queue and is delivered again).

    Idempotent: the episode's guid derives from the notification
    (:func:`drop_guid`), so a redelivery finds it, finishes the clean-up and
    returns ``None``. "Already ingested? else create" runs under a lock on the
    show's row, and the guid is unique, so two consumers handling one
    notification at once create one episode. A notification whose object was
    replaced by a newer drop (another ETag) returns ``None``: the newer drop
    has a notification of its own. Raises :class:`IngestError` for
    a key outside ``inbox/<slug>/<name>``, an unknown show, or a missing,
    empty, oversized or meanwhile replaced object.
    """
    now = now or timezone.now()
    match = INBOX_KEY.match(obj.key)
    if not match:
        raise IngestError(f"Key {obj.key!r} is not of the form inbox/<podcast-slug>/<file name>.")
    podcast = Podcast.objects.filter(slug=match["slug"]).first()
    if podcast is None:
        raise IngestError(f"No podcast with slug {match['slug']!r} (key {obj.key!r}).")
    storage = uploads_storage()
    guid = drop_guid(podcast, obj)
    done = _already_ingested(podcast, obj, guid)
    if done is not None:
        logger.info("Already ingested %s as episode %s; repeated notification", obj.key, done.pk)
        if done.source_key != obj.key:
            _remove_inbox_object(storage, obj, None)
        return None
    stored = _head(storage, obj.key)
    if stored is None:
        raise IngestError(f"{obj.key!r} is not in the uploads storage (deleted since?).")
    if obj.etag and stored.etag and stored.etag != obj.etag.strip('"'):
        return _superseded(obj)
    if stored.size <= 0 or stored.size > max_upload_bytes():
        raise IngestError(
            f"{obj.key!r} is {stored.size:,} bytes; accepted: 1 to {max_upload_bytes():,} bytes."
        )
    name = match["name"]
    key = upload_key_for(Episode(podcast=podcast, guid=str(guid)), name)
    # Slow I/O (copy, tag reading) before the transaction.
    if not _copy(storage, obj.key, key, stored):
        return _superseded(obj)
    try:
        title = title_for_stored(key, name)
        episode = _create_uploaded(podcast, guid, title, key, stored.size, name[:255], now)
    except BaseException:
        storage.delete_quietly(key)
        raise
    if episode is None:  # another consumer won the race for this notification
        storage.delete_quietly(key)
        return None
    logger.info("Ingested %s as episode %s (%s) at %s", obj.key, episode.pk, title, key)
    # Committed: only now may the dropped file go. If this fails the message
    # stays, and its redelivery finds the episode and retries the deletion.
    _remove_inbox_object(storage, obj, stored)
    return episode


def _superseded(obj: DroppedObject) -> None:
    # Dropped again under the same name before this notification was handled:
    # its bytes no longer exist, and the newer file has a notification of its own.
    logger.warning("%s was replaced before it was ingested; its newer event will do", obj.key)


def _create_uploaded(
    podcast: Podcast, guid: uuid.UUID, title: str, key: str, size: int, filename: str, now
) -> Episode | None:
    """The new uploaded episode, or ``None`` if one with ``guid`` exists already."""
    try:
        with transaction.atomic():
            # Serialises drops per show: the check and the insert are one step.
            # (On SQLite writers are serialised anyway and this is a no-op.)
            list(Podcast.objects.select_for_update().filter(pk=podcast.pk).values_list("pk"))
            if Episode.objects.filter(guid=guid).exists():
                return None
            episode = create_episode(podcast, title, guid=guid)
            episode.mark_uploaded(source_key=key, source_bytes=size, filename=filename, now=now)
    except IntegrityError:
        if Episode.objects.filter(guid=guid).exists():
            return None
        raise
    return episode


class _ProgressFile(File):
    """A file that reports each read's length, so a copy can drive a progress bar."""

    def __init__(self, file, on_read: Callable[[int], object]) -> None:
        super().__init__(file, name=Path(file.name).name)
        self._on_read = on_read

    def read(self, *args) -> bytes:
        data = self.file.read(*args)
        self._on_read(len(data))
        return data


def ingest_local_file(
    podcast: Podcast,
    path: Path,
    *,
    on_progress: Callable[[int], object] = lambda n: None,
    now: datetime | None = None,
) -> Episode:
    """Copy a local audio file into the uploads storage as a new episode of ``podcast``.

    ``on_progress`` receives the number of bytes copied by each read. On any
    failure nothing is left behind (no episode, no stored file) and the error
    propagates (:class:`IngestError` for an empty or oversized file).
    """
    size = path.stat().st_size
    if size <= 0 or size > max_upload_bytes():
        raise IngestError(f"{path} is {size:,} bytes; accepted: 1 to {max_upload_bytes():,}.")
    title = read_title_tag(path) or title_from_name(path.name)
    episode = create_episode(podcast, title)
    storage = uploads_storage()
    key = None
    try:
        with path.open("rb") as f:
            key = storage.save(upload_key_for(episode, path.name), _ProgressFile(f, on_progress))
        confirm_upload(episode, key=key, filename=path.name, now=now)
    except BaseException:
        if key is not None:
            storage.delete(key)
        episode.delete()
        raise
    return episode


__all__ = [
    "DroppedObject",
    "IngestError",
    "UploadError",
    "ingest_dropped_object",
    "ingest_local_file",
]
