"""``/sitemap.xml`` (django.contrib.sitemaps): show pages and published episode pages.

URLs are built on ``PUBLIC_BASE_URL``, the canonical origin, whatever host the
request came to.
"""

from __future__ import annotations

from urllib.parse import urlsplit

from django.conf import settings
from django.contrib.sitemaps import Sitemap
from django.utils import timezone

from episodes.models import Episode, Podcast


class _CanonicalSitemap(Sitemap):
    def get_protocol(self, protocol: str | None = None) -> str:
        return urlsplit(settings.PUBLIC_BASE_URL).scheme

    def get_domain(self, site=None) -> str:
        return urlsplit(settings.PUBLIC_BASE_URL).netloc


class ShowSitemap(_CanonicalSitemap):
    changefreq = "daily"

    def items(self):
        return Podcast.objects.order_by("pk").only("slug", "updated_at")

    def lastmod(self, item: Podcast):
        return item.updated_at


class EpisodeSitemap(_CanonicalSitemap):
    changefreq = "weekly"

    def items(self):
        return (
            Episode.objects.in_feed(timezone.now())
            .select_related("podcast")
            .order_by("pk")
            .only("slug", "updated_at", "podcast__slug")
        )

    def lastmod(self, item: Episode):
        return item.updated_at


SITEMAPS = {"shows": ShowSitemap, "episodes": EpisodeSitemap}
