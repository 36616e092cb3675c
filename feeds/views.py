"""Public views listeners reach: the feed, local media, and the show's website and player.

Each site view parses its input and hands :func:`feeds.pages.serve_page` a
renderer; the content rules (what is published, the metadata) live in
:mod:`feeds.site`.
"""

from __future__ import annotations

import re
from urllib.parse import urlsplit

from csp.decorators import csp_replace
from django.conf import settings
from django.contrib.sitemaps.views import sitemap as sitemap_view
from django.http import Http404, HttpRequest, HttpResponse, JsonResponse
from django.shortcuts import get_object_or_404
from django.template.loader import render_to_string
from django.urls import Resolver404, resolve, reverse
from django.utils import timezone
from django.views.decorators.clickjacking import xframe_options_exempt
from django.views.decorators.csrf import csrf_exempt
from django.views.decorators.http import require_safe

from episodes.chapters.json_format import CONTENT_TYPE as CHAPTERS_TYPE
from episodes.models import Episode, Podcast
from feeds import site
from feeds.embed import EMBED_MIN_WIDTH, EMBED_WIDTH, embed_height, embed_html
from feeds.media import serve_media
from feeds.pages import Rendered, serve_page
from feeds.serving import serve_feed
from feeds.sitemaps import SITEMAPS
from feeds.transcript_files import serve_transcript

_PAGE_NUMBER = re.compile(r"[1-9][0-9]{0,5}")
# Embeds may be framed by any site: that is what they are for.
_framable = csp_replace({"frame-ancestors": ["*"]})


@csrf_exempt
def feed(request: HttpRequest, slug: str) -> HttpResponse:
    """``/<slug>/feed.xml``: the last published feed with ETag/Last-Modified/304, gzip, HEAD."""
    return serve_feed(request, slug)


def media(request: HttpRequest, path: str) -> HttpResponse:
    """``/media/<path>`` on one machine: HEAD and byte ranges (206/416)."""
    return serve_media(request, path)


def show_page(request: HttpRequest, slug: str) -> HttpResponse:
    """``/<slug>/``: cover, subscribe buttons, published episodes paginated (``?page=N``)."""
    number = request.GET.get("page", "1")
    if not _PAGE_NUMBER.fullmatch(number):
        raise Http404("No such page.")

    def render() -> Rendered:
        now = timezone.now()
        podcast = get_object_or_404(Podcast, slug=slug)
        page = site.episode_page(podcast, number, now)
        if page is None:
            raise Http404("No such page.")
        html = render_to_string("feeds/show.html", site.show_context(podcast, page))
        return Rendered(html.encode(), site.next_publication_at(podcast, now))

    return serve_page(request, key=f"show:{slug}:{number}", slug=slug, render=render)


def episode_page(request: HttpRequest, slug: str, episode_slug: str) -> HttpResponse:
    """``/<slug>/<episode-slug>/``: player, notes, chapters, transcript; 404 until published."""

    def render() -> Rendered:
        podcast, episode = _published(slug, episode_slug)
        html = render_to_string("feeds/episode.html", site.episode_context(podcast, episode))
        return Rendered(html.encode())

    return serve_page(request, key=f"episode:{slug}:{episode_slug}", slug=slug, render=render)


def chapters_json(request: HttpRequest, slug: str, episode_slug: str) -> HttpResponse:
    """``/<slug>/<episode-slug>/chapters.json``: Podcasting 2.0 JSON chapters; 404 until published.

    Any origin may read it (web players fetch it cross-origin), with ETag/304.
    """

    def render() -> Rendered:
        podcast, episode = _published(slug, episode_slug)
        if not episode.chapters.exists():
            raise Http404("This episode has no chapters.")
        return Rendered(site.chapters_json(podcast, episode), content_type=CHAPTERS_TYPE)

    response = serve_page(request, key=f"chapters:{slug}:{episode_slug}", slug=slug, render=render)
    response["Access-Control-Allow-Origin"] = "*"
    return response


@_framable
@xframe_options_exempt
def embed(request: HttpRequest, slug: str, episode_slug: str) -> HttpResponse:
    """``/<slug>/<episode-slug>/embed``: the small player, framable by any site."""

    def render() -> Rendered:
        podcast, episode = _published(slug, episode_slug)
        html = render_to_string("feeds/embed.html", site.episode_context(podcast, episode))
        return Rendered(html.encode())

    return serve_page(request, key=f"embed:{slug}:{episode_slug}", slug=slug, render=render)


@_framable
@xframe_options_exempt
def embed_latest(request: HttpRequest, slug: str) -> HttpResponse:
    """``/<slug>/embed``: the player of the show's latest published episode."""

    def render() -> Rendered:
        now = timezone.now()
        podcast = get_object_or_404(Podcast, slug=slug)
        episode = site.latest_episode(podcast, now)
        if episode is None:
            raise Http404("This show has published no episode yet.")
        html = render_to_string("feeds/embed.html", site.episode_context(podcast, episode))
        return Rendered(html.encode(), site.next_publication_at(podcast, now))

    return serve_page(request, key=f"embed-latest:{slug}", slug=slug, render=render)


