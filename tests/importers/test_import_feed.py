"""manage.py import_feed against host-shaped feeds served by a local "old host" with real audio."""

from __future__ import annotations

import io

import feedparser
import podcastparser
import pytest
from django.core.management import call_command
from django.core.management.base import CommandError
from django.utils import timezone

from episodes.models import Episode, ImportRun, Podcast
from feeds.rss import build_feed
from tests.importers.conftest import HOSTS

# Real commits: the import's on_commit work (processing, then the feed) runs as in production.
pytestmark = pytest.mark.django_db(transaction=True)


def run_import(*args: str) -> tuple[int, str]:
    out = io.StringIO()
    try:
        call_command("import_feed", *args, stdout=out, stderr=io.StringIO())
    except SystemExit as exc:
        return int(exc.code or 0), out.getvalue()
    return 0, out.getvalue()


def served(podcast: Podcast) -> bytes:
    return build_feed(podcast, now=timezone.now()).body


def item_ids(body: bytes, url: str) -> tuple[list[str], list[str]]:
    fp = [e.id for e in feedparser.parse(body).entries]
    pp = [e["guid"] for e in podcastparser.parse(url, io.BytesIO(body))["episodes"]]
    return fp, pp


@pytest.mark.parametrize("host", HOSTS)
def test_a_show_from_each_host_keeps_every_guid_and_a_clean_parity(host, old_host):
    url = old_host.url(f"/feeds/{host}.xml")
    original = feedparser.parse(old_host.feed(host))
    code, out = run_import(url, "--slug", f"moved-{host}", "--i-own-this-show")

    assert code == 0, out
    assert "parity: clean" in out
    podcast = Podcast.objects.get(slug=f"moved-{host}")
    body = served(podcast)
    fp, pp = item_ids(body, podcast.feed_url)
    assert fp == [e.id for e in original.entries]
    assert sorted(pp) == sorted(fp)
    ours = feedparser.parse(body)
    for old, new in zip(original.entries, ours.entries, strict=True):
        assert new.title == old.title
        assert new.published_parsed == old.published_parsed
        assert new.get("itunes_episode") == old.get("itunes_episode")
    assert ours.feed.title == original.feed.title


def test_permalink_flags_podcast_guid_and_show_metadata_survive(old_host):
    code, out = run_import(old_host.url("/feeds/buzzsprout.xml"), "--slug", "buzz")
    assert code == 0, out
    podcast = Podcast.objects.get(slug="buzz")
    assert str(podcast.podcast_guid) == "3f1b0c1e-5a2d-5c4e-8f7a-9b6c5d4e3f21"
    assert podcast.show_type == "serial"
    assert (podcast.category, podcast.second_category) == ("Education > Courses", "Science")
    assert podcast.copyright == "© 2026 Buzz Weekly"
    body = served(podcast)
    parsed = feedparser.parse(body)
    assert parsed.feed.get("podcast_guid") or b"3f1b0c1e-5a2d-5c4e-8f7a-9b6c5d4e3f21" in body
    assert b'<guid isPermaLink="false">Buzzsprout-13579</guid>' in body
    episode = podcast.episodes.get()
    assert (episode.season, episode.number, episode.guid_is_permalink) == (1, 1, False)
    assert "<em>here</em>" in episode.description


def test_awkward_feed_no_guid_relative_urls_html_enclosure_and_no_audio(old_host):
    code, out = run_import(old_host.url("/feeds/awkward.xml"), "--slug", "awk")

    assert code == 1  # two items cannot come over, and the report says so
    podcast = Podcast.objects.get(slug="awk")
    assert podcast.title == "Awkward Cases"
    assert podcast.link == old_host.url("/site/")
    guids = set(podcast.episodes.values_list("guid", flat=True))
    # No guid: the enclosure URL apps identified it by, resolved and trimmed.
    assert old_host.url("/audio/awkward-noguid.mp3") in guids
    permalink = podcast.episodes.get(guid=old_host.url("/posts/permalink"))
    assert permalink.guid_is_permalink is None  # no attribute: emitted without one
    assert "MISSING awkward-html" in out and "not audio" in out
    assert "MISSING awkward-noaudio" in out and "no enclosure" in out
    failed = podcast.episodes.get(guid="awkward-html")
    assert failed.status == Episode.Status.DRAFT and "text/html" in failed.error_message
    fp, _ = item_ids(served(podcast), podcast.feed_url)
    assert set(fp) == {old_host.url("/audio/awkward-noguid.mp3"), old_host.url("/posts/permalink")}


