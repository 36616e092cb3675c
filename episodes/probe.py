"""Probe an uploaded file with ffmpeg: is it decodable audio, what is it, how loud is it.

One ffmpeg process decodes the first audio stream once through the EBU R128
meter (``ebur128``), so probing yields both the stream facts and the loudness
measurement the encoder reuses to compute its gain — no separate loudnorm
analysis pass (https://tech.ebu.ch/docs/r/r128.pdf). The meter reports the
*sample* peak, not the 4-times oversampled true peak: the encoder's limiter runs
on every file whatever the peak, so the true-peak measurement (about three
quarters of the meter's cost) would change nothing.

imageio-ffmpeg ships no ffprobe, so the facts are read from ffmpeg's own
``Input #0`` report and the decoded duration from ``-progress`` output.
"""

from __future__ import annotations

import re
import subprocess
from dataclasses import dataclass
from pathlib import Path

from django.conf import settings

# ffmpeg prints channel layouts by name; "N channels" otherwise.
_LAYOUT_CHANNELS = {
    "mono": 1,
    "stereo": 2,
    "2.1": 3,
    "3.0": 3,
    "3.0(back)": 3,
    "4.0": 4,
    "quad": 4,
    "quad(side)": 4,
    "3.1": 4,
    "5.0": 5,
    "5.0(side)": 5,
    "4.1": 5,
    "5.1": 6,
    "5.1(side)": 6,
    "6.0": 6,
    "6.1": 7,
    "7.0": 7,
    "7.1": 8,
    "7.1(wide)": 8,
    "downmix": 2,
}

_INPUT_RE = re.compile(r"^Input #0, (?P<container>[^,]+(?:,[^ ]+)*), from ", re.M)
_DURATION_RE = re.compile(r"Duration: (?P<h>\d+):(?P<m>\d+):(?P<s>\d+(?:\.\d+)?)")
_AUDIO_RE = re.compile(
    r"Stream #0:\d+(?:\[[^\]]*\])?(?:\([^)]*\))?: Audio: (?P<codec>[\w-]+)[^\n]*?, "
    r"(?P<rate>\d+) Hz, (?P<layout>[^,]+),"
)
_VIDEO_RE = re.compile(r"Stream #0:\d+[^\n]*: Video: (?P<codec>[\w-]+)")
_SUMMARY_RE = re.compile(
    r"Integrated loudness:\s*I:\s*(?P<i>-?[\d.]+|-inf) LUFS"
    r"\s*Threshold:\s*(?P<thresh>-?[\d.]+|-inf)"
    r".*?LRA:\s*(?P<lra>-?[\d.]+) LU"
    r".*?Sample peak:\s*Peak:\s*(?P<peak>-?[\d.]+|-inf) dBFS",
    re.S,
)
_OUT_TIME_RE = re.compile(r"^out_time_us=(\d+)$", re.M)

# A decoded duration this much shorter than the container declares means the
# file was cut off (e.g. an interrupted upload of an MP3 with a Xing header).
_TRUNCATION_TOLERANCE_SECONDS = 1.0
_TRUNCATION_TOLERANCE_RATIO = 0.02


class ProbeError(Exception):
    """The file is not decodable audio; ``str(exc)`` is a message for the creator."""


@dataclass(frozen=True)
class ProbeResult:
    container: str
    codec: str
    sample_rate: int
    channels: int
    duration_seconds: float
    loudness_lufs: float  # integrated loudness, EBU R128
    loudness_threshold_lufs: float
    loudness_range_lu: float
    sample_peak_dbfs: float


def ffmpeg_binary() -> str:
    """The ffmpeg to run: ``FFMPEG_BINARY`` if set, else the one imageio-ffmpeg ships."""
    configured = settings.FFMPEG_BINARY
    if configured:
        return configured
    import imageio_ffmpeg

    return imageio_ffmpeg.get_ffmpeg_exe()


def _channels(layout: str) -> int:
    layout = layout.strip()
    if layout in _LAYOUT_CHANNELS:
        return _LAYOUT_CHANNELS[layout]
    match = re.match(r"(\d+) channels", layout)
    if match:
        return int(match.group(1))
    raise ProbeError(f"The audio has a channel layout we do not support ({layout}).")


def _float(value: str) -> float:
    return float("-inf") if value == "-inf" else float(value)


