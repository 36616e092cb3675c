"""manage.py ingest <slug> FILE...: local files become uploaded episodes."""

from __future__ import annotations

import io

import pytest
from django.core.management import CommandError, call_command

from episodes import uploads
from episodes.models import Episode
from podcasthost.celery import app as celery_app
from tests.uploads.conftest import make_tagged_audio, make_wav


def test_ingest_copies_files_and_creates_uploaded_episodes(podcast, tmp_path):
    tagged = make_tagged_audio(tmp_path / "ep1.mp3", title="First Light")
    untagged = tmp_path / "Second_Episode.wav"
    untagged.write_bytes(make_wav(1))
    out, err = io.StringIO(), io.StringIO()

    call_command("ingest", podcast.slug, str(tagged), str(untagged), stdout=out, stderr=err)

    episodes = {e.title: e for e in Episode.objects.filter(podcast=podcast)}
    assert set(episodes) == {"First Light", "Second Episode"}
    for episode, path in (
        (episodes["First Light"], tagged),
        (episodes["Second Episode"], untagged),
    ):
        assert episode.status == Episode.Status.UPLOADED
        assert episode.source_key.startswith(f"uploads/{podcast.slug}/{episode.guid}/")
        assert episode.source_bytes == path.stat().st_size
        with uploads.uploads_storage().open(episode.source_key) as f:
            assert f.read() == path.read_bytes()
    # tqdm's bar on stderr counted every byte.
    assert "100%" in err.getvalue()
    assert "“First Light” (uploaded)" in out.getvalue()


def test_unknown_show_fails_clearly(db, tmp_path):
    path = tmp_path / "a.wav"
    path.write_bytes(make_wav(0.1))

    with pytest.raises(CommandError, match="No podcast with slug 'nope'"):
        call_command("ingest", "nope", str(path))


def test_bad_files_are_refused_with_reasons_and_the_good_ones_ingested(podcast, tmp_path):
    # Issue 10 item 5: a 0-byte file used to stop the whole batch.
    good = tmp_path / "good.wav"
    good.write_bytes(make_wav(0.1))
    empty = tmp_path / "empty.wav"
    empty.write_bytes(b"")
    err = io.StringIO()

    with pytest.raises(CommandError) as excinfo:
        call_command(
            "ingest",
            podcast.slug,
            str(empty),
            str(good),
            str(tmp_path / "missing.wav"),
            stdout=io.StringIO(),
            stderr=err,
        )

    assert "2 of 3 file(s) not ingested" in str(excinfo.value)
    assert "missing.wav: no such file" in str(excinfo.value)
    assert "empty.wav: 0 bytes" in str(excinfo.value)
    assert "refused " in err.getvalue() and "empty.wav: 0 bytes" in err.getvalue()
    (episode,) = Episode.objects.all()
    assert episode.source_filename == "good.wav"
    assert episode.status == Episode.Status.UPLOADED


def test_a_failed_copy_leaves_no_episode_and_no_file(
    podcast, tmp_path, settings, isolated_storages
):
    path = tmp_path / "a.wav"
    path.write_bytes(make_wav(0.1))
    # The copy fails part-way: the uploads folder cannot be written.
    (isolated_storages / "uploads").mkdir(parents=True)
    (isolated_storages / "uploads" / "uploads").write_text("a file where a folder must go")

    with pytest.raises(CommandError, match="1 of 1 file"):
        call_command("ingest", podcast.slug, str(path))

    assert not Episode.objects.exists()


def test_unreachable_broker_refuses_the_batch_in_one_line(podcast, tmp_path, settings):
    # Issue 10 item 2: the episode used to be recorded "uploaded" with nothing queued.
    path = tmp_path / "a.wav"
    path.write_bytes(make_wav(0.1))
    settings.CELERY_BROKER_URL = "redis://127.0.0.1:9/0"  # discard port: nothing listens
    celery_app.conf.CELERY_TASK_ALWAYS_EAGER = False  # as in a real shell (restored by conftest)

    with pytest.raises(CommandError) as excinfo:
        call_command("ingest", podcast.slug, str(path), stdout=io.StringIO())

    message = str(excinfo.value)
    assert message.startswith("Cannot reach the task broker at redis://127.0.0.1:9/0")
    assert "is `make run` running" in message and "\n" not in message
    assert not Episode.objects.exists()
