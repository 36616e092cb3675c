"""Shared fixtures: plain factories, isolated storages, eager Celery by default.

Tests that need a real broker or worker start them themselves (see the
``redis_url`` fixture); everything else runs tasks eagerly in-process.
"""

from __future__ import annotations

import itertools
from pathlib import Path

import pytest
from django.utils import timezone

from episodes.models import Episode, Podcast
from episodes.roles import create_creator
from podcasthost.celery import app as celery_app
from tests.browser import pytest_runtest_setup  # noqa: F401  (the `browser` marker's gate)

_counter = itertools.count(1)


@pytest.fixture(autouse=True)
def isolated_storages(settings, tmp_path: Path) -> Path:
    """Point the uploads, media and feeds storages at a fresh folder per test."""
    root = tmp_path / "storage"
    storages = dict(settings.STORAGES)
    for alias, base_url in (
        ("uploads", None),
        ("media", f"{settings.PUBLIC_BASE_URL}/media/"),
        ("feeds", f"{settings.FEED_BASE_URL}/"),
    ):
        storages[alias] = {
            "BACKEND": "podcasthost.storage.filesystem.FileSystemStorage",
            "OPTIONS": {"location": str(root / alias), "base_url": base_url},
        }
    settings.STORAGES = storages
    return root


@pytest.fixture(autouse=True)
def eager_celery():
    """Run tasks in-process unless a test asks for a real worker."""
    # The app reads Django settings with namespace="CELERY", so the keys it
    # honours are the prefixed ones.
    previous = celery_app.conf.CELERY_TASK_ALWAYS_EAGER
    celery_app.conf.CELERY_TASK_ALWAYS_EAGER = True
    yield
    celery_app.conf.CELERY_TASK_ALWAYS_EAGER = previous


@pytest.fixture
def make_creator(db):
    def make(username: str | None = None, password: str = "correct horse battery"):
        username = username or f"creator{next(_counter)}"
        return create_creator(username, f"{username}@example.com", password)

    return make


@pytest.fixture
def make_podcast(db):
    def make(*, members=(), **fields) -> Podcast:
        n = next(_counter)
        defaults = {
            "slug": f"show-{n}",
            "title": f"Show {n}",
            "description": "A show about testing.",
            "author": "Test Author",
            "owner_name": "Owner",
            "owner_email": "owner@example.com",
            "language": "en",
            "category": "Technology",
        }
        defaults.update(fields)
        podcast = Podcast.objects.create(**defaults)
        podcast.members.add(*members)
        return podcast

    return make


@pytest.fixture
def make_episode(db, make_podcast):
    def make(podcast: Podcast | None = None, **fields) -> Episode:
        n = next(_counter)
        defaults = {"title": f"Episode {n}", "slug": f"episode-{n}"}
        defaults.update(fields)
        return Episode.objects.create(podcast=podcast or make_podcast(), **defaults)

    return make


@pytest.fixture
def now():
    return timezone.now()


@pytest.fixture(scope="session")
def redis_url(tmp_path_factory) -> str:
    """A real Redis: CI's (``TEST_REDIS_URL``), else a private one started for the session."""
    import os

    url = os.environ.get("TEST_REDIS_URL")
    if url:
        yield url
        return
    from podcasthost.services import free_port, start_redis

    port = free_port(0)
    proc = start_redis(tmp_path_factory.mktemp("redis"), port)
    try:
        yield f"redis://127.0.0.1:{port}/0"
    finally:
        proc.terminate()
        proc.wait(timeout=10)


@pytest.fixture
def aws_credentials(monkeypatch) -> None:
    """Fake AWS credentials and region, so moto-backed tests can never reach a real account."""
    for name, value in {
        "AWS_ACCESS_KEY_ID": "testing",
        "AWS_SECRET_ACCESS_KEY": "testing",
        "AWS_SESSION_TOKEN": "testing",
        "AWS_DEFAULT_REGION": "us-east-1",
    }.items():
        monkeypatch.setenv(name, value)
