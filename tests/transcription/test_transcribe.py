"""The Amazon Transcribe backend: botocore's Stubber (requests validated against the
service model botocore ships) for Transcribe, moto for S3."""

from __future__ import annotations

import json

import boto3
import pytest
from botocore.stub import Stubber

from episodes import transcription
from episodes.models import Transcript
from episodes.tasks import transcribe_episode
from episodes.transcoders import JobState
from episodes.transcribers import TranscriptionError, TransientTranscriberError
from episodes.transcribers.transcribe import AmazonTranscribeTranscriber, cues_of_output

BACKEND = "episodes.transcribers.transcribe.AmazonTranscribeTranscriber"

# A Transcribe output document as the service writes it (trimmed to what we read).
OUTPUT = {
    "jobName": "x",
    "accountId": "123456789012",
    "status": "COMPLETED",
    "results": {
        "transcripts": [{"transcript": "Welcome to the show. Today, gardening."}],
        "items": [
            {"type": "pronunciation", "start_time": "0.04", "end_time": "0.52",
             "alternatives": [{"confidence": "0.99", "content": "Welcome"}]},
            {"type": "pronunciation", "start_time": "0.52", "end_time": "0.64",
             "alternatives": [{"confidence": "0.99", "content": "to"}]},
            {"type": "pronunciation", "start_time": "0.64", "end_time": "0.75",
             "alternatives": [{"confidence": "0.99", "content": "the"}]},
            {"type": "pronunciation", "start_time": "0.75", "end_time": "1.20",
             "alternatives": [{"confidence": "0.98", "content": "show"}]},
            {"type": "punctuation", "alternatives": [{"confidence": "0.0", "content": "."}]},
            {"type": "pronunciation", "start_time": "1.60", "end_time": "2.01",
             "alternatives": [{"confidence": "0.97", "content": "Today"}]},
            {"type": "punctuation", "alternatives": [{"confidence": "0.0", "content": ","}]},
            {"type": "pronunciation", "start_time": "2.05", "end_time": "2.80",
             "alternatives": [{"confidence": "0.95", "content": "gardening"}]},
            {"type": "punctuation", "alternatives": [{"confidence": "0.0", "content": "."}]},
        ],
    },
}  # fmt: skip


@pytest.fixture
def transcribe(settings, s3):
    """A Stubber-wrapped Transcribe client as the configured backend (S3 is moto's)."""
    client = boto3.client("transcribe", region_name="us-east-1")
    with Stubber(client) as stubber:
        settings.TRANSCRIBER = {"BACKEND": BACKEND, "OPTIONS": {"client": client}}
        yield stubber
        stubber.assert_no_pending_responses()


@pytest.fixture
def pending(s3, make_episode, make_podcast):
    """A pending automatic transcript of an episode whose source is in the uploads bucket."""

    def make(language: str = "en") -> Transcript:
        episode = make_episode(podcast=make_podcast(auto_transcribe=True, language=language))
        key = f"uploads/{episode.podcast.slug}/{episode.guid}/interview.mp3"
        s3.put_object(Bucket="show-uploads", Key=key, Body=b"ID3 not decoded here")
        episode.source_key = key
        episode.save(update_fields=["source_key"])
        return Transcript.objects.create(
            episode=episode, language=language, origin="automatic", status="pending"
        )

    return make


def job_name(transcript: Transcript, attempt: int = 1) -> str:
    return (
        f"podcasthost-episode-{transcript.episode_id}-transcript-{transcript.pk}-attempt-{attempt}"
    )


def start_params(transcript: Transcript, language_code: str = "en-US", attempt: int = 1) -> dict:
    episode = transcript.episode
    return {
        "TranscriptionJobName": job_name(transcript, attempt),
        "LanguageCode": language_code,
        "Media": {"MediaFileUri": f"s3://show-uploads/{episode.source_key}"},
        "OutputBucketName": "show-uploads",
        "OutputKey": f"transcripts/{job_name(transcript, attempt)}.json",
    }


def job(transcript: Transcript, status: str, attempt: int = 1, **extra) -> dict:
    return {
        "TranscriptionJob": {
            "TranscriptionJobName": job_name(transcript, attempt),
            "TranscriptionJobStatus": status,
            "LanguageCode": "en-US",
            **extra,
        }
    }


