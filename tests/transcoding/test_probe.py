"""Probing rejects anything that is not decodable audio with a message a creator understands."""

from __future__ import annotations

import os
import signal
import struct
import threading
from pathlib import Path

import psutil
import pytest
from django.core.files.storage import storages

from episodes import pipeline
from episodes.models import Episode
from episodes.probe import ProbeError, ProbeInterrupted, probe
from episodes.transcoders import TransientTranscoderError
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


def _silent(d: Path) -> Path:
    # Digital silence: ffmpeg's meter reports exactly -70.0 LUFS for it.
    path = d / "silent.wav"
    run_ffmpeg("-f", "lavfi", "-i", "anullsrc=r=44100:cl=stereo", "-t", "10", str(path))
    return path


def _sixty_four_channels(d: Path) -> Path:
    path = d / "multitrack.wav"
    run_ffmpeg(
        "-f", "lavfi", "-i", "sine=frequency=440:sample_rate=44100:duration=2",
        "-af", "pan=64 channels|c0=c0|c1=c0", "-c:a", "pcm_s16le", str(path),
    )  # fmt: skip
    return path


def _thirteen_hours(d: Path) -> Path:
    return _long_wav(d / "marathon.wav", hours=13)


def _long_wav(path: Path, *, hours: float, data_bytes: int | None = None) -> Path:
    """A mono 8 kHz WAV of ``hours`` of zeros, sparse on disk (no real bytes written)."""
    rate = 8000
    size = int(hours * 3600 * rate * 2)
    with path.open("wb") as f:
        f.write(b"RIFF" + struct.pack("<I", 36 + size) + b"WAVEfmt ")
        f.write(struct.pack("<IHHIIHH", 16, 1, 1, rate, rate * 2, 2, 16))
        f.write(b"data" + struct.pack("<I", size))
        f.truncate(44 + (size if data_bytes is None else data_bytes))
    return path


BAD_FILES = {
    "zero bytes": (_zero_bytes, "empty"),
    "text renamed .mp3": (_text, "not audio"),
    "PNG renamed .mp3": (_png, "image"),
    "truncated MP3": (_truncated, "cut off"),
    "video without sound": (_video_only, "video"),
    "0-second WAV": (_zero_seconds_wav, "0 seconds"),
    "0-second MP3": (_zero_seconds_mp3, "0 seconds"),
    "10 s of digital silence": (_silent, "silent"),
    "64-channel WAV": (_sixty_four_channels, "64 channels"),
    "13-hour WAV": (_thirteen_hours, "too long"),
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


def test_a_long_source_is_refused_from_its_header(audio_dir):
    path = _long_wav(audio_dir / "marathon.wav", hours=13)

    with pytest.raises(ProbeError) as refused:
        probe(path)

    assert str(refused.value) == (
        "The recording is too long: it lasts 13 h and the limit is 12 h. "
        "Please upload a shorter recording, or split it into episodes."
    )


def test_the_declared_duration_is_judged_before_decoding(settings, audio_dir):
    settings.SOURCE_MAX_DURATION_SECONDS = 5
    # The MP3's Xing header declares 8 s; only the first third of the file is
    # there. Judged after decoding it would be "cut off"; from the header it is
    # too long, and nothing is decoded.
    path = _truncated(audio_dir)

    with pytest.raises(ProbeError, match="too long: it lasts 8 s and the limit is 5 s"):
        probe(path)


def test_the_duration_limit_is_a_setting_and_holds_without_a_declared_duration(
    settings, audio_dir, uploaded_episode
):
    settings.SOURCE_MAX_DURATION_SECONDS = 8
    # Matroska written to a pipe declares no duration: only decoding tells.
    path = audio_dir / "live.mka"
    generate_audio(audio_dir / "talk.wav", content="speech", seconds=10.0)
    run_ffmpeg("-i", str(audio_dir / "talk.wav"), "-f", "matroska", "-live", "1", str(path))
    episode = uploaded_episode(path)

    pipeline.process_episode(episode.pk)

    episode.refresh_from_db()
    assert episode.status == Episode.Status.FAILED
    assert "too long" in episode.error_message and "limit is 8 s" in episode.error_message


def test_surround_is_measured_as_the_stereo_downmix_listeners_get(audio_dir):
    path = audio_dir / "rear.wav"
    # Sound only in the rear pair: R128 weights surrounds +1.5 dB, the stereo
    # downmix folds them in at -3 dB, so the two loudnesses differ by 4.5 dB.
    # The reference is float (as the encoder's graph is): no clip-guard scaling.
    run_ffmpeg(
        "-f", "lavfi", "-i", "anoisesrc=color=pink:sample_rate=48000:duration=3:seed=7",
        "-af", "pan=5.1|c4=c0|c5=c0", str(path),
    )  # fmt: skip
    stereo = audio_dir / "stereo.wav"
    run_ffmpeg("-i", str(path), "-ac", "2", "-c:a", "pcm_f32le", str(stereo))

    result = probe(path)

    assert (result.channels, result.channel_layout) == (6, "5.1")
    assert result.loudness_lufs == pytest.approx(probe(stereo).loudness_lufs, abs=0.2)


def _sparse_wav_in_uploads(episode: Episode, hours: float) -> str:
    key = f"uploads/{episode.podcast.slug}/{episode.guid}/long.wav"
    dest = Path(storages["uploads"].path(key))
    dest.parent.mkdir(parents=True, exist_ok=True)
    _long_wav(dest, hours=hours)
    return key


def _kill_the_meter_when_it_runs(found: list[int], sig: int = signal.SIGKILL) -> None:
    me = psutil.Process()
    for _ in range(600):
        for child in me.children(recursive=True):
            try:
                if "ebur128" in " ".join(child.cmdline()):
                    os.kill(child.pid, sig)
                    found.append(child.pid)
                    return
            except psutil.NoSuchProcess:
                continue
        threading.Event().wait(0.05)


def test_a_killed_probe_is_retried_not_blamed_on_the_file(make_episode):
    episode = make_episode()
    key = _sparse_wav_in_uploads(episode, hours=11)  # long enough to be killed mid-pass
    assert episode.mark_uploaded(source_key=key, source_bytes=1)
    killed: list[int] = []
    killer = threading.Thread(target=_kill_the_meter_when_it_runs, args=(killed,))
    killer.start()

    try:
        with pytest.raises(TransientTranscoderError) as raised:
            pipeline.process_episode(episode.pk)
    finally:
        killer.join()

    assert killed, "the probe's ffmpeg was never seen running"
    assert isinstance(raised.value, ProbeInterrupted)
    episode.refresh_from_db()
    assert episode.status == Episode.Status.UPLOADED  # the task's retry probes it again
    assert episode.error_message == ""


def test_a_probe_that_crashes_is_the_files_report_not_a_retry(make_episode):
    # SIGABRT is how ffmpeg dies on an assertion failure: a crafted file would crash
    # every retry again, so the episode fails at once with a plain reason.
    episode = make_episode()
    key = _sparse_wav_in_uploads(episode, hours=11)
    assert episode.mark_uploaded(source_key=key, source_bytes=1)
    killed: list[int] = []
    killer = threading.Thread(target=_kill_the_meter_when_it_runs, args=(killed, signal.SIGABRT))
    killer.start()

    try:
        pipeline.process_episode(episode.pk)
    finally:
        killer.join()

    assert killed, "the probe's ffmpeg was never seen running"
    episode.refresh_from_db()
    assert episode.status == Episode.Status.FAILED
    assert "may be damaged" in episode.error_message
