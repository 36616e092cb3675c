"""``make run`` as a user runs it: a fresh VAR_DIR, a free PORT, commands from a second shell.

Issue 10 items 1-3, 12 and 16: the public URLs follow PORT, a second process
finds the private Redis, SIGTERM (or a dead child) stops every process, a
taken port is refused before anything starts.
"""

from __future__ import annotations

import contextlib
import os
import signal
import socket
import subprocess
import sys
import urllib.request
import xml.etree.ElementTree as ET
from pathlib import Path

import psutil
import pytest

from podcasthost.services import REDIS_URL_FILE, free_port, port_in_use
from tests.servers import ROOT, answers, wait_until
from tests.transcoding.conftest import generate_audio

pytestmark = pytest.mark.slow

# What a user's shell would not have: the test run's own Django and broker settings.
_SCRUBBED = ("PORT", "PUBLIC_BASE_URL", "FEED_BASE_URL", "REDIS_URL", "CELERY_BROKER_URL")
# With cover art: the publish gate keeps a show without it out of the directories' reach.
CREATE_SHOW = (
    "import io; from PIL import Image; from django.core.files.base import ContentFile; "
    "from episodes.models import Podcast; p = Podcast.objects.create(slug='first', title='First', "
    "description='A show.', author='Me', owner_name='Me', owner_email='me@example.com', "
    "language='en', category='Technology'); b = io.BytesIO(); "
    "Image.new('RGB', (1400, 1400), (20, 90, 160)).save(b, 'PNG'); "
    "p.cover.save('cover.png', ContentFile(b.getvalue()))"
)

PUBLISH_EPISODE = (
    "from django.utils import timezone; from episodes.models import Episode; "
    "e = Episode.objects.get(podcast__slug='first'); e.publish_at = timezone.now(); "
    "e.save(update_fields=['publish_at'])"
)


class MakeRun:
    """One ``make run`` in its own session, with its output in a log file."""

    def __init__(self, tmp_path: Path) -> None:
        self.port = free_port(0)
        self.var_dir = tmp_path / "var"
        tmp_path.mkdir(parents=True, exist_ok=True)
        self.log = tmp_path / "make-run.log"
        self.env = {
            **{
                k: v
                for k, v in os.environ.items()
                if not k.startswith("DJANGO_") and k not in _SCRUBBED
            },
            "VAR_DIR": str(self.var_dir),
            "PORT": str(self.port),
        }
        self.base = f"http://127.0.0.1:{self.port}"
        self.proc: subprocess.Popen | None = None

    def start(self) -> MakeRun:
        # -o: never reinstall the shared .venv from a test (the target is up to date anyway).
        with self.log.open("wb") as log:
            self.proc = subprocess.Popen(
                ["make", "-o", ".venv/.installed", "run"],
                cwd=ROOT,
                env=self.env,
                stdout=log,
                stderr=subprocess.STDOUT,
                start_new_session=True,
            )
        return self

    def output(self) -> str:
        return self.log.read_text(errors="replace")

    def wait_for_admin(self) -> None:
        wait_until(
            lambda: self.proc.poll() is not None or answers(f"{self.base}/admin/login/"),
            timeout_seconds=180,
            what=f"{self.base}/admin/login/",
        )
        assert self.proc.poll() is None, self.output()[-3000:]

    def descendants(self) -> list[psutil.Process]:
        return psutil.Process(self.proc.pid).children(recursive=True)

    def manage(self, *args: str) -> subprocess.CompletedProcess[str]:
        """A command in a "second shell": the same VAR_DIR, nothing else in common."""
        env = {k: v for k, v in self.env.items() if k != "PORT"}
        return subprocess.run(
            [sys.executable, "manage.py", *args],
            cwd=ROOT,
            env=env,
            capture_output=True,
            text=True,
            timeout=300,
        )

    def stop(self) -> None:
        if self.proc and self.proc.poll() is None:
            os.killpg(self.proc.pid, signal.SIGKILL)
            self.proc.wait()


