"""The episode lifecycle: legal moves, refused moves, and races between workers."""

from __future__ import annotations

import threading

import pytest
from django.db import connection

from episodes.models import Episode, IllegalTransition

S = Episode.Status

LEGAL = {
    (S.DRAFT, S.UPLOADED),
    (S.UPLOADED, S.UPLOADED),
    (S.UPLOADED, S.PROCESSING),
    (S.UPLOADED, S.FAILED),
    (S.PROCESSING, S.READY),
    (S.PROCESSING, S.FAILED),
    (S.PROCESSING, S.UPLOADED),
    (S.READY, S.PROCESSING),
    (S.FAILED, S.UPLOADED),
}
ALL_PAIRS = [(a, b) for a in S.values for b in S.values]


def _episode_in(make_episode, status: str) -> Episode:
    episode = make_episode()
    Episode.objects.filter(pk=episode.pk).update(status=status)
    episode.refresh_from_db()
    return episode


@pytest.mark.parametrize(("source", "target"), sorted(LEGAL))
def test_legal_transition_is_stored(make_episode, source, target):
    episode = _episode_in(make_episode, source)

    assert episode.transition(target) is True

    assert Episode.objects.get(pk=episode.pk).status == target


@pytest.mark.parametrize(("source", "target"), [p for p in ALL_PAIRS if p not in LEGAL])
def test_illegal_transition_raises_and_changes_nothing(make_episode, source, target):
    episode = _episode_in(make_episode, source)

    with pytest.raises(IllegalTransition, match=f"from “{source}” to “{target}”"):
        episode.transition(target)

    assert Episode.objects.get(pk=episode.pk).status == source


def test_ready_to_uploaded_is_refused(make_episode):
    episode = _episode_in(make_episode, S.READY)

    with pytest.raises(IllegalTransition):
        episode.mark_uploaded(source_key="uploads/x/y/z.mp3", source_bytes=10)


def test_stale_copy_loses_and_writes_nothing(make_episode):
    episode = _episode_in(make_episode, S.UPLOADED)
    stale = Episode.objects.get(pk=episode.pk)

    assert episode.start_processing() is True
    assert stale.mark_failed("late") is False

    fresh = Episode.objects.get(pk=episode.pk)
    assert fresh.status == S.PROCESSING
    assert fresh.error_message == ""


def test_start_processing_counts_attempts(make_episode):
    episode = _episode_in(make_episode, S.UPLOADED)

    episode.start_processing()
    episode.mark_failed("boom")
    episode.retry()
    episode.start_processing()

    assert Episode.objects.get(pk=episode.pk).attempt == 2
    assert episode.attempt == 2


def test_full_happy_path_records_timestamps(make_episode, now):
    episode = make_episode()

    assert episode.mark_uploaded(source_key="uploads/a/b/c.wav", source_bytes=123, now=now)
    assert episode.start_processing(now=now)
    assert episode.record_progress(42, now=now)
    assert episode.mark_ready(now=now)

    episode.refresh_from_db()
    assert episode.status == S.READY
    assert episode.progress_percent == 100
    assert episode.uploaded_at == now
    assert episode.completed_at == now
    assert episode.source_key == "uploads/a/b/c.wav"


def test_progress_is_ignored_outside_processing(make_episode):
    episode = _episode_in(make_episode, S.READY)

    assert episode.record_progress(10) is False
    assert Episode.objects.get(pk=episode.pk).progress_percent == 0


def test_admin_style_save_does_not_undo_a_workers_transition(make_episode):
    episode = _episode_in(make_episode, S.UPLOADED)
    form_copy = Episode.objects.get(pk=episode.pk)

    episode.start_processing()
    form_copy.title = "Renamed in the admin"
    form_copy.save()

    fresh = Episode.objects.get(pk=episode.pk)
    assert fresh.status == S.PROCESSING
    assert fresh.title == "Renamed in the admin"


@pytest.mark.django_db(transaction=True)
def test_concurrent_transitions_end_in_one_consistent_state(make_episode):
    """Two workers claim the same uploaded episode at once: exactly one wins."""
    episode = _episode_in(make_episode, S.UPLOADED)
    barrier = threading.Barrier(2)
    results: dict[str, bool] = {}

    def worker(name: str, move) -> None:
        copy = Episode.objects.get(pk=episode.pk)
        barrier.wait()
        try:
            results[name] = move(copy)
        finally:
            connection.close()

    threads = [
        threading.Thread(target=worker, args=("claim", lambda e: e.start_processing())),
        threading.Thread(target=worker, args=("fail", lambda e: e.mark_failed("probe failed"))),
    ]
    for t in threads:
        t.start()
    for t in threads:
        t.join()

    assert sorted(results.values()) == [False, True]
    fresh = Episode.objects.get(pk=episode.pk)
    if results["claim"]:
        assert (fresh.status, fresh.attempt, fresh.error_message) == (S.PROCESSING, 1, "")
    else:
        assert (fresh.status, fresh.attempt, fresh.error_message) == (S.FAILED, 0, "probe failed")


def test_a_won_transition_is_announced_and_a_lost_one_is_not(make_episode):
    from episodes.signals import episode_transitioned

    seen = []

    def receiver(sender, episode, source, target, **kwargs):
        seen.append((episode.pk, source, target))

    episode = _episode_in(make_episode, S.UPLOADED)
    stale = Episode.objects.get(pk=episode.pk)
    episode_transitioned.connect(receiver)
    try:
        episode.start_processing()
        stale.mark_failed("too late")
    finally:
        episode_transitioned.disconnect(receiver)

    assert seen == [(episode.pk, S.UPLOADED, S.PROCESSING)]


def test_new_audio_on_a_ready_episode_reprocesses_without_leaving_the_feed(make_episode):
    episode = _episode_in(make_episode, S.READY)

    assert episode.replace_source(source_key="uploads/a/b/new.wav", source_bytes=5)

    fresh = Episode.objects.get(pk=episode.pk)
    assert (fresh.status, fresh.attempt, fresh.source_key) == (
        S.PROCESSING,
        1,
        "uploads/a/b/new.wav",
    )


def test_new_audio_on_other_statuses_marks_uploaded(make_episode):
    episode = _episode_in(make_episode, S.FAILED)

    assert episode.replace_source(source_key="uploads/a/b/new.wav", source_bytes=5)

    assert Episode.objects.get(pk=episode.pk).status == S.UPLOADED
