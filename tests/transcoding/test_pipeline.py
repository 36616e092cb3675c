"""Pipeline use-cases in-process (eager Celery): idempotency, reconcile, retranscode, retry."""

from __future__ import annotations

import io
from datetime import timedelta
from pathlib import Path

import pytest
from django.contrib import admin
from django.contrib.messages.storage.fallback import FallbackStorage
from django.core.exceptions import ImproperlyConfigured
from django.core.files.storage import storages
from django.core.management import CommandError, call_command
from django.test import RequestFactory

from episodes import pipeline
from episodes.admin_actions import retry_processing
from episodes.models import Episode
from episodes.transcoders import get_transcoder
from episodes.transcoders.ffmpeg import FFmpegTranscoder
from podcasthost.storage.filesystem import FileSystemStorage
from tests.transcoding.conftest import generate_audio

pytestmark = pytest.mark.slow


@pytest.fixture
def speech(audio_dir: Path) -> Path:
    return generate_audio(audio_dir / "episode.wav", content="speech", seconds=2.0)


def files_of(episode: Episode) -> dict[str, bytes]:
    media = storages["media"]
    return {r.preset: Path(media.path(r.key)).read_bytes() for r in episode.renditions.all()}


def test_upload_enqueues_processing_after_commit(
    make_episode, speech, django_capture_on_commit_callbacks
):
    from tests.transcoding.conftest import put_upload

    episode = make_episode()
    key = put_upload(episode, speech)
    with django_capture_on_commit_callbacks(execute=True) as callbacks:
        episode.mark_uploaded(source_key=key, source_bytes=speech.stat().st_size)
    # One processing queued (becoming ready then queues the creators' notification).
    queued = [c for c in callbacks if c.__qualname__.startswith("_enqueue_after_commit")]
    assert len(queued) == 1
    episode.refresh_from_db()
    assert episode.status == Episode.Status.READY
    assert episode.renditions.count() == 3


def test_processing_twice_yields_one_job_and_one_set(uploaded_episode, speech):
    episode = uploaded_episode(speech)
    assert pipeline.process_episode(episode.pk).endswith("ready")
    first = {r.preset: (r.pk, r.size_bytes) for r in episode.renditions.all()}

    assert pipeline.process_episode(episode.pk) == "skipped (ready)"

    episode.refresh_from_db()
    assert episode.attempt == 1
    assert {r.preset: (r.pk, r.size_bytes) for r in episode.renditions.all()} == first


def test_retranscode_keeps_old_renditions_until_new_set_is_ready(
    uploaded_episode, speech, now, django_capture_on_commit_callbacks, settings
):
    episode = uploaded_episode(speech, publish_at=now - timedelta(days=1))
    pipeline.process_episode(episode.pk)
    episode.refresh_from_db()
    old_files, old_ids = files_of(episode), set(episode.renditions.values_list("pk", flat=True))
    old_keys = {r.preset: r.key for r in episode.renditions.all()}
    settings.LOUDNESS_TARGET_LUFS = -20.0  # "the presets changed"

    with django_capture_on_commit_callbacks(execute=False) as callbacks:
        assert pipeline.retranscode(episode)
    # Claimed, not yet run: the feed still lists the episode with its old files.
    episode.refresh_from_db()
    assert episode.status == Episode.Status.PROCESSING
    assert Episode.objects.in_feed(now).filter(pk=episode.pk).exists()
    assert files_of(episode) == old_files

    for callback in callbacks:
        callback()

    episode.refresh_from_db()
    assert episode.status == Episode.Status.READY and episode.attempt == 2
    assert set(episode.renditions.values_list("pk", flat=True)).isdisjoint(old_ids)
    assert files_of(episode).keys() == old_files.keys()
    assert files_of(episode)["mp3"] != old_files["mp3"]
    # New URLs for the new files; the old URLs still serve the old bytes
    # (a listener mid-download keeps a consistent file).
    new_keys = {r.preset: r.key for r in episode.renditions.all()}
    assert set(new_keys.values()).isdisjoint(old_keys.values())
    media = storages["media"]
    assert {p: Path(media.path(k)).read_bytes() for p, k in old_keys.items()} == old_files


