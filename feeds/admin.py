"""Admin for feed publications: what was published when, and what failed.

Read-only and scoped like the rest of the admin: a creator sees only the
publications of the shows they manage, and another show's record answers 404.
They are reached from the show's page (episodes/admin.py), not from the index.
"""

from __future__ import annotations

from django.contrib import admin, messages
from django.http import Http404
from django.utils.translation import ngettext

from episodes.models import Podcast
from episodes.units import episode_count, format_size
from feeds.models import FeedPublication, FeedState
from feeds.publishing import request_publish


class CreatorReadOnlyAdmin(admin.ModelAdmin):
    """Read-only, scoped to the shows the user manages; any staff creator may look.

    The Creators group (episodes/roles.py) holds no model permission for the
    feeds app, so viewing is granted here and scoped by ``get_queryset``.
    """

    def get_queryset(self, request):
        podcasts = Podcast.objects.managed_by(request.user)
        return super().get_queryset(request).filter(podcast__in=podcasts)

    def get_object(self, request, object_id, from_field=None):
        obj = super().get_object(request, object_id, from_field)
        if obj is None:
            # The stock admin redirects to its index; answer as if it did not exist.
            raise Http404("No such record, or not one of your shows'.")
        return obj

    def has_module_permission(self, request) -> bool:
        return request.user.is_active and request.user.is_staff

    def has_view_permission(self, request, obj=None) -> bool:
        if not (request.user.is_active and request.user.is_staff):
            return False
        return obj is None or obj.podcast.is_managed_by(request.user)

    def has_add_permission(self, request) -> bool:
        return False

    def has_change_permission(self, request, obj=None) -> bool:
        return False

    def has_delete_permission(self, request, obj=None) -> bool:
        return False


@admin.register(FeedPublication)
class FeedPublicationAdmin(CreatorReadOnlyAdmin):
    list_display = (
        "podcast",
        "created_at",
        "status",
        "episodes",
        "size",
        "short_hash",
        "invalidation_id",
        "error",
    )
    list_filter = ("status", ("podcast", admin.RelatedOnlyFieldListFilter))
    list_select_related = ("podcast",)
    date_hierarchy = "created_at"
    search_fields = ("podcast__slug", "podcast__title", "content_hash", "invalidation_id")

    @admin.display(description="content hash")
    def short_hash(self, obj: FeedPublication) -> str:
        return obj.content_hash[:12]

    @admin.display(description="episodes", ordering="item_count")
    def episodes(self, obj: FeedPublication) -> str:
        return episode_count(obj.item_count)

    @admin.display(description="size", ordering="size_bytes")
    def size(self, obj: FeedPublication) -> str:
        return format_size(obj.size_bytes)


@admin.register(FeedState)
class FeedStateAdmin(CreatorReadOnlyAdmin):
    list_display = (
        "podcast",
        "episodes",
        "built_at",
        "rendered_at",
        "publish_requested_at",
        "is_published",
        "blocked_at",
        "last_error",
        "last_error_at",
    )
    list_select_related = ("podcast",)
    exclude = ("body", "body_gzip")
    actions = ("publish_now",)

    @admin.display(description="episodes", ordering="item_count")
    def episodes(self, obj: FeedState) -> str:
        return episode_count(obj.item_count)

    @admin.display(boolean=True, description="in storage")
    def is_published(self, obj: FeedState) -> bool:
        return bool(obj.content_hash) and obj.content_hash == obj.published_hash

    @admin.action(description="Publish the selected feeds now")
    def publish_now(self, request, queryset) -> None:
        queued = sum(request_publish(pk) for pk in queryset.values_list("podcast_id", flat=True))
        self.message_user(
            request,
            ngettext("%(n)d publish queued.", "%(n)d publishes queued.", queued) % {"n": queued},
            messages.SUCCESS,
        )
