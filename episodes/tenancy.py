"""Which rows a user may manage: the tenancy rule every creator-facing query goes through."""

from __future__ import annotations

from django.db import models


class TenantQuerySet(models.QuerySet):
    """A queryset that knows the lookup from its model to the show's members."""

    #: The lookup from this model to the podcast's members.
    members_lookup = "members"

    def managed_by(self, user) -> models.QuerySet:
        """Rows ``user`` may manage: all for superusers, else those of their podcasts."""
        if user.is_superuser:
            return self
        if not user.is_active:
            return self.none()
        return self.filter(**{self.members_lookup: user})
