"""The creators' admin: shows and episodes, scoped to the shows a user is a member of.

Multi-tenancy is enforced in one place per model, ``get_queryset``; every
admin view (changelist, change/delete/history by URL, actions, foreign-key
choices, list filters) goes through it, and an object outside it answers 404.
"""

from __future__ import annotations

from datetime import datetime

from django import forms
from django.contrib import admin
from django.db.models import Count, IntegerField, OuterRef, Subquery, Sum
from django.db.models.functions import Coalesce
from django.http import Http404
from django.urls import path, reverse
from django.utils import timezone
from django.utils.formats import date_format
from django.utils.html import format_html

from episodes.admin_actions import retry_processing
from episodes.live_status import SOURCE_FIELDS, episode_status, source_display
from episodes.models import Episode, Podcast
from episodes.units import episode_count, format_duration
from feeds.analytics import dashboard
from feeds.analytics.models import EpisodeDownloadDay

OWNER_EMAIL_REQUIRED = (
    "Apple Podcasts refuses a feed without an owner e-mail (itunes:owner/itunes:email): "
    "enter the address that should receive directory verification mail."
)


class TenantAdmin(admin.ModelAdmin):
    """Base for models scoped by ``QuerySet.managed_by(user)``."""

    def get_queryset(self, request):
        return super().get_queryset(request).managed_by(request.user)

    def get_object(self, request, object_id, from_field=None):
        obj = super().get_object(request, object_id, from_field)
        if obj is None:
            # The stock admin redirects to its index; answer as if it did not exist.
            raise Http404("No such object, or not one of yours.")
        return obj

    def formfield_for_dbfield(self, db_field, request, **kwargs):
        field = super().formfield_for_dbfield(db_field, request, **kwargs)
        if field is not None and isinstance(field.widget, forms.TextInput):
            # A browser silently cuts pasted text at maxlength; without it the
            # form refuses an over-long value and names the limit instead.
            field.widget.attrs.pop("maxlength", None)
        return field


