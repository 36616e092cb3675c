"""Creators are e-mailed when an episode is ready, failed, published, or a publish was blocked."""

from __future__ import annotations

from datetime import timedelta

import pytest
from celery.exceptions import Retry
from django.core import mail
from django.utils import timezone

from episodes import notifications
from episodes.models import Episode, EpisodeEvent
from episodes.tasks import send_event_notifications
from feeds.publishing import publish_feed
from feeds.signals import feed_publish_blocked
from podcasthost.services import free_port
from tests.feeds.conftest import write_rendition
from tests.transcoding.conftest import put_upload


def _processing(episode: Episode) -> Episode:
    assert episode.mark_uploaded(source_key="uploads/x.wav", source_bytes=10)
    assert episode.start_processing()
    return episode


def _addressees() -> list[str]:
    return sorted(address for message in mail.outbox for address in message.to)


def test_ready_episode_mails_each_member_with_an_address(
    team, make_episode, django_capture_on_commit_callbacks, settings
):
    settings.PUBLIC_BASE_URL = "https://host.example"
    episode = _processing(make_episode(team["show"], title="Pilot"))
    with django_capture_on_commit_callbacks(execute=True):
        assert episode.mark_ready()

    assert _addressees() == ["ann@example.com", "ben@example.com"]
    # One message each: members do not see each other's addresses.
    assert all(len(message.to) == 1 for message in mail.outbox)
    message = mail.outbox[0]
    assert message.subject == "[Team Show] “Pilot” is ready"
    assert message.from_email == settings.DEFAULT_FROM_EMAIL
    assert "not published: give it a publish date" in message.body
    assert f"https://host.example/admin/episodes/episode/{episode.pk}/change/" in message.body


def test_a_scheduled_ready_episode_says_when_it_appears(
    team, make_episode, django_capture_on_commit_callbacks
):
    later = timezone.now() + timedelta(days=2)
    episode = _processing(make_episode(team["show"], publish_at=later))
    with django_capture_on_commit_callbacks(execute=True):
        episode.mark_ready()

    assert "scheduled: it appears in the feed at" in mail.outbox[0].body


def test_failed_episode_mail_gives_the_reason_and_how_to_retry(
    team, make_episode, tmp_path, django_capture_on_commit_callbacks
):
    # A real upload that is no audio at all: the real probe refuses it.
    episode = make_episode(team["show"], title="Broken")
    junk = tmp_path / "notes.wav"
    junk.write_bytes(b"these are my show notes, not a recording\n" * 50)
    key = put_upload(episode, junk)
    with django_capture_on_commit_callbacks(execute=True):
        episode.mark_uploaded(source_key=key, source_bytes=junk.stat().st_size)

    episode.refresh_from_db()
    assert episode.status == Episode.Status.FAILED
    (first, second) = mail.outbox
    assert first.subject == "[Team Show] “Broken” could not be processed"
    assert episode.error_message in first.body
    assert "upload another file" in first.body
    assert "Retry processing" in first.body
    assert first.body == second.body


def test_retry_then_ready_mails_again(team, make_episode, django_capture_on_commit_callbacks):
    episode = _processing(make_episode(team["show"]))
    with django_capture_on_commit_callbacks(execute=True):
        episode.mark_failed("The transcoder lost the job.")
    assert len(mail.outbox) == 2
    assert "The transcoder lost the job." in mail.outbox[0].body

    with django_capture_on_commit_callbacks(execute=True):
        assert episode.retry()
        assert episode.start_processing()
        assert episode.mark_ready()

    assert [m.subject.split("” ")[-1] for m in mail.outbox] == [
        "could not be processed",
        "could not be processed",
        "is ready",
        "is ready",
    ]


