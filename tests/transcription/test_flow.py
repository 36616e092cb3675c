"""The automatic draft flow end to end: a real upload, ffmpeg, PocketSphinx, eager Celery."""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.core.files.storage import storages
from django.db import connection
from django.utils import timezone

from episodes import pipeline, transcription
from episodes.models import Transcript
from episodes.transcribers.base import result_key_for

pytestmark = pytest.mark.slow


def process(episode, capture) -> None:
    """Run the episode's processing and everything its commits queue (the draft included)."""
    with capture(execute=True):
        assert pipeline.process_episode(episode.pk).endswith("ready")


def test_switch_on_a_ready_episode_gets_a_draft_nobody_sees_yet(
    spoken_episode, django_capture_on_commit_callbacks
):
    episode = spoken_episode(auto_transcribe=True)
    process(episode, django_capture_on_commit_callbacks)

    transcript = Transcript.objects.get(episode=episode)
    assert transcript.language == "en"
    assert transcript.origin == Transcript.Origin.AUTOMATIC
    assert transcript.status == Transcript.Status.DRAFT
    assert transcript.progress_percent == 100
    assert transcript.error_message == ""
    assert transcript.timed
    words = " ".join(cue["text"] for cue in transcript.cues).lower()
    assert "welcome" in words and "tomatoes" in words
    # A draft is never published on its own.
    assert not Transcript.objects.published().exists()
    # The backend's intermediate result was removed once recorded.
    assert transcript.job_id == "pocketsphinx:" + result_key_for(
        f"podcasthost-episode-{episode.pk}-transcript-{transcript.pk}-attempt-1"
    )
    assert not storages["uploads"].exists(transcript.job_id.removeprefix("pocketsphinx:"))


def test_switch_off_nothing_is_transcribed(spoken_episode, django_capture_on_commit_callbacks):
    episode = spoken_episode(auto_transcribe=False)
    process(episode, django_capture_on_commit_callbacks)
    assert not Transcript.objects.filter(episode=episode).exists()


def test_progress_is_written_to_the_row_while_decoding(
    spoken_episode, django_capture_on_commit_callbacks, settings
):
    settings.TRANSCRIBER = {
        "BACKEND": "episodes.transcribers.pocketsphinx.PocketSphinxTranscriber",
        "OPTIONS": {"progress_interval_seconds": 0},
    }
    episode = spoken_episode()
    written: list[int] = []

    def spy(execute, sql, params, many, context):
        if sql.startswith('UPDATE "episodes_transcript"') and '"progress_percent"' in sql:
            written.append(
                next(p for p in params if isinstance(p, int) and not isinstance(p, bool))
            )
        return execute(sql, params, many, context)

    with connection.execute_wrapper(spy):
        process(episode, django_capture_on_commit_callbacks)
    assert Transcript.objects.get(episode=episode).status == Transcript.Status.DRAFT
    partial = [p for p in written if 0 < p < 100]
    assert partial, written
    assert partial == sorted(partial)


def test_reprocessing_the_episode_does_not_transcribe_again(
    spoken_episode, django_capture_on_commit_callbacks
):
    episode = spoken_episode()
    process(episode, django_capture_on_commit_callbacks)
    first = Transcript.objects.get(episode=episode)

    episode.refresh_from_db()
    with django_capture_on_commit_callbacks(execute=True):
        assert pipeline.retranscode(episode)
    episode.refresh_from_db()
    assert episode.status == episode.Status.READY and episode.attempt == 2

    again = Transcript.objects.get(episode=episode)
    assert (again.pk, again.attempt, again.job_id, again.cues) == (
        first.pk,
        first.attempt,
        first.job_id,
        first.cues,
    )
    # A redelivered task finds the draft and does nothing.
    assert transcription.transcribe(first.pk) == "skipped (draft)"


def test_a_live_run_is_never_run_twice(spoken_episode, django_capture_on_commit_callbacks):
    episode = spoken_episode()
    with django_capture_on_commit_callbacks(execute=False) as queued:
        assert pipeline.process_episode(episode.pk).endswith("ready")
    transcript = Transcript.objects.get(episode=episode)
    assert transcript.status == Transcript.Status.PENDING and len(queued) >= 1

    now = timezone.now()
    assert transcript.claim(now=now, stalled_before=now - timedelta(seconds=900))
    # Another delivery while the first worker is decoding: no second run.
    assert transcription.transcribe(transcript.pk) == "running elsewhere"
    transcript.refresh_from_db()
    assert transcript.attempt == 1 and transcript.job_id == ""


