"""Public URLs: the show page and the feed."""

from django.urls import path

from feeds import views

app_name = "feeds"
urlpatterns = [
    path("<slug:slug>/", views.show_page, name="show"),
]