def test_second_run_imports_nothing_new(old_host):
    url = old_host.url("/feeds/libsyn.xml")
    assert run_import(url, "--slug", "lounge")[0] == 0
    downloads = sum(n for p, n in old_host.requests.items() if p.startswith("/audio/"))
    code, out = run_import(url)

    assert code == 0, out
    assert "audio to download: 0" in out
    assert Podcast.objects.count() == 1
    assert Episode.objects.count() == 2
    assert sum(n for p, n in old_host.requests.items() if p.startswith("/audio/")) == downloads


def test_dry_run_writes_nothing_and_lists_the_plan(old_host):
    code, out = run_import(old_host.url("/feeds/awkward.xml"), "--dry-run")
    assert code == 0
    assert "dry run: nothing written" in out
    assert "would import awkward-html" in out
    assert "would drop awkward-noaudio: no enclosure" in out
    assert Podcast.objects.count() == Episode.objects.count() == ImportRun.objects.count() == 0


def test_locked_show_is_refused_unless_the_owner_confirms(old_host, make_creator):
    url = old_host.url("/feeds/transistor.xml")
    with pytest.raises(CommandError, match="locked"):
        run_import(url, "--skip-media")
    assert Podcast.objects.count() == 0
    owner = make_creator("tran")
    owner.email = "tran@example.com"
    owner.save()
    code, out = run_import(url, "--skip-media", "--member", "tran")
    assert code == 1 and "imported without audio" in out  # metadata only: not yet in our feed
    podcast = Podcast.objects.get()
    assert podcast.members.get() == owner
    assert str(podcast.podcast_guid) == "c2a9b0f4-1d3e-5f6a-8b7c-0d1e2f3a4b5c"


def test_artwork_breaking_apples_rules_is_kept_and_flagged(old_host):
    code, out = run_import(old_host.url("/feeds/podbean.xml"), "--skip-media", "--slug", "cafe")
    assert code == 1 and "MISSING" in out  # metadata only
    podcast = Podcast.objects.get(slug="cafe")
    assert podcast.cover
    with podcast.cover.open("rb") as f:
        assert f.read() == old_host.images["/art/small.jpg"]  # unaltered
    assert "Apple will refuse it" in out and "1400" in out
    assert podcast.title == "Café Podbean"
    assert podcast.author == "Señora Café"
    assert (podcast.category, podcast.language) == ("Arts > Food", "es")


@pytest.mark.parametrize(
    ("path", "message"),
    [
        ("/nothing-here.xml", "404: not found"),
        ("/login", "web page, not a feed"),
        ("/art/square.jpg", "not an RSS or Atom feed"),
    ],
)
def test_unusable_feed_urls_get_a_clear_error(old_host, path, message):
    with pytest.raises(CommandError, match=message):
        run_import(old_host.url(path))
    assert Podcast.objects.count() == 0


def only_the_first_episode_failed(reason: str) -> Podcast:
    """The imported libsyn show, whose episode 1 is a draft failed for ``reason``, 2 ready."""
    podcast = Podcast.objects.get(slug="lounge")
    failed = podcast.episodes.get(guid="a1b2c3d4-0001-4e5f-9a8b-libsyn000001")
    assert failed.status == Episode.Status.DRAFT and reason in failed.error_message
    assert podcast.episodes.get(guid="a1b2c3d4-0002-4e5f-9a8b-libsyn000002").status == "ready"
    return podcast


def test_a_failed_download_fails_that_episode_only_and_a_rerun_brings_it(old_host):
    url = old_host.url("/feeds/libsyn.xml")
    old_host.extra["/audio/libsyn-1.mp3"] = (404, "text/plain", b"gone")
    code, out = run_import(url, "--slug", "lounge")

    assert code == 1
    assert "MISSING a1b2c3d4-0001-4e5f-9a8b-libsyn000001" in out and "404" in out
    podcast = only_the_first_episode_failed("404")

    del old_host.extra["/audio/libsyn-1.mp3"]
    code, out = run_import(url)
    assert code == 0, out
    assert "audio to download: 1" in out and "parity: clean" in out
    assert podcast.episodes.count() == 2


def test_an_enclosure_over_the_upload_limit_is_refused_with_the_reason(old_host, settings):
    settings.UPLOAD_MAX_BYTES = len(old_host.audio) - 1
    code, out = run_import(old_host.url("/feeds/buzzsprout.xml"), "--slug", "buzz")
    assert code == 1
    assert "UPLOAD_MAX_BYTES" in out
    episode = Episode.objects.get()
    assert episode.status == Episode.Status.DRAFT and not episode.source_key


def test_a_guid_longer_than_we_can_keep_is_dropped_with_the_reason(old_host, tmp_path):
    feed = old_host.feed("buzzsprout").replace(b"Buzzsprout-13579</guid>", b"x" * 2000 + b"</guid>")
    path = tmp_path / "feed.xml"
    path.write_bytes(feed)
    code, out = run_import(str(path), "--dry-run")
    assert code == 0
    assert "would drop" in out and "longer than 1024 characters" in out


