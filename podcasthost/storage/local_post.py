"""The one-machine stand-in for S3's POST upload endpoint.

:func:`receive_local_upload` accepts the multipart form a presigned S3 POST
takes (the fields, then the file, last), checks the signed, expiring policy
:func:`sign_policy` made for the folder backend's ``presign_post``, and
streams the file to disk: memory use is constant and the file appears under
its key only once it is complete.
"""

from __future__ import annotations

import contextlib
import os
import re
import secrets
from datetime import datetime
from pathlib import Path
from typing import BinaryIO

from django.conf import settings
from django.core import signing
from django.core.exceptions import SuspiciousFileOperation
from django.core.files.storage import Storage, storages
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

from podcasthost.storage.base import UploadError

# Kept from when this lived in episodes/uploads.py: policies signed before a
# deploy stay valid for their hour.
POLICY_SALT = "episodes.uploads.local-policy"
CHUNK_BYTES = 1024 * 1024
# Room for the form fields and multipart framing around the file in a request body.
FORM_OVERHEAD_BYTES = 64 * 1024
MAX_FIELD_BYTES = 8 * 1024


def max_upload_bytes() -> int:
    return settings.UPLOAD_MAX_BYTES


def sign_policy(
    *, key: str, content_type: str, min_bytes: int, max_bytes: int, expires_at: datetime
) -> str:
    """The signed policy of one upload: this key, this type, this size range, until then."""
    return signing.dumps(
        {
            "key": key,
            "type": content_type,
            "min": min_bytes,
            "max": max_bytes,
            "exp": int(expires_at.timestamp()),
        },
        salt=POLICY_SALT,
        compress=True,
    )


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


def _write_partial(field_stream, partial: Path, max_bytes: int, min_bytes: int = 1) -> int:
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
        if written < min_bytes:
            raise UploadError(f"The file is smaller than the {min_bytes:,} bytes announced.")
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
    storage = storage or storages["uploads"]
    if not getattr(storage, "serves_locally", False):
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
            written = _write_partial(
                part,
                partial,
                min(policy["max"], max_upload_bytes()),
                # Policies signed before the size range was signed have no "min".
                policy.get("min", 1),
            )
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
