"""Migration feeds 0005: each stored one-request event keeps its request's time and range."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime

import pytest
from django.db import connection
from django.db.migrations.executor import MigrationExecutor

BEFORE = [("feeds", "0004_publish_gate")]
AFTER = [("feeds", "0005_packed_download_requests")]
AT = datetime(2026, 11, 30, 9, 0, 12, 345678, tzinfo=UTC)


@pytest.mark.django_db(transaction=True)
def test_existing_events_keep_their_request():
    executor = MigrationExecutor(connection)
    executor.migrate(BEFORE)
    # Every other app as it is now: only feeds is rolled back.
    others = [node for node in executor.loader.graph.leaf_nodes() if node[0] != "feeds"]
    old = executor.loader.project_state([*BEFORE, *others]).apps
    podcast = old.get_model("episodes", "Podcast").objects.create(
        slug="old-show",
        title="Old",
        description="d",
        language="en",
        category="Technology",
        podcast_guid=uuid.uuid4(),
    )
    episode = old.get_model("episodes", "Episode").objects.create(
        podcast=podcast, title="Old episode", slug="old-episode", guid="g-1"
    )
    rendition = old.get_model("episodes", "Rendition").objects.create(
        episode=episode,
        preset="mp3",
        key="old-show/g/mp3.mp3",
        mime_type="audio/mpeg",
        size_bytes=65_000,
    )
    old.get_model("feeds", "DownloadEvent").objects.create(
        at=AT,
        rendition_id=rendition.pk,
        listener="a" * 32,
        listener_before="b" * 32,
        first_byte=1000,
        last_byte=64_999,
        status=206,
        user_agent="Overcast/3.0",
        app="Overcast",
        device="Unknown",
        os="iOS",
        source="cloudfront",
    )

    executor = MigrationExecutor(connection)
    executor.loader.build_graph()
    executor.migrate(AFTER)

    from feeds.analytics.models import DownloadEvent

    (event,) = DownloadEvent.objects.all()
    assert event.request_list() == [(AT, 1000, 64_999)]
    assert event.request_count == 1 and event.listener == "a" * 32

    executor = MigrationExecutor(connection)
    executor.loader.build_graph()
    executor.migrate(executor.loader.graph.leaf_nodes())
