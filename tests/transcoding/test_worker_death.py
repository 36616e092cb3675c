"""A worker killed mid-job takes its ffmpeg with it, and its scratch folder is cleaned later."""

from __future__ import annotations

import contextlib
import os
import signal
import struct
import subprocess
import sys
import tempfile
import textwrap
import time
from datetime import timedelta
from pathlib import Path

import psutil
import pytest
from django.utils import timezone

from episodes import pipeline
from episodes.transcoders.ffmpeg import OWNER_FILE, FFmpegTranscoder, clean_stale_scratch
from tests.transcoding.conftest import ffmpeg

REPO = Path(__file__).resolve().parents[2]


def _wait_for(condition, *, seconds: float = 30.0, what: str):
    """Poll ``condition`` until it returns something truthy; fail after ``seconds``."""
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        value = condition()
        if value:
            return value
        time.sleep(0.05)
    pytest.fail(f"timed out waiting for {what}")


def _gone(pid: int) -> bool:
    try:
        return psutil.Process(pid).status() == psutil.STATUS_ZOMBIE
    except psutil.NoSuchProcess:
        return True


def _ffmpeg_under(parent: psutil.Process) -> psutil.Process | None:
    try:
        children = parent.children(recursive=True)
    except psutil.NoSuchProcess:
        return None
    return next((c for c in children if "ffmpeg" in c.name()), None)


@pytest.fixture
def reap():
    """Kill, at the end of the test, the processes it started if they are still running."""
    started: list[psutil.Process] = []
    yield lambda pid: started.append(psutil.Process(pid))
    for proc in started:
        # is_running() compares start times: a reused pid is someone else's.
        with contextlib.suppress(psutil.NoSuchProcess):
            if proc.is_running():
                proc.kill()


def _child(script: str, **env: str) -> subprocess.Popen:
    return subprocess.Popen(
        [sys.executable, "-c", textwrap.dedent(script)],
        cwd=REPO,
        env={**os.environ, "PYTHONPATH": str(REPO), **env},
        stdout=subprocess.PIPE,
        text=True,
    )


def test_ffmpeg_started_through_the_helper_dies_with_its_parent(reap):
    child = _child(
        f"""
        import time
        from podcasthost import subprocesses
        proc = subprocesses.popen(
            [{ffmpeg()!r}, "-nostdin", "-loglevel", "error", "-re", "-f", "lavfi",
             "-i", "anullsrc", "-f", "null", "-"]
        )
        print(proc.pid, flush=True)
        time.sleep(600)
        """
    )
    reap(child.pid)
    ffmpeg_pid = int(child.stdout.readline())
    reap(ffmpeg_pid)
    assert not _gone(ffmpeg_pid)

    child.send_signal(signal.SIGKILL)  # what the OOM killer or a hard time limit does
    child.wait(timeout=30)

    _wait_for(lambda: _gone(ffmpeg_pid), what="the orphaned ffmpeg to die")


def _wav_header(*, sample_rate: int = 8000, data_bytes: int = 2**31) -> bytes:
    """A mono 16-bit WAV header announcing ``data_bytes`` of samples."""
    fmt = struct.pack("<IHHIIHH", 16, 1, 1, sample_rate, sample_rate * 2, 2, 16)
    return (
        b"RIFF"
        + struct.pack("<I", 36 + data_bytes)
        + b"WAVEfmt "
        + fmt
        + b"data"
        + struct.pack("<I", data_bytes)
    )


def test_killed_worker_leaves_no_ffmpeg_and_reconcile_removes_its_scratch(
    db, settings, isolated_storages, tmp_path, reap
):
    # The source is a pipe this test holds open: ffmpeg encodes what it was
    # given, then waits for more, so the job is certainly running when killed.
    source = tmp_path / "source.wav"
    os.mkfifo(source)
    pipe = os.open(source, os.O_RDWR)
    os.write(pipe, _wav_header() + b"\x10\x00" * 8000)
    worker = psutil.Process(
        _child(
            f"""
            import django
            django.setup()
            from episodes.presets import PRESETS
            from episodes.probe import ProbeResult
            from episodes.transcoders import TranscodeRequest
            from episodes.transcoders.ffmpeg import FFmpegTranscoder
            probe = ProbeResult("wav", "pcm_s16le", 8000, 1, 3600.0, -30.0, -40.0, 5.0, -10.0)
            FFmpegTranscoder().submit(TranscodeRequest(
                episode_id=1, attempt=1, podcast_slug="show", episode_guid="guid",
                source_key="unused", probe=probe, presets=PRESETS,
                loudness_target_lufs=-16.0, true_peak_dbtp=-1.0, source_path={str(source)!r},
            ))
            """,
            DJANGO_SETTINGS_MODULE="podcasthost.settings",
            VAR_DIR=str(isolated_storages),  # media = <VAR_DIR>/media, as in this test
        ).pid
    )
    reap(worker.pid)
    try:
        encoder = _wait_for(lambda: _ffmpeg_under(worker), what="the worker's ffmpeg")
        reap(encoder.pid)
        scratch_root = isolated_storages / "media" / ".tmp"
        scratch = _wait_for(
            lambda: [p for p in scratch_root.glob("job-*") if (p / OWNER_FILE).exists()],
            what="the job's scratch folder",
        )
        assert worker.is_running()

        worker.send_signal(signal.SIGKILL)
        worker.wait(timeout=30)

        _wait_for(lambda: _gone(encoder.pid), what="the worker's ffmpeg to die")
    finally:
        os.close(pipe)
    assert all(p.exists() for p in scratch)  # nobody ran the worker's cleanup

    # The next reconcile pass after the stall period removes what the dead run left.
    later = timezone.now() + timedelta(seconds=settings.TRANSCODE_STALL_SECONDS + 60)
    pipeline.reconcile(now=later, enqueue=lambda episode_id: None)

    assert not any(p.exists() for p in scratch)