@admin.register(Podcast)
class PodcastAdmin(TenantAdmin):
    list_display = ("title", "slug", "episode_count", "language", "category", "updated_at")
    list_filter = ("show_type", "explicit", "language")
    search_fields = ("title", "slug", "author")
    prepopulated_fields = {"slug": ("title",)}
    readonly_fields = (
        "feed_url_link",
        "feed_records",
        "downloads_link",
        "podcast_guid",
        "created_at",
        "updated_at",
    )
    fieldsets = (
        (
            None,
            {
                "fields": (
                    "title",
                    "slug",
                    "feed_url_link",
                    "feed_records",
                    "downloads_link",
                    "description",
                    "cover",
                )
            },
        ),
        (
            "Directory listing",
            {
                "fields": (
                    "author",
                    "language",
                    "category",
                    "second_category",
                    "explicit",
                    "show_type",
                )
            },
        ),
        ("Ownership", {"fields": ("owner_name", "owner_email", "link", "copyright", "members")}),
        (
            "Advanced",
            {
                "classes": ("collapse",),
                "fields": (
                    "measurement_prefix",
                    "locked",
                    "new_feed_url",
                    "podcast_guid",
                    "created_at",
                    "updated_at",
                ),
            },
        ),
    )

    @admin.display(description="Public feed URL")
    def feed_url_link(self, obj: Podcast) -> str:
        if not obj.pk:
            return "Shown once the show is saved."
        return format_html('<a href="{0}" target="_blank" rel="noopener">{0}</a>', obj.feed_url)

    @admin.display(description="Feed publishing")
    def feed_records(self, obj: Podcast) -> str:
        if not obj.pk:
            return "-"
        history = reverse("admin:feeds_feedpublication_changelist")
        links = format_html(
            '<a href="{}?podcast__id__exact={}">Publication history</a>', history, obj.pk
        )
        state = getattr(obj, "feed_state", None)
        if state is None:
            return format_html("Not rendered yet · {}", links)
        return format_html(
            '<a href="{}">Current feed ({})</a> · {}',
            reverse("admin:feeds_feedstate_change", args=[state.pk]),
            episode_count(state.item_count),
            links,
        )

    @admin.display(description="Downloads")
    def downloads_link(self, obj: Podcast) -> str:
        if not obj.pk:
            return "-"
        return format_html(
            '<a href="{}">Downloads dashboard</a> · <a href="{}">CSV</a>',
            reverse("admin:episodes_podcast_downloads", args=[obj.pk]),
            reverse("admin:episodes_podcast_downloads_csv", args=[obj.pk]),
        )

    def get_urls(self):
        own = [
            path(
                "<path:object_id>/downloads/",
                self.admin_site.admin_view(self.downloads_view),
                name="episodes_podcast_downloads",
            ),
            path(
                "<path:object_id>/downloads.csv",
                self.admin_site.admin_view(self.downloads_csv_view),
                name="episodes_podcast_downloads_csv",
            ),
        ]
        return own + super().get_urls()  # before the catch-all "<object_id>/"

    def _viewable(self, request, object_id: str) -> Podcast:
        podcast = self.get_object(request, object_id)  # 404 outside the user's shows
        if not self.has_view_or_change_permission(request, podcast):
            raise Http404("No such show, or not one of yours.")
        return podcast

    def downloads_view(self, request, object_id: str):
        podcast = self._viewable(request, object_id)
        return dashboard.dashboard(request, podcast, self.admin_site.each_context(request))

    def downloads_csv_view(self, request, object_id: str):
        return dashboard.csv_export(self._viewable(request, object_id))

    @admin.display(description="Episodes", ordering="episodes_total")
    def episode_count(self, obj: Podcast) -> str:
        return episode_count(obj.episodes_total)

    def get_queryset(self, request):
        return (
            super().get_queryset(request).annotate(episodes_total=Count("episodes", distinct=True))
        )

    def formfield_for_dbfield(self, db_field, request, **kwargs):
        field = super().formfield_for_dbfield(db_field, request, **kwargs)
        if db_field.name == "owner_email":
            # Optional in the database (imports may lack it), required here:
            # https://podcasters.apple.com/support/823-podcast-requirements
            field.required = True
            field.error_messages["required"] = OWNER_EMAIL_REQUIRED
        return field

    def get_readonly_fields(self, request, obj=None):
        # The slug is in the feed URL and the podcast:guid: changing it would
        # strand every subscriber. A move is done with new_feed_url instead.
        fields = super().get_readonly_fields(request, obj)
        return (*fields, "slug") if obj else fields

    def get_prepopulated_fields(self, request, obj=None):
        return {} if obj else super().get_prepopulated_fields(request, obj)

    def get_fieldsets(self, request, obj=None):
        fieldsets = super().get_fieldsets(request, obj)
        if request.user.is_superuser:
            return fieldsets
        # Only superusers assign members: a creator must not enumerate other users.
        return [
            (name, {**opts, "fields": tuple(f for f in opts["fields"] if f != "members")})
            for name, opts in fieldsets
        ]

    def save_related(self, request, form, formsets, change) -> None:
        super().save_related(request, form, formsets, change)
        if not request.user.is_superuser:
            # The creator who makes a show manages it.
            form.instance.members.add(request.user)


def publication_state(episode: Episode, now: datetime) -> str:  # safe HTML
    """``Published 1 Dec 2026, 10:00`` / ``Scheduled for …`` / ``Not published``."""
    if episode.publish_at is None:
        return "Not published"
    local = timezone.localtime(episode.publish_at)
    published = episode.is_published(now)
    return format_html(
        '{} <time datetime="{}">{}</time>',
        "Published" if published else "Scheduled for",
        local.isoformat(),
        date_format(local, "j M Y" if published else "j M Y, H:i"),
    )


def _source_field(name: str):
    @admin.display(description=name.removeprefix("source_").replace("_", " ").capitalize())
    def display(self, obj: Episode) -> str:
        return source_display(obj)[name]

    display.__name__ = name
    return display


