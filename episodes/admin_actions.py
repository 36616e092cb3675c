"""Admin actions of the processing pipeline (registered on ``EpisodeAdmin.actions``)."""

from __future__ import annotations

from django.contrib import admin, messages
from django.utils.translation import ngettext

from episodes import pipeline


@admin.action(description="Retry processing", permissions=["change"])
def retry_processing(modeladmin, request, queryset) -> None:
    """Send failed episodes back to ``uploaded``; the pipeline picks them up after commit.

    ``queryset`` is already scoped to the user's shows by ``EpisodeAdmin.get_queryset``.
    """
    retried = sum(pipeline.retry_processing(episode) for episode in queryset)
    skipped = queryset.count() - retried
    if retried:
        modeladmin.message_user(
            request,
            ngettext(
                "Processing again: %(n)d episode.", "Processing again: %(n)d episodes.", retried
            )
            % {"n": retried},
        )
    if skipped:
        modeladmin.message_user(
            request,
            ngettext(
                "%(n)d episode was not failed, so there was nothing to retry.",
                "%(n)d episodes were not failed, so there was nothing to retry.",
                skipped,
            )
            % {"n": skipped},
            messages.WARNING,
        )