def test_reconcile_submits_stuck_uploads(
    uploaded_episode, speech, django_capture_on_commit_callbacks
):
    episode = uploaded_episode(speech)  # its on_commit enqueue never ran: "lost"
    out = io.StringIO()
    with django_capture_on_commit_callbacks(execute=True):
        call_command("reconcile", "--stalled-after", "0", stdout=out)
    assert "submitted 1 stuck upload(s)" in out.getvalue()
    episode.refresh_from_db()
    assert episode.status == Episode.Status.READY


def test_reconcile_reruns_a_claim_that_died(
    uploaded_episode, speech, django_capture_on_commit_callbacks
):
    episode = uploaded_episode(speech)
    assert episode.start_processing()  # the worker died right after claiming
    out = io.StringIO()
    with django_capture_on_commit_callbacks(execute=True):
        call_command("reconcile", "--stalled-after", "0", stdout=out)
    assert "re-ran 1 dead run(s)" in out.getvalue()
    episode.refresh_from_db()
    assert episode.status == Episode.Status.READY and episode.attempt == 2


def test_reconcile_leaves_fresh_work_alone(uploaded_episode, speech):
    episode = uploaded_episode(speech)
    assert episode.start_processing()
    out = io.StringIO()
    call_command("reconcile", stdout=out)  # default stall time: 15 minutes
    assert "re-ran 0 dead run(s)" in out.getvalue()
    episode.refresh_from_db()
    assert episode.status == Episode.Status.PROCESSING


def test_reconcile_finishes_a_complete_job_nobody_polled(uploaded_episode, speech):
    from episodes.presets import PRESETS
    from episodes.probe import probe
    from episodes.transcoders import TranscodeRequest

    episode = uploaded_episode(speech)
    assert episode.start_processing()
    request = TranscodeRequest(
        episode_id=episode.pk,
        attempt=episode.attempt,
        podcast_slug=episode.podcast.slug,
        episode_guid=str(episode.guid),
        source_key=episode.source_key,
        probe=probe(speech),
        presets=PRESETS,
        loudness_target_lufs=-16.0,
        true_peak_dbtp=-1.0,
    )
    job_id = FFmpegTranscoder().submit(request)
    Episode.objects.filter(pk=episode.pk).update(
        transcode_job_id=job_id, progress_at=episode.progress_at - timedelta(hours=1)
    )  # ... and the worker died before finishing

    report = pipeline.reconcile()

    assert report.polled == {episode.pk: "ready"}
    episode.refresh_from_db()
    assert episode.status == Episode.Status.READY and episode.renditions.count() == 3


def test_reconcile_reruns_a_lost_job(uploaded_episode, speech, django_capture_on_commit_callbacks):
    episode = uploaded_episode(speech)
    assert episode.start_processing()
    Episode.objects.filter(pk=episode.pk).update(transcode_job_id="ffmpeg:gone/")
    with django_capture_on_commit_callbacks(execute=True):
        report = pipeline.reconcile(stalled_after_seconds=0.001)
    assert report.polled == {episode.pk: "requeued"}
    episode.refresh_from_db()
    assert episode.status == Episode.Status.READY


def test_retranscode_command(
    make_podcast, uploaded_episode, speech, django_capture_on_commit_callbacks
):
    show = make_podcast()
    ready = uploaded_episode(speech, podcast=show)
    pipeline.process_episode(ready.pk)
    draft = Episode.objects.create(podcast=show, title="Draft", slug="draft")
    out, err = io.StringIO(), io.StringIO()

    with django_capture_on_commit_callbacks(execute=True):
        call_command("retranscode", show.slug, "--all", stdout=out, stderr=err)

    assert "Started 1 episode(s); skipped 1" in out.getvalue()
    assert "skipped draft: draft" in err.getvalue()
    assert "retranscode" in err.getvalue()  # the progress bar
    ready.refresh_from_db()
    assert ready.status == Episode.Status.READY and ready.attempt == 2
    draft.refresh_from_db()
    assert draft.status == Episode.Status.DRAFT


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["no-such-show", "--all"], "No show with the slug"),
        (["{show}"], "Name one or more episode slugs"),
        (["{show}", "nope"], "No such episode(s)"),
    ],
)
def test_retranscode_command_errors(make_podcast, args, message):
    show = make_podcast()
    with pytest.raises(CommandError, match=message.replace("(", r"\(").replace(")", r"\)")):
        call_command("retranscode", *[a.format(show=show.slug) for a in args])


