"""Public URLs: local media, the feed and the show page."""

from django.urls import path

from feeds import views

app_name = "feeds"
urlpatterns = [
    path("media/<path:path>", views.media, name="media"),
    path("<slug:slug>/feed.xml", views.feed, name="feed"),
    path("<slug:slug>/", views.show_page, name="show"),
]
