"""The ffmpeg backend end to end on generated audio: every rendition is what its preset says."""

from __future__ import annotations

from pathlib import Path

import pytest
from django.core.files.storage import storages

from episodes import pipeline
from episodes.models import Episode
from episodes.presets import PRESETS
from tests.transcoding.conftest import analyze, generate_audio

pytestmark = pytest.mark.slow

CASES = [
    # content, sample rate, channels, gain (dB), source file
    ("tone", 8_000, 1, -30.0, "tone-8k-mono-quiet.wav"),
    ("noise", 96_000, 2, 0.0, "noise-96k-stereo-loud.flac"),
    ("speech", 22_050, 1, -6.0, "speech-22k-mono.wav"),
    ("speech", 48_000, 2, -24.0, "speech-48k-stereo-quiet.wav"),
    ("tone", 44_100, 2, -3.0, "tone-44k-stereo-loud.mp3"),
]


@pytest.mark.parametrize(("content", "rate", "channels", "gain", "name"), CASES)
def test_every_rendition_matches_its_preset(
    settings, audio_dir: Path, uploaded_episode, content, rate, channels, gain, name
):
    source = generate_audio(
        audio_dir / name, content=content, sample_rate=rate, channels=channels, gain_db=gain
    )
    source_info = analyze(source)
    episode = uploaded_episode(source)

    outcome = pipeline.process_episode(episode.pk)

    episode.refresh_from_db()
    assert episode.status == Episode.Status.READY, (outcome, episode.error_message)
    assert episode.progress_percent == 100
    assert episode.channels == channels and episode.sample_rate == rate
    # Recorded in-band (≤ 48 kHz): a 96 kHz source loses its ultrasonic share.
    assert episode.loudness_lufs == pytest.approx(source_info.loudness_lufs, abs=1.0)
    renditions = {r.preset: r for r in episode.renditions.all()}
    assert set(renditions) == {p.name for p in PRESETS}
    media = storages["media"]
    for preset in PRESETS:
        rendition = renditions[preset.name]
        assert rendition.key == preset.key_for(episode.podcast.slug, str(episode.guid))
        path = Path(media.path(rendition.key))
        assert rendition.size_bytes == path.stat().st_size > 0
        assert rendition.mime_type == preset.mime_type
        info = analyze(path)
        assert info.codec == preset.codec
        assert info.sample_rate == preset.sample_rate
        assert info.channels == min(channels, 2)
        if preset.codec == "aac" and content == "tone":
            # ffmpeg's AAC encoder is average-bitrate: a pure sine needs fewer
            # bits and it does not pad. It must still never exceed the preset.
            assert info.bitrate <= preset.bitrate * 1.10
        else:
            assert info.bitrate == pytest.approx(preset.bitrate, rel=0.10), preset.name
        assert info.loudness_lufs == pytest.approx(settings.LOUDNESS_TARGET_LUFS, abs=1.0)
        assert info.duration_seconds == pytest.approx(source_info.duration_seconds, abs=0.1)
        assert rendition.duration_seconds == pytest.approx(info.duration_seconds, abs=0.05)
    # Nothing half-written or temporary is left where it could be served.
    leftovers = [p for p in Path(media.location).rglob("*") if p.is_file()]
    assert sorted(p.name for p in leftovers) == sorted(f"{p.name}.{p.extension}" for p in PRESETS)


def test_progress_is_reported_while_encoding(audio_dir):
    from episodes.probe import probe
    from episodes.transcoders import TranscodeRequest
    from episodes.transcoders.ffmpeg import FFmpegTranscoder

    source = generate_audio(audio_dir / "long.wav", content="noise", seconds=60.0)
    request = TranscodeRequest(
        episode_id=1,
        attempt=1,
        podcast_slug="show",
        episode_guid="guid",
        source_key="unused",
        probe=probe(source),
        presets=PRESETS,
        loudness_target_lufs=-16.0,
        true_peak_dbtp=-1.0,
        source_path=source,
    )
    seen: list[int] = []
    FFmpegTranscoder(progress_interval_seconds=0).submit(request, on_progress=seen.append)
    assert len(seen) >= 2
    assert seen == sorted(seen) and seen[0] >= 0 and seen[-1] <= 99
    assert seen[-1] >= 50


def test_s3_storages_download_the_source_and_upload_with_content_types(s3, make_episode, audio_dir):
    episode = make_episode()
    source = generate_audio(audio_dir / "talk.flac", content="speech", channels=1)
    key = f"uploads/{episode.podcast.slug}/{episode.guid}/talk.flac"
    s3.put_object(Bucket="show-uploads", Key=key, Body=source.read_bytes())
    episode.mark_uploaded(source_key=key, source_bytes=source.stat().st_size)

    pipeline.process_episode(episode.pk)

    episode.refresh_from_db()
    assert episode.status == Episode.Status.READY, episode.error_message
    for rendition in episode.renditions.all():
        head = s3.head_object(Bucket="show-media", Key=rendition.key)
        assert head["ContentType"] == rendition.mime_type
        assert head["ContentLength"] == rendition.size_bytes
    keys = [o["Key"] for o in s3.list_objects_v2(Bucket="show-media")["Contents"]]
    assert sorted(keys) == sorted(r.key for r in episode.renditions.all())


def test_a_surround_source_becomes_stereo_renditions_at_the_target_loudness(
    settings, audio_dir: Path, uploaded_episode
):
    from tests.transcoding.conftest import run_ffmpeg

    source = audio_dir / "rear-5.1.wav"
    # Sound only in the rear pair, where R128 (+1.5 dB) and the downmix (-3 dB)
    # disagree most: the gain must come from the downmix listeners get.
    run_ffmpeg(
        "-f", "lavfi", "-i", "anoisesrc=color=pink:sample_rate=48000:duration=3:seed=7",
        "-af", "pan=5.1|c4=0.5*c0|c5=0.5*c0", str(source),
    )  # fmt: skip
    episode = uploaded_episode(source)

    pipeline.process_episode(episode.pk)

    episode.refresh_from_db()
    assert episode.status == Episode.Status.READY, episode.error_message
    assert episode.channels == 6
    media = storages["media"]
    for rendition in episode.renditions.all():
        info = analyze(Path(media.path(rendition.key)))
        assert info.channels == 2, rendition.preset
        assert info.loudness_lufs == pytest.approx(settings.LOUDNESS_TARGET_LUFS, abs=1.0)
