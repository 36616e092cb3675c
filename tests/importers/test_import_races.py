"""What a creator (or a second click) does while an import runs is never undone or lost."""

from __future__ import annotations

import contextlib
import io
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest
from django.core.files.base import ContentFile
from django.core.management import call_command
from django.db import OperationalError
from django.urls import reverse

from episodes import pipeline
from episodes.importers import shows
from episodes.importers.safe_http import CHUNK_BYTES
from episodes.importers.shows import ImportRefused, fetch_feed
from episodes.models import Episode, ImportRun, Podcast
from episodes.uploads import uploads_storage

pytestmark = pytest.mark.django_db(transaction=True)

SHOW_ART = "/art/square.jpg"
ITEM_ART = "/art/item.jpg"


def feed(host, items: str) -> bytes:
    return (
        "<?xml version='1.0' encoding='utf-8'?><rss version='2.0' "
        "xmlns:itunes='http://www.itunes.com/dtds/podcast-1.0.dtd'><channel>"
        "<title>Probe Show</title><description>d</description>"
        f"<itunes:image href='{host.base}{SHOW_ART}'/>{items}</channel></rss>"
    ).encode()


def item(host, n, *, art=False, guid=None) -> str:
    image = f"<itunes:image href='{host.base}{ITEM_ART}'/>" if art else ""
    return (
        f"<item><title>Episode {n}</title><guid>{guid or f'g{n}'}</guid>"
        f"<pubDate>Tue, 0{1 + n % 9} Nov 2026 08:00:00 +0000</pubDate>{image}"
        f"<enclosure url='{host.base}/audio/e{n}.mp3' length='1' type='audio/mpeg'/></item>"
    )


def serve(host, body: bytes) -> str:
    host.extra["/f.xml"] = (200, "application/rss+xml", body)
    return host.url("/f.xml")


def import_command(*args: str) -> str:
    out = io.StringIO()
    with contextlib.suppress(SystemExit):
        call_command("import_feed", *args, stdout=out, stderr=io.StringIO())
    return out.getvalue()


def test_an_episode_deleted_mid_import_with_its_own_artwork_lets_the_others_finish(
    old_host, make_creator, monkeypatch
):
    url = serve(old_host, feed(old_host, item(old_host, 1, art=True) + item(old_host, 2)))
    run = ImportRun.objects.create(source=url, slug="probe", requested_by=make_creator())
    fetch = shows.fetch_image

    def creator_deletes_episode_1(image_url):
        if image_url.endswith(ITEM_ART):  # its audio is downloaded, its artwork comes next
            Episode.objects.filter(guid="g1").delete()
        return fetch(image_url)

    monkeypatch.setattr(shows, "fetch_image", creator_deletes_episode_1)

    assert shows.run_feed_import(run.pk) == "imported"

    run.refresh_from_db()
    assert run.status == "done", run.error_message
    assert list(Episode.objects.values_list("guid", "status")) == [("g2", "ready")]


def test_episode_artwork_the_creator_sets_during_the_download_is_kept(
    old_host, make_creator, monkeypatch
):
    url = serve(old_host, feed(old_host, item(old_host, 1, art=True)))
    run = ImportRun.objects.create(source=url, slug="probe", requested_by=make_creator())
    fetch = shows.fetch_image
    mine = old_host.images[SHOW_ART]

    def creator_sets_artwork(image_url):
        if image_url.endswith(ITEM_ART):  # while the feed's artwork downloads
            Episode.objects.get(guid="g1").image.save("mine.jpg", ContentFile(mine))
        return fetch(image_url)

    monkeypatch.setattr(shows, "fetch_image", creator_sets_artwork)

    assert shows.run_feed_import(run.pk) == "imported"

    with Episode.objects.get(guid="g1").image.open("rb") as f:
        assert f.read() == mine
    run.refresh_from_db()
    assert any("artwork set here during the import was kept" in p["problem"] for p in run.problems)


def test_show_edits_made_while_the_show_artwork_downloads_are_kept(
    old_host, make_creator, monkeypatch
):
    url = serve(old_host, feed(old_host, item(old_host, 1)))
    run = ImportRun.objects.create(
        source=url, slug="probe", requested_by=make_creator(), skip_media=True
    )
    fetch = shows.fetch_image

    def creator_edits_meanwhile(image_url):
        Podcast.objects.filter(slug="probe").update(title="My own title")
        return fetch(image_url)

    monkeypatch.setattr(shows, "fetch_image", creator_edits_meanwhile)
    shows.run_feed_import(run.pk)

    podcast = Podcast.objects.get(slug="probe")
    assert podcast.title == "My own title" and podcast.cover  # and the artwork came over


def test_a_show_deleted_while_its_artwork_downloads_stays_deleted(
    old_host, make_creator, monkeypatch
):
    url = serve(old_host, feed(old_host, item(old_host, 1)))
    run = ImportRun.objects.create(
        source=url, slug="probe", requested_by=make_creator(), skip_media=True
    )
    fetch = shows.fetch_image

    def creator_deletes_meanwhile(image_url):
        Podcast.objects.filter(slug="probe").delete()
        return fetch(image_url)

    monkeypatch.setattr(shows, "fetch_image", creator_deletes_meanwhile)

    assert shows.run_feed_import(run.pk) == "refused"

    run.refresh_from_db()
    assert not Podcast.objects.exists() and not Episode.objects.exists()
    assert run.status == "failed" and "was deleted during the import" in run.error_message


