"""A worker killed in the middle of an import: running it again finishes it, nothing twice."""

from __future__ import annotations

import os
import signal
import sqlite3
import subprocess
import sys
from pathlib import Path

import pytest

from tests.servers import ROOT, wait_until

pytestmark = pytest.mark.slow


def _env(tmp_path: Path) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("DJANGO_", "DATABASE_URL"))}
    env.update(
        {
            "VAR_DIR": str(tmp_path / "var"),
            "DEBUG": "1",  # IMPORT_ALLOW_PRIVATE_HOSTS follows it: the old host is local
            "CELERY_TASK_ALWAYS_EAGER": "1",
            "IMPORT_PARALLEL_DOWNLOADS": "1",
        }
    )
    return env


def _manage(*args: str, env: dict[str, str], **kwargs) -> subprocess.Popen:
    return subprocess.Popen(
        [sys.executable, "manage.py", *args],
        cwd=ROOT,
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        **kwargs,
    )


def _processed_and_published(tmp_path: Path, guid: str) -> bool:
    """Whether the episode ``guid`` is ready and its feed checked since, with no publish running."""
    try:
        db = sqlite3.connect(tmp_path / "var" / "db.sqlite3", timeout=5)
        row = db.execute(
            "select e.status, e.updated_at, f.checked_at, f.publishing_until"
            " from episodes_episode e join feeds_feedstate f on f.podcast_id = e.podcast_id"
            " where e.guid = ?",
            (guid,),
        ).fetchone()
        db.close()
    except sqlite3.OperationalError:
        return False  # not created yet, or busy: ask again
    if row is None:
        return False
    status, ready_at, checked_at, leased_until = row
    # Django's SQLite datetimes are ISO text (UTC): they compare as strings.
    return (
        status == "ready" and checked_at is not None and checked_at >= ready_at and not leased_until
    )


def test_a_killed_import_resumes_without_downloading_or_creating_anything_twice(old_host, tmp_path):
    env = _env(tmp_path)
    migrate = _manage("migrate", "--noinput", env=env)
    assert migrate.wait(timeout=180) == 0, migrate.stderr.read()
    url = old_host.url("/feeds/libsyn.xml")
    # The feed's second enclosure hangs: the process is killed while downloading it.
    old_host.slow["/audio/libsyn-1.mp3"] = 30
    first = _manage("import_feed", url, "--slug", "lounge", env=env, start_new_session=True)
    try:
        wait_until(
            lambda: old_host.requests["/audio/libsyn-1.mp3"] >= 1,
            timeout_seconds=120,
            what="the import to reach the second download",
        )
        # Downloads run ahead of recording; the kill lands once the first
        # episode is recorded and (eager Celery: in this process) processed and
        # its feed published. Killed mid-publish, the feed's lease would hold for
        # PUBLISH_LEASE, and an eager publish in the second run would raise.
        wait_until(
            lambda: _processed_and_published(tmp_path, "a1b2c3d4-0002-4e5f-9a8b-libsyn000002"),
            timeout_seconds=120,
            what="the first episode to be recorded, processed and published",
        )
    finally:
        os.killpg(first.pid, signal.SIGKILL)
        first.wait(timeout=30)
    assert first.returncode == -signal.SIGKILL
    del old_host.slow["/audio/libsyn-1.mp3"]

    second = _manage("import_feed", url, env=env)
    out, err = second.communicate(timeout=300)

    assert second.returncode == 0, out + err
    assert "audio to download: 1" in out
    assert "parity: clean" in out
    assert old_host.requests["/audio/libsyn-2.mp3"] == 1  # done before the kill: kept
    assert old_host.requests["/audio/libsyn-1.mp3"] == 2
    db = sqlite3.connect(tmp_path / "var" / "db.sqlite3")
    rows = db.execute(
        "select e.guid, e.status from episodes_episode e join episodes_podcast p "
        "on p.id = e.podcast_id where p.slug = 'lounge' order by e.guid"
    ).fetchall()
    assert rows == [
        ("a1b2c3d4-0001-4e5f-9a8b-libsyn000001", "ready"),
        ("a1b2c3d4-0002-4e5f-9a8b-libsyn000002", "ready"),
    ]
    assert db.execute("select count(*) from episodes_podcast").fetchone() == (1,)