def test_reconcile_resumes_a_run_whose_worker_died(
    spoken_episode, django_capture_on_commit_callbacks
):
    episode = spoken_episode()
    with django_capture_on_commit_callbacks(execute=False):
        pipeline.process_episode(episode.pk)
    transcript = Transcript.objects.get(episode=episode)
    long_ago = timezone.now() - timedelta(hours=2)
    assert transcript.claim(now=long_ago, stalled_before=long_ago - timedelta(seconds=900))

    # Fresh work is left alone ...
    assert transcription.reconcile(now=long_ago + timedelta(seconds=60)).requeued == []
    # ... a claim silent for the stall time is resumed, by one reconciler.
    with django_capture_on_commit_callbacks(execute=True):
        report = transcription.reconcile()
    assert report.requeued == [transcript.pk]
    transcript.refresh_from_db()
    assert transcript.status == Transcript.Status.DRAFT
    assert transcript.attempt == 2  # the dead run's attempt 1 can no longer write
    assert not transcript.record_job("pocketsphinx:late", attempt=1)
    assert transcription.reconcile().requeued == []


def test_reconcile_queues_a_draft_whose_message_was_lost(
    spoken_episode, django_capture_on_commit_callbacks
):
    episode = spoken_episode()
    with django_capture_on_commit_callbacks(execute=False):
        pipeline.process_episode(episode.pk)  # the queued transcription is never sent
    transcript = Transcript.objects.get(episode=episode)
    later = timezone.now() + timedelta(seconds=901)
    with django_capture_on_commit_callbacks(execute=True):
        assert transcription.reconcile(now=later).requeued == [transcript.pk]
    transcript.refresh_from_db()
    assert transcript.status == Transcript.Status.DRAFT


def test_a_language_without_a_model_fails_with_the_reason(
    spoken_episode, django_capture_on_commit_callbacks
):
    episode = spoken_episode(language="fr")
    process(episode, django_capture_on_commit_callbacks)

    transcript = Transcript.objects.get(episode=episode)
    assert transcript.status == Transcript.Status.FAILED
    assert transcript.language == "fr"
    assert "English only" in transcript.error_message and "“fr”" in transcript.error_message
    assert transcript.cues == []
    episode.refresh_from_db()
    assert episode.status == episode.Status.READY  # the episode itself is fine


def test_a_failed_draft_is_tried_again_when_the_episode_is_processed_again(
    spoken_episode, django_capture_on_commit_callbacks
):
    episode = spoken_episode()
    with django_capture_on_commit_callbacks(execute=False):
        pipeline.process_episode(episode.pk)
    transcript = Transcript.objects.get(episode=episode)
    assert transcript.record_failure("The worker ran out of memory.")

    episode.refresh_from_db()
    with django_capture_on_commit_callbacks(execute=True):
        assert pipeline.retranscode(episode)
    transcript.refresh_from_db()
    assert transcript.status == Transcript.Status.DRAFT
    assert transcript.error_message == ""
    assert transcript.cues


def test_a_creators_own_transcript_is_never_replaced(
    spoken_episode, django_capture_on_commit_callbacks
):
    episode = spoken_episode()
    mine = Transcript.objects.create(
        episode=episode,
        language="en",
        cues=[{"start": 0.0, "end": 2.0, "text": "My own words."}],
        source_filename="opening.srt",
    )
    process(episode, django_capture_on_commit_callbacks)

    assert list(Transcript.objects.filter(episode=episode)) == [mine]
    mine.refresh_from_db()
    assert mine.status == Transcript.Status.PUBLISHED
    assert mine.cues == [{"start": 0.0, "end": 2.0, "text": "My own words."}]


def test_a_pending_transcript_of_a_deleted_episode_is_gone(spoken_episode):
    episode = spoken_episode()
    transcript = Transcript.objects.create(
        episode=episode, language="en", origin="automatic", status="pending"
    )
    episode.delete()
    assert transcription.transcribe(transcript.pk) == "gone"