def test_a_second_click_on_import_shows_the_first_import(client, make_creator, old_host):
    client.force_login(make_creator())
    url = serve(old_host, feed(old_host, item(old_host, 1)))
    form = reverse("admin:episodes_podcast_import")

    with pytest.MonkeyPatch.context() as m:  # the first click's task has not started yet
        m.setattr("episodes.admin_import._enqueue", lambda run: None)
        one = client.post(form, {"feed_url": url})
        two = client.post(form, {"feed_url": url})

    [run] = ImportRun.objects.all()
    assert one.url == two.url == reverse("admin:episodes_podcast_import_run", args=[run.pk])


def test_two_runs_creating_the_same_show_at_once_end_in_one_show(
    old_host, make_creator, monkeypatch
):
    """Both plan before either has created the show (two workers, a second click)."""
    user = make_creator()
    url = serve(old_host, feed(old_host, item(old_host, 1)))
    first = ImportRun.objects.create(source=url, slug="probe", requested_by=user, skip_media=True)
    second = ImportRun.objects.create(source=url, slug="probe", requested_by=user, skip_media=True)
    plan = shows.plan_import
    started = []

    def both_plan_first(run, show, *, user):
        result = plan(run, show, user=user)
        if not started:
            started.append(1)
            shows.run_feed_import(second.pk)
        return result

    monkeypatch.setattr(shows, "plan_import", both_plan_first)
    shows.run_feed_import(first.pk)

    first.refresh_from_db()
    second.refresh_from_db()
    assert Podcast.objects.count() == 1 and Episode.objects.count() == 1
    assert (first.status, second.status) == ("done", "done"), first.error_message


def test_ctrl_c_after_a_batch_is_recorded_keeps_its_audio(old_host, monkeypatch):
    """Ctrl-C lands while a recorded batch is handed to processing (in the main thread
    with eager Celery): those episodes are imported, so their audio must stay."""
    url = serve(old_host, feed(old_host, item(old_host, 1) + item(old_host, 2)))
    monkeypatch.setattr(shows.settings, "IMPORT_PARALLEL_DOWNLOADS", 1)
    process = pipeline.process_episode
    calls = []

    def ctrl_c_during_first_processing(*args, **kwargs):
        calls.append(1)
        if len(calls) == 1:
            raise KeyboardInterrupt
        return process(*args, **kwargs)

    monkeypatch.setattr(pipeline, "process_episode", ctrl_c_during_first_processing)
    with pytest.raises(KeyboardInterrupt):
        import_command(url, "--slug", "probe")

    recorded = Episode.objects.exclude(status="draft")
    assert recorded.exists()
    for episode in recorded:
        assert uploads_storage().head(episode.source_key) is not None, episode.guid


def test_a_busy_database_is_left_to_the_tasks_retry(old_host, make_creator, monkeypatch):
    url = serve(old_host, feed(old_host, item(old_host, 1)))
    run = ImportRun.objects.create(
        source=url, slug="busy", requested_by=make_creator(), skip_media=True
    )

    def busy(*args, **kwargs):
        raise OperationalError("database is locked")

    monkeypatch.setattr(shows, "_save_episodes", busy)

    with pytest.raises(OperationalError):
        shows.run_feed_import(run.pk)

    run.refresh_from_db()
    assert run.status == "running"  # a retry of the task resumes it
    shows.give_up(run.pk, "database is locked")  # once the retries are used up
    run.refresh_from_db()
    assert run.status == "failed" and "kept failing (database is locked)" in run.error_message


def test_a_resumed_import_finds_an_episode_whose_guid_an_older_import_squeezed(old_host, tmp_path):
    path = tmp_path / "feed.xml"
    path.write_bytes(feed(old_host, item(old_host, 1, guid="ep\n   1")))
    import_command(str(path), "--slug", "ws", "--skip-media")
    Episode.objects.update(guid="ep 1")  # what imports before verbatim guids stored

    out = import_command(str(path), "--skip-media")

    assert list(Episode.objects.values_list("guid", flat=True)) == ["ep 1"]
    assert "guid kept as first imported" in out


def test_a_re_run_with_the_slug_of_a_show_made_under_older_rules_resumes(old_host, tmp_path):
    path = tmp_path / "feed.xml"
    path.write_bytes(feed(old_host, item(old_host, 1)))
    import_command(str(path), "--slug", "ok-show", "--skip-media")
    Podcast.objects.update(slug="Media")  # reserved since; older imports could make it

    import_command(str(path), "--slug", "Media", "--skip-media")

    assert Podcast.objects.get().slug == "Media" and Episode.objects.count() == 1


@pytest.fixture
def stalls_after_one_chunk():
    """HTTP/1.0 (no Content-Length: the body ends when the connection does): one
    CHUNK_BYTES block of a feed at once, then nothing for 4 s."""
    head = b"<?xml version='1.0'?><rss version='2.0'><channel><title>S</title>"
    body = head + b" " * (CHUNK_BYTES - len(head))

    class Stall(BaseHTTPRequestHandler):
        def log_message(self, *args):
            pass

        def do_GET(self):
            self.send_response(200)
            self.send_header("Content-Type", "application/rss+xml")
            self.end_headers()
            self.wfile.write(body)
            self.wfile.flush()
            time.sleep(4)
            self.wfile.write(b"<item></item></channel></rss>")

    server = ThreadingHTTPServer(("127.0.0.1", 0), Stall)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    yield f"http://127.0.0.1:{server.server_address[1]}"
    server.shutdown()
    server.server_close()


def test_a_body_cut_off_at_the_deadline_is_never_taken_as_whole(settings, stalls_after_one_chunk):
    settings.IMPORT_FEED_TIMEOUT_SECONDS = 1.0
    settings.IMPORT_READ_TIMEOUT_SECONDS = 3.0

    with pytest.raises(ImportRefused, match="took too long"):
        fetch_feed(f"{stalls_after_one_chunk}/f.xml")
