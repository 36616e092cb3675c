"""Benchmark: the ffmpeg pipeline from "uploaded" to "ready" against two baselines.

    python bench/transcode.py [--minutes 30]

Generates a stereo 44.1 kHz speech-like source, then times, in this process:

* pipeline — ``Episode.mark_uploaded`` → ``ready`` on the ffmpeg backend (probe
  with the EBU R128 measurement, one ffmpeg process for all renditions,
  publishing), Celery eager so the "worker" is this process;
* reference — one ``ebur128=peak=true`` analysis pass plus one ffmpeg process
  applying the gain with a limiter and encoding the three renditions;
* naive — three separate ffmpeg runs, each with its own loudnorm
  measure-then-correct pair of passes.

Prints ``ratio vs reference`` (goal ≤ 1.10) and ``ratio vs naive`` (goal ≤ 0.30),
the loudness of each output and the worker's peak memory. It sets up its own
Django environment (temporary VAR_DIR and SQLite database).
"""

from __future__ import annotations

import argparse
import contextlib
import json
import os
import re
import resource
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

TARGET_LUFS, CEILING_DBTP = -16.0, -1.0
OUTPUTS = [  # name, codec options, bitrate, rate, muxer, extension
    ("mp3", ["-c:a", "libmp3lame"], "192k", "44100", "mp3", "mp3"),
    ("aac", ["-c:a", "aac"], "160k", "44100", "ipod", "m4a"),
    ("opus", ["-c:a", "libopus", "-vbr", "off"], "64k", "48000", "ogg", "ogg"),
]


def run(cmd: list[str]) -> str:
    proc = subprocess.run(cmd, capture_output=True, check=True)
    return proc.stderr.decode("utf-8", "replace")


def ebur128(ffmpeg: str, path: Path) -> tuple[float, float]:
    log = run(
        [
            ffmpeg,
            "-hide_banner",
            "-nostdin",
            "-i",
            str(path),
            "-af",
            "ebur128=peak=true:framelog=verbose",
            "-f",
            "null",
            "-",
        ]
    )
    i = float(re.search(r"I:\s+(-?[\d.]+) LUFS", log).group(1))
    tp = float(re.search(r"Peak:\s+(-?[\d.]+|-inf) dBFS", log).group(1))
    return i, tp


def reference(ffmpeg: str, source: Path, out: Path) -> list[Path]:
    """One R128 analysis pass, then one process: gain + limiter + three encoders."""
    i, _tp = ebur128(ffmpeg, source)
    limit = 10 ** ((CEILING_DBTP - 0.5) / 20)
    graph = (
        f"[0:a]volume={TARGET_LUFS - i:.2f}dB,alimiter=limit={limit:.4f}:level=0:latency=1,"
        "asplit=3[a][b][c]"
    )
    cmd = [ffmpeg, "-hide_banner", "-nostdin", "-y", "-i", str(source), "-filter_complex", graph]
    paths = []
    for label, (name, codec, bitrate, rate, muxer, ext) in zip("abc", OUTPUTS, strict=True):
        path = out / f"ref-{name}.{ext}"
        cmd += ["-map", f"[{label}]", *codec, "-b:a", bitrate, "-ar", rate, "-f", muxer, str(path)]
        paths.append(path)
    run(cmd)
    return paths


def naive(ffmpeg: str, source: Path, out: Path) -> list[Path]:
    """Per rendition: loudnorm measure pass, then loudnorm correct pass with the encoder."""
    paths = []
    target = f"I={TARGET_LUFS}:TP={CEILING_DBTP}:LRA=11"
    for name, codec, bitrate, rate, muxer, ext in OUTPUTS:
        log = run(
            [
                ffmpeg,
                "-hide_banner",
                "-nostdin",
                "-i",
                str(source),
                "-af",
                f"loudnorm={target}:print_format=json",
                "-f",
                "null",
                "-",
            ]
        )
        m = json.loads(log[log.rindex("{") : log.rindex("}") + 1])
        measured = (
            f"measured_I={m['input_i']}:measured_TP={m['input_tp']}:"
            f"measured_LRA={m['input_lra']}:measured_thresh={m['input_thresh']}:"
            f"offset={m['target_offset']}:linear=true"
        )
        path = out / f"naive-{name}.{ext}"
        run(
            [
                ffmpeg,
                "-hide_banner",
                "-nostdin",
                "-y",
                "-i",
                str(source),
                "-af",
                f"loudnorm={target}:{measured}",
                *codec,
                "-b:a",
                bitrate,
                "-ar",
                rate,
                "-f",
                muxer,
                str(path),
            ]
        )
        paths.append(path)
    return paths


