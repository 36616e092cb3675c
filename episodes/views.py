"""Upload endpoints: presign, the local POST target, completion, and a status JSON.

Every view that takes an episode id looks it up through
``Episode.objects.managed_by(request.user)`` and answers 404 otherwise. The
local POST target takes no id: its signed policy authorises it, as S3's does.
"""

from __future__ import annotations

import json

from django.http import Http404, HttpRequest, HttpResponse, JsonResponse
from django.shortcuts import get_object_or_404
from django.urls import reverse
from django.views.decorators.cache import never_cache
from django.views.decorators.csrf import csrf_exempt
from django.views.decorators.http import require_GET, require_POST

from episodes import uploads
from episodes.live_status import episode_status
from episodes.models import Episode
from podcasthost.storage import local_post


def _managed_episode(request: HttpRequest, episode_id: int) -> Episode:
    if not request.user.is_authenticated:
        raise Http404("No such episode.")
    return get_object_or_404(
        Episode.objects.managed_by(request.user).select_related("podcast"), pk=episode_id
    )


def _json_body(request: HttpRequest) -> dict:
    try:
        data = json.loads(request.body or b"{}")
    except (ValueError, UnicodeDecodeError):
        raise uploads.UploadError("Expected a JSON body.") from None
    if not isinstance(data, dict):
        raise uploads.UploadError("Expected a JSON object.")
    return data


def _error(exc: uploads.UploadError) -> JsonResponse:
    return JsonResponse({"error": str(exc)}, status=exc.status)


def status_json(episode: Episode) -> dict:
    return episode_status(episode)


@require_POST
def presign(request: HttpRequest, episode_id: int) -> JsonResponse:
    """``{filename, content_type, size}`` → ``{url, fields, key, max_bytes, expires_at}``."""
    episode = _managed_episode(request, episode_id)
    try:
        data = _json_body(request)
        size = data.get("size")
        if size is not None and (isinstance(size, bool) or not isinstance(size, int)):
            raise uploads.UploadError("size must be an integer number of bytes.")
        post = uploads.presign_upload(
            episode,
            filename=str(data.get("filename") or "audio"),
            content_type=str(data.get("content_type") or ""),
            size_bytes=size,
            local_url=request.build_absolute_uri(reverse("episodes:upload_local")),
        )
    except uploads.UploadError as exc:
        return _error(exc)
    return JsonResponse(post.as_json())


@csrf_exempt  # Authorised by the signed policy in the form, like an S3 presigned POST.
@require_POST
def local_upload(request: HttpRequest) -> HttpResponse:
    """The one-machine POST target of a presigned form; 204 on success, like S3."""
    try:
        local_post.receive_local_upload(request.META, request)
    except uploads.UploadError as exc:
        # The rest of the body is left unread; gunicorn then closes the connection.
        return _error(exc)
    return HttpResponse(status=204)


@require_POST
def complete(request: HttpRequest, episode_id: int) -> JsonResponse:
    """``{key, filename}`` → the episode's status once the upload is checked and recorded."""
    episode = _managed_episode(request, episode_id)
    try:
        data = _json_body(request)
        episode = uploads.confirm_upload(
            episode, key=str(data.get("key") or ""), filename=str(data.get("filename") or "")
        )
    except uploads.UploadError as exc:
        return _error(exc)
    return JsonResponse(status_json(episode))


@never_cache
@require_GET
def status(request: HttpRequest, episode_id: int) -> JsonResponse:
    """The episode's status, processing progress and error, for the admin's live view."""
    return JsonResponse(status_json(_managed_episode(request, episode_id)))
