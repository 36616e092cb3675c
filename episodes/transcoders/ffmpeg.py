"""The one-machine transcoder: one ffmpeg process inside the Celery worker.

The source is decoded once; a filter graph applies the loudness gain computed
from the probe's EBU R128 measurement plus a peak limiter, splits the signal
and feeds one encoder per preset, so all renditions come from one process
(two loudness passes in total: the probe's measurement, then this correction).

Files are written to a scratch folder and published to the attempt's staging
keys only once ffmpeg has exited successfully; a ``manifest.json`` written
last marks the set complete. A worker killed mid-job leaves at most a scratch
folder nobody serves, never a half-written rendition; its ffmpeg dies with it
(:mod:`podcasthost.subprocesses`), and :func:`clean_stale_scratch` (run by
reconcile through :meth:`FFmpegTranscoder.cleanup`) removes the folder.
"""

from __future__ import annotations

import contextlib
import json
import math
import os
import re
import shutil
import subprocess
import tempfile
import time
from datetime import datetime
from pathlib import Path

from django.conf import settings

from episodes.presets import Preset
from episodes.probe import STEREO_DOWNMIX, ffmpeg_binary
from episodes.transcoders.base import (
    JobState,
    JobStatus,
    ProgressCallback,
    RenditionOutput,
    TranscodeError,
    Transcoder,
    TranscodeRequest,
)
from podcasthost import subprocesses
from podcasthost.storage import get_storage

MANIFEST = "manifest.json"
JOB_PREFIX = "ffmpeg:"
#: In each scratch folder: "<host> <pid> <process start time>" of the worker using it.
OWNER_FILE = subprocesses.OWNER_FILE

# Encoder options per ffmpeg codec name. Opus runs as hard CBR so the
# bitrate the feed declares is the bitrate listeners download.
_ENCODERS: dict[str, list[str]] = {
    "mp3": ["-c:a", "libmp3lame", "-write_xing", "1", "-id3v2_version", "3"],
    "aac": ["-c:a", "aac", "-profile:a", "aac_low", "-movflags", "+faststart"],
    "opus": ["-c:a", "libopus", "-vbr", "off", "-application", "audio"],
}

_DURATION_RE = re.compile(r"Duration: (\d+):(\d+):(\d+(?:\.\d+)?)")


def loudness_filter(request: TranscodeRequest) -> str:
    """Gain to the target loudness, then a limiter holding peaks under the ceiling.

    ``alimiter`` limits sample peaks; 0.5 dB of headroom below the true-peak
    ceiling covers the inter-sample peaks encoders add (ITU-R BS.1770-4 Annex 2).
    """
    gain = request.gain_db
    limit = 10 ** ((request.true_peak_dbtp - 0.5) / 20)
    limit = min(1.0, max(0.0625, limit))
    return (
        f"volume={gain:.2f}dB:precision=float,"
        f"alimiter=limit={limit:.4f}:attack=5:release=50:level=0:latency=1"
    )


def encode_command(
    binary: str, source: Path, request: TranscodeRequest, outputs: list[tuple[Preset, Path]]
) -> list[str]:
    """The single ffmpeg command that writes every preset."""
    n = len(outputs)
    labels = "".join(f"[o{i}]" for i in range(n))
    # Downmix first, as the probe measured it, so the gain and the limiter act
    # on the signal listeners get (a downmix after the limiter could clip).
    downmix = STEREO_DOWNMIX + "," if request.probe.channels > 2 else ""
    graph = f"[0:a:0]{downmix}{loudness_filter(request)},asplit={n}{labels}"
    cmd = [binary, "-hide_banner", "-nostdin", "-nostats", "-y", "-i", str(source)]
    cmd += ["-filter_complex", graph, "-progress", "pipe:1"]
    for i, (preset, path) in enumerate(outputs):
        cmd += ["-map", f"[o{i}]", "-map_metadata", "-1", *_ENCODERS[preset.codec]]
        cmd += ["-b:a", str(preset.bitrate), "-ac", str(request.channels)]
        if preset.sample_rate:
            cmd += ["-ar", str(preset.sample_rate)]
        cmd += ["-f", preset.container, str(path)]
    return cmd