def test_retry_processing_admin_action(
    uploaded_episode, make_episode, speech, make_creator, django_capture_on_commit_callbacks
):
    failed = uploaded_episode(speech)
    assert failed.mark_failed("Encoding failed: disk full")
    other = make_episode()
    user = make_creator()
    request = RequestFactory().post("/admin/episodes/episode/")
    request.user = user
    request.session = {}
    request._messages = FallbackStorage(request)
    model_admin = admin.site._registry[Episode]

    with django_capture_on_commit_callbacks(execute=True):
        retry_processing(model_admin, request, Episode.objects.filter(pk__in=[failed.pk, other.pk]))

    failed.refresh_from_db()
    assert failed.status == Episode.Status.READY and failed.error_message == ""
    texts = [str(m) for m in request._messages]
    assert "Processing again: 1 episode." in texts
    assert any("not failed" in t for t in texts)


def test_get_transcoder_resolves_at_call_time(settings):
    assert isinstance(get_transcoder(), FFmpegTranscoder)
    settings.TRANSCODER = {
        "BACKEND": "episodes.transcoders.mediaconvert.MediaConvertTranscoder",
        "OPTIONS": {"role_arn": "arn:aws:iam::1:role/x"},
    }
    assert type(get_transcoder()).__name__ == "MediaConvertTranscoder"
    settings.TRANSCODER = {"BACKEND": settings.TRANSCODER["BACKEND"], "OPTIONS": {"bogus": 1}}
    with pytest.raises(ImproperlyConfigured, match="bogus"):
        get_transcoder()
    settings.TRANSCODER = {"BACKEND": "episodes.models.Episode", "OPTIONS": {}}
    with pytest.raises(ImproperlyConfigured, match="not a Transcoder"):
        get_transcoder()
    settings.TRANSCODER = {"BACKEND": "no.such.Backend", "OPTIONS": {}}
    with pytest.raises(ImproperlyConfigured, match="cannot be imported"):
        get_transcoder()


def test_a_superseded_run_never_overwrites_published_files(uploaded_episode, speech, audio_dir):
    from episodes.presets import PRESETS
    from episodes.probe import probe
    from episodes.transcoders import TranscodeRequest

    episode = uploaded_episode(speech)
    assert episode.start_processing()
    stale = TranscodeRequest(
        episode_id=episode.pk,
        attempt=episode.attempt,
        podcast_slug=episode.podcast.slug,
        episode_guid=str(episode.guid),
        source_key=episode.source_key,
        probe=probe(speech),
        presets=PRESETS,
        loudness_target_lufs=-16.0,
        true_peak_dbtp=-1.0,
    )
    transcoder = FFmpegTranscoder()
    job_id = transcoder.submit(stale)
    Episode.objects.filter(pk=episode.pk).update(transcode_job_id=job_id)
    # Meanwhile the creator uploads new audio and a new run claims it.
    episode.refresh_from_db()
    assert episode.mark_uploaded(source_key=episode.source_key, source_bytes=1)
    assert episode.start_processing()

    outcome = pipeline.finish(episode.pk, 1, job_id, transcoder.status(job_id))

    assert outcome == "stale run"
    media = Path(storages["media"].location)
    assert [p for p in media.rglob("*") if p.is_file()] == []
    assert not episode.renditions.exists()


def test_periodic_tasks_are_registered_with_beat():
    from podcasthost.celery import app

    app.finalize()
    schedule = app.conf.beat_schedule
    assert schedule["episodes: poll transcodes"]["task"] == "episodes.tasks.poll_transcodes"
    assert schedule["episodes: reconcile"]["task"] == "episodes.tasks.reconcile"


def test_an_encoder_that_cannot_run_fails_the_episode_with_the_reason(
    settings, uploaded_episode, speech
):
    settings.TRANSCODER = {
        "BACKEND": "episodes.transcoders.ffmpeg.FFmpegTranscoder",
        "OPTIONS": {"binary": str(Path(settings.BASE_DIR) / "no-such-ffmpeg")},
    }
    episode = uploaded_episode(speech)
    assert pipeline.process_episode(episode.pk).endswith("failed")
    episode.refresh_from_db()
    assert episode.status == Episode.Status.FAILED
    assert "FileNotFoundError" in episode.error_message
    assert "Retry processing" in episode.error_message