def probe(path: Path | str, *, timeout_seconds: float = 3600) -> ProbeResult:
    """Decode the first audio stream of ``path`` once and measure it.

    Raises :class:`ProbeError` with a creator-readable message for anything
    that is not decodable audio (empty, not media, image, video without
    sound, cut off, silent length 0). Never raises anything else for bad input.
    """
    path = Path(path)
    try:
        size = path.stat().st_size
    except OSError:
        raise ProbeError("The uploaded file could not be found; please upload it again.") from None
    if size == 0:
        raise ProbeError("The uploaded file is empty (0 bytes); please upload it again.")
    binary = ffmpeg_binary()
    try:
        header = subprocess.run(
            [binary, "-hide_banner", "-nostdin", "-i", str(path)],
            capture_output=True,
            timeout=120,
            check=False,
        )
    except subprocess.TimeoutExpired:
        raise ProbeError("The file took too long to read; is it really audio?") from None
    header_log = header.stderr.decode("utf-8", "replace")
    if _INPUT_RE.search(header_log) is None:
        with path.open("rb") as f:
            head = f.read(3)
        if head == b"ID3":
            # An MP3 that holds only its tag: what a zero-length export produces.
            raise ProbeError(
                "The MP3 file holds no audio (0 seconds long). Please export the recording again."
            )
    audio = _AUDIO_RE.search(header_log)
    measure = "ebur128=peak=sample:framelog=verbose"
    if audio and int(audio.group("rate")) > 48_000:
        # Measure within the bandwidth the renditions carry (at most 48 kHz):
        # ultrasonic content counts in R128 but no podcast rendition keeps it.
        measure = "aresample=48000," + measure
    cmd = [
        binary,
        "-hide_banner",
        "-nostdin",
        "-nostats",
        "-i",
        str(path),
        "-map",
        "0:a:0",
        "-vn",
        "-af",
        measure,
        "-f",
        "null",
        "-progress",
        "pipe:1",
        "-",
    ]
    try:
        proc = subprocess.run(cmd, capture_output=True, timeout=timeout_seconds, check=False)
    except subprocess.TimeoutExpired:
        raise ProbeError("The file took too long to read; is it really audio?") from None
    log = proc.stderr.decode("utf-8", "replace")
    progress = proc.stdout.decode("utf-8", "replace")
    return parse_probe_output(log, progress, returncode=proc.returncode)


def parse_probe_output(log: str, progress: str, *, returncode: int) -> ProbeResult:
    """Interpret ffmpeg's report; see :func:`probe` for the errors raised."""
    input_match = _INPUT_RE.search(log)
    if input_match is None:
        raise ProbeError(
            "This file is not audio we can read (it may be a text or document file "
            "renamed to look like audio). Please upload an MP3, M4A, WAV, FLAC or OGG file."
        )
    container = input_match.group("container").split(",")[0]
    audio = _AUDIO_RE.search(log, input_match.end())
    if audio is None:
        if _VIDEO_RE.search(log, input_match.end()):
            kind = "an image" if container.endswith("_pipe") or container == "image2" else "a video"
            raise ProbeError(
                f"This file is {kind} with no sound track. Please upload an audio file."
            )
        raise ProbeError("This file contains no audio track. Please upload an audio file.")
    codec = audio.group("codec")
    sample_rate = int(audio.group("rate"))
    channels = _channels(audio.group("layout"))

    summary = _SUMMARY_RE.search(log)
    out_times = _OUT_TIME_RE.findall(progress)
    decoded_seconds = int(out_times[-1]) / 1e6 if out_times else 0.0
    if returncode != 0 or summary is None:
        raise ProbeError(
            "The audio in this file could not be decoded (the file may be damaged "
            "or incomplete). Please export it again and upload it."
        )
    if decoded_seconds <= 0.0:
        raise ProbeError("The audio is empty (0 seconds long). Please upload the full recording.")
    declared = _DURATION_RE.search(log, input_match.end())
    if declared:
        declared_seconds = (
            int(declared.group("h")) * 3600
            + int(declared.group("m")) * 60
            + float(declared.group("s"))
        )
        missing = declared_seconds - decoded_seconds
        if missing > max(
            _TRUNCATION_TOLERANCE_SECONDS, _TRUNCATION_TOLERANCE_RATIO * declared_seconds
        ):
            raise ProbeError(
                f"The file seems to be cut off: it should last {declared_seconds:.0f} s but "
                f"only {decoded_seconds:.0f} s could be read (an interrupted upload or "
                "export?). Please upload the complete file."
            )
    loudness = _float(summary.group("i"))
    if loudness == float("-inf") or loudness < -70:
        raise ProbeError("The audio is silent. Please upload a recording with sound.")
    return ProbeResult(
        container=container[:64],
        codec=codec[:64],
        sample_rate=sample_rate,
        channels=channels,
        duration_seconds=round(decoded_seconds, 3),
        loudness_lufs=loudness,
        loudness_threshold_lufs=_float(summary.group("thresh")),
        loudness_range_lu=float(summary.group("lra")),
        sample_peak_dbfs=_float(summary.group("peak")),
    )
