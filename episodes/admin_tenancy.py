"""The base of every creator-scoped admin: one ``get_queryset``, 404 outside it.

Multi-tenancy is enforced in one place per model, ``get_queryset``; every
admin view (changelist, change/delete/history by URL, actions, foreign-key
choices, list filters) goes through it, and an object outside it answers 404.
"""

from __future__ import annotations

from django import forms
from django.contrib import admin
from django.http import Http404


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
