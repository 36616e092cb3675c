"""Fixtures of the transcoding tests: audio generated with the real ffmpeg, and an
independent reader of media files (ffmpeg's own report and EBU R128 meter)."""

from __future__ import annotations

import re
import shutil
import subprocess
from dataclasses import dataclass
from pathlib import Path

import boto3
import pytest
from botocore.stub import Stubber
from django.core.files.storage import storages
from moto import mock_aws

from episodes.models import Episode

FFMPEG = None
ROLE = "arn:aws:iam::123456789012:role/podcasthost-mediaconvert"


def ffmpeg() -> str:
    global FFMPEG
    if FFMPEG is None:
        import imageio_ffmpeg

        FFMPEG = imageio_ffmpeg.get_ffmpeg_exe()
    return FFMPEG


def run_ffmpeg(*args: str) -> None:
    subprocess.run(
        [ffmpeg(), "-hide_banner", "-nostdin", "-loglevel", "error", "-y", *args],
        check=True,
        timeout=120,
    )


# Content generators: lavfi sources at a given sample rate and duration.
_SOURCES = {
    "tone": "sine=frequency=440:sample_rate={sr}:duration={d}",
    "noise": "anoisesrc=color=pink:sample_rate={sr}:duration={d}:amplitude=0.5:seed=7",
    # Speech-like: band-limited noise with a syllable-rate envelope and pauses.
    "speech": (
        "anoisesrc=color=pink:sample_rate={sr}:duration={d}:amplitude=0.6:seed=3,"
        "bandpass=frequency=900:width_type=h:width=1400,"
        "volume='0.05+0.95*pow(abs(sin(2*PI*2.3*t)),3)':eval=frame"
    ),
}


def generate_audio(
    path: Path,
    *,
    content: str = "tone",
    sample_rate: int = 44_100,
    channels: int = 2,
    seconds: float = 3.0,
    gain_db: float = 0.0,
    extra: tuple[str, ...] = (),
) -> Path:
    """Write a clip to ``path`` (format from its extension) and return the path."""
    source = _SOURCES[content].format(sr=sample_rate, d=seconds)
    run_ffmpeg(
        "-f",
        "lavfi",
        "-i",
        source,
        "-af",
        f"volume={gain_db}dB",
        "-ac",
        str(channels),
        "-ar",
        str(sample_rate),
        *extra,
        str(path),
    )
    return path


@dataclass
class MediaInfo:
    container: str
    codec: str
    sample_rate: int
    channels: int
    duration_seconds: float
    bitrate: int
    loudness_lufs: float
    true_peak_dbfs: float


def analyze(path: Path) -> MediaInfo:
    """Decode ``path`` fully and report its stream facts and EBU R128 loudness."""
    proc = subprocess.run(
        [
            ffmpeg(),
            "-hide_banner",
            "-nostdin",
            "-i",
            str(path),
            "-map",
            "0:a:0",
            "-af",
            "ebur128=peak=true:framelog=verbose",
            "-f",
            "null",
            "-",
        ],
        capture_output=True,
        timeout=120,
        check=False,
    )
    log = proc.stderr.decode()
    assert proc.returncode == 0, log[-2000:]
    container = re.search(r"Input #0, ([^ ]+), from", log).group(1).rstrip(",")
    stream = re.search(r"Stream #0:\d+[^\n]*: Audio: (\w+)[^\n]*?, (\d+) Hz, ([^,]+),([^\n]*)", log)
    layout = stream.group(3).strip()
    channels = {"mono": 1, "stereo": 2}.get(layout) or int(layout.split()[0])
    h, m, s = re.search(r"Duration: (\d+):(\d+):([\d.]+)", log).groups()
    duration = int(h) * 3600 + int(m) * 60 + float(s)
    rate = re.search(r"(\d+) kb/s", stream.group(4))
    bitrate = int(rate.group(1)) * 1000 if rate else round(path.stat().st_size * 8 / duration)
    loudness = float(re.search(r"I:\s+(-?[\d.]+) LUFS", log).group(1))
    peak = float(re.search(r"Peak:\s+(-?[\d.]+|-inf) dBFS", log).group(1))
    return MediaInfo(
        container,
        stream.group(1),
        int(stream.group(2)),
        channels,
        duration,
        bitrate,
        loudness,
        peak,
    )


def put_upload(episode: Episode, path: Path) -> str:
    """Copy ``path`` into the uploads storage where a browser upload would land."""
    key = f"uploads/{episode.podcast.slug}/{episode.guid}/{path.name}"
    dest = Path(storages["uploads"].path(key))
    dest.parent.mkdir(parents=True, exist_ok=True)
    shutil.copyfile(path, dest)
    return key


@pytest.fixture
def audio_dir(tmp_path: Path) -> Path:
    folder = tmp_path / "audio"
    folder.mkdir()
    return folder


@pytest.fixture
def uploaded_episode(make_episode, audio_dir):
    """An episode in ``uploaded`` with ``path`` as its source (on_commit work not run)."""

    def make(path: Path, **fields) -> Episode:
        episode = make_episode(**fields)
        key = put_upload(episode, path)
        assert episode.mark_uploaded(
            source_key=key, source_bytes=path.stat().st_size, filename=path.name
        )
        return episode

    return make


@pytest.fixture
def s3(settings, aws_credentials):
    """moto S3 (in-process) with buckets ``show-uploads`` and ``show-media`` as the storages."""
    with mock_aws():
        client = boto3.client("s3", region_name="us-east-1")
        configured = dict(settings.STORAGES)
        for alias, bucket in (("uploads", "show-uploads"), ("media", "show-media")):
            client.create_bucket(Bucket=bucket)
            configured[alias] = {
                "BACKEND": "podcasthost.storage.s3.S3Storage",
                "OPTIONS": {
                    "bucket_name": bucket,
                    "region_name": "us-east-1",
                    "file_overwrite": True,
                    "default_acl": None,
                    "querystring_auth": False,
                    # settings.AWS_S3_ENDPOINT_URL is "" when unset: not a URL.
                    "endpoint_url": None,
                },
            }
        settings.STORAGES = configured
        yield client


@pytest.fixture
def mediaconvert(settings):
    client = boto3.client("mediaconvert", region_name="us-east-1")
    with Stubber(client) as stubber:
        settings.TRANSCODER = {
            "BACKEND": "episodes.transcoders.mediaconvert.MediaConvertTranscoder",
            "OPTIONS": {"role_arn": ROLE, "client": client},
        }
        yield stubber
        stubber.assert_no_pending_responses()


@pytest.fixture
def uploaded_on_s3(s3, make_episode, audio_dir):
    def make(channels: int = 2) -> Episode:
        episode = make_episode()
        path = generate_audio(
            audio_dir / "interview.wav", content="speech", channels=channels, seconds=2.0
        )
        key = f"uploads/{episode.podcast.slug}/{episode.guid}/interview.wav"
        s3.put_object(Bucket="show-uploads", Key=key, Body=path.read_bytes())
        episode.mark_uploaded(source_key=key, source_bytes=path.stat().st_size, filename=path.name)
        return episode

    return make