def _durations_of(binary: str, paths: list[Path]) -> list[float | None]:
    """Container durations of the outputs, read from their headers (no decoding), in parallel."""
    procs = [
        subprocesses.popen(
            [binary, "-hide_banner", "-nostdin", "-i", str(path)],
            stdout=subprocess.DEVNULL,
            stderr=subprocess.PIPE,
        )
        for path in paths
    ]
    durations: list[float | None] = []
    for proc in procs:
        _, err = proc.communicate(timeout=120)
        match = _DURATION_RE.search(err.decode("utf-8", "replace"))
        if match:
            h, m, s = match.groups()
            durations.append(int(h) * 3600 + int(m) * 60 + float(s))
        else:
            durations.append(None)
    return durations


class FFmpegTranscoder(Transcoder):
    """Runs the job synchronously in the calling worker (``submit`` returns when done)."""

    options = frozenset({"binary", "progress_interval_seconds", "timeout_seconds"})

    def __init__(
        self,
        *,
        binary: str = "",
        progress_interval_seconds: float = 2.0,
        timeout_seconds: float | None = None,
    ) -> None:
        super().__init__()
        self.binary = binary or ffmpeg_binary()
        self.progress_interval_seconds = float(progress_interval_seconds)
        self.timeout_seconds = timeout_seconds

    @staticmethod
    def job_id_for(request: TranscodeRequest) -> str:
        return JOB_PREFIX + request.staging_prefix

    def submit(
        self, request: TranscodeRequest, *, on_progress: ProgressCallback | None = None
    ) -> str:
        """Encode every preset and publish the set to the staging keys; return the job id.

        Idempotent: an attempt whose manifest already exists is not encoded
        again. Raises :class:`TranscodeError` if ffmpeg fails.
        """
        job_id = self.job_id_for(request)
        media = get_storage("media")
        if media.exists(request.staging_prefix + MANIFEST):
            return job_id
        uploads = get_storage("uploads")
        if request.source_path is not None:
            self._run(request, Path(request.source_path), media, on_progress)
        else:
            suffix = Path(request.source_key).suffix
            with uploads.local_copy(request.source_key, suffix=suffix) as src:
                self._run(request, src, media, on_progress)
        return job_id

    def _run(self, request, source: Path, media, on_progress) -> None:
        presets = request.presets
        with media.scratch_dir() as tmp:
            tmp = Path(tmp)
            subprocesses.claim_folder(tmp)
            outputs = [(p, tmp / f"{p.name}.{p.extension}") for p in presets]
            cmd = encode_command(self.binary, source, request, outputs)
            self._execute(cmd, request.probe.duration_seconds, on_progress)
            durations = _durations_of(self.binary, [path for _, path in outputs])
            manifest = {"outputs": []}
            for (preset, path), duration in zip(outputs, durations, strict=True):
                size = path.stat().st_size
                if size == 0:
                    raise TranscodeError(f"Encoding produced an empty {preset.name} file.")
                bitrate = round(size * 8 / duration) if duration else None
                key = request.staging_prefix + path.name
                manifest["outputs"].append(
                    {"preset": preset.name, "key": key, "duration": duration, "bitrate": bitrate}
                )
            for preset, path in outputs:
                media.put_file(
                    path, request.staging_prefix + path.name, content_type=preset.mime_type
                )
            manifest_path = tmp / MANIFEST
            manifest_path.write_text(json.dumps(manifest))
            # Written last: its presence means the whole set is in place.
            media.put_file(
                manifest_path,
                request.staging_prefix + MANIFEST,
                content_type="application/json",
            )

    def _execute(self, cmd: list[str], duration: float, on_progress) -> None:
        last_report = 0.0
        with tempfile.TemporaryFile() as errlog:
            proc = subprocesses.popen(cmd, stdout=subprocess.PIPE, stderr=errlog)
            started = time.monotonic()
            try:
                for raw in proc.stdout:
                    line = raw.decode("ascii", "replace").strip()
                    if not line.startswith("out_time_us=") or on_progress is None:
                        continue
                    try:
                        done = int(line.split("=", 1)[1]) / 1e6
                    except ValueError:
                        continue
                    now = time.monotonic()
                    if now - last_report >= self.progress_interval_seconds and duration > 0:
                        last_report = now
                        on_progress(min(99, math.floor(100 * done / duration)))
                    if self.timeout_seconds and now - started > self.timeout_seconds:
                        proc.kill()
                proc.wait()
            finally:
                if proc.poll() is None:
                    proc.kill()
                    proc.wait()
            if proc.returncode != 0:
                errlog.seek(0)
                tail = errlog.read().decode("utf-8", "replace").strip().splitlines()[-3:]
                raise TranscodeError("Encoding failed: " + " / ".join(tail))

    def status(self, job_id: str) -> JobStatus:
        """COMPLETE with the outputs once the manifest exists; LOST otherwise.

        The job runs inside ``submit``, so a missing manifest after ``submit``
        returned means the set was removed or the worker died mid-job.
        """
        if not job_id.startswith(JOB_PREFIX):
            return JobStatus(JobState.LOST, error=f"Not an ffmpeg job: {job_id}")
        prefix = job_id[len(JOB_PREFIX) :]
        media = get_storage("media")
        try:
            with media.open(prefix + MANIFEST, "rb") as f:
                manifest = json.load(f)
        except (FileNotFoundError, OSError, ValueError):
            return JobStatus(JobState.LOST, error="The encoding job left no complete output.")
        outputs = tuple(
            RenditionOutput(o["preset"], o["key"], o.get("duration"), o.get("bitrate"))
            for o in manifest["outputs"]
        )
        return JobStatus(JobState.COMPLETE, percent=100, outputs=outputs)

    def cleanup(self, *, now: datetime) -> list[Path]:
        """Remove scratch folders left by dead runs (see :func:`clean_stale_scratch`)."""
        older_than = float(settings.TRANSCODE_STALL_SECONDS)
        removed: list[Path] = []
        local_root = get_storage("media").local_path(".tmp")
        if local_root is not None:
            removed += clean_stale_scratch(local_root, older_than_seconds=older_than, now=now)
        # With S3 media, scratch folders live in the shared system temp folder:
        # there only folders that name their (dead) owner are taken.
        # So do the local copies of S3 sources (podcasthost-src-*).
        for pattern in ("podcasthost-job-*", "podcasthost-src-*"):
            removed += clean_stale_scratch(
                Path(tempfile.gettempdir()),
                older_than_seconds=older_than,
                now=now,
                pattern=pattern,
                require_owner=True,
            )
        return removed

    def discard(self, job_id: str, status: JobStatus) -> None:
        """Delete the staging files, then the manifest (so a half-deleted set reads LOST)."""
        if job_id.startswith(JOB_PREFIX):
            get_storage("media").delete_quietly(job_id[len(JOB_PREFIX) :] + MANIFEST)
        super().discard(job_id, status)


