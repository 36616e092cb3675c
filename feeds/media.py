"""Serving the media storage's files on one machine: HEAD and byte ranges, real types.

Apple requires HEAD and byte-range support on media and artwork
(https://podcasters.apple.com/support/823-podcast-requirements). Only used
when the ``media`` storage is a local folder; on AWS CloudFront
and S3 serve the files with the ``ContentType`` the pipeline wrote.
"""

from __future__ import annotations

import mimetypes
import os
import re
from collections.abc import Iterator

from django.core.exceptions import SuspiciousFileOperation
from django.http import (
    FileResponse,
    Http404,
    HttpRequest,
    HttpResponse,
    HttpResponseNotAllowed,
    StreamingHttpResponse,
)
from django.utils.cache import get_conditional_response
from django.utils.http import http_date, parse_http_date_safe

from episodes.presets import PRESETS
from feeds.analytics.recording import track
from podcasthost.storage import get_storage

# The types the feed announces, so Content-Type always matches enclosure type.
_TYPES = {f".{p.extension}": p.mime_type for p in PRESETS} | {
    ".jpg": "image/jpeg",
    ".jpeg": "image/jpeg",
    ".png": "image/png",
    ".vtt": "text/vtt",
    ".srt": "application/x-subrip",
    ".json": "application/json",
}
_RANGE = re.compile(r"bytes=(\d*)-(\d*)")
# More significant digits than this is past any file (10**18 bytes is an exabyte):
# int() of a longer string is refused by Python (or slow), so never convert one.
_MAX_DIGITS = 18
_CHUNK = 64 * 1024


def content_type_for(name: str) -> str:
    ext = os.path.splitext(name)[1].lower()
    return _TYPES.get(ext) or mimetypes.guess_type(name)[0] or "application/octet-stream"


def _position(digits: str) -> int:
    """A byte position from its decimal digits; any huge one is ``10**18`` (past every file)."""
    significant = digits.lstrip("0")
    if len(significant) > _MAX_DIGITS:
        return 10**_MAX_DIGITS
    return int(significant or "0")


def parse_range(header: str, size: int) -> tuple[int, int] | bool | None:
    """``(first, last)`` of a single satisfiable range; ``None`` to ignore it; ``False`` = 416.

    RFC 9110 §14.1.2. Several ranges are answered with the whole file (allowed).
    Never raises, however many digits the header has.
    """
    match = _RANGE.fullmatch(header.strip().replace(" ", ""))
    if not match or (not match[1] and not match[2]):
        return None
    if match[1]:
        first = _position(match[1])
        if first >= size:
            return False
        last = _position(match[2]) if match[2] else size - 1
        if last < first:
            return None
        return first, min(last, size - 1)
    suffix = _position(match[2])
    if suffix == 0:
        return False
    return max(0, size - suffix), size - 1


def _read(path: str, first: int, length: int) -> Iterator[bytes]:
    with open(path, "rb") as f:
        f.seek(first)
        while length > 0:
            chunk = f.read(min(_CHUNK, length))
            if not chunk:
                return
            length -= len(chunk)
            yield chunk


def serve_media(request: HttpRequest, path: str) -> HttpResponse:
    """A file of the local media storage with HEAD, Range (206/416) and its real type."""
    if request.method not in ("GET", "HEAD"):
        return HttpResponseNotAllowed(["GET", "HEAD"])
    storage = get_storage("media")
    if not storage.serves_locally:
        raise Http404("Media are served by the CDN.")
    if any(part.startswith(".") for part in path.split("/")):
        # Dot-folders hold the transcoder's scratch files: never public.
        raise Http404("No such file.")
    try:
        full = storage.path(path)
    except SuspiciousFileOperation:
        raise Http404("No such file.") from None
    if not os.path.isfile(full):
        raise Http404("No such file.")
    stat = os.stat(full)
    size = stat.st_size
    etag = f'"{stat.st_mtime_ns:x}-{size:x}"'
    headers = {
        "Content-Type": content_type_for(full),
        "Accept-Ranges": "bytes",
        "Last-Modified": http_date(stat.st_mtime),
        "ETag": etag,
        "Cache-Control": "public, max-age=86400",
        "X-Content-Type-Options": "nosniff",
    }
    # If-None-Match / If-Modified-Since: 304 (RFC 9110 §13), before any range.
    conditional = get_conditional_response(request, etag=etag, last_modified=int(stat.st_mtime))
    if conditional is not None:
        for name in ("ETag", "Last-Modified", "Cache-Control", "Accept-Ranges"):
            conditional.headers[name] = headers[name]
        return conditional
    byte_range = None
    header = request.META.get("HTTP_RANGE")
    # Range applies to GET only (RFC 9110 §14.2); a HEAD answers for the whole file.
    if header and request.method == "GET":
        if_range = request.META.get("HTTP_IF_RANGE")
        # If-Range: only honour the range if the client's copy is still current.
        if (
            not if_range
            or if_range == etag
            or (parse_http_date_safe(if_range) or -1) >= int(stat.st_mtime)
        ):
            byte_range = parse_range(header, size)
    if byte_range is False:
        response = HttpResponse(status=416)
        response.headers["Content-Range"] = f"bytes */{size}"
        response.headers["Accept-Ranges"] = "bytes"
        return response
    if request.method == "HEAD":
        response = HttpResponse(headers={**headers, "Content-Length": str(size)})
        return response
    if byte_range is None:
        return track(request, FileResponse(open(full, "rb"), headers=headers), path, first_byte=0)
    first, last = byte_range
    length = last - first + 1
    response = StreamingHttpResponse(_read(full, first, length), status=206, headers=headers)
    response.headers["Content-Range"] = f"bytes {first}-{last}/{size}"
    response.headers["Content-Length"] = str(length)
    # Download analytics: the bytes really sent, once sent (feeds/analytics/).
    return track(request, response, path, first_byte=first)
