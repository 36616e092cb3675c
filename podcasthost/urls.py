"""Root URLs: the creators' admin, then the public feed and show pages."""

from django.contrib import admin
from django.urls import include, path

from podcasthost.instance import healthz

urlpatterns = [
    path("admin/", admin.site.urls),
    path("healthz", healthz, name="healthz"),
    path("", include("episodes.urls")),
    path("", include("feeds.urls")),
]