def test_an_episode_is_announced_once_when_it_first_appears_in_the_feed(
    team, make_episode, now, django_capture_on_commit_callbacks
):
    episode = make_episode(team["show"], title="Live now", publish_at=now - timedelta(minutes=1))
    write_rendition(episode, "mp3", b"\xff\xfb" * 500)
    with django_capture_on_commit_callbacks(execute=True):
        assert publish_feed(team["show"].pk).changed
    assert [m.subject for m in mail.outbox] == ["[Team Show] “Live now” is published"] * 2
    assert team["show"].feed_url in mail.outbox[0].body

    mail.outbox.clear()
    episode.title = "Live now (fixed typo)"
    episode.save()
    with django_capture_on_commit_callbacks(execute=True):
        assert publish_feed(team["show"].pk).changed

    assert mail.outbox == []
    assert EpisodeEvent.objects.filter(kind="episode.published").count() == 1


def test_a_scheduled_episode_is_announced_at_its_publish_not_before(
    team, make_episode, now, django_capture_on_commit_callbacks
):
    episode = make_episode(team["show"], publish_at=now + timedelta(hours=1))
    write_rendition(episode, "mp3", b"\xff\xfb" * 500)
    with django_capture_on_commit_callbacks(execute=True):
        publish_feed(team["show"].pk, now=now)
    assert mail.outbox == []

    with django_capture_on_commit_callbacks(execute=True):
        publish_feed(team["show"].pk, now=now + timedelta(hours=1, seconds=1))

    assert len(mail.outbox) == 2
    episode.refresh_from_db()
    assert episode.announced_at is not None


def test_a_back_catalogue_is_announced_by_its_newest_episodes_only(
    team, make_episode, now, django_capture_on_commit_callbacks
):
    total = notifications.MAX_ANNOUNCED_PER_PUBLISH + 3
    for n in range(total):
        episode = make_episode(team["show"], title=f"Old {n}", publish_at=now - timedelta(days=n))
        write_rendition(episode, "mp3", b"\xff\xfb" * 100)
    with django_capture_on_commit_callbacks(execute=True):
        publish_feed(team["show"].pk, now=now)

    announced = EpisodeEvent.objects.filter(kind="episode.published")
    assert announced.count() == notifications.MAX_ANNOUNCED_PER_PUBLISH
    assert "Old 0" in announced.order_by("created_at", "pk").first().subject
    assert not Episode.objects.filter(podcast=team["show"], announced_at__isnull=True).exists()


def test_a_blocked_publish_mails_the_findings(team, django_capture_on_commit_callbacks):
    findings = [
        "The show has no owner e-mail: add one under Ownership.",
        "Episode “Pilot” changed its guid.",
    ]
    with django_capture_on_commit_callbacks(execute=True):
        feed_publish_blocked.send(sender=None, podcast_id=team["show"].pk, findings=findings)

    assert _addressees() == ["ann@example.com", "ben@example.com"]
    message = mail.outbox[0]
    assert message.subject == "[Team Show] Feed not published: 2 problems"
    assert "listeners still get the previous version" in message.body
    for finding in findings:
        assert f"  - {finding}" in message.body
    assert "publish anyway" in message.body


def test_a_blocked_publish_of_a_deleted_show_is_ignored(db):
    feed_publish_blocked.send(sender=None, podcast_id=987654, findings=["x"])
    assert not EpisodeEvent.objects.exists()


def test_a_refused_smtp_connection_is_retried_and_sends_once(
    team, make_episode, settings, django_capture_on_commit_callbacks
):
    episode = _processing(make_episode(team["show"]))
    settings.EMAIL_BACKEND = "django.core.mail.backends.smtp.EmailBackend"
    settings.EMAIL_HOST, settings.EMAIL_PORT = "127.0.0.1", free_port(0)  # nobody listens
    with pytest.raises(Retry), django_capture_on_commit_callbacks(execute=True):
        episode.mark_ready()
    event = EpisodeEvent.objects.get(kind="episode.ready")
    assert event.emailed_at is None

    settings.EMAIL_BACKEND = "django.core.mail.backends.locmem.EmailBackend"
    send_event_notifications.apply(kwargs={"event_id": event.pk}, retries=1).get()
    send_event_notifications.apply(kwargs={"event_id": event.pk}, retries=2).get()

    assert len(mail.outbox) == 2  # one per member, not one per attempt
    event.refresh_from_db()
    assert event.emailed_at is not None
