"""The offline transcriber on real synthetic speech: what it hears, and when."""

from __future__ import annotations

import itertools
from pathlib import Path

import pytest
from django.core.exceptions import ImproperlyConfigured

from episodes.transcoders import JobState
from episodes.transcribers import DEFAULT_BACKEND, TranscribeRequest, get_transcriber
from episodes.transcribers.pocketsphinx import PocketSphinxTranscriber
from episodes.transcribers.words import Word, group_words
from tests.transcoding.conftest import analyze, generate_audio, put_upload
from tests.transcription.conftest import SPOKEN
from tests.transcription.speech import recall, word_error_rate

pytestmark = pytest.mark.slow


def request_for(key: str, **fields) -> TranscribeRequest:
    defaults = {"transcript_id": 7, "episode_id": 3, "attempt": 1, "language": "en"}
    return TranscribeRequest(source_key=key, **{**defaults, **fields})


@pytest.fixture
def uploaded_speech(make_episode, spoken_wav) -> str:
    return put_upload(make_episode(), spoken_wav)


def test_the_draft_contains_most_of_the_spoken_words(uploaded_speech, spoken_wav):
    transcriber = PocketSphinxTranscriber()
    duration = analyze(spoken_wav).duration_seconds
    job_id = transcriber.submit(request_for(uploaded_speech, duration_seconds=duration))
    status = transcriber.status(job_id)

    assert status.state is JobState.COMPLETE
    heard = " ".join(cue.text for cue in status.cues)
    # Measured on this text: 0.64 of its content words, word error rate 0.55
    # (espeak-ng is far from the human speech the model was trained on, and
    # there is no punctuation to match). The bars leave a margin of 2 words.
    assert recall(SPOKEN, heard) >= 0.55, heard
    assert word_error_rate(SPOKEN, heard) <= 0.7, heard


def test_cues_are_timed_in_order_within_the_audio(uploaded_speech, spoken_wav):
    transcriber = PocketSphinxTranscriber()
    duration = analyze(spoken_wav).duration_seconds
    cues = transcriber.status(transcriber.submit(request_for(uploaded_speech))).cues

    assert len(cues) >= 3  # about 13 s of speech in cues of at most 6 s
    assert all(cue.timed and cue.text for cue in cues)
    assert all(0 <= cue.start < cue.end <= duration + 0.05 for cue in cues)
    assert all(cue.end - cue.start <= 6.0 for cue in cues)
    assert all(a.end <= b.start for a, b in itertools.pairwise(cues))
    # "Welcome" opens the audio, "next week we will visit" is near its end.
    text = [cue.text.lower() for cue in cues]
    assert "welcome" in text[0]
    assert cues[0].start < 1.0
    assert "next week we will visit" in " ".join(text[-2:])
    assert cues[-1].end > duration - 2.0


def test_progress_is_reported_while_decoding(uploaded_speech, spoken_wav):
    seen: list[int] = []
    transcriber = PocketSphinxTranscriber(progress_interval_seconds=0)
    duration = analyze(spoken_wav).duration_seconds
    transcriber.submit(
        request_for(uploaded_speech, duration_seconds=duration), on_progress=seen.append
    )

    assert seen, "no progress reported"
    assert seen == sorted(seen)
    assert all(0 <= p <= 99 for p in seen)
    assert seen[-1] >= 50


def test_submit_is_idempotent_and_the_result_is_discarded_once_recorded(uploaded_speech):
    from django.core.files.storage import storages

    transcriber = PocketSphinxTranscriber()
    request = request_for(uploaded_speech)
    job_id = transcriber.submit(request)
    result = Path(storages["uploads"].path(request.result_key))
    written = result.stat().st_mtime_ns

    assert transcriber.submit(request) == job_id
    assert result.stat().st_mtime_ns == written  # not decoded again

    transcriber.discard(job_id)
    assert not result.exists()
    assert transcriber.status(job_id).state is JobState.LOST


def test_silence_gives_no_cues(make_episode, tmp_path):
    silent = generate_audio(tmp_path / "silent.wav", content="tone", seconds=3.0, gain_db=-120)
    key = put_upload(make_episode(), silent)
    transcriber = PocketSphinxTranscriber()
    assert transcriber.status(transcriber.submit(request_for(key))).cues == ()


def test_audio_that_cannot_be_decoded_is_a_clear_failure(make_episode, tmp_path):
    from episodes.transcribers import TranscriptionError

    junk = tmp_path / "notes.mp3"
    junk.write_bytes(b"this is not audio at all" * 100)
    key = put_upload(make_episode(), junk)
    with pytest.raises(TranscriptionError, match="could not be decoded"):
        PocketSphinxTranscriber().submit(request_for(key))


@pytest.mark.parametrize("language", ["en", "en-US", "en-gb"])
def test_english_is_supported(language):
    assert PocketSphinxTranscriber().unsupported_language(language) is None


@pytest.mark.parametrize("language", ["fr", "de-DE", "pt-BR"])
def test_other_languages_are_refused_with_the_reason(language):
    reason = PocketSphinxTranscriber().unsupported_language(language)
    assert f"“{language}”" in reason
    assert "English only" in reason


def test_words_are_grouped_at_pauses_sentence_ends_and_length():
    words = [
        Word(0.0, 0.4, "hello"),
        Word(0.5, 0.9, "there."),  # a sentence ends
        Word(1.0, 1.3, "after"),
        Word(2.5, 2.9, "a"),  # after a 1.2 s pause
        *[Word(3.0 + i * 0.5, 3.4 + i * 0.5, "word") for i in range(14)],  # 7 s of words
    ]
    cues = group_words(words)

    assert [(c.start, c.end, c.text) for c in cues[:2]] == [
        (0.0, 0.9, "Hello there."),
        (1.0, 1.3, "After"),
    ]
    assert cues[2].text.startswith("A word")
    assert len(cues) == 4  # the 7 s run is cut before 6 s
    assert all(c.end - c.start <= 6.0 for c in cues)
    assert sum(len(c.text.split()) for c in cues) == len(words)


def test_the_default_backend_is_pocketsphinx(settings):
    settings.TRANSCRIBER = {"BACKEND": "", "OPTIONS": {}}
    assert DEFAULT_BACKEND.endswith("PocketSphinxTranscriber")
    assert isinstance(get_transcriber(), PocketSphinxTranscriber)


def test_unknown_options_and_backends_are_refused(settings):
    settings.TRANSCRIBER = {"BACKEND": DEFAULT_BACKEND, "OPTIONS": {"model": "xx"}}
    with pytest.raises(ImproperlyConfigured, match=r"Unknown TRANSCRIBER OPTIONS.*model"):
        get_transcriber()
    settings.TRANSCRIBER = {"BACKEND": "episodes.transcoders.ffmpeg.FFmpegTranscoder"}
    with pytest.raises(ImproperlyConfigured, match="is not a Transcriber"):
        get_transcriber()
    settings.TRANSCRIBER = {"BACKEND": "episodes.nowhere.Backend"}
    with pytest.raises(ImproperlyConfigured, match="cannot be imported"):
        get_transcriber()