def transcript(
    request: HttpRequest, slug: str, episode_slug: str, language: str, ext: str
) -> HttpResponse:
    """``/<slug>/<episode-slug>/transcript.<language>.<ext>``: a published transcript file."""
    return serve_transcript(request, slug, episode_slug, language, ext)


def _published(slug: str, episode_slug: str) -> tuple[Podcast, Episode]:
    podcast = get_object_or_404(Podcast, slug=slug)
    episode = site.public_episode(podcast, episode_slug, timezone.now())
    if episode is None:
        raise Http404("No such episode.")
    return podcast, episode


def _int_param(request: HttpRequest, name: str) -> int | None:
    raw = request.GET.get(name, "")
    if not raw:
        return None
    if not raw.isdigit() or len(raw) > 5:
        raise ValueError(name)
    return int(raw)


@require_safe
def oembed(request: HttpRequest) -> HttpResponse:
    """``/oembed?url=…&format=json``: the player of a show or episode page (https://oembed.com/).

    404 for a URL that is not a published page of this site, 501 for a format
    other than JSON, 400 for malformed ``maxwidth``/``maxheight``.
    """
    if request.GET.get("format", "json") != "json":
        return HttpResponse(
            "Only format=json is offered.", status=501, content_type="text/plain; charset=utf-8"
        )
    try:
        maxwidth = _int_param(request, "maxwidth")
        maxheight = _int_param(request, "maxheight")
    except ValueError as exc:
        return JsonResponse({"error": f"{exc} must be a whole number of pixels."}, status=400)
    podcast, episode = _page_of(request.GET.get("url", ""))
    played = episode or site.latest_episode(podcast, timezone.now())
    height = embed_height(bool(played and site.chapters_for(played)))
    if maxheight is not None and maxheight < height:
        # The player cannot shrink below its controls; oEmbed asks for a 404 then.
        return JsonResponse({"error": f"The player needs {height} px of height."}, status=404)
    width = EMBED_WIDTH if maxwidth is None else max(EMBED_MIN_WIDTH, min(EMBED_WIDTH, maxwidth))
    src = site.absolute_url(site.embed_path(podcast, episode))
    title = episode.title if episode else podcast.title
    data = {
        "version": "1.0",
        "type": "rich",
        "provider_name": podcast.title,
        "provider_url": site.absolute_url(podcast.get_absolute_url()),
        "title": title,
        "html": embed_html(src, title, width=width, height=height),
        "width": width,
        "height": height,
        "cache_age": settings.SITE_PAGE_MAX_AGE,
    }
    if podcast.author:
        data["author_name"] = podcast.author
        data["author_url"] = data["provider_url"]
    if podcast.cover:
        try:
            side = podcast.cover.width  # reads the image header only; covers are square
        except OSError:
            side = None
        if side:
            data.update(
                thumbnail_url=podcast.cover.url, thumbnail_width=side, thumbnail_height=side
            )
    return JsonResponse(data, json_dumps_params={"ensure_ascii": False})


def _page_of(url: str) -> tuple[Podcast, Episode | None]:
    """The show (and episode) whose public page ``url`` is; ``Http404`` for anything else."""
    parts = urlsplit(url[:2000])
    base = urlsplit(settings.PUBLIC_BASE_URL)
    if parts.scheme not in ("http", "https") or parts.netloc.lower() != base.netloc.lower():
        raise Http404("Not a page of this site.")
    try:
        match = resolve(parts.path or "/")
    except Resolver404:
        raise Http404("Not a page of this site.") from None
    if match.view_name not in ("feeds:show", "feeds:episode", "feeds:embed", "feeds:embed_latest"):
        raise Http404("Not a show or episode page.")
    podcast = get_object_or_404(Podcast, slug=match.kwargs["slug"])
    episode_slug = match.kwargs.get("episode_slug")
    if episode_slug is None:
        return podcast, None
    episode = site.public_episode(podcast, episode_slug, timezone.now())
    if episode is None:
        raise Http404("No such episode.")
    return podcast, episode


@require_safe
def sitemap(request: HttpRequest) -> HttpResponse:
    """``/sitemap.xml``: every show page and published episode page, on ``PUBLIC_BASE_URL``."""
    return sitemap_view(request, SITEMAPS)


@require_safe
def robots(request: HttpRequest) -> HttpResponse:
    """``/robots.txt``: crawl the public site, not the admin or the upload endpoints."""
    lines = [
        "User-agent: *",
        "Disallow: /admin/",
        "Disallow: /episodes/",
        "Disallow: /uploads/",
        "Disallow: /oembed",
        "Allow: /",
        f"Sitemap: {site.absolute_url(reverse('feeds:sitemap'))}",
    ]
    return HttpResponse("\n".join(lines) + "\n", content_type="text/plain; charset=utf-8")
