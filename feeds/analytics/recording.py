"""Download events from the one-machine ``/media/`` view, under the same rules as the CDN logs.

:func:`track` wraps a GET response's body: once the server has sent it (or
the client went away), the bytes really sent are handed to
:class:`~feeds.analytics.rules.EventMaker` and, if the request counts, one
raw event is stored. The client's address is the one the trusted proxies
vouch for (:func:`podcasthost.client_ip.client_ip`), so a reverse proxy does
not make every listener one. Recording never breaks serving: a failure is logged.
"""

from __future__ import annotations

import logging
from collections.abc import Iterable, Iterator

from django.http import HttpRequest, StreamingHttpResponse
from django.utils import timezone

from episodes.models import Rendition
from feeds.analytics.models import DownloadEvent
from feeds.analytics.rules import EventMaker, MediaRequest, store_events
from podcasthost.client_ip import client_ip

logger = logging.getLogger(__name__)


def track(
    request: HttpRequest, response: StreamingHttpResponse, key: str, *, first_byte: int
) -> StreamingHttpResponse:
    """Record ``response`` (a GET of the media file ``key``) once its body has been sent."""
    rendition_id = Rendition.objects.filter(key=key).values_list("pk", flat=True).first()
    if rendition_id is None:
        return response  # cover art, transcripts: not downloads
    at = timezone.now()
    facts = {
        "at": at,
        "path": request.path,
        "method": request.method or "",
        "status": response.status_code,
        "first_byte": first_byte,
        "user_agent": request.META.get("HTTP_USER_AGENT", "")[:1024],
        "client_address": client_ip(request) or "",
    }

    def done(sent: int) -> None:
        try:
            event = EventMaker(DownloadEvent.Source.MEDIA_VIEW).event_for(
                MediaRequest(bytes_served=sent, **facts), rendition_id
            )
            if not isinstance(event, str):
                store_events([event])
        except Exception:
            logger.exception("Could not record the download of %s", key)

    response.streaming_content = _counted(response.streaming_content, done)
    return response


def _counted(chunks: Iterable[bytes], done) -> Iterator[bytes]:
    sent = 0
    try:
        for chunk in chunks:
            yield chunk
            sent += len(chunk)
    finally:
        done(sent)
