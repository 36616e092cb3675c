"""End to end with a real Redis broker and a real ``celery worker`` subprocess.

The worker and the test share one database: on SQLite (whose pytest database
is in memory) the test's connection is pointed at a file database migrated
for the occasion; on PostgreSQL the worker is given the test database
pytest-django created. Both share the storage folders through ``VAR_DIR``.
"""

from __future__ import annotations

import os
import random
import signal
import subprocess
import sys
import time
import uuid
from collections.abc import Callable
from datetime import timedelta
from pathlib import Path
from urllib.parse import quote

import pytest
from django.conf import settings as django_settings
from django.db import connections
from django.utils import timezone

from episodes import pipeline
from episodes.models import Episode
from podcasthost.celery import app
from tests.transcoding.conftest import generate_audio, put_upload

pytestmark = [pytest.mark.slow, pytest.mark.django_db(transaction=True)]

BASE_DIR = Path(django_settings.BASE_DIR)


def _database_url(conn) -> str:
    s = conn.settings_dict
    user = quote(s.get("USER") or "", safe="")
    password = quote(s.get("PASSWORD") or "", safe="")
    auth = f"{user}:{password}@" if user else ""
    port = f":{s['PORT']}" if s.get("PORT") else ""
    return f"postgres://{auth}{s.get('HOST') or 'localhost'}{port}/{s['NAME']}"


@pytest.fixture
def shared_db(transactional_db, tmp_path: Path, isolated_storages: Path):
    """Environment for a worker that sees this test's database and storages."""
    env = {
        **os.environ,
        "VAR_DIR": str(isolated_storages),  # uploads/, media/, feeds/ under it
        "DEBUG": "1",
        "SECRET_KEY": "e2e-" + uuid.uuid4().hex * 2,
        "PYTHONPATH": str(BASE_DIR),
        "DB_CONN_MAX_AGE": "0",
    }
    env.pop("DJANGO_SETTINGS_MODULE", None)
    conn = connections["default"]
    if conn.vendor != "sqlite":
        env["DATABASE_URL"] = _database_url(conn)
        yield env
        return
    db_path = tmp_path / "e2e.sqlite3"
    env["DATABASE_URL"] = f"sqlite:///{db_path}"
    subprocess.run(
        [sys.executable, "manage.py", "migrate", "-v", "0"],
        cwd=BASE_DIR,
        env=env,
        check=True,
        timeout=300,
    )
    saved_name, saved_connection = conn.settings_dict["NAME"], conn.connection
    conn.connection = None  # keep the in-memory test database open, aside
    conn.settings_dict["NAME"] = str(db_path)
    try:
        yield env
    finally:
        conn.close()
        conn.settings_dict["NAME"] = saved_name
        conn.connection = saved_connection


class Worker:
    def __init__(self, env: dict, name: str, log_path: Path) -> None:
        self.env, self.name, self.log_path = env, name, log_path
        self.proc: subprocess.Popen | None = None

    def start(self) -> None:
        log = self.log_path.open("ab")
        self.proc = subprocess.Popen(
            [
                sys.executable,
                "-m",
                "celery",
                "-A",
                "podcasthost",
                "worker",
                "--pool=prefork",
                "--concurrency=1",
                "--without-gossip",
                "--without-mingle",
                "--loglevel=INFO",
                "-n",
                f"{self.name}@%h",
            ],
            cwd=BASE_DIR,
            env=self.env,
            stdout=log,
            stderr=subprocess.STDOUT,
            start_new_session=True,  # its own process group: kill worker and pool together
        )

    def kill(self) -> None:
        """SIGKILL the worker and its pool processes (and any ffmpeg they started)."""
        if self.proc and self.proc.poll() is None:
            os.killpg(self.proc.pid, signal.SIGKILL)
            self.proc.wait(timeout=30)

    def stop(self) -> None:
        if self.proc and self.proc.poll() is None:
            os.killpg(self.proc.pid, signal.SIGTERM)
            try:
                self.proc.wait(timeout=20)
            except subprocess.TimeoutExpired:
                self.kill()


def _reset_producer_pool() -> None:
    app._pool = None
    app.amqp._producer_pool = None


@pytest.fixture
def worker(shared_db, redis_url, tmp_path):
    # A Redis database of its own: no message of another test can reach this worker.
    broker = redis_url.rsplit("/", 1)[0] + f"/{random.randint(1, 15)}"
    env = {**shared_db, "REDIS_URL": broker, "CELERY_BROKER_URL": broker}
    previous = (app.conf.CELERY_TASK_ALWAYS_EAGER, app.conf.CELERY_BROKER_URL)
    app.conf.CELERY_TASK_ALWAYS_EAGER = False
    app.conf.CELERY_BROKER_URL = broker
    _reset_producer_pool()
    w = Worker(env, f"e2e-{uuid.uuid4().hex[:8]}", tmp_path / "worker.log")
    w.start()
    try:
        yield w
    finally:
        w.stop()
        app.conf.CELERY_TASK_ALWAYS_EAGER, app.conf.CELERY_BROKER_URL = previous
        _reset_producer_pool()


