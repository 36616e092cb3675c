"""Bringing an episode's audio and a show's artwork over from the old host.

Downloads stream through a scratch file (bounded memory whatever the size) and
appear in storage whole or not at all (``put_file``). Safe to run in threads:
nothing here touches the database.
"""

from __future__ import annotations

import secrets
import time
from pathlib import Path

import boto3
from botocore.exceptions import BotoCoreError, ClientError
from django.conf import settings

from episodes.importers.safe_http import FetchError, FetchSession, open_url
from episodes.importers.source import SourceMedia
from episodes.uploads import max_upload_bytes, uploads_storage

# Artwork is small; a bigger "image" is not artwork.
IMAGE_MAX_BYTES = 20 * 1024**2
_NOT_AUDIO_TYPES = ("text/", "application/json", "application/xml", "image/")
_S3_CHUNK = 1024 * 1024


class MediaError(Exception):
    """An enclosure that cannot be brought over; the message is the episode's reason."""


def _check_type(content_type: str, url: str) -> None:
    if content_type.startswith(_NOT_AUDIO_TYPES):
        raise MediaError(f"The enclosure {url} is not audio: the server sent {content_type}.")


def download_media(
    media: SourceMedia,
    key: str,
    *,
    scratch: Path | None = None,
    session: FetchSession | None = None,
) -> int:
    """Copy ``media`` to ``key`` in the uploads storage; return its size in bytes.

    Refuses (:class:`MediaError`) a file over ``UPLOAD_MAX_BYTES``, a web page
    or other non-audio answer, an empty file, and any fetch error (with its
    reason); nothing is stored then. The file is written in ``scratch`` (a
    folder from the storage's ``scratch_dir()``, shared by many downloads)
    or, without one, in a scratch folder of its own; fetches go through
    ``session`` if given.
    """
    if scratch is None:
        with uploads_storage().scratch_dir() as own:
            return download_media(media, key, scratch=Path(own), session=session)
    path = scratch / f"download-{secrets.token_hex(8)}"
    try:
        if media.url:
            size = _download_url(media.url, path, max_upload_bytes(), session)
        else:
            size = _download_s3(media, path, max_upload_bytes())
        if size == 0:
            raise MediaError(f"The enclosure {media.url or media.key} is empty.")
        uploads_storage().put_file(path, key, content_type=media.declared_type or "audio/mpeg")
    finally:
        path.unlink(missing_ok=True)  # moved into storage, or a partial download
    return size


def _download_url(url: str, path: Path, limit: int, session: FetchSession | None = None) -> int:
    size = 0
    try:
        with open_url(url, accept="audio/*, video/*;q=0.5, */*;q=0.1", session=session) as answer:
            _check_type(answer.content_type, url)
            if answer.content_length is not None and answer.content_length > limit:
                raise MediaError(
                    f"The enclosure {url} is {answer.content_length:,} bytes; "
                    f"the limit (UPLOAD_MAX_BYTES) is {limit:,}."
                )
            # A server dripping bytes (each within the read timeout) must not hold one
            # of the import's download slots for ever.
            deadline = time.monotonic() + settings.IMPORT_MEDIA_TIMEOUT_SECONDS
            with path.open("wb") as f:
                for chunk in answer.chunks(max_bytes=limit, deadline=deadline):
                    f.write(chunk)
                    size += len(chunk)
    except FetchError as exc:
        raise MediaError(str(exc)) from exc
    return size


def _download_s3(media: SourceMedia, path: Path, limit: int) -> int:
    client = boto3.client("s3", region_name=media.region or settings.AWS_REGION)
    size = 0
    try:
        body = client.get_object(Bucket=media.bucket, Key=media.key)["Body"]
        with path.open("wb") as f:
            while chunk := body.read(_S3_CHUNK):
                size += len(chunk)
                if size > limit:
                    raise MediaError(f"s3://{media.bucket}/{media.key} is over {limit:,} bytes.")
                f.write(chunk)
    except (ClientError, BotoCoreError) as exc:
        raise MediaError(f"Could not read s3://{media.bucket}/{media.key}: {exc}") from exc
    return size


def fetch_image(url: str) -> tuple[bytes, str]:
    """(bytes, file name) of an artwork URL; :class:`MediaError` if it cannot be fetched."""
    deadline = time.monotonic() + settings.IMPORT_FEED_TIMEOUT_SECONDS
    try:
        with open_url(url, accept="image/*") as answer:
            data = b"".join(answer.chunks(max_bytes=IMAGE_MAX_BYTES, deadline=deadline))
    except FetchError as exc:
        raise MediaError(str(exc)) from exc
    name = url.split("?", 1)[0].rstrip("/").rsplit("/", 1)[-1] or "artwork.jpg"
    return data, name
