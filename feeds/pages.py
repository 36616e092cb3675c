"""Serving the public site's pages fast: a per-process cache with ETag/304, like the feeds.

A page (show, episode, embed) is rendered once and kept in this process's
memory with its strong ETag. After ``FEED_SERVE_CACHE_SECONDS`` it is
revalidated with ONE indexed query (:func:`feeds.site.site_version`: the show's
and its episodes' latest ``updated_at`` and their count); it is rendered again
only when that changed, or when the page's own expiry passed — a page that
lists episodes expires at the next scheduled ``publish_at``, so a scheduled
episode appears on time and never early. Unknown pages (404) are not cached,
and the cache holds at most ``MAX_ENTRIES`` pages (least recently used out),
so random URLs cannot grow memory.
"""

from __future__ import annotations

import hashlib
import threading
import time
from collections import OrderedDict
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime

from django.conf import settings
from django.http import Http404, HttpRequest, HttpResponse, HttpResponseNotAllowed
from django.utils import timezone
from django.utils.cache import get_conditional_response

from feeds.site import site_version

MAX_ENTRIES = 512
CONTENT_TYPE = "text/html; charset=utf-8"


@dataclass(frozen=True)
class Rendered:
    """What a page renderer returns: the bytes and when they stop being true (``None``: never)."""

    body: bytes
    expires_at: datetime | None = None
    content_type: str = CONTENT_TYPE


@dataclass
class CachedPage:
    version: tuple
    rendered: Rendered
    etag: str
    checked_at: float


_cache: OrderedDict[str, CachedPage] = OrderedDict()
_lock = threading.Lock()


def clear_cache() -> None:
    """Forget every cached page of this process (tests, benchmarks)."""
    with _lock:
        _cache.clear()


def _store(key: str, entry: CachedPage) -> None:
    with _lock:
        _cache[key] = entry
        _cache.move_to_end(key)
        while len(_cache) > MAX_ENTRIES:
            _cache.popitem(last=False)


def _current(key: str, slug: str, render: Callable[[], Rendered]) -> CachedPage:
    """The cached page ``key`` of show ``slug``, revalidated or rendered as needed.

    Raises :class:`~django.http.Http404` when the show is gone or ``render`` says so.
    """
    now = time.monotonic()
    wall = timezone.now()
    entry = _cache.get(key)
    alive = entry is not None and (
        entry.rendered.expires_at is None or wall < entry.rendered.expires_at
    )
    if alive and now - entry.checked_at < float(settings.FEED_SERVE_CACHE_SECONDS):
        return entry
    version = site_version(slug)
    if version is None:
        with _lock:
            _cache.pop(key, None)
        raise Http404("No such show.")
    if alive and entry.version == version:
        entry.checked_at = now
        return entry
    try:
        rendered = render()
    except Http404:
        with _lock:
            _cache.pop(key, None)
        raise
    entry = CachedPage(
        version=version,
        rendered=rendered,
        etag=f'"{hashlib.sha256(rendered.body).hexdigest()[:32]}"',
        checked_at=now,
    )
    _store(key, entry)
    return entry


def serve_page(
    request: HttpRequest, *, key: str, slug: str, render: Callable[[], Rendered]
) -> HttpResponse:
    """GET/HEAD of a cached public page: 200 with ETag, 304 when the client has it, 404, 405.

    ``key`` names the page (its path and query); ``render`` builds it from the
    database and raises ``Http404`` for something not published.
    """
    if request.method not in ("GET", "HEAD"):
        return HttpResponseNotAllowed(["GET", "HEAD"])
    entry = _current(key, slug, render)
    max_age = settings.SITE_PAGE_MAX_AGE
    if entry.rendered.expires_at is not None:
        # No cache may keep a list past the moment a scheduled episode joins it.
        left = (entry.rendered.expires_at - timezone.now()).total_seconds()
        max_age = max(0, min(max_age, int(left)))
    headers = {
        "ETag": entry.etag,
        "Cache-Control": f"public, max-age={max_age}",
        "X-Content-Type-Options": "nosniff",
    }
    not_modified = get_conditional_response(request, etag=entry.etag)
    if not_modified is not None:
        for name, value in headers.items():
            not_modified[name] = value
        return not_modified
    body = b"" if request.method == "HEAD" else entry.rendered.body
    response = HttpResponse(body, content_type=entry.rendered.content_type, headers=headers)
    response["Content-Length"] = str(len(entry.rendered.body))
    return response
