"""Public URLs: local media, the site-wide files, then each show's feed, pages and player.

Order matters only where patterns overlap: ``/<slug>/feed.xml`` and
``/<slug>/embed`` come before ``/<slug>/<episode-slug>/`` (which needs the
trailing slash anyway), and episode slugs ``embed``/``feed`` are refused by
the model (``RESERVED_EPISODE_SLUGS``), show slugs such as ``oembed`` too.
"""

from django.urls import path, re_path

from feeds import views
from feeds.transcripts import URL_PATTERN as TRANSCRIPT_URL

app_name = "feeds"
urlpatterns = [
    path("media/<path:path>", views.media, name="media"),
    path("oembed", views.oembed, name="oembed"),
    path("sitemap.xml", views.sitemap, name="sitemap"),
    path("robots.txt", views.robots, name="robots"),
    path("<slug:slug>/feed.xml", views.feed, name="feed"),
    path("<slug:slug>/embed", views.embed_latest, name="embed_latest"),
    path("<slug:slug>/", views.show_page, name="show"),
    path("<slug:slug>/<slug:episode_slug>/embed", views.embed, name="embed"),
    re_path(TRANSCRIPT_URL, views.transcript, name="transcript"),
    path("<slug:slug>/<slug:episode_slug>/chapters.json", views.chapters_json, name="chapters"),
    path("<slug:slug>/<slug:episode_slug>/", views.episode_page, name="episode"),
]
