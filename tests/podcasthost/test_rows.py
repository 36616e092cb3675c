"""``insert_rows``/``update_rows`` write what the ORM would: every field type reads back."""

from __future__ import annotations

from datetime import timedelta

from episodes.models import Episode
from podcasthost.rows import insert_rows, update_rows


def test_inserted_rows_read_back_like_saved_ones_files_and_foreign_keys_included(make_podcast, now):
    podcast = make_podcast()
    episode = Episode(podcast=podcast, guid="https://old.example/ep?id=1", slug="one", title="One")
    episode.image.name = "covers/one.jpg"
    episode.publish_at = now
    fields = [f for f in Episode._meta.concrete_fields if not f.primary_key]

    insert_rows(
        Episode, [f.name for f in fields], [[f.pre_save(episode, add=True) for f in fields]]
    )

    stored = Episode.objects.get(podcast=podcast, guid="https://old.example/ep?id=1")
    assert stored.image.name == "covers/one.jpg"
    assert (stored.podcast_id, stored.slug, stored.publish_at) == (podcast.pk, "one", now)
    assert stored.created_at is not None and stored.status == Episode.Status.DRAFT


def test_update_rows_with_a_guard_writes_only_rows_that_still_match(make_episode, now):
    a, b = make_episode(), make_episode()
    Episode.objects.filter(pk=b.pk).update(status=Episode.Status.FAILED)

    later = now + timedelta(minutes=5)
    update_rows(
        Episode,
        ["title", "updated_at"],
        [("A!", later, a.pk, "draft"), ("B!", later, b.pk, "draft")],
        where=("status",),
    )

    assert Episode.objects.get(pk=a.pk).title == "A!"
    assert Episode.objects.get(pk=a.pk).updated_at == later
    assert Episode.objects.get(pk=b.pk).title == b.title


def test_a_field_that_prepares_values_its_own_way_is_honoured(make_episode, monkeypatch):
    from django.db import models

    class Shouting(models.CharField):
        """A field type of a third-party app, preparing values for the database itself."""

        def get_db_prep_value(self, value, connection, prepared=False):
            return super().get_db_prep_value(value, connection, prepared).upper()

    episode = make_episode()
    monkeypatch.setattr(Episode._meta.get_field("title"), "__class__", Shouting)

    update_rows(Episode, ["title"], [("quiet please", episode.pk)])

    monkeypatch.undo()
    assert Episode.objects.get(pk=episode.pk).title == "QUIET PLEASE"
