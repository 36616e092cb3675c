"""Creators reach only their own episodes; replacing audio re-processes it."""

from __future__ import annotations

import json

import pytest
from django.core.files.base import ContentFile
from django.urls import reverse

from episodes import uploads
from episodes.models import Episode
from episodes.signals import episode_transitioned


@pytest.fixture
def other_episode(make_creator, make_podcast, make_episode):
    dave = make_creator("dave")
    return make_episode(make_podcast(members=[dave], slug="daves-show"), title="Dave's")


def put_upload(episode, data=b"RIFFdata", name="a.wav") -> str:
    key = uploads.upload_key_for(episode, name)
    uploads.uploads_storage().save(key, ContentFile(data))
    return key


def test_other_creators_episode_cannot_be_presigned_completed_or_polled(
    creator_client, other_episode
):
    key = put_upload(other_episode)
    body = json.dumps({"filename": "a.wav", "content_type": "audio/wav", "key": key})

    presign = creator_client.post(
        reverse("episodes:upload_presign", args=[other_episode.pk]),
        body,
        content_type="application/json",
    )
    complete = creator_client.post(
        reverse("episodes:upload_complete", args=[other_episode.pk]),
        body,
        content_type="application/json",
    )
    status = creator_client.get(reverse("episodes:episode_status", args=[other_episode.pk]))

    assert (presign.status_code, complete.status_code, status.status_code) == (404, 404, 404)
    other_episode.refresh_from_db()
    assert other_episode.status == Episode.Status.DRAFT


def test_anonymous_users_get_404(client, episode):
    assert client.get(reverse("episodes:episode_status", args=[episode.pk])).status_code == 404
    presign = client.post(
        reverse("episodes:upload_presign", args=[episode.pk]), "{}", content_type="application/json"
    )
    assert presign.status_code == 404


def test_presign_and_complete_need_post_and_csrf(creator, episode):
    from django.test import Client

    strict = Client(enforce_csrf_checks=True)
    strict.force_login(creator)

    get = strict.get(reverse("episodes:upload_presign", args=[episode.pk]))
    no_token = strict.post(
        reverse("episodes:upload_presign", args=[episode.pk]), "{}", content_type="application/json"
    )

    assert get.status_code == 405
    assert no_token.status_code == 403


def test_status_json_shows_processing_progress_and_error(creator_client, episode, now):
    episode.mark_uploaded(source_key=put_upload(episode), source_bytes=8, now=now)
    episode.start_processing(now=now)
    episode.record_progress(42, now=now)

    processing = creator_client.get(reverse("episodes:episode_status", args=[episode.pk])).json()
    episode.mark_failed("Not audio: no audio stream found.", now=now)
    failed = creator_client.get(reverse("episodes:episode_status", args=[episode.pk]))

    assert processing["status"] == "processing"
    assert processing["progress_percent"] == 42
    assert failed.json()["status"] == "failed"
    assert failed.json()["error_message"] == "Not audio: no audio stream found."
    assert "no-cache" in failed["Cache-Control"]


@pytest.mark.parametrize("start", ["uploaded", "processing", "failed"])
def test_replacing_audio_moves_the_episode_back_to_uploaded(episode, now, start):
    first = put_upload(episode, b"first", "first.wav")
    episode.mark_uploaded(source_key=first, source_bytes=5, now=now)
    if start in ("processing", "failed"):
        episode.start_processing(now=now)
    if start == "failed":
        episode.mark_failed("boom", now=now)
    second = put_upload(episode, b"second!", "second.wav")

    uploads.confirm_upload(episode, key=second, filename="second.wav", now=now)

    episode.refresh_from_db()
    assert episode.status == Episode.Status.UPLOADED
    assert (episode.source_key, episode.source_bytes) == (second, 7)
    assert episode.error_message == ""
    # The first file is kept: a running job may still be reading it.
    assert uploads.uploads_storage().exists(first)


def test_replacing_audio_of_a_ready_episode_reprocesses_it(episode, now):
    episode.mark_uploaded(source_key=put_upload(episode), source_bytes=8, now=now)
    episode.start_processing(now=now)
    Episode.objects.filter(pk=episode.pk).update(transcode_job_id="job-1")
    episode.mark_ready(now=now)
    attempt = Episode.objects.get(pk=episode.pk).attempt
    seen = []

    def receiver(sender, episode, source, target, **kwargs):
        seen.append((source, target))

    episode_transitioned.connect(receiver)
    try:
        new = put_upload(episode, b"new audio", "new.wav")
        uploads.confirm_upload(episode, key=new, filename="new.wav", now=now)
    finally:
        episode_transitioned.disconnect(receiver)

    episode.refresh_from_db()
    assert seen == [("ready", "processing")]
    assert episode.status == Episode.Status.PROCESSING
    assert episode.source_key == new
    assert episode.attempt == attempt + 1
    assert episode.transcode_job_id == ""


def test_confirming_the_same_upload_twice_is_harmless(episode, now):
    key = put_upload(episode)
    uploads.confirm_upload(episode, key=key, now=now)
    seen = []

    def receiver(sender, **kwargs):
        seen.append(kwargs["target"])

    episode_transitioned.connect(receiver)
    try:
        uploads.confirm_upload(episode, key=key, now=now)
    finally:
        episode_transitioned.disconnect(receiver)

    assert seen == []
    episode.refresh_from_db()
    assert episode.status == Episode.Status.UPLOADED
