"""The creators' admin: shows and episodes, scoped to the shows a user is a member of.

Multi-tenancy is enforced in one place per model, ``get_queryset``; every
admin view (changelist, change/delete/history by URL, actions, foreign-key
choices, list filters) goes through it, and an object outside it answers 404.
"""

from __future__ import annotations

import logging
from datetime import datetime

from django.conf import settings
from django.contrib import admin, messages
from django.core.exceptions import PermissionDenied
from django.db.models import Count, IntegerField, OuterRef, Subquery, Sum
from django.db.models.functions import Coalesce
from django.http import Http404, HttpResponseRedirect
from django.template.response import TemplateResponse
from django.urls import path, reverse
from django.utils import timezone
from django.utils.formats import date_format
from django.utils.html import escape, format_html, format_html_join

from episodes.admin_actions import retry_processing
from episodes.admin_chapters import ChapterInline, EpisodeChaptersForm
from episodes.admin_namespace import (
    EPISODE_FIELDSET,
    EPISODE_INLINES,
    PODCAST_FIELDSET,
    PODCAST_INLINES,
)
from episodes.admin_tenancy import TenantAdmin
from episodes.admin_transcripts import episode_transcripts_html
from episodes.chapters import editing as chapter_editing
from episodes.directories import DIRECTORIES
from episodes.live_status import SOURCE_FIELDS, episode_status, source_display
from episodes.models import Chapter, Episode, Podcast
from episodes.units import episode_count, format_duration
from feeds import gate
from feeds.analytics import dashboard
from feeds.analytics.models import EpisodeDownloadDay
from feeds.embed import EMBED_HEIGHT, embed_height, embed_html
from feeds.models import FeedPublication
from feeds.publishing import PublishError, publish_feed
from feeds.site import chapters_for

logger = logging.getLogger(__name__)

OWNER_EMAIL_REQUIRED = (
    "Apple Podcasts refuses a feed without an owner e-mail (itunes:owner/itunes:email): "
    "enter the address that should receive directory verification mail."
)


