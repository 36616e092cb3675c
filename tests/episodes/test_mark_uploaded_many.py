"""Recording many uploads at once (an import): the same compare-and-swap as one by one,
and their processing queued as one broker message that fans out. Against a real Redis."""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.db import transaction

from episodes.models import Episode, IllegalTransition
from episodes.receivers import processing_in_one_message
from episodes.tasks import process_episodes
from tests.broker import broker_at, private_redis_db, queued_messages


def _sources(episodes):
    return [(e, f"uploads/s/{e.pk}/k-{e.pk}.mp3", 1000 + e.pk, f"{e.pk}.mp3") for e in episodes]


def test_drafts_move_to_uploaded_and_their_processing_is_one_message(
    make_podcast, make_episode, redis_url, now, monkeypatch, django_capture_on_commit_callbacks
):
    podcast = make_podcast()
    drafts = [make_episode(podcast) for _ in range(3)]
    monkeypatch.setattr(Episode, "UPDATE_MANY_CHUNK", 2)  # two chunks: 2 + 1
    with private_redis_db(redis_url) as url, broker_at(url):
        with django_capture_on_commit_callbacks(execute=True):
            with transaction.atomic(), processing_in_one_message():
                moved = Episode.mark_uploaded_many(_sources(drafts), now=now)
            assert queued_messages(url) == []  # nothing before the commit
        messages = queued_messages(url)

    assert moved == drafts
    for episode, key, size, name in _sources(drafts):
        stored = Episode.objects.get(pk=episode.pk)
        assert (stored.status, stored.source_key, stored.source_bytes) == ("uploaded", key, size)
        assert (stored.source_filename, stored.uploaded_at) == (name, now)
        assert (episode.status, episode.source_key) == ("uploaded", key)  # in memory too
    assert [(m.task, m.kwargs) for m in messages] == [
        ("episodes.tasks.process_episodes", {"runs": [{"episode_id": e.pk} for e in drafts]})
    ]


def test_an_episode_another_process_moved_first_is_left_alone(make_podcast, make_episode, now):
    podcast = make_podcast()
    mine, theirs = make_episode(podcast), make_episode(podcast)
    stale = Episode.objects.get(pk=theirs.pk)  # read before the other process wrote
    theirs.mark_uploaded(source_key="uploads/theirs/x.mp3", source_bytes=5, now=now)

    later = now + timedelta(seconds=1)
    moved = Episode.mark_uploaded_many(_sources([mine, stale]), now=later)

    assert moved == [mine]
    stored = Episode.objects.get(pk=theirs.pk)
    assert (stored.source_key, stored.uploaded_at) == ("uploads/theirs/x.mp3", now)
    assert (stale.status, stale.source_key) == ("draft", "")  # the caller decides


def test_a_ready_episode_is_refused_and_nothing_is_written(make_podcast, make_episode, now):
    podcast = make_podcast()
    draft, ready = make_episode(podcast), make_episode(podcast)
    Episode.objects.filter(pk=ready.pk).update(status=Episode.Status.READY)
    ready.refresh_from_db()

    with pytest.raises(IllegalTransition):
        Episode.mark_uploaded_many(_sources([draft, ready]), now=now)

    assert Episode.objects.get(pk=draft.pk).status == Episode.Status.DRAFT


def test_outside_the_block_each_upload_is_its_own_message(
    make_episode, redis_url, now, django_capture_on_commit_callbacks
):
    episode = make_episode()
    with private_redis_db(redis_url) as url, broker_at(url):
        with django_capture_on_commit_callbacks(execute=True):
            Episode.mark_uploaded_many(_sources([episode]), now=now)
        messages = queued_messages(url)

    assert [(m.task, m.kwargs) for m in messages] == [
        ("episodes.tasks.process_episode", {"episode_id": episode.pk})
    ]


def test_the_batch_message_fans_out_into_one_task_per_episode(redis_url):
    runs = [{"episode_id": 7}, {"episode_id": 8, "attempt": 3}]
    with private_redis_db(redis_url) as url, broker_at(url):
        result = process_episodes.apply(kwargs={"runs": runs})
        messages = queued_messages(url)

    assert result.get() == 2
    assert [(m.task, m.kwargs) for m in messages] == [
        ("episodes.tasks.process_episode", {"episode_id": 7, "attempt": None}),
        ("episodes.tasks.process_episode", {"episode_id": 8, "attempt": 3}),
    ]


def test_an_upload_rolled_back_to_a_savepoint_is_not_sent_for_processing(
    make_podcast, make_episode, redis_url, now, django_capture_on_commit_callbacks
):
    podcast = make_podcast()
    kept, undone = make_episode(podcast), make_episode(podcast)
    with private_redis_db(redis_url) as url, broker_at(url):
        with (
            django_capture_on_commit_callbacks(execute=True),
            transaction.atomic(),
            processing_in_one_message(),
        ):
            Episode.mark_uploaded_many(_sources([kept]), now=now)
            with pytest.raises(RuntimeError), transaction.atomic():
                Episode.mark_uploaded_many(_sources([undone]), now=now)
                raise RuntimeError("this part is undone")
        messages = queued_messages(url)

    assert Episode.objects.get(pk=undone.pk).status == Episode.Status.DRAFT
    assert [(m.task, m.kwargs) for m in messages] == [
        ("episodes.tasks.process_episode", {"episode_id": kept.pk})
    ]