class PeakMemory:
    """Peak RSS of this process and of its ffmpeg children, sampled with psutil."""

    def __init__(self) -> None:
        import threading

        import psutil

        self.me = psutil.Process()
        self.peak_self = self.peak_children = 0
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._sample, daemon=True)

    def _sample(self) -> None:
        import psutil

        while not self._stop.wait(0.1):
            self.peak_self = max(self.peak_self, self.me.memory_info().rss)
            total = 0
            for child in self.me.children(recursive=True):
                with contextlib.suppress(psutil.Error):
                    total += child.memory_info().rss
            self.peak_children = max(self.peak_children, total)

    def __enter__(self):
        self._thread.start()
        return self

    def __exit__(self, *exc):
        self._stop.set()
        self._thread.join()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--minutes", type=float, default=30.0, help="Source length (default 30).")
    args = parser.parse_args()

    work = Path(tempfile.mkdtemp(prefix="bench-transcode-"))
    os.environ.update(
        {
            "DJANGO_SETTINGS_MODULE": "podcasthost.settings",
            "VAR_DIR": str(work / "var"),
            "DATABASE_URL": f"sqlite:///{work / 'var' / 'bench.sqlite3'}",
            "DEBUG": "1",
            "LOG_LEVEL": "WARNING",
        }
    )
    import django

    django.setup()
    from django.core.files.storage import storages
    from django.core.management import call_command

    from episodes.models import Episode, Podcast
    from episodes.probe import ffmpeg_binary
    from podcasthost.celery import app

    call_command("migrate", verbosity=0)
    app.conf.CELERY_TASK_ALWAYS_EAGER = True  # the "worker" is this process
    app.conf.CELERY_TASK_EAGER_PROPAGATES = True
    ffmpeg = ffmpeg_binary()

    seconds = int(args.minutes * 60)
    source = work / "source.wav"
    print(f"generating a {args.minutes:g}-minute stereo 44.1 kHz source …", flush=True)
    run(
        [
            ffmpeg,
            "-hide_banner",
            "-nostdin",
            "-y",
            "-f",
            "lavfi",
            "-i",
            f"anoisesrc=color=pink:sample_rate=44100:duration={seconds}:amplitude=0.6:seed=3",
            "-af",
            "bandpass=f=900:width_type=h:width=1400,"
            "volume='0.05+0.95*pow(abs(sin(2*PI*2.3*t)),3)':eval=frame,volume=-8dB",
            "-ac",
            "2",
            str(source),
        ]
    )

    podcast = Podcast.objects.create(
        slug="bench", title="Bench", description="Benchmark show.", category="Technology"
    )
    episode = Episode.objects.create(podcast=podcast, title="Long episode", slug="long")
    key = f"uploads/bench/{episode.guid}/source.wav"
    upload_path = Path(storages["uploads"].path(key))
    upload_path.parent.mkdir(parents=True, exist_ok=True)
    os.link(source, upload_path)

    print("pipeline (uploaded → ready) …", flush=True)
    with PeakMemory() as memory:
        started = time.perf_counter()
        episode.mark_uploaded(source_key=key, source_bytes=source.stat().st_size)
        pipeline_seconds = time.perf_counter() - started
    episode.refresh_from_db()
    if episode.status != Episode.Status.READY:
        sys.exit(f"pipeline did not finish: {episode.status} {episode.error_message}")

    print("reference (ebur128 pass + one encode) …", flush=True)
    started = time.perf_counter()
    ref_paths = reference(ffmpeg, source, work)
    reference_seconds = time.perf_counter() - started

    print("naive (3 x loudnorm measure + correct) …", flush=True)
    started = time.perf_counter()
    naive_paths = naive(ffmpeg, source, work)
    naive_seconds = time.perf_counter() - started

    print()
    print(f"source: {args.minutes:g} min, loudness {episode.loudness_lufs:.1f} LUFS")
    print(f"pipeline:  {pipeline_seconds:7.1f} s")
    print(f"reference: {reference_seconds:7.1f} s")
    print(f"naive:     {naive_seconds:7.1f} s")
    print(f"ratio vs reference: {pipeline_seconds / reference_seconds:.2f}  (goal ≤ 1.10)")
    print(f"ratio vs naive: {pipeline_seconds / naive_seconds:.2f}  (goal ≤ 0.30)")
    media = storages["media"]
    for rendition in episode.renditions.order_by("preset"):
        i, tp = ebur128(ffmpeg, Path(media.path(rendition.key)))
        print(
            f"pipeline {rendition.preset:5s}: {i:6.1f} LUFS, peak {tp:5.1f} dBFS, "
            f"{rendition.size_bytes / 1e6:6.1f} MB"
        )
    for label, paths in (("reference", ref_paths), ("naive", naive_paths)):
        for path in paths:
            i, tp = ebur128(ffmpeg, path)
            print(f"{label} {path.stem.split('-')[1]:5s}: {i:6.1f} LUFS, peak {tp:5.1f} dBFS")
    rusage_children = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss / 1024
    print(
        f"worker peak memory: python {memory.peak_self / 2**20:.0f} MiB, "
        f"ffmpeg children {memory.peak_children / 2**20:.0f} MiB "
        f"(largest child ever: {rusage_children:.0f} MiB)"
    )
    subprocess.run(["rm", "-rf", str(work)], check=False)


if __name__ == "__main__":
    main()
