"""Public views listeners reach: the feed, the show page and local media."""

from __future__ import annotations

from django.http import HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404, render
from django.utils import timezone
from django.views.decorators.csrf import csrf_exempt

from episodes.models import Podcast
from feeds.media import serve_media
from feeds.rss import feed_episodes, split_renditions
from feeds.serving import serve_feed


@csrf_exempt
def feed(request: HttpRequest, slug: str) -> HttpResponse:
    """``/<slug>/feed.xml``: the last published feed with ETag/Last-Modified/304, gzip, HEAD."""
    return serve_feed(request, slug)


def media(request: HttpRequest, path: str) -> HttpResponse:
    """``/media/<path>`` on one machine: HEAD and byte ranges (206/416)."""
    return serve_media(request, path)


def show_page(request: HttpRequest, slug: str) -> HttpResponse:
    """A show's public page: cover, description, feed URL and published episodes."""
    podcast = get_object_or_404(Podcast, slug=slug)
    episodes = [
        (episode, split_renditions(episode.renditions.all())[0])
        for episode in feed_episodes(podcast, timezone.now())
    ]
    return render(request, "feeds/show.html", {"podcast": podcast, "episodes": episodes})