@admin.register(Podcast)
class PodcastAdmin(TenantAdmin):
    change_list_template = "admin/episodes/podcast/change_list.html"
    list_display = ("title", "slug", "episode_count", "language", "category", "updated_at")
    list_filter = ("show_type", "explicit", "language")
    search_fields = ("title", "slug", "author")
    prepopulated_fields = {"slug": ("title",)}
    readonly_fields = (
        "feed_url_link",
        "public_page",
        "embed_code",
        "feed_records",
        "feed_health",
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
                    "public_page",
                    "feed_records",
                    "feed_health",
                    "downloads_link",
                    "description",
                    "cover",
                )
            },
        ),
        (
            "Listen on",
            {
                "description": "The show's page in each directory, shown as a button on its "
                "public page. Leave empty where it is not listed.",
                "fields": tuple(d.field for d in DIRECTORIES),
            },
        ),
        ("Embed", {"fields": ("embed_code",)}),
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
        ("Transcripts", {"fields": ("auto_transcribe",)}),
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
        PODCAST_FIELDSET,
    )
    inlines = PODCAST_INLINES

    @admin.display(description="Public feed URL")
    def feed_url_link(self, obj: Podcast) -> str:
        if not obj.pk:
            return "Shown once the show is saved."
        return format_html('<a href="{0}" target="_blank" rel="noopener">{0}</a>', obj.feed_url)

    @admin.display(description="Public page")
    def public_page(self, obj: Podcast) -> str:
        if not obj.pk:
            return "Shown once the show is saved."
        return format_html(
            '<a href="{0}" target="_blank" rel="noopener">{0}</a>',
            f"{settings.PUBLIC_BASE_URL}{obj.get_absolute_url()}",
        )

    @admin.display(description="Player of the latest episode")
    def embed_code(self, obj: Podcast) -> str:
        if not obj.pk:
            return "Shown once the show is saved."
        src = f"{settings.PUBLIC_BASE_URL}{reverse('feeds:embed_latest', args=[obj.slug])}"
        return embed_box(src, obj.title)

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

    @admin.display(description="Feed health")
    def feed_health(self, obj: Podcast) -> str:
        """Last publish, and each finding of the publish gate with how to fix it."""
        if not obj.pk:
            return "-"
        last = (
            FeedPublication.objects.filter(podcast=obj, status=FeedPublication.Status.PUBLISHED)
            .order_by("-created_at")
            .first()
        )
        state = getattr(obj, "feed_state", None)
        published = (
            format_html(
                "Last published {}.", date_format(timezone.localtime(last.created_at), "j M Y, H:i")
            )
            if last
            else "Never published."
        )
        if state is None or state.checked_at is None:
            return format_html("{} Not checked by the publish gate yet.", published)
        findings = [gate.Finding.of(f) for f in state.findings]
        if state.blocked_at:
            verdict = format_html(
                '<strong class="errornote">Blocked since {}: the last good feed stays '
                "published until the errors below are fixed.</strong> "
                '<a class="button" href="{}">Publish anyway…</a>',
                date_format(timezone.localtime(state.blocked_at), "j M Y, H:i"),
                reverse("admin:episodes_podcast_publish_anyway", args=[obj.pk]),
            )
        elif findings:
            verdict = "Published; the warnings below do not block it."
        else:
            verdict = "No problem found."
        items = format_html_join(
            "",
            "<li><strong>{}</strong>: {} <em>How to fix: {}</em></li>",
            ((f.severity.capitalize(), f.message, f.fix) for f in findings),
        )
        return format_html(
            "{} {} Checked {}.{}",
            published,
            verdict,
            date_format(timezone.localtime(state.checked_at), "j M Y, H:i"),
            format_html('<ul class="feed-findings">{}</ul>', items) if findings else "",
        )

    def get_urls(self):
        from episodes import admin_import

        site = self.admin_site
        return [
            path(
                "import/",
                site.admin_view(lambda r: admin_import.import_form(r, site)),
                name="episodes_podcast_import",
            ),
            path(
                "import/<int:run_id>/",
                site.admin_view(lambda r, run_id: admin_import.import_run(r, site, run_id)),
                name="episodes_podcast_import_run",
            ),
            path(
                "import/<int:run_id>/status",
                site.admin_view(admin_import.import_run_status),
                name="episodes_podcast_import_status",
            ),
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
            path(
                "<path:object_id>/publish-anyway/",
                self.admin_site.admin_view(self.publish_anyway_view),
                name="episodes_podcast_publish_anyway",
            ),
            *super().get_urls(),
        ]

    def publish_anyway_view(self, request, object_id: str):
        """Confirm (GET), then publish despite the gate's errors (POST); logged both ways."""
        podcast = self.get_object(request, object_id)  # 404 outside the user's shows
        if not self.has_change_permission(request, podcast):
            raise PermissionDenied
        state = getattr(podcast, "feed_state", None)
        errors = [
            gate.Finding.of(f)
            for f in (state.findings if state else [])
            if f.get("severity") == gate.ERROR
        ]
        change_url = reverse("admin:episodes_podcast_change", args=[podcast.pk])
        if request.method != "POST":
            context = {
                **self.admin_site.each_context(request),
                "title": f"Publish the feed of “{podcast.title}” anyway?",
                "opts": self.model._meta,
                "original": podcast,
                "errors": errors,
                "change_url": change_url,
            }
            return TemplateResponse(request, "admin/episodes/podcast/publish_anyway.html", context)
        try:
            result = publish_feed(podcast.pk, override_by=request.user.get_username())
        except PublishError as exc:
            self.message_user(request, f"The feed could not be published: {exc}", messages.ERROR)
            return HttpResponseRedirect(change_url)
        overridden = [f.message for f in gate.errors_of(result.findings)]
        note = "Published the feed anyway" + (
            f" despite: {' '.join(overridden)}" if overridden else " (no error left)"
        )
        self.log_change(request, podcast, note[:2000])
        logger.warning("%s: %s (show %s)", request.user.get_username(), note, podcast.slug)
        self.message_user(
            request,
            "The feed was published." if result.changed else "The feed was already up to date.",
            messages.SUCCESS,
        )
        return HttpResponseRedirect(change_url)

    def change_view(self, request, object_id, form_url="", extra_context=None):
        if request.method == "GET":
            podcast = self.get_object(request, object_id)
            # While editing: what the gate will say about the show as saved.
            for finding in gate.check_saved_show(podcast, now=timezone.now()):
                level = messages.ERROR if finding.blocking else messages.WARNING
                self.message_user(
                    request,
                    f"Feed {finding.severity}: {finding.message} How to fix: {finding.fix}",
                    level,
                )
        return super().change_view(request, object_id, form_url, extra_context)

    @admin.display(description="Downloads")
    def downloads_link(self, obj: Podcast) -> str:
        if not obj.pk:
            return "-"
        return format_html(
            '<a href="{}">Downloads dashboard</a> · <a href="{}">CSV</a>',
            reverse("admin:episodes_podcast_downloads", args=[obj.pk]),
            reverse("admin:episodes_podcast_downloads_csv", args=[obj.pk]),
        )

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


