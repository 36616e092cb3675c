"""The admin site creators log in to: their shows first, and nothing of anyone else's.

Installed in place of ``django.contrib.admin`` (``CreatorsAdminConfig`` in
``INSTALLED_APPS``), the documented way to replace the default site:
https://docs.djangoproject.com/en/5.2/ref/contrib/admin/#overriding-the-default-admin-site
"""

from __future__ import annotations

from django.contrib import admin
from django.contrib.admin.apps import AdminConfig
from django.contrib.admin.utils import unquote
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import redirect
from django.urls import path

# Apps and models in the order a creator needs them; the rest follow alphabetically.
_APP_ORDER = ("episodes",)
_MODEL_ORDER = ("podcast", "episode")
# Reached from a show's page, not from the index: they only make sense per show.
_NOT_IN_INDEX = ("feeds",)
# Accounts are the operators' business.
_SUPERUSER_APPS = ("auth",)


class CreatorsAdminSite(admin.AdminSite):
    site_header = "podcasthost"
    site_title = "podcasthost"
    index_title = "Your shows"

    def index(self, request: HttpRequest, extra_context=None) -> HttpResponse:
        """A creator's home is the list of their shows; operators keep the full index."""
        if not request.user.is_superuser:
            return redirect("admin:episodes_podcast_changelist")
        return super().index(request, extra_context)

    def get_app_list(self, request: HttpRequest, app_label: str | None = None) -> list[dict]:
        apps = super().get_app_list(request, app_label)
        if app_label is not None:
            return apps  # an app's own index page (breadcrumbs link there)
        apps = [
            app
            for app in apps
            if app["app_label"] not in _NOT_IN_INDEX
            and (request.user.is_superuser or app["app_label"] not in _SUPERUSER_APPS)
        ]
        for app in apps:
            app["models"].sort(key=lambda m: _rank(_MODEL_ORDER, m["object_name"].lower()))
        return sorted(apps, key=lambda app: _rank(_APP_ORDER, app["app_label"]))

    def get_urls(self):
        # The stock "view on site" shortcut (/admin/r/<ct>/<id>/) redirects to any
        # object's public URL by id, whoever asks; this one checks the object's admin first.
        checked = path(
            "r/<int:content_type_id>/<path:object_id>/",
            self.admin_view(self.view_on_site),
            name="view_on_site",
        )
        return [
            checked if getattr(url, "name", None) == "view_on_site" else url
            for url in super().get_urls()
        ]

    def view_on_site(
        self, request: HttpRequest, content_type_id: int, object_id: str
    ) -> HttpResponse:
        """Redirect to the object's public page, or 404 unless the user may view it here."""
        from django.contrib.contenttypes.models import ContentType
        from django.contrib.contenttypes.views import shortcut

        try:
            model = ContentType.objects.get_for_id(content_type_id).model_class()
        except ContentType.DoesNotExist:
            raise Http404("No such object.") from None
        model_admin = self._registry.get(model)
        if model_admin is None:
            raise Http404("No such object.")
        obj = model_admin.get_object(request, unquote(object_id))
        if obj is None or not model_admin.has_view_or_change_permission(request, obj):
            raise Http404("No such object, or not one of yours.")
        return shortcut(request, content_type_id, object_id)


def _rank(order: tuple[str, ...], name: str) -> tuple[int, str]:
    return (order.index(name) if name in order else len(order), name)


class CreatorsAdminConfig(AdminConfig):
    default_site = "episodes.admin_site.CreatorsAdminSite"