def worker_log(worker: Worker) -> str:
    return worker.log_path.read_text(errors="replace") if worker.log_path.exists() else ""


def wait_until(
    condition: Callable[[], bool],
    what: str,
    worker: Worker,
    *,
    timeout: float = 60,
    interval: float = 0.1,
) -> None:
    """Poll ``condition`` until it holds; fail with the worker's log after ``timeout`` seconds."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if condition():
            return
        time.sleep(interval)
    if condition():
        return
    pytest.fail(f"not {what} after {timeout}s; worker log:\n{worker_log(worker)[-4000:]}")


def wait_for(episode: Episode, statuses: set[str], worker: Worker, timeout: float = 180) -> None:
    def reached() -> bool:
        episode.refresh_from_db()
        return episode.status in statuses

    wait_until(reached, f"{sorted(statuses)} (episode {episode.status})", worker, timeout=timeout)


def upload(episode: Episode, path: Path) -> None:
    key = put_upload(episode, path)
    # Autocommit: the receiver's on_commit hook publishes process_episode at once.
    assert episode.mark_uploaded(source_key=key, source_bytes=path.stat().st_size)


def test_upload_reaches_ready_with_three_renditions(worker, make_episode, audio_dir):
    episode = make_episode()
    upload(episode, generate_audio(audio_dir / "ep.wav", content="speech", seconds=3.0))

    wait_for(episode, {"ready", "failed"}, worker)

    assert episode.status == Episode.Status.READY, episode.error_message
    assert sorted(episode.renditions.values_list("preset", flat=True)) == ["aac", "mp3", "opus"]
    assert episode.progress_percent == 100


def test_process_episode_twice_makes_one_job_and_one_set(worker, make_episode, audio_dir):
    from episodes.tasks import process_episode

    episode = make_episode()
    upload(episode, generate_audio(audio_dir / "ep.wav", content="tone", seconds=3.0))
    process_episode.delay(episode_id=episode.pk)  # a duplicate delivery

    wait_for(episode, {"ready", "failed"}, worker)

    def duplicate_skipped() -> bool:  # the duplicate has run to its end, too
        log = worker_log(worker)
        return "skipped (processing)" in log or "skipped (ready)" in log

    wait_until(duplicate_skipped, "the duplicate delivery logged as skipped", worker)

    episode.refresh_from_db()
    assert episode.status == Episode.Status.READY
    assert episode.attempt == 1  # one claim won, so one job ran
    assert episode.renditions.count() == 3
    log = worker.log_path.read_text()
    assert "skipped (processing)" in log or "skipped (ready)" in log


def test_worker_killed_mid_job_still_ends_ready(worker, make_episode, audio_dir, isolated_storages):
    episode = make_episode()
    source = generate_audio(
        audio_dir / "long.wav", content="speech", sample_rate=44_100, channels=2, seconds=240.0
    )
    upload(episode, source)
    wait_for(episode, {"processing", "ready", "failed"}, worker)
    assert episode.status == Episode.Status.PROCESSING, "the job ended before it could be killed"

    def encoding() -> bool:  # ffmpeg has reported progress, and the job is not recorded yet
        episode.refresh_from_db()
        assert episode.status == Episode.Status.PROCESSING, "the job ended before it was killed"
        assert not episode.transcode_job_id, "the encode finished before it could be killed"
        return episode.progress_percent > 0

    wait_until(encoding, "encoding (no progress reported)", worker)

    worker.kill()

    episode.refresh_from_db()
    assert episode.status == Episode.Status.PROCESSING
    media = isolated_storages / "media"
    published = [p for p in media.rglob("*") if p.is_file() and "/." not in str(p)]
    assert published == [], "a half-written rendition is visible"

    worker.start()  # a new worker: the killed one's message waits for Redis' visibility timeout
    # As if 2.5 s had passed without progress: longer than the stall threshold.
    later = timezone.now() + timedelta(seconds=2.5)
    report = pipeline.reconcile(now=later, stalled_after_seconds=2.0)
    assert report.requeued == [episode.pk]

    wait_for(episode, {"ready", "failed"}, worker, timeout=300)
    assert episode.status == Episode.Status.READY, episode.error_message
    assert episode.attempt == 2
    assert episode.renditions.count() == 3
