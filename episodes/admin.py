"""The creators' admin: shows and episodes, scoped to the shows a user is a member of.

Multi-tenancy is enforced in one place per model, ``get_queryset``; every
admin view (changelist, change/delete/history by URL, actions, foreign-key
choices, list filters) goes through it, and an object outside it answers 404.
"""

from __future__ import annotations

from django.contrib import admin
from django.http import Http404
from django.utils.html import format_html

from episodes.admin_actions import retry_processing
from episodes.models import Episode, Podcast, Rendition


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


@admin.register(Podcast)
class PodcastAdmin(TenantAdmin):
    list_display = ("title", "slug", "language", "category", "show_type", "updated_at")
    list_filter = ("show_type", "explicit", "language")
    search_fields = ("title", "slug", "author")
    prepopulated_fields = {"slug": ("title",)}
    readonly_fields = ("feed_url_link", "podcast_guid", "created_at", "updated_at")
    fieldsets = (
        (None, {"fields": ("title", "slug", "feed_url_link", "description", "cover")}),
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
                "fields": ("locked", "new_feed_url", "podcast_guid", "created_at", "updated_at"),
            },
        ),
    )

    @admin.display(description="Public feed URL")
    def feed_url_link(self, obj: Podcast) -> str:
        if not obj.pk:
            return "Shown once the show is saved."
        return format_html('<a href="{0}" target="_blank" rel="noopener">{0}</a>', obj.feed_url)

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


class RenditionInline(admin.TabularInline):
    model = Rendition
    extra = 0
    can_delete = False
    fields = ("preset", "mime_type", "size_bytes", "bitrate", "duration_seconds", "file_link")
    readonly_fields = fields

    def has_add_permission(self, request, obj=None) -> bool:
        return False

    @admin.display(description="File")
    def file_link(self, obj: Rendition) -> str:
        return format_html('<a href="{0}">{1}</a>', obj.url, obj.key)


@admin.register(Episode)
class EpisodeAdmin(TenantAdmin):
    list_display = ("title", "podcast", "status", "progress", "publish_at", "updated_at")
    list_filter = ("status", ("podcast", admin.RelatedOnlyFieldListFilter), "episode_type")
    list_select_related = ("podcast",)
    search_fields = ("title", "slug", "podcast__title", "podcast__slug")
    date_hierarchy = "created_at"
    prepopulated_fields = {"slug": ("title",)}
    inlines = (RenditionInline,)
    actions = (retry_processing,)
    # Written by the pipeline only: shown, never edited.
    _processing_fields = ("status", "progress", "error_message", "not_produced", "guid")
    _source_fields = (
        "source_filename",
        "source_bytes",
        "duration_seconds",
        "container",
        "codec",
        "sample_rate",
        "channels",
        "loudness_lufs",
    )
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

    @admin.display(description="Progress", ordering="progress_percent")
    def progress(self, obj: Episode) -> str:
        return format_html(
            '<progress max="100" value="{0}">{0}%</progress> {0}%', obj.progress_percent
        )

    @admin.display(description="Renditions not produced")
    def not_produced(self, obj: Episode) -> str:
        """The presets the last run could not make, e.g. "Not produced: opus (…)"."""
        lines = obj.missing_renditions.splitlines()
        return f"Not produced: {'; '.join(lines)}" if lines else "-"

    def formfield_for_foreignkey(self, db_field, request, **kwargs):
        if db_field.name == "podcast":
            kwargs["queryset"] = Podcast.objects.managed_by(request.user)
        return super().formfield_for_foreignkey(db_field, request, **kwargs)
