"""What a command in a second shell sees: the URLs of the running instance, and its broker."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

from podcasthost.services import free_port, record_redis_url

ROOT = Path(__file__).resolve().parents[2]
SHOW_URLS = (
    "import json; from django.conf import settings; "
    "from django.core.files.storage import storages; "
    "print(json.dumps({'public': settings.PUBLIC_BASE_URL, 'feeds': settings.FEED_BASE_URL, "
    "'media': storages['media'].url('a.mp3'), 'csrf': settings.CSRF_TRUSTED_ORIGINS, "
    "'broker': settings.CELERY_BROKER_URL}))"
)


def _manage(*args: str, env: dict[str, str]) -> subprocess.CompletedProcess[str]:
    base = {
        k: v
        for k, v in os.environ.items()
        if not k.startswith("DJANGO_")
        and k not in ("PORT", "PUBLIC_BASE_URL", "FEED_BASE_URL", "REDIS_URL", "CELERY_BROKER_URL")
    }
    return subprocess.run(
        [sys.executable, "manage.py", *args],
        cwd=ROOT,
        env={**base, **env},
        capture_output=True,
        text=True,
        timeout=120,
    )


def _urls(env: dict[str, str]) -> dict:
    result = _manage("shell", "-v", "0", "-c", SHOW_URLS, env=env)
    assert result.returncode == 0, result.stderr
    return json.loads(result.stdout)


def test_public_urls_follow_port(tmp_path):
    # Issue 10 item 1: enclosures, cover, atom:link, the show page and the admin's
    # "Public feed URL" are all built on these.
    urls = _urls({"VAR_DIR": str(tmp_path / "var"), "PORT": "8101"})

    assert urls["public"] == "http://127.0.0.1:8101"
    assert urls["feeds"] == "http://127.0.0.1:8101"
    assert urls["media"] == "http://127.0.0.1:8101/media/a.mp3"
    assert urls["csrf"] == ["http://127.0.0.1:8101"]


def test_an_explicit_public_base_url_wins_over_port(tmp_path):
    env = {"VAR_DIR": str(tmp_path / "var"), "PORT": "8101"}
    urls = _urls({**env, "PUBLIC_BASE_URL": "https://podcasts.example.com"})

    assert urls["public"] == "https://podcasts.example.com"
    assert urls["media"] == "https://podcasts.example.com/media/a.mp3"


def test_commands_use_the_redis_url_recorded_in_their_var_dir(tmp_path):
    # Issue 10 item 2: two instances side by side, each with its own VAR_DIR and Redis.
    one, two = tmp_path / "one", tmp_path / "two"
    record_redis_url(one, "redis://127.0.0.1:50001/0")
    record_redis_url(two, "redis://127.0.0.1:50002/0")

    assert _urls({"VAR_DIR": str(one)})["broker"] == "redis://127.0.0.1:50001/0"
    assert _urls({"VAR_DIR": str(two)})["broker"] == "redis://127.0.0.1:50002/0"
    assert _urls({"VAR_DIR": str(tmp_path / "none")})["broker"] == "redis://127.0.0.1:6379/0"
    explicit = {"VAR_DIR": str(one), "REDIS_URL": "redis://10.0.0.5:6379/1"}
    assert _urls(explicit)["broker"] == "redis://10.0.0.5:6379/1"


def test_a_command_that_cannot_enqueue_says_so_in_one_line_and_fails(tmp_path):
    # Issue 10 item 2: the recorded Redis is gone (make run stopped).
    var_dir = tmp_path / "var"
    dead = f"redis://127.0.0.1:{free_port(0)}/0"
    record_redis_url(var_dir, dead)

    result = _manage("reconcile", env={"VAR_DIR": str(var_dir)})

    assert result.returncode == 1
    (line,) = result.stderr.splitlines()
    assert line.startswith(f"CommandError: Cannot reach the task broker at {dead}: ")
    assert line.endswith("Otherwise set REDIS_URL or CELERY_BROKER_URL.")
