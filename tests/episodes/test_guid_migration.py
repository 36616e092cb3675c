"""Migration 0006: Episode.guid becomes a string field and every existing value is kept."""

from __future__ import annotations

import uuid

import pytest
from django.db import connection
from django.db.migrations.executor import MigrationExecutor

BEFORE = [("episodes", "0005_episode_missing_renditions")]
AFTER = [("episodes", "0006_import_guid_strings")]


@pytest.mark.django_db(transaction=True)
def test_existing_guids_keep_the_string_our_feeds_published():
    executor = MigrationExecutor(connection)
    executor.migrate(BEFORE)
    old = executor.loader.project_state(BEFORE).apps
    podcast = old.get_model("episodes", "Podcast").objects.create(
        slug="old-show",
        title="Old",
        description="d",
        language="en",
        category="Technology",
        podcast_guid=uuid.uuid4(),
    )
    guid = uuid.uuid4()
    old.get_model("episodes", "Episode").objects.create(
        podcast=podcast, title="Old episode", slug="old-episode", guid=guid
    )

    executor = MigrationExecutor(connection)
    executor.loader.build_graph()
    executor.migrate(AFTER)
    new = executor.loader.project_state(AFTER).apps
    episode = new.get_model("episodes", "Episode").objects.get(slug="old-episode")

    assert episode.guid == str(guid)  # what the feed carried: str(uuid), hyphenated
    assert episode.guid_is_permalink is False

    executor = MigrationExecutor(connection)
    executor.loader.build_graph()
    executor.migrate(executor.loader.graph.leaf_nodes())
