"""Admin actions of the processing pipeline (registered on ``EpisodeAdmin.actions``)."""

from __future__ import annotations

from django.contrib import admin, messages

from episodes import pipeline


@admin.action(description="Retry processing", permissions=["change"])
def retry_processing(modeladmin, request, queryset) -> None:
    """Send failed episodes back to ``uploaded``; the pipeline picks them up after commit.

    ``queryset`` is already scoped to the user's shows by ``EpisodeAdmin.get_queryset``.
    """
    retried = sum(pipeline.retry_processing(episode) for episode in queryset)
    skipped = queryset.count() - retried
    if retried:
        modeladmin.message_user(request, f"Processing again: {retried} episode(s).")
    if skipped:
        modeladmin.message_user(
            request,
            f"{skipped} episode(s) were not failed, so there was nothing to retry.",
            messages.WARNING,
        )
