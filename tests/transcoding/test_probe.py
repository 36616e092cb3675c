"""Probing rejects anything that is not decodable audio with a message a creator understands."""

from __future__ import annotations

from pathlib import Path

import pytest

from episodes import pipeline
from episodes.models import Episode
from episodes.probe import probe
from tests.transcoding.conftest import generate_audio, run_ffmpeg


def _zero_bytes(d: Path) -> Path:
    path = d / "empty.mp3"
    path.write_bytes(b"")
    return path


def _text(d: Path) -> Path:
    path = d / "notes.mp3"
    path.write_text("Episode 12 show notes: thanks for listening!\n" * 20)
    return path


def _png(d: Path) -> Path:
    png = d / "cover.png"
    run_ffmpeg("-f", "lavfi", "-i", "testsrc=size=64x64:duration=1", "-frames:v", "1", str(png))
    path = d / "cover.mp3"
    png.rename(path)
    return path


def _truncated(d: Path) -> Path:
    full = generate_audio(d / "full.mp3", content="speech", seconds=8.0)
    path = d / "truncated.mp3"
    path.write_bytes(full.read_bytes()[: full.stat().st_size // 3])
    return path


def _video_only(d: Path) -> Path:
    path = d / "screen.mp4"
    run_ffmpeg("-f", "lavfi", "-i", "testsrc=size=64x64:duration=1", "-c:v", "mpeg4", str(path))
    return path


def _zero_seconds_wav(d: Path) -> Path:
    path = d / "nothing.wav"
    run_ffmpeg("-f", "lavfi", "-i", "anullsrc=r=44100", "-t", "0", str(path))
    return path


def _zero_seconds_mp3(d: Path) -> Path:
    path = d / "nothing.mp3"
    run_ffmpeg("-f", "lavfi", "-i", "anullsrc=r=44100", "-t", "0", str(path))
    return path


BAD_FILES = {
    "zero bytes": (_zero_bytes, "empty"),
    "text renamed .mp3": (_text, "not audio"),
    "PNG renamed .mp3": (_png, "image"),
    "truncated MP3": (_truncated, "cut off"),
    "video without sound": (_video_only, "video"),
    "0-second WAV": (_zero_seconds_wav, "0 seconds"),
    "0-second MP3": (_zero_seconds_mp3, "0 seconds"),
}


@pytest.mark.parametrize("case", list(BAD_FILES))
def test_bad_upload_ends_failed_with_a_clear_message(case, audio_dir, uploaded_episode):
    make, words = BAD_FILES[case]
    episode = uploaded_episode(make(audio_dir))

    pipeline.process_episode(episode.pk)  # must not raise

    episode.refresh_from_db()
    assert episode.status == Episode.Status.FAILED
    assert words in episode.error_message
    assert "Please" in episode.error_message or "please" in episode.error_message
    assert not episode.renditions.exists()


def test_missing_source_file_fails_cleanly(make_episode):
    episode = make_episode()
    episode.mark_uploaded(source_key="uploads/x/y/gone.mp3", source_bytes=10)
    pipeline.process_episode(episode.pk)
    episode.refresh_from_db()
    assert episode.status == Episode.Status.FAILED
    assert "could not be found" in episode.error_message


@pytest.mark.parametrize(
    ("content", "rate", "channels", "name"),
    [("speech", 16_000, 1, "a.wav"), ("tone", 48_000, 2, "b.m4a"), ("noise", 32_000, 2, "c.ogg")],
)
def test_probe_records_the_facts(audio_dir, content, rate, channels, name):
    path = generate_audio(
        audio_dir / name, content=content, sample_rate=rate, channels=channels, seconds=2.5
    )
    result = probe(path)
    assert result.sample_rate == rate
    assert result.channels == channels
    assert result.duration_seconds == pytest.approx(2.5, abs=0.06)
    assert result.codec == {"wav": "pcm_s16le", "m4a": "aac", "ogg": "vorbis"}[path.suffix[1:]]
    assert result.container in {"wav", "mov", "ogg"}
    assert -40 < result.loudness_lufs < 0
    assert result.loudness_lufs < result.sample_peak_dbfs <= 0


def test_probed_facts_are_stored_on_the_episode(audio_dir, uploaded_episode):
    path = generate_audio(audio_dir / "talk.wav", content="speech", sample_rate=22_050, channels=1)
    episode = uploaded_episode(path)
    pipeline.process_episode(episode.pk)
    episode.refresh_from_db()
    assert (episode.container, episode.codec) == ("wav", "pcm_s16le")
    assert (episode.sample_rate, episode.channels) == (22_050, 1)
    assert episode.duration_seconds == pytest.approx(3.0, abs=0.05)
    assert episode.loudness_lufs is not None and episode.loudness_lufs < -10
