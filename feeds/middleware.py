"""A short-cut for ``*/feed.xml`` placed early in ``MIDDLEWARE``.

Feeds are fetched far more than anything else and need no session, user,
CSRF token or messages: answering them before those middleware run is what
lets the app serve a feed about as fast as a static file (see bench/feeds.py).
The same :func:`feeds.serving.serve_feed` also answers through the URLconf,
so the short-cut is an optimisation, not a second behaviour.
"""

from __future__ import annotations

from collections.abc import Callable

from django.http import HttpRequest, HttpResponse

from feeds.serving import FEED_PATH, serve_feed


class FeedFastPathMiddleware:
    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        path = request.path_info
        if path.endswith("/feed.xml"):
            match = FEED_PATH.fullmatch(path)
            if match:
                # The check CommonMiddleware would do: an unlisted Host raises
                # DisallowedHost, which Django answers with 400.
                request.get_host()
                return serve_feed(request, match["slug"])
        return self.get_response(request)