def _scratch(root: Path, name: str, *, owner: str | None, age_seconds: float) -> Path:
    folder = root / name
    folder.mkdir(parents=True)
    (folder / "mp3.mp3").write_bytes(b"\xff\xfb" * 100)
    if owner is not None:
        (folder / OWNER_FILE).write_text(owner)
    stamp = time.time() - age_seconds
    for path in (*folder.iterdir(), folder):
        os.utime(path, (stamp, stamp))
    return folder


def _dead_pid() -> int:
    proc = subprocess.Popen([sys.executable, "-c", "pass"])
    proc.wait()
    return proc.pid


def test_only_old_folders_of_dead_runs_are_removed(tmp_path):
    from podcasthost.subprocesses import owner_token as _owner_token

    root = tmp_path / ".tmp"
    stall = 900
    dead_owner = _owner_token(os.getpid()).replace(f" {os.getpid()} ", f" {_dead_pid()} ")
    dead_old = _scratch(root, "job-dead", owner=dead_owner, age_seconds=2 * stall)
    no_owner_old = _scratch(root, "job-legacy", owner=None, age_seconds=2 * stall)
    # A pid reused by another process is not the owner: its start time differs.
    reused = _owner_token(os.getpid()).rsplit(" ", 1)[0] + " 1"
    reused_old = _scratch(root, "job-reused", owner=reused, age_seconds=2 * stall)
    live_old = _scratch(root, "job-live", owner=_owner_token(os.getpid()), age_seconds=2 * stall)
    dead_recent = _scratch(root, "job-recent", owner=dead_owner, age_seconds=stall / 2)
    other = _scratch(root, "upload-part", owner=None, age_seconds=2 * stall)

    removed = clean_stale_scratch(root, older_than_seconds=stall, now=timezone.now())

    assert sorted(removed) == sorted([dead_old, no_owner_old, reused_old])
    assert not dead_old.exists() and not no_owner_old.exists() and not reused_old.exists()
    assert live_old.exists() and dead_recent.exists() and other.exists()


def test_the_ffmpeg_backend_cleans_the_media_scratch_folder(settings, isolated_storages):
    stall = settings.TRANSCODE_STALL_SECONDS
    left = _scratch(isolated_storages / "media" / ".tmp", "job-x", owner=None, age_seconds=0)

    assert FFmpegTranscoder().cleanup(now=timezone.now()) == []
    later = timezone.now() + timedelta(seconds=stall + 1)
    assert left in FFmpegTranscoder().cleanup(now=later)
    assert not left.exists()


def test_in_the_shared_temp_folder_only_folders_of_dead_owners_go(
    settings, s3, tmp_path, monkeypatch
):
    from podcasthost.subprocesses import owner_token as _owner_token

    monkeypatch.setattr(tempfile, "tempdir", str(tmp_path))  # S3 media: scratch in temp
    stall = settings.TRANSCODE_STALL_SECONDS
    dead_owner = _owner_token(os.getpid()).replace(f" {os.getpid()} ", f" {_dead_pid()} ")
    dead = _scratch(tmp_path, "podcasthost-job-a", owner=dead_owner, age_seconds=2 * stall)
    # Anyone's folder of that name, without an owner file: not ours to judge.
    unknown = _scratch(tmp_path, "podcasthost-job-b", owner=None, age_seconds=2 * stall)

    # The download of an S3 source that a killed worker left behind goes too.
    source = _scratch(tmp_path, "podcasthost-src-c", owner=dead_owner, age_seconds=2 * stall)
    live_source = _scratch(
        tmp_path, "podcasthost-src-d", owner=_owner_token(os.getpid()), age_seconds=2 * stall
    )

    assert sorted(FFmpegTranscoder().cleanup(now=timezone.now())) == [dead, source]
    assert unknown.exists()
    assert live_source.exists()
