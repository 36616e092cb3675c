"""Presigned direct-to-storage uploads, one browser contract for both storages.

The browser asks for ``{url, fields}``, posts a multipart form (the fields, then
the file, last) straight to ``url``, then reports completion. The uploads
storage's ``presign_post`` makes the form (an S3 presigned POST, or a signed
policy for :mod:`podcasthost.storage.local_post` on one machine).

:func:`confirm_upload` checks the object really is there and moves the episode on.
"""

from __future__ import annotations

import mimetypes
import os
import re
import secrets
import unicodedata
from dataclasses import dataclass
from datetime import datetime, timedelta

from django.core.files.storage import Storage
from django.utils import timezone

from episodes.models import Episode
from podcasthost.storage import UploadError, get_storage
from podcasthost.storage.local_post import max_upload_bytes

PRESIGN_EXPIRY = timedelta(hours=1)

# Audio types browsers report for the files creators upload. ``Content-Type``
# is pinned to one of them in every policy.
AUDIO_CONTENT_TYPES = frozenset(
    {
        "audio/mpeg",
        "audio/mp3",
        "audio/mp4",
        "audio/x-m4a",
        "audio/m4a",
        "audio/aac",
        "audio/x-aac",
        "audio/wav",
        "audio/x-wav",
        "audio/wave",
        "audio/vnd.wave",
        "audio/flac",
        "audio/x-flac",
        "audio/ogg",
        "audio/opus",
        "audio/webm",
        "audio/aiff",
        "audio/x-aiff",
    }
)
_EXTENSION_TYPES = {
    ".mp3": "audio/mpeg",
    ".m4a": "audio/mp4",
    ".m4b": "audio/mp4",
    ".aac": "audio/aac",
    ".wav": "audio/wav",
    ".flac": "audio/flac",
    ".ogg": "audio/ogg",
    ".oga": "audio/ogg",
    ".opus": "audio/ogg",
    ".aif": "audio/aiff",
    ".aiff": "audio/aiff",
    ".webm": "audio/webm",
}


def uploads_storage() -> Storage:
    """The ``uploads`` storage, looked up at call time (tests override it)."""
    return get_storage("uploads")


def sanitise_filename(name: str) -> str:
    """A safe last path segment from a browser-supplied file name (ASCII, no path, ≤ 100 chars)."""
    name = name.replace("\\", "/").rsplit("/", 1)[-1]
    name = unicodedata.normalize("NFKD", name).encode("ascii", "ignore").decode()
    name = re.sub(r"[^A-Za-z0-9._-]+", "-", name).strip(".-_")
    stem, dot, ext = name.rpartition(".")
    if not dot:
        stem, ext = name, ""
    stem = stem[:80].strip(".-_") or "audio"
    ext = ext[:10].lower()
    return f"{stem}.{ext}" if ext else stem


def upload_prefix(episode: Episode) -> str:
    return f"uploads/{episode.podcast.slug}/{episode.storage_id}/"


# The last segment of every key upload_key_for makes: never a dot-file (a
# partial upload), ".." or empty.
_UPLOADED_NAME = re.compile(r"^[0-9a-f]{8}-[A-Za-z0-9][A-Za-z0-9._-]*$")


def upload_key_for(episode: Episode, filename: str) -> str:
    """``uploads/<slug>/<guid>/<random>-<name>``: a new key per upload, so a
    replacement never overwrites the file a running transcode reads."""
    return f"{upload_prefix(episode)}{secrets.token_hex(4)}-{sanitise_filename(filename)}"


def audio_content_type(filename: str, declared: str) -> str:
    """The content type to pin: the browser's if it is audio, else guessed from the extension.

    Raises :class:`UploadError` for anything that is not audio.
    """
    declared = (declared or "").split(";")[0].strip().lower()
    if declared in AUDIO_CONTENT_TYPES:
        return declared
    ext = os.path.splitext(filename.lower())[1]
    guessed = _EXTENSION_TYPES.get(ext) or mimetypes.guess_type(filename)[0] or ""
    if guessed in AUDIO_CONTENT_TYPES:
        return guessed
    raise UploadError(
        f"“{filename}” does not look like audio ({declared or 'unknown type'}). "
        "Upload an MP3, M4A, WAV, FLAC, Ogg or AIFF file."
    )