def embed_box(src: str, title: str, height: int = EMBED_HEIGHT) -> str:
    """A read-only box with the player's iframe code, to paste into a blog or CMS."""
    return format_html(
        '<textarea class="vLargeTextField embed-code" rows="3" readonly '
        'aria-label="Embed code">{}</textarea>'
        '<p class="help">Paste this HTML into a web page, or just paste the page\'s link '
        "where the site supports oEmbed.</p>",
        # Escaped once more: the textarea must show (and copy) the code exactly.
        escape(embed_html(src, title, height=height)),
    )


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
    form = EpisodeChaptersForm
    # Written by the pipeline only: shown, never edited.
    _processing_fields = ("status", "progress", "error_message", "not_produced", "guid")
    _public_fields = ("public_page", "embed_code")
    _transcript_fields = ("transcripts",)
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
    readonly_fields = (
        _processing_fields
        + _source_fields
        + _history_fields
        + _public_fields
        + _transcript_fields
        + ("chapters_link",)
    )
    fieldsets = (
        (None, {"fields": ("podcast", "title", "slug", "description", "publish_at")}),
        ("Numbering", {"fields": ("episode_type", "season", "number", "explicit")}),
        ("Processing", {"fields": _processing_fields}),
        ("Source audio", {"fields": _source_fields}),
        ("Public page and embed", {"fields": _public_fields}),
        ("Transcripts", {"fields": _transcript_fields}),
        ("Chapters", {"fields": ("chapters_file", "chapters_link")}),
        ("History", {"classes": ("collapse",), "fields": _history_fields}),
        EPISODE_FIELDSET,
    )
    inlines = (ChapterInline, *EPISODE_INLINES)

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

    @admin.display(description="Public page")
    def public_page(self, obj: Episode) -> str:
        if not obj.pk:
            return "Shown once the episode is saved."
        url = f"{settings.PUBLIC_BASE_URL}{obj.get_absolute_url()}"
        note = (
            "" if obj.is_published(timezone.now()) else " (answers once the episode is published)"
        )
        return format_html('<a href="{0}" target="_blank" rel="noopener">{0}</a>{1}', url, note)

    @admin.display(description="Embed code")
    def embed_code(self, obj: Episode) -> str:
        if not obj.pk:
            return "Shown once the episode is saved."
        path = reverse("feeds:embed", args=[obj.podcast.slug, obj.slug])
        height = embed_height(bool(chapters_for(obj)))
        return embed_box(f"{settings.PUBLIC_BASE_URL}{path}", obj.title, height)

    @admin.display(description="Transcripts")
    def transcripts(self, obj: Episode) -> str:
        return episode_transcripts_html(obj)

    @admin.display(description="Chapters JSON")
    def chapters_link(self, obj: Episode) -> str:
        if not obj.pk or not obj.chapters.exists():
            return "No chapters yet: add them below or upload a file."
        path = reverse("feeds:chapters", args=[obj.podcast.slug, obj.slug])
        url = f"{settings.PUBLIC_BASE_URL}{path}"
        return format_html('<a href="{0}" target="_blank" rel="noopener">{0}</a>', url)

    def change_view(self, request, object_id, form_url="", extra_context=None):
        if request.method == "GET":
            episode = self.get_object(request, object_id)  # 404 outside the user's shows
            warning = chapter_editing.late_chapters_warning(episode)
            if warning:
                self.message_user(request, warning, messages.WARNING)
        return super().change_view(request, object_id, form_url, extra_context)

    def save_related(self, request, form, formsets, change) -> None:
        super().save_related(request, form, formsets, change)
        entries = form.cleaned_data.get("chapters_file")
        if entries is not None:
            # The file wins over the rows edited in the same save: it replaces them all.
            Chapter.objects.replace_for(form.instance, entries)
            self.message_user(
                request, f"{len(entries)} chapter(s) loaded from the file.", messages.SUCCESS
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


for _name in SOURCE_FIELDS:
    setattr(EpisodeAdmin, _name, _source_field(_name))


# Registered here so Django's admin autodiscovery finds them.
from episodes import admin_webhooks  # noqa: E402, F401
