"""Settings come from the environment; mistakes stop start-up with the variable named."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
PRODUCTION = {
    "DEBUG": "0",
    "SECRET_KEY": "k3Y-" + "abcdefghij" * 6,
    "ALLOWED_HOSTS": "podcasts.example.com",
    "PUBLIC_BASE_URL": "https://podcasts.example.com",
}


def _run(args: list[str], env: dict[str, str], tmp_path: Path) -> subprocess.CompletedProcess:
    # A clean environment for the app: nothing Django-specific from the test run.
    base = {k: v for k, v in os.environ.items() if not k.startswith("DJANGO_")}
    for name in (
        "DEBUG",
        "SECRET_KEY",
        "ALLOWED_HOSTS",
        "DATABASE_URL",
        "PUBLIC_BASE_URL",
        "CSRF_TRUSTED_ORIGINS",
    ):
        base.pop(name, None)
    base.update({"VAR_DIR": str(tmp_path / "var"), **env})
    return subprocess.run(
        [sys.executable, "manage.py", *args],
        cwd=ROOT,
        env=base,
        capture_output=True,
        text=True,
        timeout=120,
    )


@pytest.mark.parametrize(
    ("env", "variable"),
    [
        ({"DEBUG": "maybe"}, "DEBUG"),
        ({"UPLOAD_MAX_BYTES": "2GB"}, "UPLOAD_MAX_BYTES"),
        ({"UPLOAD_MAX_BYTES": "0"}, "UPLOAD_MAX_BYTES"),
        ({"PUBLIC_BASE_URL": "podcasts.example.com"}, "PUBLIC_BASE_URL"),
        ({"REDIS_URL": "http://localhost:6379"}, "REDIS_URL"),
        ({"LOUDNESS_TARGET_LUFS": "loud"}, "LOUDNESS_TARGET_LUFS"),
        ({"LOGIN_FAILURE_LIMIT": "0"}, "LOGIN_FAILURE_LIMIT"),
        ({"LOGIN_LOCKOUT_SECONDS": "15m"}, "LOGIN_LOCKOUT_SECONDS"),
        ({"TRUSTED_PROXY_COUNT": "-1"}, "TRUSTED_PROXY_COUNT"),
        ({"PORT": "70000"}, "PORT"),
        ({"DATABASE_URL": "nosuchdb://x"}, "DATABASE_URL"),
        ({"WEBSUB_HUB_URL": "hub.example.org"}, "WEBSUB_HUB_URL"),
        ({"PODPING_URL": "https://podping.example.org/"}, "PODPING_TOKEN"),
        ({"EMAIL_PORT": "smtp"}, "EMAIL_PORT"),
        ({"EMAIL_USE_TLS": "1", "EMAIL_USE_SSL": "1"}, "EMAIL_USE_SSL"),
        ({"OUTBOUND_TIMEOUT_SECONDS": "0"}, "OUTBOUND_TIMEOUT_SECONDS"),
        ({"DEBUG": "0", "ALLOWED_HOSTS": "example.com"}, "SECRET_KEY"),
        ({"DEBUG": "0", "SECRET_KEY": PRODUCTION["SECRET_KEY"]}, "ALLOWED_HOSTS"),
        # A weak key is refused in production (Django's security.W009 criteria).
        ({**PRODUCTION, "SECRET_KEY": "k3Y-" + "abcdefghij" * 4}, "SECRET_KEY"),  # 44 chars
        ({**PRODUCTION, "SECRET_KEY": "abcd" * 20}, "SECRET_KEY"),  # 4 distinct
        ({**PRODUCTION, "SECRET_KEY": "django-insecure-" + "abcdefghij" * 5}, "SECRET_KEY"),
    ],
)
def test_bad_setting_stops_start_up_naming_the_variable(tmp_path, env, variable):
    result = _run(["check"], env, tmp_path)

    assert result.returncode != 0
    assert "ImproperlyConfigured" in result.stderr
    assert variable in result.stderr.splitlines()[-1]


def test_a_short_secret_key_is_fine_in_development(tmp_path):
    result = _run(["check"], {"SECRET_KEY": "short"}, tmp_path)

    assert result.returncode == 0, result.stderr


def _csrf_trusted_origins(env: dict[str, str], tmp_path: Path) -> str:
    code = "from django.conf import settings; print(settings.CSRF_TRUSTED_ORIGINS)"
    result = _run(["shell", "--no-imports", "-c", code], env, tmp_path)
    assert result.returncode == 0, result.stderr
    return result.stdout.strip()


def test_login_throttling_settings(tmp_path):
    code = (
        "from django.conf import settings; "
        "print(settings.AXES_FAILURE_LIMIT, int(settings.AXES_COOLOFF_TIME.total_seconds()))"
    )
    default = _run(["shell", "--no-imports", "-c", code], {}, tmp_path)
    env = {"LOGIN_FAILURE_LIMIT": "3", "LOGIN_LOCKOUT_SECONDS": "60"}
    custom = _run(["shell", "--no-imports", "-c", code], env, tmp_path)

    assert default.stdout.split() == ["5", "900"], default.stderr
    assert custom.stdout.split() == ["3", "60"], custom.stderr


def test_csrf_trusted_origins_come_from_public_base_url_only(tmp_path):
    without_url = {k: v for k, v in PRODUCTION.items() if k != "PUBLIC_BASE_URL"}

    assert _csrf_trusted_origins(PRODUCTION, tmp_path) == "['https://podcasts.example.com']"
    # Never the development default http://127.0.0.1:8000 in production.
    assert _csrf_trusted_origins(without_url, tmp_path) == "[]"
    assert _csrf_trusted_origins({}, tmp_path) == "['http://127.0.0.1:8000']"
    explicit = {**PRODUCTION, "CSRF_TRUSTED_ORIGINS": "https://a.example,https://b.example"}
    assert _csrf_trusted_origins(explicit, tmp_path) == "['https://a.example', 'https://b.example']"


def test_development_secret_key_is_generated_once_and_kept(tmp_path):
    first = _run(["check"], {}, tmp_path)
    key_file = tmp_path / "var" / "secret_key"
    key = key_file.read_text()
    second = _run(["check"], {}, tmp_path)

    assert first.returncode == 0, first.stderr
    assert second.returncode == 0, second.stderr
    assert len(key) >= 50
    assert key_file.read_text() == key


def test_production_profile_passes_check_deploy_with_no_warning(tmp_path):
    result = _run(["check", "--deploy", "--fail-level", "DEBUG"], PRODUCTION, tmp_path)

    assert result.returncode == 0, result.stdout + result.stderr
    assert "System check identified no issues (0 silenced)." in result.stdout


def test_s3_storages_are_chosen_by_bucket_variables(tmp_path):
    code = (
        "from django.core.files.storage import storages; "
        "u, m, f = storages['uploads'], storages['media'], storages['feeds']; "
        "print(type(u).__name__, u.bucket_name, type(m).__name__, m.bucket_name, "
        "m.url('a/b.mp3'), type(f).__name__, f.url('show/feed.xml'))"
    )
    env = {
        "UPLOADS_BUCKET": "in-bucket",
        "MEDIA_BUCKET": "out-bucket",
        "FEEDS_BUCKET": "rss-bucket",
        "CLOUDFRONT_DOMAIN": "d111.cloudfront.net",
    }
    result = _run(["shell", "--no-imports", "-c", code], env, tmp_path)

    assert result.returncode == 0, result.stderr
    assert result.stdout.split() == [
        "S3Storage",
        "in-bucket",
        "S3Storage",
        "out-bucket",
        "https://d111.cloudfront.net/a/b.mp3",
        "S3Storage",
        "https://d111.cloudfront.net/show/feed.xml",
    ]


def test_local_storages_by_default(tmp_path):
    code = (
        "from django.core.files.storage import storages; from django.conf import settings; "
        "print(type(storages['uploads']).__name__, storages['media'].url('a.mp3'), "
        "settings.FEED_BASE_URL)"
    )
    result = _run(["shell", "--no-imports", "-c", code], {}, tmp_path)

    assert result.returncode == 0, result.stderr
    assert result.stdout.split() == [
        "FileSystemStorage",
        "http://127.0.0.1:8000/media/a.mp3",
        "http://127.0.0.1:8000",
    ]


@pytest.mark.parametrize(
    "broker", ["sqs://", "memory://", "redis://cache.internal:6379/1", "rediss://h:6380/0"]
)
def test_broker_urls_celery_accepts_are_accepted(tmp_path, broker):
    code = "from django.conf import settings; print(settings.CELERY_BROKER_URL)"
    result = _run(["shell", "--no-imports", "-c", code], {"CELERY_BROKER_URL": broker}, tmp_path)

    assert result.returncode == 0, result.stderr
    assert result.stdout.strip() == broker


def test_webhooks_may_call_private_addresses_only_in_development(tmp_path):
    code = "from django.conf import settings; print(settings.WEBHOOK_ALLOW_PRIVATE_ADDRESSES)"
    development = _run(["shell", "--no-imports", "-c", code], {}, tmp_path)
    production = _run(["shell", "--no-imports", "-c", code], PRODUCTION, tmp_path)

    assert (development.stdout.strip(), production.stdout.strip()) == ("True", "False")
