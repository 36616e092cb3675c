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

A first, header-only ``ffmpeg -i`` refuses what is too long
(``SOURCE_MAX_DURATION_SECONDS``) or has too many channels before anything is
decoded: a 10-hour file is refused in a fraction of a second, not after a
half-hour meter pass.

Silence: EBU R128 ignores every 400 ms block below the absolute gate of
-70 LUFS, and ffmpeg's meter then reports exactly -70.0 (or ``-inf``). So
"integrated loudness at or below -70 LUFS" means "no block of the file is
audible at all" — what Apple calls no audible content
(https://podcasters.apple.com/support/823-podcast-requirements) — and is
refused. A peak-level test would add nothing: a file whose peak is below
-90 dBFS cannot rise above the gate. Quiet but real recordings are kept.

Channels: podcasts are mono or stereo. Sources up to 8 channels (7.1) are
measured and encoded as ffmpeg's standard stereo downmix; more are refused.
A probe ffmpeg killed by a signal says nothing about the file: that raises
:class:`ProbeInterrupted` (transient), never "the file may be damaged".
"""

from __future__ import annotations

import re
import signal
import subprocess
from dataclasses import dataclass
from pathlib import Path

from django.conf import settings

from episodes.transcoders.base import TransientTranscoderError
from podcasthost import subprocesses

# ffmpeg's standard layouts and their channels in stream order (``ffmpeg -layouts``);
# a layout it cannot name prints as "N channels" or "N channels (FL+FR+...)".
LAYOUT_CHANNELS: dict[str, tuple[str, ...]] = {
    name: tuple(decomposition.split("+"))
    for name, decomposition in (
        ("mono", "FC"),
        ("stereo", "FL+FR"),
        ("2.1", "FL+FR+LFE"),
        ("3.0", "FL+FR+FC"),
        ("3.0(back)", "FL+FR+BC"),
        ("4.0", "FL+FR+FC+BC"),
        ("quad", "FL+FR+BL+BR"),
        ("quad(side)", "FL+FR+SL+SR"),
        ("3.1", "FL+FR+FC+LFE"),
        ("5.0", "FL+FR+FC+BL+BR"),
        ("5.0(side)", "FL+FR+FC+SL+SR"),
        ("4.1", "FL+FR+FC+LFE+BC"),
        ("5.1", "FL+FR+FC+LFE+BL+BR"),
        ("5.1(side)", "FL+FR+FC+LFE+SL+SR"),
        ("6.0", "FL+FR+FC+BC+SL+SR"),
        ("6.0(front)", "FL+FR+FLC+FRC+SL+SR"),
        ("3.1.2", "FL+FR+FC+LFE+TFL+TFR"),
        ("hexagonal", "FL+FR+FC+BL+BR+BC"),
        ("6.1", "FL+FR+FC+LFE+BC+SL+SR"),
        ("6.1(back)", "FL+FR+FC+LFE+BL+BR+BC"),
        ("6.1(front)", "FL+FR+LFE+FLC+FRC+SL+SR"),
        ("7.0", "FL+FR+FC+BL+BR+SL+SR"),
        ("7.0(front)", "FL+FR+FC+FLC+FRC+SL+SR"),
        ("7.1", "FL+FR+FC+LFE+BL+BR+SL+SR"),
        ("7.1(wide)", "FL+FR+FC+LFE+BL+BR+FLC+FRC"),
        ("7.1(wide-side)", "FL+FR+FC+LFE+FLC+FRC+SL+SR"),
        ("5.1.2", "FL+FR+FC+LFE+SL+SR+TFL+TFR"),
        ("5.1.2(back)", "FL+FR+FC+LFE+BL+BR+TFL+TFR"),
        ("octagonal", "FL+FR+FC+BL+BR+BC+SL+SR"),
        ("cube", "FL+FR+BL+BR+TFL+TFR+TBL+TBR"),
        ("binaural", "BIL+BIR"),
        ("downmix", "DL+DR"),
    )
}
#: More channels than this are refused: no podcast is mixed for them, and
#: discrete channels ffmpeg cannot name (a 64-track WAV) have no downmix at all.
MAX_CHANNELS = 8

#: ffmpeg's standard downmix of any named layout to stereo (libswresample's
#: defaults: centre and surrounds at -3 dB, LFE dropped; in float, so not
#: scaled down against clipping), used by the probe and the encoder alike so
#: the measured loudness is the loudness encoded.
STEREO_DOWNMIX = "aformat=channel_layouts=stereo"


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

# EBU R128's absolute gate: blocks below it never count, and a file with none
# above it is reported at exactly this value (https://tech.ebu.ch/docs/r/r128.pdf).
_SILENCE_GATE_LUFS = -70.0

# A decoded duration this much shorter than the container declares means the
# file was cut off (e.g. an interrupted upload of an MP3 with a Xing header).
_TRUNCATION_TOLERANCE_SECONDS = 1.0
_TRUNCATION_TOLERANCE_RATIO = 0.02


class ProbeError(Exception):
    """The file is not decodable audio; ``str(exc)`` is a message for the creator."""


class ProbeInterrupted(TransientTranscoderError):
    """The probe's ffmpeg was killed (a signal, not the file): probing again may succeed."""


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
    channel_layout: str = ""  # as ffmpeg names it, e.g. "5.1"; channels in LAYOUT_CHANNELS order


def ffmpeg_binary() -> str:
    """The ffmpeg to run: ``FFMPEG_BINARY`` if set, else the one imageio-ffmpeg ships."""
    configured = settings.FFMPEG_BINARY
    if configured:
        return configured
    import imageio_ffmpeg

    return imageio_ffmpeg.get_ffmpeg_exe()


def channel_names(layout: str) -> tuple[str, ...]:
    """The channels of an ffmpeg layout in stream order ("" where ffmpeg gives no name).

    Raises :class:`ProbeError` for a layout it cannot count.
    """
    layout = layout.strip()
    if layout in LAYOUT_CHANNELS:
        return LAYOUT_CHANNELS[layout]
    match = re.fullmatch(r"(\d+) channels(?: \((?P<names>[^)]*)\))?", layout)
    if match:
        count = int(match.group(1))
        names = (match.group("names") or "").split("+")
        return tuple(names) if len(names) == count else ("",) * count
    # Larger standard layouts ("7.1.4", "22.2"): the digits add up to the count.
    match = re.fullmatch(r"(\d+)\.(\d+)(?:\.(\d+))?(?:\([\w-]+\))?", layout)
    if match:
        return ("",) * sum(int(g) for g in match.groups() if g)
    raise ProbeError(
        f"The audio has a channel layout we do not support ({layout}). "
        "Please export it as mono or stereo."
    )


def _float(value: str) -> float:
    return float("-inf") if value == "-inf" else float(value)


def _seconds(match: re.Match) -> float:
    return int(match.group("h")) * 3600 + int(match.group("m")) * 60 + float(match.group("s"))


def _length(seconds: float) -> str:
    """A duration as a creator reads it: "9 h 50 min", "12 min 5 s", "8 s"."""
    whole = round(seconds)
    hours, rest = divmod(whole, 3600)
    minutes, secs = divmod(rest, 60)
    if hours:
        return f"{hours} h {minutes} min" if minutes else f"{hours} h"
    if minutes:
        return f"{minutes} min {secs} s" if secs else f"{minutes} min"
    return f"{secs} s"


def max_duration_seconds() -> float:
    """``SOURCE_MAX_DURATION_SECONDS``: the longest recording accepted."""
    return float(settings.SOURCE_MAX_DURATION_SECONDS)


def _too_long(seconds: float, limit: float) -> ProbeError:
    return ProbeError(
        f"The recording is too long: it lasts {_length(seconds)} and the limit is "
        f"{_length(limit)}. Please upload a shorter recording, or split it into episodes."
    )


def _check_header(log: str, limit: float) -> None:
    """Refuse from the container header alone what must not be decoded at all."""
    input_match = _INPUT_RE.search(log)
    if input_match is None:
        return  # the full pass explains what is wrong with it
    declared = _DURATION_RE.search(log, input_match.end())
    if declared and _seconds(declared) > limit:
        raise _too_long(_seconds(declared), limit)
    audio = _AUDIO_RE.search(log, input_match.end())
    if audio:
        channels = len(channel_names(audio.group("layout")))
        if channels > MAX_CHANNELS:
            raise ProbeError(
                f"The audio has {channels} channels; we accept mono, stereo and "
                f"surround mixes of up to {MAX_CHANNELS} channels (7.1). "
                "Please export a stereo mix and upload it."
            )


# Signals that stop a healthy ffmpeg from outside (an operator, the OOM killer,
# a shutdown). Any other signal (SIGSEGV, SIGABRT, SIGFPE…) is ffmpeg crashing on
# this input: retrying it would only crash again, so that is the file's report.
_STOP_SIGNALS = frozenset({signal.SIGKILL, signal.SIGTERM, signal.SIGINT, signal.SIGHUP})


def _interrupted(returncode: int) -> None:
    if returncode < 0 and -returncode in _STOP_SIGNALS:
        raise ProbeInterrupted(f"The probe's ffmpeg was killed (signal {-returncode}).")
    if returncode < 0:
        raise ProbeError(
            "The audio file could not be read (ffmpeg crashed on it); the file may be damaged. "
            "Please export it again."
        )


def probe(path: Path | str, *, timeout_seconds: float = 3600) -> ProbeResult:
    """Decode the first audio stream of ``path`` once and measure it.

    Raises :class:`ProbeError` with a creator-readable message for anything
    that is not decodable audio (empty, not media, image, video without
    sound, cut off, length 0, silent, too long, too many channels), and
    :class:`ProbeInterrupted` when ffmpeg itself was killed. Never raises
    anything else for bad input.
    """
    path = Path(path)
    try:
        size = path.stat().st_size
    except OSError:
        raise ProbeError("The uploaded file could not be found; please upload it again.") from None
    if size == 0:
        raise ProbeError("The uploaded file is empty (0 bytes); please upload it again.")
    binary = ffmpeg_binary()
    limit = max_duration_seconds()
    try:
        header = subprocesses.run(
            [binary, "-hide_banner", "-nostdin", "-i", str(path)],
            capture_output=True,
            timeout=120,
        )
    except subprocess.TimeoutExpired:
        raise ProbeError("The file took too long to read; is it really audio?") from None
    _interrupted(header.returncode)
    header_log = header.stderr.decode("utf-8", "replace")
    _check_header(header_log, limit)
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
    if audio and len(channel_names(audio.group("layout"))) > 2:
        # Measure what listeners get: the stereo downmix the encoder makes.
        measure = STEREO_DOWNMIX + "," + measure
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
        # A container that declares no duration is still never decoded far
        # past the limit: the decoded length then tells it is too long.
        "-t",
        f"{limit + 1:.0f}",
        "-f",
        "null",
        "-progress",
        "pipe:1",
        "-",
    ]
    try:
        proc = subprocesses.run(cmd, capture_output=True, timeout=timeout_seconds)
    except subprocess.TimeoutExpired:
        raise ProbeError("The file took too long to read; is it really audio?") from None
    _interrupted(proc.returncode)
    log = proc.stderr.decode("utf-8", "replace")
    progress = proc.stdout.decode("utf-8", "replace")
    return parse_probe_output(log, progress, returncode=proc.returncode, max_duration_seconds=limit)


def parse_probe_output(
    log: str, progress: str, *, returncode: int, max_duration_seconds: float | None = None
) -> ProbeResult:
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
    layout = audio.group("layout").strip()
    channels = len(channel_names(layout))

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
    if max_duration_seconds is not None and decoded_seconds > max_duration_seconds:
        raise _too_long(decoded_seconds, max_duration_seconds)
    declared = _DURATION_RE.search(log, input_match.end())
    if declared:
        declared_seconds = _seconds(declared)
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
    if loudness <= _SILENCE_GATE_LUFS:
        raise ProbeError(
            "The audio is silent: no part of it is loud enough to hear. "
            "Please upload a recording with sound."
        )
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
        channel_layout=layout[:64],
    )