@pytest.fixture
def make_run(tmp_path):
    runs: list[MakeRun] = []

    def start() -> MakeRun:
        runs.append(MakeRun(tmp_path / f"run{len(runs)}").start())
        return runs[-1]

    yield start
    for run in runs:
        run.stop()


def _gone(procs: list[psutil.Process]) -> list[psutil.Process]:
    """The processes of ``procs`` still running (zombies count as gone) after a bounded wait."""

    def alive() -> list[psutil.Process]:
        left = []
        for p in procs:
            try:
                if p.status() != psutil.STATUS_ZOMBIE:
                    left.append(p)
            except psutil.NoSuchProcess:
                pass
        return left

    with contextlib.suppress(AssertionError):
        wait_until(lambda: not alive(), timeout_seconds=60, what="the children to exit")
    return alive()


def _enclosures(feed_url: str) -> list[str]:
    try:
        with urllib.request.urlopen(feed_url, timeout=5) as response:
            root = ET.fromstring(response.read())  # noqa: S314 (our own feed)
    except (OSError, ET.ParseError):
        return []
    return [el.get("url") for el in root.iter("enclosure")]


def test_make_run_serves_an_episode_ingested_from_a_second_shell_and_stops_on_sigterm(
    make_run, tmp_path
):
    run = make_run()
    run.wait_for_admin()
    children = run.descendants()
    assert len(children) >= 5, [p.cmdline() for p in children]  # runlocal, redis, web, worker, beat
    assert "password:" in run.output()

    created = run.manage("shell", "-v", "0", "-c", CREATE_SHOW)
    assert created.returncode == 0, created.stderr
    audio = generate_audio(tmp_path / "Hello_World.wav", seconds=2.0)
    ingested = run.manage("ingest", "first", str(audio))
    assert ingested.returncode == 0, ingested.stdout + ingested.stderr
    assert "(uploaded)" in ingested.stdout
    # The creator publishes it (ingested episodes wait unpublished); it shows once ready.
    published = run.manage("shell", "-v", "0", "-c", PUBLISH_EPISODE)
    assert published.returncode == 0, published.stderr

    # The worker and beat of this make run process it and publish; the feed shows it.
    urls = wait_until(
        lambda: _enclosures(f"{run.base}/first/feed.xml"),
        timeout_seconds=300,
        what="the episode in the public feed",
        interval=1.0,
    )
    (url,) = urls
    assert url.startswith(f"{run.base}/media/"), url
    with urllib.request.urlopen(url, timeout=10) as response:
        assert response.status == 200
        assert response.read(3) == b"ID3" or response.headers["Content-Type"] == "audio/mpeg"

    run.proc.send_signal(signal.SIGTERM)
    run.proc.wait(timeout=120)

    assert _gone(children) == [], run.output()[-3000:]
    assert not port_in_use(run.port)
    assert not (run.var_dir / REDIS_URL_FILE).exists()


def test_a_second_make_run_on_a_taken_port_refuses_with_the_reason(make_run):
    run = make_run()
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", run.port))
        taken.listen()

        code = run.proc.wait(timeout=120)

    assert code != 0
    output = run.output()
    assert f"port {run.port} is already in use" in output
    assert "is running" not in output
    assert not (run.var_dir / REDIS_URL_FILE).exists()


def test_kill_9_of_the_celery_worker_stops_everything_including_beat(make_run):
    run = make_run()
    run.wait_for_admin()
    children = run.descendants()
    (runlocal,) = psutil.Process(run.proc.pid).children()
    (worker,) = [p for p in runlocal.children() if "worker" in p.cmdline()]
    assert any("beat" in p.cmdline() for p in children)

    worker.kill()
    code = run.proc.wait(timeout=120)

    assert code != 0
    assert "A process stopped unexpectedly" in run.output()
    assert _gone(children) == [], [p.cmdline() for p in _gone(children)]
    assert not port_in_use(run.port)
