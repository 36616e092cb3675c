"""Presigned direct-to-storage uploads, one browser contract for both storages.

The browser asks for ``{url, fields}``, posts a multipart form (the fields, then
the file, last) straight to ``url``, then reports completion:

* S3 (django-storages ``S3Storage``): boto3 ``generate_presigned_post`` with
  conditions pinning the key, the size range and the content type.
  https://docs.aws.amazon.com/AmazonS3/latest/API/sigv4-HTTPPOSTConstructPolicy.html
* One machine (``FileSystemStorage``): :func:`receive_local_upload` accepts the
  same form, checks a signed, expiring policy and streams the file to disk.

:func:`confirm_upload` checks the object really is there and moves the episode on.
"""

from __future__ import annotations

import contextlib
import mimetypes
import os
import re
import secrets
import unicodedata
from dataclasses import dataclass
from datetime import datetime, timedelta
from pathlib import Path
from typing import BinaryIO

from django.conf import settings
from django.core import signing
from django.core.exceptions import SuspiciousFileOperation
from django.core.files.storage import FileSystemStorage, Storage, storages
from django.http.multipartparser import (
    FIELD,
    FILE,
    ChunkIter,
    LazyStream,
    MultiPartParserError,
    Parser,
)
from django.utils import timezone
from django.utils.http import parse_header_parameters

from episodes.models import Episode

PRESIGN_EXPIRY = timedelta(hours=1)
POLICY_SALT = "episodes.uploads.local-policy"
CHUNK_BYTES = 1024 * 1024
# Room for the form fields and multipart framing around the file in a request body.
FORM_OVERHEAD_BYTES = 64 * 1024
MAX_FIELD_BYTES = 8 * 1024

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


class UploadError(Exception):
    """A request about an upload that cannot be honoured; ``str()`` is safe to show a creator.

    ``status`` is the HTTP status a view answers with.
    """

    def __init__(self, message: str, *, status: int = 400) -> None:
        super().__init__(message)
        self.status = status


def max_upload_bytes() -> int:
    return settings.UPLOAD_MAX_BYTES


def uploads_storage() -> Storage:
    """The ``uploads`` storage, looked up at call time (tests override it)."""
    return storages["uploads"]


def is_s3(storage: Storage) -> bool:
    # django-storages' S3Storage exposes a boto3 resource as ``connection``.
    return hasattr(storage, "bucket_name") and hasattr(storage, "connection")


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
    return f"uploads/{episode.podcast.slug}/{episode.guid}/"


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
    storage is a folder. Raises :class:`UploadError` for a non-audio type or a
    declared size over ``UPLOAD_MAX_BYTES``.
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
    if is_s3(storage):
        client = storage.connection.meta.client
        post = client.generate_presigned_post(
            Bucket=storage.bucket_name,
            Key=key,
            Fields={"Content-Type": content_type},
            Conditions=[
                {"key": key},
                {"Content-Type": content_type},
                ["content-length-range", 1, limit],
            ],
            ExpiresIn=int(PRESIGN_EXPIRY.total_seconds()),
        )
        return PresignedPost(post["url"], post["fields"], key, limit, expires_at)
    if isinstance(storage, FileSystemStorage):
        policy = signing.dumps(
            {"key": key, "type": content_type, "max": limit, "exp": int(expires_at.timestamp())},
            salt=POLICY_SALT,
            compress=True,
        )
        fields = {"key": key, "Content-Type": content_type, "policy": policy}
        return PresignedPost(local_url, fields, key, limit, expires_at)
    raise UploadError(f"The uploads storage {type(storage).__name__} cannot take direct uploads.")


# --- the local POST target ---------------------------------------------------


def _check_policy(token: str, *, key: str, content_type: str, now: datetime) -> dict:
    try:
        policy = signing.loads(token, salt=POLICY_SALT)
    except signing.BadSignature:
        raise UploadError("Invalid upload policy signature.", status=403) from None
    if now.timestamp() > policy["exp"]:
        raise UploadError("The upload policy has expired; start the upload again.", status=403)
    if key != policy["key"]:
        raise UploadError("The key does not match the upload policy.", status=403)
    if content_type != policy["type"]:
        raise UploadError("The Content-Type does not match the upload policy.", status=403)
    return policy


def _partial_path_for(destination: Path) -> Path:
    return destination.with_name(f".{destination.name}.{secrets.token_hex(6)}.part")


def _write_partial(field_stream, partial: Path, max_bytes: int) -> int:
    """Stream a part into ``partial`` (created, never overwritten); return its size.

    The limit is enforced while streaming. The caller removes ``partial`` on error.
    """
    partial.parent.mkdir(parents=True, exist_ok=True)
    written = 0
    with partial.open("xb") as out:
        for chunk in field_stream:
            written += len(chunk)
            if written > max_bytes:
                raise UploadError(
                    f"The file is larger than the limit of {max_bytes:,} bytes.", status=413
                )
            out.write(chunk)
        if written == 0:
            raise UploadError("The file is empty.")
        # On disk before it gets its name: after a crash the key holds the
        # whole file or nothing (the browser is told the upload succeeded).
        out.flush()
        os.fsync(out.fileno())
    return written


