"""Serving transcript files: ``/<show>/<episode>/transcript.<language>.<ext>``.

With their MIME type, a strong ETag (304) and ``Access-Control-Allow-Origin: *``:
web players fetch transcripts from other origins
(https://github.com/Podcastindex-org/podcast-namespace/blob/main/docs/examples/transcripts/transcripts.md).
"""

from __future__ import annotations

from django.conf import settings
from django.http import Http404, HttpRequest, HttpResponse, HttpResponseNotAllowed
from django.shortcuts import get_object_or_404
from django.utils import timezone
from django.utils.cache import get_conditional_response

from episodes.models import Podcast
from feeds import site
from feeds.transcripts import published_file


def serve_transcript(
    request: HttpRequest, slug: str, episode_slug: str, language: str, ext: str
) -> HttpResponse:
    """GET/HEAD of one transcript file: 200 with ETag and CORS ``*``, 304, 404 or 405.

    404 unless the episode is published (not scheduled, not a draft) and has
    a published transcript in ``language`` that can be written as ``ext``.
    Files are written from the stored cues once per change and process
    (:data:`feeds.transcripts.FILE_CACHE`).
    """
    if request.method not in ("GET", "HEAD"):
        return HttpResponseNotAllowed(["GET", "HEAD"])
    podcast = get_object_or_404(Podcast, slug=slug)
    episode = site.public_episode(podcast, episode_slug, timezone.now())
    found = published_file(episode, language, ext) if episode is not None else None
    if found is None:
        raise Http404("No such transcript.")
    headers = {
        "ETag": found.etag,
        "Cache-Control": f"public, max-age={settings.SITE_PAGE_MAX_AGE}",
        "Access-Control-Allow-Origin": "*",
        "X-Content-Type-Options": "nosniff",
    }
    response = get_conditional_response(request, etag=found.etag)
    if response is None:
        body = b"" if request.method == "HEAD" else found.body
        response = HttpResponse(body, content_type=found.content_type)
        response["Content-Length"] = str(len(found.body))
    for name, value in headers.items():
        response[name] = value
    return response
