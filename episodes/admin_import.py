"""The admin's "Import a show" form, its live progress page and the status JSON it polls.

Only users who may add shows may import. A run is visible to the creator who
started it (and superusers); any other run id answers 404.
"""

from __future__ import annotations

from django import forms
from django.core.exceptions import PermissionDenied
from django.db import transaction
from django.http import Http404, HttpRequest, HttpResponse, JsonResponse
from django.shortcuts import redirect
from django.template.response import TemplateResponse
from django.utils import timezone
from django.views.decorators.cache import never_cache
from kombu.exceptions import OperationalError

from episodes.importers.shows import ImportRefused, check_show_slug, import_status, live_run_of
from episodes.models import ImportRun, Podcast
from episodes.tasks import import_show


class ImportShowForm(forms.Form):
    feed_url = forms.URLField(
        label="Feed URL",
        max_length=2048,
        assume_scheme="https",
        help_text="The show's RSS feed at its current host.",
    )
    slug = forms.SlugField(
        max_length=64,
        required=False,
        help_text="Part of the new feed URL; empty: made from the show's title.",
    )
    owner_confirmed = forms.BooleanField(
        label="I own this show",
        required=False,
        help_text="Needed when the feed is locked (podcast:locked) and its owner e-mail "
        "is not your account's.",
    )

    def clean_slug(self) -> str:
        slug = self.cleaned_data["slug"]
        # An existing show's slug (made under older rules, too): the import resumes it.
        if slug and not Podcast.objects.filter(slug=slug).exists():
            try:
                check_show_slug(slug)
            except ImportRefused as exc:
                raise forms.ValidationError(str(exc)) from None
        return slug

    def clean_feed_url(self) -> str:
        url = self.cleaned_data["feed_url"].strip()
        if not url.lower().startswith(("http://", "https://")):
            raise forms.ValidationError("Only http and https feed URLs can be imported.")
        return url


def _require_importer(request: HttpRequest) -> None:
    if not request.user.has_perm("episodes.add_podcast"):
        raise PermissionDenied("Only users who may create shows may import one.")


def _visible_run(request: HttpRequest, run_id: int) -> ImportRun:
    run = ImportRun.objects.select_related("podcast").filter(pk=run_id).first()
    if run is None or not run.is_visible_to(request.user):
        raise Http404("No such import, or not one of yours.")
    return run


def _enqueue(run: ImportRun) -> None:
    try:
        import_show.delay(run_id=run.pk)
    except OperationalError:
        run.mark_failed("The task queue could not be reached; nothing was imported. Try again.")


def import_form(request: HttpRequest, admin_site) -> HttpResponse:
    """GET: the form. POST: record the run, queue it after commit, show its progress page."""
    _require_importer(request)
    form = ImportShowForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        # A second click, or the form sent again while that import is under way:
        # its page, not a second import of the same feed.
        live = live_run_of(form.cleaned_data["feed_url"], now=timezone.now())
        if live is not None and live.requested_by_id == request.user.pk:
            return redirect("admin:episodes_podcast_import_run", run_id=live.pk)
        with transaction.atomic():
            run = ImportRun.objects.create(
                source=form.cleaned_data["feed_url"],
                slug=form.cleaned_data["slug"],
                owner_confirmed=form.cleaned_data["owner_confirmed"],
                requested_by=request.user,
            )
            transaction.on_commit(lambda: _enqueue(run))
        return redirect("admin:episodes_podcast_import_run", run_id=run.pk)
    context = {
        **admin_site.each_context(request),
        "title": "Import a show",
        "form": form,
        "runs": ImportRun.objects.filter(requested_by=request.user).order_by("-pk")[:10],
    }
    return TemplateResponse(request, "admin/episodes/podcast/import_form.html", context)


def import_run(request: HttpRequest, admin_site, run_id: int) -> HttpResponse:
    """The progress page, which becomes the result page with the parity report."""
    _require_importer(request)
    run = _visible_run(request, run_id)
    context = {
        **admin_site.each_context(request),
        "title": f"Import of {run.source}",
        "run": run,
        "live": import_status(run),
    }
    return TemplateResponse(request, "admin/episodes/podcast/import_run.html", context)


@never_cache
def import_run_status(request: HttpRequest, run_id: int) -> JsonResponse:
    _require_importer(request)
    return JsonResponse(import_status(_visible_run(request, run_id)))