def test_episodes_created_in_one_batch_are_sanitised_and_get_unique_slugs(tmp_path):
    items = "".join(
        f"<item><title>Same title</title><guid>batch-{n}</guid>"
        f"<enclosure url='https://example.com/{n}.mp3' length='1' type='audio/mpeg'/>"
        f"<description><![CDATA[<p>Hi</p><script>alert({n})</script>]]></description></item>"
        for n in range(3)
    )
    path = tmp_path / "feed.xml"
    path.write_text(
        "<?xml version='1.0'?><rss version='2.0'><channel><title>Batch</title>"
        f"<description>d</description>{items}</channel></rss>"
    )
    run_import(str(path), "--slug", "batch", "--skip-media")
    podcast = Podcast.objects.get(slug="batch")
    episodes = list(podcast.episodes.order_by("guid"))
    assert [e.guid for e in episodes] == ["batch-0", "batch-1", "batch-2"]
    assert len({e.slug for e in episodes}) == 3
    assert all("<script" not in e.description and "Hi" in e.description for e in episodes)


def test_audio_the_creator_uploads_during_the_import_is_kept(old_host, monkeypatch):
    from episodes.importers import shows
    from episodes.uploads import confirm_upload, upload_key_for, uploads_storage

    storage = uploads_storage()
    import_keys, admin_keys = {}, {}
    download, attach = shows._download, shows._attach_artwork

    def noting_download(episode, item, key, *args):
        import_keys[episode.pk] = key
        return download(episode, item, key, *args)

    def creator_uploads_first(episode, item, show, problems):
        # The import's download of this episode has finished, not yet recorded: the
        # creator uploads their own master in the admin right now.
        if not admin_keys:
            key = admin_keys[episode.pk] = upload_key_for(episode, "master.mp3")
            storage.put_bytes(key, old_host.audio, content_type="audio/mpeg", cache_control="")
            confirm_upload(Episode.objects.get(pk=episode.pk), key=key, filename="master.mp3")
        return attach(episode, item, show, problems)

    monkeypatch.setattr(shows, "_download", noting_download)
    monkeypatch.setattr(shows, "_attach_artwork", creator_uploads_first)
    code, out = run_import(old_host.url("/feeds/libsyn.xml"), "--slug", "lounge")

    [(pk, admin_key)] = admin_keys.items()
    episode = Episode.objects.get(pk=pk)
    assert episode.source_key == admin_key and episode.source_filename == "master.mp3"
    assert code == 0, out
    assert "audio uploaded in the admin during the import was kept" in out
    assert storage.head(import_keys[pk]) is None  # the feed's copy is not left behind
    other = Episode.objects.exclude(pk=pk).get()
    assert other.source_key == import_keys[other.pk]


def test_a_storage_error_fails_that_episode_only_with_the_reason(old_host, monkeypatch):
    from episodes.uploads import uploads_storage

    storage_class = type(uploads_storage())
    put_file = storage_class.put_file

    def full_disk_for_episode_1(self, path, key, **kwargs):
        if key.endswith("libsyn-1.mp3"):
            raise OSError(28, "No space left on device")
        return put_file(self, path, key, **kwargs)

    monkeypatch.setattr(storage_class, "put_file", full_disk_for_episode_1)
    code, out = run_import(old_host.url("/feeds/libsyn.xml"), "--slug", "lounge")

    assert code == 1
    assert "could not store the audio" in out and "No space left on device" in out
    podcast = only_the_first_episode_failed("No space left")

    monkeypatch.setattr(storage_class, "put_file", put_file)
    code, out = run_import(old_host.url("/feeds/libsyn.xml"))
    assert code == 0, out
    assert podcast.episodes.get(guid="a1b2c3d4-0001-4e5f-9a8b-libsyn000001").status == "ready"


def test_an_import_that_breaks_off_leaves_no_unrecorded_audio_behind(old_host, monkeypatch):
    from episodes.uploads import uploads_storage

    def database_gone(*args, **kwargs):
        raise RuntimeError("the database went away")

    monkeypatch.setattr(Episode, "mark_uploaded_many", database_gone)
    with pytest.raises(RuntimeError, match="went away"):
        run_import(old_host.url("/feeds/libsyn.xml"), "--slug", "lounge")

    folder = uploads_storage().local_path("uploads/lounge/")
    assert Podcast.objects.get(slug="lounge").episodes.filter(status="draft").count() == 2
    assert [p for p in folder.rglob("*") if p.is_file()] == []