def test_start_then_in_progress_then_completed_becomes_a_draft(transcribe, pending, s3):
    transcript = pending()
    name = job_name(transcript)
    transcribe.add_response(
        "start_transcription_job", job(transcript, "IN_PROGRESS"), start_params(transcript)
    )
    transcribe.add_response(
        "get_transcription_job", job(transcript, "IN_PROGRESS"), {"TranscriptionJobName": name}
    )
    assert transcription.transcribe(transcript.pk) == "submitted; running 0%"
    transcript.refresh_from_db()
    assert (transcript.status, transcript.job_id, transcript.attempt) == ("pending", name, 1)

    # Transcribe writes its output where the request said; the next poll reads it.
    s3.put_object(
        Bucket="show-uploads", Key=f"transcripts/{name}.json", Body=json.dumps(OUTPUT).encode()
    )
    completed = job(
        transcript,
        "COMPLETED",
        Transcript={"TranscriptFileUri": f"https://s3.us-east-1.amazonaws.com/show-uploads/transcripts/{name}.json"},
    )  # fmt: skip
    transcribe.add_response("get_transcription_job", completed, {"TranscriptionJobName": name})
    assert transcription.poll_transcriptions() == {"draft": 1}

    transcript.refresh_from_db()
    assert transcript.status == Transcript.Status.DRAFT
    assert transcript.cues == [
        {"start": 0.04, "end": 1.2, "text": "Welcome to the show."},
        {"start": 1.6, "end": 2.8, "text": "Today, gardening."},
    ]
    # The output was read once and removed from the bucket.
    listed = s3.list_objects_v2(Bucket="show-uploads", Prefix="transcripts/")
    assert listed.get("KeyCount", 0) == 0


def test_a_failed_job_fails_the_transcript_with_transcribes_reason(transcribe, pending):
    transcript = pending()
    name = job_name(transcript)
    transcribe.add_response(
        "start_transcription_job", job(transcript, "QUEUED"), start_params(transcript)
    )
    reason = "The media format provided does not match the detected media format."
    failed = job(transcript, "FAILED", FailureReason=reason)
    transcribe.add_response("get_transcription_job", failed, {"TranscriptionJobName": name})

    assert transcription.transcribe(transcript.pk) == "submitted; failed"
    transcript.refresh_from_db()
    assert transcript.status == Transcript.Status.FAILED
    assert transcript.error_message == f"Amazon Transcribe failed: {reason}"


def test_throttling_is_transient_and_the_task_retries_the_run(transcribe, pending, monkeypatch):
    from podcasthost.celery import app

    monkeypatch.setattr(app.conf, "CELERY_TASK_EAGER_PROPAGATES", False)
    transcript = pending()
    transcribe.add_client_error(
        "start_transcription_job",
        service_error_code="LimitExceededException",
        service_message="Rate exceeded",
        http_status_code=400,
        expected_params=start_params(transcript),
    )
    # The retry claims a new run: a new job name (attempt 2).
    transcribe.add_response(
        "start_transcription_job",
        job(transcript, "IN_PROGRESS", attempt=2),
        start_params(transcript, attempt=2),
    )
    transcribe.add_response(
        "get_transcription_job",
        job(transcript, "IN_PROGRESS", attempt=2),
        {"TranscriptionJobName": job_name(transcript, 2)},
    )
    transcribe_episode.apply(kwargs={"transcript_id": transcript.pk})

    transcript.refresh_from_db()
    assert transcript.status == Transcript.Status.PENDING
    assert transcript.job_id == job_name(transcript, 2)


def test_throttling_is_raised_as_transient_and_releases_the_claim(transcribe, pending):
    transcript = pending()
    transcribe.add_client_error(
        "start_transcription_job",
        service_error_code="ThrottlingException",
        http_status_code=429,
        expected_params=start_params(transcript),
    )
    with pytest.raises(TransientTranscriberError, match="ThrottlingException"):
        transcription.transcribe(transcript.pk)
    transcript.refresh_from_db()
    assert transcript.status == Transcript.Status.PENDING
    assert transcript.claimed_at is None and transcript.job_id == ""


def test_retries_exhausted_fail_the_transcript_visibly(transcribe, pending, monkeypatch):
    from episodes.tasks import MAX_RETRIES
    from podcasthost.celery import app

    monkeypatch.setattr(app.conf, "CELERY_TASK_EAGER_PROPAGATES", False)
    transcript = pending()
    for attempt in range(1, MAX_RETRIES + 2):
        transcribe.add_client_error(
            "start_transcription_job",
            service_error_code="InternalFailureException",
            http_status_code=500,
            expected_params=start_params(transcript, attempt=attempt),
        )
    transcribe_episode.apply(kwargs={"transcript_id": transcript.pk})

    transcript.refresh_from_db()
    assert transcript.status == Transcript.Status.FAILED
    assert transcript.error_message.startswith("Transcription kept failing on a temporary error")


def test_a_redelivered_start_follows_the_job_already_running(transcribe, pending):
    transcript = pending()
    name = job_name(transcript)
    transcribe.add_client_error(
        "start_transcription_job",
        service_error_code="ConflictException",
        service_message="The requested job name already exists.",
        http_status_code=400,
        expected_params=start_params(transcript),
    )
    transcribe.add_response(
        "get_transcription_job", job(transcript, "IN_PROGRESS"), {"TranscriptionJobName": name}
    )
    assert transcription.transcribe(transcript.pk) == "submitted; running 0%"
    transcript.refresh_from_db()
    assert transcript.job_id == name