def _last_modified(folder: Path) -> float:
    newest = folder.stat().st_mtime
    with os.scandir(folder) as entries:
        for entry in entries:
            with contextlib.suppress(OSError):
                newest = max(newest, entry.stat(follow_symlinks=False).st_mtime)
    return newest


def clean_stale_scratch(
    root: Path,
    *,
    older_than_seconds: float,
    now: datetime,
    pattern: str = "job-*",
    require_owner: bool = False,
) -> list[Path]:
    """Delete the ``pattern`` folders under ``root`` that a dead run left behind.

    A folder goes only when nothing in it changed for ``older_than_seconds``
    before ``now`` *and* the worker named in its owner file is not running
    on this machine (a live encode keeps writing its outputs, but its folder is
    never taken even if it paused). A folder without an owner file (written
    before owners were recorded) is judged by its age alone, or kept when
    ``require_owner``. Safe to run concurrently; returns the folders removed.
    """
    cutoff = now.timestamp() - older_than_seconds
    removed: list[Path] = []
    try:
        candidates = sorted(root.glob(pattern))
    except OSError:
        return removed
    for folder in candidates:
        try:
            if not folder.is_dir() or folder.is_symlink() or _last_modified(folder) > cutoff:
                continue
        except OSError:
            continue  # removed meanwhile by another cleanup
        if (require_owner and not (folder / OWNER_FILE).exists()) or subprocesses.owner_alive(
            folder
        ):
            continue
        shutil.rmtree(folder, ignore_errors=True)
        if not folder.exists():
            removed.append(folder)
    return removed