class ReplacedWhileProbed(FileSystemStorage):
    """The uploads folder, where the creator's next upload lands while a worker reads."""

    on_first_read = None

    def path(self, name: str) -> str:
        hook, ReplacedWhileProbed.on_first_read = ReplacedWhileProbed.on_first_read, None
        if hook:
            hook()
        return super().path(name)


def test_new_audio_uploaded_during_the_probe_is_the_audio_published(
    uploaded_episode, speech, audio_dir, settings, django_capture_on_commit_callbacks
):
    episode = uploaded_episode(speech)
    uploads = storages["uploads"]
    settings.STORAGES = {
        **settings.STORAGES,
        "uploads": {
            **settings.STORAGES["uploads"],
            "BACKEND": f"{__name__}.ReplacedWhileProbed",
        },
    }
    longer = generate_audio(audio_dir / "longer.wav", seconds=3.0)
    new_key = f"uploads/{episode.podcast.slug}/{episode.guid}/0123abcd-longer.wav"
    storages["uploads"].save(new_key, io.BytesIO(longer.read_bytes()))

    def creator_uploads_again() -> None:
        Episode.objects.get(pk=episode.pk).replace_source(
            source_key=new_key, source_bytes=longer.stat().st_size, filename="longer.wav"
        )

    ReplacedWhileProbed.on_first_read = creator_uploads_again
    with django_capture_on_commit_callbacks(execute=False):
        outcome = pipeline.process_episode(episode.pk)

    assert outcome == "lost the claim"
    episode.refresh_from_db()
    assert (episode.status, episode.source_key) == (Episode.Status.UPLOADED, new_key)
    assert uploads is not storages["uploads"]

    # The new upload's own delivery processes the new audio.
    pipeline.process_episode(episode.pk)
    episode.refresh_from_db()
    assert episode.status == Episode.Status.READY
    assert episode.duration_seconds == pytest.approx(3.0, abs=0.1)


def uploads_unreachable() -> None:
    """From now on every read of the uploads bucket fails as a network outage would."""
    from botocore.exceptions import EndpointConnectionError

    def unreachable(**kwargs):
        raise EndpointConnectionError(endpoint_url="https://show-uploads.s3.amazonaws.com")

    client = storages["uploads"].connection.meta.client
    client.meta.events.register("before-call.s3.HeadObject", unreachable)
    client.meta.events.register("before-call.s3.GetObject", unreachable)


def test_a_transient_error_that_outlives_its_retries_fails_visibly(uploaded_on_s3):
    from episodes.tasks import MAX_RETRIES, process_episode

    episode = uploaded_on_s3()
    uploads_unreachable()
    # The last retry: Celery has already tried MAX_RETRIES times.
    outcome = process_episode.apply(kwargs={"episode_id": episode.pk}, retries=MAX_RETRIES).get()

    episode.refresh_from_db()
    assert outcome == "gave up"
    assert episode.status == Episode.Status.FAILED
    assert "temporary error" in episode.error_message
    assert "Could not connect" in episode.error_message


def test_a_transient_storage_error_is_retried_not_blamed_on_the_creator(uploaded_on_s3):
    from episodes.transcoders import TransientTranscoderError

    episode = uploaded_on_s3()
    uploads_unreachable()

    with pytest.raises(TransientTranscoderError):
        pipeline.process_episode(episode.pk)

    episode.refresh_from_db()
    assert episode.status == Episode.Status.UPLOADED
    assert episode.error_message == ""


def test_reconcile_enqueues_a_waiting_upload_once_per_stall_period(uploaded_episode, speech, now):
    episode = uploaded_episode(speech)
    enqueued: list[int] = []
    later = now + timedelta(seconds=1000)

    first = pipeline.reconcile(now=later, stalled_after_seconds=900, enqueue=enqueued.append)
    again = pipeline.reconcile(now=later, stalled_after_seconds=900, enqueue=enqueued.append)
    much_later = pipeline.reconcile(
        now=later + timedelta(seconds=901), stalled_after_seconds=900, enqueue=enqueued.append
    )

    assert (first.submitted, again.submitted, much_later.submitted) == (
        [episode.pk],
        [],
        [episode.pk],
    )
    assert enqueued == [episode.pk, episode.pk]