@admin.register(Episode)
class EpisodeAdmin(TenantAdmin):
    list_display = ("title", "show", "status_progress", "publication", "duration")
    list_filter = ("status", ("podcast", admin.RelatedOnlyFieldListFilter), "episode_type")
    list_select_related = ("podcast",)
    search_fields = ("title", "slug", "podcast__title", "podcast__slug")
    date_hierarchy = "created_at"
    prepopulated_fields = {"slug": ("title",)}
    actions = (retry_processing,)
    # Written by the pipeline only: shown, never edited.
    _processing_fields = ("status", "progress", "error_message", "not_produced", "guid")
    # Display strings (H:MM:SS, MB) that the page's live status also fills in.
    _source_fields = SOURCE_FIELDS
    _history_fields = (
        "transcode_job_id",
        "attempt",
        "created_at",
        "uploaded_at",
        "submitted_at",
        "completed_at",
    )
    readonly_fields = _processing_fields + _source_fields + _history_fields
    fieldsets = (
        (None, {"fields": ("podcast", "title", "slug", "description", "publish_at")}),
        ("Numbering", {"fields": ("episode_type", "season", "number", "explicit")}),
        ("Processing", {"fields": _processing_fields}),
        ("Source audio", {"fields": _source_fields}),
        ("History", {"classes": ("collapse",), "fields": _history_fields}),
    )

    class Media:
        css = {"all": ("episodes/admin.css",)}

    @admin.display(description="Progress", ordering="progress_percent")
    def progress(self, obj: Episode) -> str:
        return format_html(
            '<progress max="100" value="{0}">{0}%</progress> {0}%', obj.progress_percent
        )

    @admin.display(description="Show", ordering="podcast__title")
    def show(self, obj: Episode) -> str:
        return obj.podcast.title

    @admin.display(description="Status", ordering="status")
    def status_progress(self, obj: Episode) -> str:
        if obj.status == Episode.Status.PROCESSING:
            return format_html(
                '{} <progress max="100" value="{}"></progress> {}%',
                obj.get_status_display(),
                obj.progress_percent,
                obj.progress_percent,
            )
        return obj.get_status_display()

    @admin.display(description="Publication", ordering="publish_at")
    def publication(self, obj: Episode) -> str:
        now = timezone.now()
        state = publication_state(obj, now)
        if not obj.is_published(now):
            return state
        # Its downloads under the date: a column of their own would not fit 1280 px.
        n = getattr(obj, "downloads_total", 0)
        return format_html(
            '{}<br><span class="downloads">{} download{}</span>',
            state,
            f"{n:,}",
            "" if n == 1 else "s",
        )

    @admin.display(description="Duration", ordering="duration_seconds")
    def duration(self, obj: Episode) -> str:
        return format_duration(obj.duration_seconds)

    def get_queryset(self, request):
        # All-time downloads per episode in the list: one subquery, not a query per row.
        per_episode = (
            EpisodeDownloadDay.objects.filter(episode=OuterRef("pk"))
            .values("episode")
            .annotate(n=Sum("downloads"))
            .values("n")
        )
        return (
            super()
            .get_queryset(request)
            .annotate(
                downloads_total=Coalesce(Subquery(per_episode), 0, output_field=IntegerField())
            )
        )

    def get_list_display(self, request):
        # A creator with one show needs no column repeating its name: the width
        # goes to the titles (the list must fit 1280 px beside both sidebars).
        if Podcast.objects.managed_by(request.user)[:2].count() < 2:
            return tuple(f for f in self.list_display if f != "show")
        return self.list_display

    def render_change_form(self, request, context, add=False, change=False, form_url="", obj=None):
        if obj is not None:
            # First paint of the live Audio box, from the same dict the page polls.
            context["live"] = episode_status(obj)
        return super().render_change_form(request, context, add, change, form_url, obj)

    @admin.display(description="Renditions not produced")
    def not_produced(self, obj: Episode) -> str:
        """The presets the last run could not make, e.g. "Not produced: opus (…)"."""
        lines = obj.missing_renditions.splitlines()
        return f"Not produced: {'; '.join(lines)}" if lines else "-"

    def formfield_for_foreignkey(self, db_field, request, **kwargs):
        if db_field.name == "podcast":
            kwargs["queryset"] = Podcast.objects.managed_by(request.user)
        return super().formfield_for_foreignkey(db_field, request, **kwargs)


for _name in SOURCE_FIELDS:
    setattr(EpisodeAdmin, _name, _source_field(_name))
