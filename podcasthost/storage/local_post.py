"""The one-machine stand-in for S3's POST upload endpoint.

:func:`receive_local_upload` accepts the multipart form a presigned S3 POST
takes (the fields, then the file, last), checks the signed, expiring policy
:func:`sign_policy` made for the folder backend's ``presign_post``, and
streams the file to disk: memory use is constant and the file appears under
its key only once the whole body, up to its closing boundary, has arrived.

The endpoint needs no login (the policy is the authorisation), so everything
read before the policy is checked is capped: at most :data:`MAX_FORM_FIELDS`
fields of :data:`MAX_FORM_BYTES` in all, read in small chunks. The multipart
framing is parsed by the ``multipart`` library's strict-about-structure
push parser (RFC 7578, https://www.rfc-editor.org/rfc/rfc7578), which also
tells a body that reached its closing delimiter (RFC 2046 §5.1.1,
https://www.rfc-editor.org/rfc/rfc2046#section-5.1.1) from a cut one.
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
from django.utils import timezone
from django.utils.http import parse_header_parameters
from multipart import MultipartError, MultipartSegment, ParserLimitReached, PushMultipartParser

from podcasthost.storage.base import UploadError

# Kept from when this lived in episodes/uploads.py: policies signed before a
# deploy stay valid for their hour.
POLICY_SALT = "episodes.uploads.local-policy"
CHUNK_BYTES = 1024 * 1024
# Until the file part starts, the body is read in small chunks: a refused
# form costs at most about the caps below, whatever its Content-Length.
FORM_CHUNK_BYTES = 16 * 1024
# Room for the form fields and multipart framing around the file in a request body.
FORM_OVERHEAD_BYTES = 64 * 1024
MAX_FIELD_BYTES = 8 * 1024
# The presigned form has key, Content-Type and policy (S3's adds x-amz-*
# fields and maybe success_action_status): 20 is plenty.
MAX_FORM_FIELDS = 20
# Every field part's headers and value together, before and after the file.
MAX_FORM_BYTES = 64 * 1024
# One header line of a part (Content-Disposition with a long file name).
MAX_PART_HEADER_BYTES = 2048


def max_upload_bytes() -> int:
    """``UPLOAD_MAX_BYTES``, read at call time: the largest upload accepted anywhere."""
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


def _load_policy(token: str, *, now: datetime) -> dict:
    """The signed policy in ``token``; :class:`UploadError` (403) if forged or expired."""
    try:
        policy = signing.loads(token, salt=POLICY_SALT)
    except signing.BadSignature:
        raise UploadError("Invalid upload policy signature.", status=403) from None
    if now.timestamp() > policy["exp"]:
        raise UploadError("The upload policy has expired; start the upload again.", status=403)
    return policy


def _partial_path_for(destination: Path) -> Path:
    return destination.with_name(f".{destination.name}.{secrets.token_hex(6)}.part")


class _PartialFile:
    """The file part, streamed into a hidden ``.part`` file next to its destination.

    The size limit is enforced on every write. The caller removes :attr:`path`
    whatever happens; :meth:`publish` links it to its key.
    """

    def __init__(self, destination: Path, *, min_bytes: int, max_bytes: int) -> None:
        self.destination = destination
        self.path = _partial_path_for(destination)
        self.min_bytes = min_bytes
        self.max_bytes = max_bytes
        self.written = 0
        destination.parent.mkdir(parents=True, exist_ok=True)
        self._out = self.path.open("xb")  # created, never overwritten

    def write(self, chunk: bytes) -> None:
        self.written += len(chunk)
        if self.written > self.max_bytes:
            raise UploadError(
                f"The file is larger than the limit of {self.max_bytes:,} bytes.", status=413
            )
        self._out.write(chunk)

    def close(self) -> None:
        """Check the size range and put the bytes on disk (the browser is told "stored")."""
        if self._out.closed:
            return
        try:
            if self.written == 0:
                raise UploadError("The file is empty.")
            if self.written < self.min_bytes:
                raise UploadError(
                    f"The file is smaller than the {self.min_bytes:,} bytes announced."
                )
            # On disk before it gets its name: after a crash the key holds the
            # whole file or nothing.
            self._out.flush()
            os.fsync(self._out.fileno())
        finally:
            self._out.close()

    def publish(self) -> None:
        """Give the complete file its name; 409 if the key already holds one."""
        # link() refuses an existing name: a presigned form re-posted within its
        # hour cannot replace a file that was already confirmed and processed.
        try:
            os.link(self.path, self.destination)
        except FileExistsError:
            raise UploadError("This upload was already received.", status=409) from None

    def discard(self) -> None:
        self._out.close()
        with contextlib.suppress(FileNotFoundError):
            self.path.unlink()


class _Form:
    """What one POST body said so far: its fields (capped), then its file."""

    def __init__(self, storage: Storage, *, content_length: int, now: datetime) -> None:
        self.storage = storage
        self.content_length = content_length
        self.now = now
        self.fields: dict[str, str] = {}
        self.policy: dict | None = None
        self.file: _PartialFile | None = None
        self.form_bytes = 0
        self._field_count = 0
        self._part: str = ""  # "field", "file" or "ignored": the part being read
        self._name = ""
        self._value = bytearray()

    def _spend(self, n_bytes: int) -> None:
        self.form_bytes += n_bytes
        if self.form_bytes > MAX_FORM_BYTES:
            raise UploadError(f"The form fields are larger than {MAX_FORM_BYTES:,} bytes in all.")

    def start_part(self, segment: MultipartSegment) -> None:
        if self.file is not None:
            # S3 ignores fields after the file; so do we (the body is read to its end).
            self._part = "ignored"
            return
        if segment.filename is not None:
            self._start_file(segment.name or "")
            return
        self._field_count += 1
        if self._field_count > MAX_FORM_FIELDS:
            raise UploadError(f"The form has more than {MAX_FORM_FIELDS} fields.")
        self._spend(sum(len(name) + len(value) + 4 for name, value in segment.headerlist))
        self._part, self._name, self._value = "field", segment.name or "", bytearray()

    def data(self, chunk: bytes) -> None:
        if self._part == "file":
            self.file.write(chunk)
        elif self._part == "field":
            self._spend(len(chunk))
            self._value += chunk
            if len(self._value) > MAX_FIELD_BYTES:
                raise UploadError(f"The form field “{self._name}” is too long.")

    def end_part(self) -> None:
        if self._part == "file":
            self.file.close()
        elif self._part == "field":
            value = self._value.decode("utf-8", "replace")
            self.fields[self._name] = value
            if self._name == "policy":
                # Forged or expired: refused before another byte is read.
                self.policy = _load_policy(value, now=self.now)
                self._check_body_size()
        self._part, self._value = "", bytearray()

    def _check_body_size(self) -> None:
        # The policy pins the file's size: a body that cannot fit it is refused unread.
        if self.content_length > self.policy["max"] + FORM_OVERHEAD_BYTES:
            raise UploadError(
                f"The file is larger than the limit of {self.policy['max']:,} bytes.", status=413
            )

    def _start_file(self, name: str) -> None:
        if name != "file":
            raise UploadError("The file must be sent in a field named “file”.")
        if self.policy is None:
            raise UploadError("The form has no upload policy.", status=403)
        if self.fields.get("key", "") != self.policy["key"]:
            raise UploadError("The key does not match the upload policy.", status=403)
        if self.fields.get("Content-Type", "") != self.policy["type"]:
            raise UploadError("The Content-Type does not match the upload policy.", status=403)
        try:
            destination = Path(self.storage.path(self.policy["key"]))
        except SuspiciousFileOperation:
            raise UploadError("Invalid key.", status=403) from None
        self.file = _PartialFile(
            destination,
            # Policies signed before the size range was signed have no "min".
            min_bytes=self.policy.get("min", 1),
            max_bytes=min(self.policy["max"], max_upload_bytes()),
        )
        self._part = "file"


def receive_local_upload(
    meta: dict, body: BinaryIO, *, storage: Storage | None = None, now: datetime | None = None
) -> tuple[str, int]:
    """Accept the S3-style presigned POST form on one machine; return ``(key, bytes)``.

    ``meta`` is the WSGI environ (``request.META``), ``body`` the request body
    stream (the request itself). Fields must precede the file, as S3 requires.
    The policy's signature and expiry are checked as soon as the ``policy``
    field has arrived, its key and type before a byte of the file is written;
    the fields are capped in number and size. Memory use is constant; the size
    range is enforced while streaming. Only a body read in full, up to its
    closing boundary, is stored. Raises :class:`UploadError` (nothing left on
    disk) otherwise.
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

    form = _Form(storage, content_length=content_length, now=now)
    parser = PushMultipartParser(
        boundary,
        content_length=content_length,
        max_header_size=MAX_PART_HEADER_BYTES,
        # The fields, the file, and as many ignored parts after it.
        max_segment_count=2 * MAX_FORM_FIELDS + 1,
    )
    remaining = content_length
    try:
        while remaining:
            size = CHUNK_BYTES if form.file is not None else FORM_CHUNK_BYTES
            chunk = body.read(min(size, remaining))
            if not chunk:
                # A client that hung up mid-body: only a body received in full
                # is a complete upload.
                raise UploadError("The upload was interrupted; try again.")
            remaining -= len(chunk)
            for event in parser.parse(chunk):
                if isinstance(event, MultipartSegment):
                    form.start_part(event)
                elif event is None:
                    form.end_part()
                else:
                    form.data(event)
        try:
            parser.close()
        except MultipartError:
            raise UploadError(
                "The upload is incomplete: the form ends before its closing boundary."
            ) from None
        if form.file is None:
            if form.policy is None:
                raise UploadError("The form has no upload policy.", status=403)
            raise UploadError("The form has no file.")
        form.file.publish()
    except ParserLimitReached as exc:
        raise UploadError(f"The form is too large: {exc}.") from None
    except MultipartError as exc:
        raise UploadError(f"Malformed multipart body: {exc}.") from None
    finally:
        if form.file is not None:
            form.file.discard()
    return form.policy["key"], form.file.written