def test_a_refused_job_fails_with_the_services_message(transcribe, pending):
    transcript = pending()
    transcribe.add_client_error(
        "start_transcription_job",
        service_error_code="BadRequestException",
        service_message="The S3 URI can't be accessed.",
        http_status_code=400,
        expected_params=start_params(transcript),
    )
    assert transcription.transcribe(transcript.pk) == "failed"
    transcript.refresh_from_db()
    assert transcript.status == Transcript.Status.FAILED
    assert "The S3 URI can't be accessed." in transcript.error_message


def test_a_job_transcribe_no_longer_knows_is_run_again(
    transcribe, pending, django_capture_on_commit_callbacks
):
    transcript = pending()
    name = job_name(transcript)
    transcript.claim(now=transcript.created_at, stalled_before=transcript.created_at)
    transcript.refresh_from_db()
    assert transcript.record_job(name, attempt=1)
    transcribe.add_client_error(
        "get_transcription_job",
        service_error_code="NotFoundException",
        http_status_code=400,
        expected_params={"TranscriptionJobName": name},
    )
    transcribe.add_response(
        "start_transcription_job", job(transcript, "QUEUED", 2), start_params(transcript, attempt=2)
    )
    transcribe.add_response(
        "get_transcription_job",
        job(transcript, "QUEUED", 2),
        {"TranscriptionJobName": job_name(transcript, 2)},
    )
    with django_capture_on_commit_callbacks(execute=True):
        assert transcription.poll(transcript.pk) == "requeued"
    transcript.refresh_from_db()
    assert transcript.job_id == job_name(transcript, 2)


def test_a_poll_that_cannot_reach_transcribe_waits_for_the_next_pass(transcribe, pending):
    transcript = pending()
    name = job_name(transcript)
    transcript.claim(now=transcript.created_at, stalled_before=transcript.created_at)
    transcript.refresh_from_db()
    transcript.record_job(name, attempt=1)
    transcribe.add_client_error(
        "get_transcription_job",
        service_error_code="ThrottlingException",
        http_status_code=400,
        expected_params={"TranscriptionJobName": name},
    )
    assert transcription.poll_transcriptions() == {"transient": 1}
    transcript.refresh_from_db()
    assert (transcript.status, transcript.job_id) == ("pending", name)


@pytest.mark.parametrize(
    ("language", "code"),
    [("en", "en-US"), ("en-GB", "en-GB"), ("en-au", "en-AU"), ("pt", "pt-BR"), ("fr", "fr-FR"),
     ("fr-CA", "fr-CA"), ("de", "de-DE"), ("tlh", None)],
)  # fmt: skip
def test_languages_map_onto_the_service_models_codes(language, code):
    backend = AmazonTranscribeTranscriber(
        client=boto3.client("transcribe", region_name="us-east-1")
    )
    assert backend.language_code(language) == code
    assert (backend.unsupported_language(language) is None) == (code is not None)


def test_an_unsupported_language_fails_before_any_request(transcribe, pending):
    transcript = pending(language="tlh")
    assert transcription.transcribe(transcript.pk) == "failed"
    transcript.refresh_from_db()
    assert "Amazon Transcribe has no model for “tlh”" in transcript.error_message


def test_sources_outside_s3_are_refused_clearly(settings, make_episode):
    from episodes.transcribers.base import TranscribeRequest

    backend = AmazonTranscribeTranscriber(
        client=boto3.client("transcribe", region_name="us-east-1")
    )
    request = TranscribeRequest(
        transcript_id=1, episode_id=1, attempt=1, language="en", source_key="uploads/a.mp3"
    )
    with pytest.raises(TranscriptionError, match="reads audio from S3"):
        backend.submit(request)


def test_output_shapes_we_cannot_read_are_a_permanent_error(transcribe, pending, s3):
    transcript = pending()
    name = job_name(transcript)
    transcript.claim(now=transcript.created_at, stalled_before=transcript.created_at)
    transcript.refresh_from_db()
    transcript.record_job(name, attempt=1)
    s3.put_object(Bucket="show-uploads", Key=f"transcripts/{name}.json", Body=b'{"results": {}}')
    transcribe.add_response(
        "get_transcription_job", job(transcript, "COMPLETED"), {"TranscriptionJobName": name}
    )
    assert transcription.poll(transcript.pk) == "failed"
    transcript.refresh_from_db()
    assert "unexpected shape" in transcript.error_message


def test_punctuation_attaches_to_the_word_before():
    cues = cues_of_output(OUTPUT)
    assert [c.text for c in cues] == ["Welcome to the show.", "Today, gardening."]
    assert JobState.COMPLETE.value == "COMPLETE"