class _CountingReader:
    """The request body, counting the bytes really received."""

    def __init__(self, body: BinaryIO) -> None:
        self.body = body
        self.received = 0

    def read(self, size: int = -1) -> bytes:
        data = self.body.read(size)
        self.received += len(data)
        return data


def receive_local_upload(
    meta: dict, body: BinaryIO, *, storage: Storage | None = None, now: datetime | None = None
) -> tuple[str, int]:
    """Accept the S3-style presigned POST form on one machine; return ``(key, bytes)``.

    ``meta`` is the WSGI environ (``request.META``), ``body`` the request body
    stream (the request itself). Fields must precede the file, as S3 requires:
    ``policy``, ``key`` and ``Content-Type`` are checked before a byte of the
    file is written. Memory use is constant; the size limit is enforced while
    streaming. Raises :class:`UploadError` (nothing left on disk) otherwise.
    """
    now = now or timezone.now()
    storage = storage or uploads_storage()
    if not isinstance(storage, FileSystemStorage):
        raise UploadError("Local uploads are disabled: the uploads storage is S3.", status=404)
    content_type, opts = parse_header_parameters(meta.get("CONTENT_TYPE", ""))
    boundary = opts.get("boundary", "")
    # RFC 2046 §5.1.1: 1-70 printable ASCII characters.
    if content_type != "multipart/form-data" or not re.fullmatch(r"[ -~]{0,69}[!-~]", boundary):
        raise UploadError("Expected a multipart/form-data body.")
    try:
        content_length = int(meta.get("CONTENT_LENGTH") or 0)
    except ValueError:
        content_length = 0
    if content_length <= 0:
        raise UploadError("A Content-Length is required.", status=411)
    # Reject an obviously oversized body before reading any of it.
    if content_length > max_upload_bytes() + FORM_OVERHEAD_BYTES:
        raise UploadError(
            f"The file is larger than the limit of {max_upload_bytes():,} bytes.", status=413
        )

    counted = _CountingReader(body)
    stream = LazyStream(ChunkIter(counted, CHUNK_BYTES))
    fields: dict[str, str] = {}
    key = partial = destination = None
    written = 0
    try:
        for item_type, headers, part in Parser(stream, boundary.encode("ascii")):
            if item_type not in (FIELD, FILE):
                continue
            disposition = headers.get("content-disposition", ("", {}))[1]
            name = disposition.get("name", b"")
            name = name.decode("utf-8", "replace") if isinstance(name, bytes) else name
            if key is not None:
                # S3 ignores fields after the file; so do we (drain them).
                for _ in part:
                    pass
                continue
            if item_type == FIELD:
                value = part.read(MAX_FIELD_BYTES + 1)
                if len(value) > MAX_FIELD_BYTES:
                    raise UploadError(f"The form field “{name}” is too long.")
                fields[name] = value.decode("utf-8", "replace")
                continue
            if name != "file":
                raise UploadError("The file must be sent in a field named “file”.")
            policy = _check_policy(
                fields.get("policy", ""),
                key=fields.get("key", ""),
                content_type=fields.get("Content-Type", ""),
                now=now,
            )
            try:
                destination = Path(storage.path(policy["key"]))
            except SuspiciousFileOperation:
                raise UploadError("Invalid key.", status=403) from None
            partial = _partial_path_for(destination)
            key = policy["key"]
            written = _write_partial(part, partial, min(policy["max"], max_upload_bytes()))
        if key is None:
            if "policy" not in fields:
                raise UploadError("The form has no upload policy.", status=403)
            raise UploadError("The form has no file.")
        # A client that hung up mid-body leaves a short read that still parses:
        # only a body received in full is a complete upload.
        if counted.received != content_length:
            raise UploadError("The upload was interrupted; try again.")
        # link() refuses an existing name: a presigned form re-posted within its
        # hour cannot replace a file that was already confirmed and processed.
        try:
            os.link(partial, destination)
        except FileExistsError:
            raise UploadError("This upload was already received.", status=409) from None
    except MultiPartParserError as exc:
        raise UploadError(f"Malformed multipart body: {exc}") from None
    finally:
        if partial is not None:
            with contextlib.suppress(FileNotFoundError):
                partial.unlink()
    return key, written


# --- completion ----------------------------------------------------------------


def stored_size(storage: Storage, key: str) -> int | None:
    """Size of ``key`` in ``storage`` (HEAD on S3, stat on disk); ``None`` if absent."""
    try:
        if not storage.exists(key):
            return None
        return storage.size(key)
    except (FileNotFoundError, OSError):
        return None


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
    filename = sanitise_filename(filename) if filename else key.rsplit("/", 1)[-1]
    for _ in range(2):
        episode.refresh_from_db()
        if episode.source_key == key:
            return episode
        if episode.replace_source(source_key=key, source_bytes=size, filename=filename, now=now):
            return episode
    raise UploadError("The episode changed while recording the upload; try again.", status=409)
