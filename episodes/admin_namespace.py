"""The admin's Podcasting 2.0 parts: the "Podcasting 2.0" fieldsets and the inlines.

Inlines edit rows of the show or episode being edited only (Django scopes them
by the parent, which ``TenantAdmin`` already scoped to the user's shows).
"""

from __future__ import annotations

from django import forms
from django.contrib import admin

from episodes.models import (
    EpisodePerson,
    PodcastFunding,
    PodcastPerson,
    PodcastTrailer,
    PodcastTxt,
    PodrollItem,
)

_LOCATION = ("location", "location_rel", "location_geo", "location_osm", "location_country")

PODCAST_FIELDSET = (
    "Podcasting 2.0",
    {
        "classes": ("collapse",),
        "description": "Tags podcast apps that support the Podcasting 2.0 namespace show: "
        "what the feed is, its licence, where it is made or what place it is about, and "
        "the release schedule. People, funding links, trailers, txt records and "
        "recommended shows are edited below.",
        "fields": (
            "medium",
            "license",
            "license_url",
            *_LOCATION,
            "update_frequency",
            "update_rrule",
            "update_dtstart",
            "update_complete",
        ),
    },
)

EPISODE_FIELDSET = (
    "Podcasting 2.0",
    {
        "classes": ("collapse",),
        "description": "Only when this episode differs from the show. People listed under "
        "“People of the episode” replace the show's people for this episode: list the "
        "hosts again with the guests.",
        "fields": ("license", "license_url", *_LOCATION),
    },
)


class _Inline(admin.TabularInline):
    extra = 0
    classes = ("collapse",)

    class Media:
        css = {"all": ("episodes/admin_namespace.css",)}

    def formfield_for_dbfield(self, db_field, request, **kwargs):
        field = super().formfield_for_dbfield(db_field, request, **kwargs)
        if field is not None and isinstance(field.widget, forms.TextInput):
            # As TenantAdmin does: the form names the limit instead of the
            # browser silently cutting pasted text at maxlength.
            field.widget.attrs.pop("maxlength", None)
        return field


class PodcastPersonInline(_Inline):
    model = PodcastPerson
    # In the order entered (``position`` stays 0): the row fits 1280 px.
    fields = ("name", "role", "group", "img", "href")


class EpisodePersonInline(_Inline):
    model = EpisodePerson
    fields = ("name", "role", "group", "img", "href")


class PodcastFundingInline(_Inline):
    model = PodcastFunding
    fields = ("url", "text", "position")


class PodcastTrailerInline(_Inline):
    model = PodcastTrailer
    fields = ("title", "url", "pubdate", "length_bytes", "mime_type", "season")


class PodcastTxtInline(_Inline):
    model = PodcastTxt
    fields = ("purpose", "text")


class PodrollItemInline(_Inline):
    model = PodrollItem
    # No episode guid: podroll.md does not expect a podroll to point at episodes.
    fields = ("feed_guid", "feed_url", "title", "medium", "position")


PODCAST_INLINES = (
    PodcastPersonInline,
    PodcastFundingInline,
    PodcastTrailerInline,
    PodcastTxtInline,
    PodrollItemInline,
)
EPISODE_INLINES = (EpisodePersonInline,)
