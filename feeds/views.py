"""Public views listeners reach."""

from __future__ import annotations

from django.http import HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404, render
from django.utils import timezone

from episodes.models import Podcast


def show_page(request: HttpRequest, slug: str) -> HttpResponse:
    """A show's public page: description, feed URL and published episodes."""
    podcast = get_object_or_404(Podcast, slug=slug)
    episodes = podcast.episodes.in_feed(timezone.now()).order_by("-publish_at")
    return render(request, "feeds/show.html", {"podcast": podcast, "episodes": episodes})