@dataclass(frozen=True)
class PresignedPost:
    url: str
    fields: dict[str, str]
    key: str
    max_bytes: int
    expires_at: datetime

    def as_json(self) -> dict:
        return {
            "url": self.url,
            "fields": self.fields,
            "key": self.key,
            "max_bytes": self.max_bytes,
            "expires_at": self.expires_at.isoformat(),
        }


def presign_upload(
    episode: Episode,
    *,
    filename: str,
    content_type: str,
    size_bytes: int | None,
    local_url: str,
    now: datetime | None = None,
) -> PresignedPost:
    """A form the browser posts straight to the uploads storage. Pure (writes nothing).

    ``local_url`` is the absolute URL of the local POST target, used when the
    storage is a folder. With ``size_bytes`` the form accepts a file of exactly
    that size, else any size up to ``UPLOAD_MAX_BYTES``. Raises
    :class:`UploadError` for a non-audio type or a declared size that is not
    between 1 byte and ``UPLOAD_MAX_BYTES``.
    """
    now = now or timezone.now()
    limit = max_upload_bytes()
    if size_bytes is not None and size_bytes > limit:
        raise UploadError(
            f"The file is {size_bytes:,} bytes; the limit is {limit:,} bytes.", status=413
        )
    if size_bytes is not None and size_bytes <= 0:
        raise UploadError("The file is empty.")
    content_type = audio_content_type(filename, content_type)
    key = upload_key_for(episode, filename)
    expires_at = now + PRESIGN_EXPIRY
    storage = uploads_storage()
    # A declared size is pinned exactly (content-length-range [size, size] on S3,
    # the signed min/max locally): the file posted must be the one announced.
    min_bytes, max_bytes = (size_bytes, size_bytes) if size_bytes is not None else (1, limit)
    form = storage.presign_post(
        key,
        content_type=content_type,
        min_bytes=min_bytes,
        max_bytes=max_bytes,
        expires_in=PRESIGN_EXPIRY,
        now=now,
        local_url=local_url,
    )
    return PresignedPost(form.url, form.fields, key, max_bytes, expires_at)


# --- completion ----------------------------------------------------------------


def stored_size(storage: Storage, key: str) -> int | None:
    """Size of ``key`` in ``storage`` (one HEAD on S3, stat on disk); ``None`` if absent."""
    try:
        head = storage.head(key)
    except OSError:
        return None
    return head.size_bytes if head is not None else None


def check_upload(episode: Episode, key: str) -> int:
    """The size of the uploaded object ``key`` of ``episode``, checked; storage I/O only.

    Raises :class:`UploadError` for a key outside the episode's prefix, a
    missing, empty or oversized object. Touches no database: safe in threads.
    """
    prefix = upload_prefix(episode)
    if not key.startswith(prefix) or not _UPLOADED_NAME.match(key[len(prefix) :]):
        raise UploadError("That key does not belong to this episode.", status=403)
    size = stored_size(uploads_storage(), key)
    if size is None:
        raise UploadError("The upload is not in storage; upload the file again.", status=409)
    if size <= 0:
        raise UploadError("The uploaded file is empty.", status=409)
    if size > max_upload_bytes():
        raise UploadError(
            f"The uploaded file is {size:,} bytes; the limit is {max_upload_bytes():,}.",
            status=413,
        )
    return size


def recorded_filename(key: str, filename: str = "") -> str:
    """The file name recorded with an upload: the creator's, made safe, or the key's last part."""
    return sanitise_filename(filename) if filename else key.rsplit("/", 1)[-1]


def confirm_upload(
    episode: Episode, *, key: str, filename: str = "", now: datetime | None = None
) -> Episode:
    """Check the uploaded object exists (size > 0, within the limit) and record it.

    Idempotent: confirming the episode's current source again changes nothing.
    Retries once if another process moved the episode in between. Raises
    :class:`UploadError` for a key outside the episode's prefix, a missing,
    empty or oversized object. Storage I/O happens before any database write.
    """
    now = now or timezone.now()
    size = check_upload(episode, key)
    filename = recorded_filename(key, filename)
    for _ in range(2):
        episode.refresh_from_db()
        if episode.source_key == key:
            return episode
        if episode.replace_source(source_key=key, source_bytes=size, filename=filename, now=now):
            return episode
    raise UploadError("The episode changed while recording the upload; try again.", status=409)
