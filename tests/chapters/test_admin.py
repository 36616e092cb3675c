"""Chapters in the admin: the inline on the episode page, the JSON upload, warnings, tenancy."""

from __future__ import annotations

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.urls import reverse
from django.utils import timezone
from mutagen.id3 import ID3

from episodes.chapters.entries import ChapterEntry
from episodes.models import Chapter, Episode
from tests.admin_forms import empty_inlines
from tests.chapters.conftest import THREE, chapters_file, rendition_path


@pytest.fixture
def alice(make_creator):
    return make_creator("alice")


@pytest.fixture
def show(make_podcast, alice):
    return make_podcast(members=[alice], slug="alices-show")


def change_url(episode: Episode) -> str:
    return reverse("admin:episodes_episode_change", args=[episode.pk])


def form_data(episode: Episode, rows=(), *, initial=(), **extra) -> dict:
    """The episode form as the browser posts it, with chapter rows ``(start, title, …)``."""
    local = timezone.localtime(episode.publish_at) if episode.publish_at else None
    data = {
        "podcast": episode.podcast_id,
        "title": episode.title,
        "slug": episode.slug,
        "description": episode.description,
        "publish_at_0": local.strftime("%Y-%m-%d") if local else "",
        "publish_at_1": local.strftime("%H:%M:%S") if local else "",
        "episode_type": episode.episode_type,
        "chapters-TOTAL_FORMS": str(len(initial) + len(rows)),
        "chapters-INITIAL_FORMS": str(len(initial)),
        "chapters-MIN_NUM_FORMS": "0",
        "chapters-MAX_NUM_FORMS": "100",
        # The episode page's other inlines, empty (episodes/admin_namespace.py).
        **empty_inlines(("persons",)),
    }
    for n, (chapter, changes) in enumerate(initial):
        data[f"chapters-{n}-id"] = str(chapter.pk)
        data[f"chapters-{n}-episode"] = str(episode.pk)
        data[f"chapters-{n}-start"] = str(changes.get("start", chapter.start_seconds))
        data[f"chapters-{n}-title"] = changes.get("title", chapter.title)
        data[f"chapters-{n}-toc"] = "on"
        if changes.get("DELETE"):
            data[f"chapters-{n}-DELETE"] = "on"
    for n, row in enumerate(rows, len(initial)):
        start, title, *rest = row
        data[f"chapters-{n}-episode"] = str(episode.pk)
        data[f"chapters-{n}-start"] = start
        data[f"chapters-{n}-title"] = title
        data[f"chapters-{n}-url"] = rest[0] if rest else ""
        data[f"chapters-{n}-toc"] = "on"
    data.update(extra)
    return data


def titles(episode: Episode) -> list[tuple[float, str]]:
    return list(Chapter.objects.of(episode.pk).values_list("start_seconds", "title"))


def test_a_creator_edits_chapters_on_the_episode_page(client, alice, show, make_published):
    episode = make_published(show, slug="pilot")
    client.force_login(alice)
    page = client.get(change_url(episode))
    assert page.status_code == 200
    assert "chapters-TOTAL_FORMS" in page.text
    before = Episode.objects.get(pk=episode.pk).updated_at

    response = client.post(
        change_url(episode),
        form_data(episode, [("0:30", "Interview", "https://example.com/i"), ("0", "Intro")]),
    )

    assert response.status_code == 302, response.context["inline_admin_formsets"][0].formset.errors
    assert titles(episode) == [(0.0, "Intro"), (30.0, "Interview")]
    assert Episode.objects.get(pk=episode.pk).updated_at > before  # a new feed revision
    json_page = client.get(reverse("feeds:chapters", args=[show.slug, "pilot"]))
    assert [c["title"] for c in json_page.json()["chapters"]] == ["Intro", "Interview"]

    # Shown again sorted, with times as creators write them; a row can be removed.
    page = client.get(change_url(episode))
    assert 'value="0:30"' in page.text
    rows = list(Chapter.objects.of(episode.pk))
    client.post(
        change_url(episode),
        form_data(episode, initial=[(rows[0], {}), (rows[1], {"title": "Guest", "DELETE": True})]),
    )
    assert titles(episode) == [(0.0, "Intro")]


def test_two_chapters_can_swap_their_times(client, alice, show, make_published):
    episode = make_published(show, slug="pilot")
    Chapter.objects.replace_for(episode, [ChapterEntry(0, "Intro"), ChapterEntry(10, "Outro")])
    intro, outro = Chapter.objects.of(episode.pk)
    client.force_login(alice)

    response = client.post(
        change_url(episode),
        form_data(episode, initial=[(intro, {"start": "10"}), (outro, {"start": "0"})]),
    )

    assert response.status_code == 302
    assert titles(episode) == [(0.0, "Outro"), (10.0, "Intro")]


@pytest.mark.parametrize(
    ("rows", "message"),
    [
        ([("0:10", "One"), ("10", "Two")], "starts at the same time as the chapter before it"),
        ([("1:75", "Bad time")], "seconds must be below 60"),
        ([("soon", "Bad time")], "is not a time such as 1:02:03"),
        ([("2:00", "Too late")], "starts after the end of the audio (1:01.6)"),
        ([("0", "Bad link", "javascript:alert(1)")], "Enter a valid URL."),
        ([("0", "FTP link", "ftp://example.com/x")], "Use an http:// or https:// address."),
    ],
)
def test_inline_mistakes_are_shown_and_nothing_is_saved(
    client, alice, show, make_published, rows, message
):
    episode = make_published(show, slug="pilot")  # renditions of 61.6 s
    Chapter.objects.replace_for(episode, [ChapterEntry(0, "Kept")])
    client.force_login(alice)

    response = client.post(change_url(episode), form_data(episode, rows))

    assert response.status_code == 200
    assert message in response.text
    assert titles(episode) == [(0.0, "Kept")]


def test_a_chapters_file_replaces_every_chapter(client, alice, show, make_published):
    episode = make_published(show, slug="pilot")
    Chapter.objects.replace_for(episode, [ChapterEntry(1, "Old")])
    client.force_login(alice)
    upload = SimpleUploadedFile("chapters.json", THREE, content_type="application/json")

    response = client.post(
        change_url(episode),
        {**form_data(episode), "chapters_file": upload},
        follow=True,
    )

    assert response.status_code == 200
    assert "3 chapter(s) loaded from the file." in response.text
    assert titles(episode) == [(0.0, "Intro"), (2.5, "The interview"), (5.0, "Listener mail")]
    assert Chapter.objects.get(episode=episode, start_seconds=5).image_url == (
        "https://example.com/mail.jpg"
    )


@pytest.mark.parametrize(
    ("content", "messages"),
    [
        (b"{oops", ["Not JSON: Expecting property name enclosed in double quotes at line 1"]),
        (
            chapters_file({"startTime": 0, "title": "A"}, {"title": "B"}, {"startTime": "9"}),
            ["chapters[1].startTime: missing", "chapters[2].startTime: missing"],
        ),
        (
            chapters_file({"startTime": 0, "title": "A"}, {"startTime": 99}),
            [
                "Chapter 2 (1:39): starts after the end of the audio (1:01.6).",
                "Chapter 2 (1:39): the title is empty.",
            ],
        ),
        (
            chapters_file({"startTime": 3, "title": "A"}, {"startTime": 3, "title": "B"}),
            ["Chapter 2 (0:03): starts at the same time as the chapter before it."],
        ),
        (b"x" * (1024 * 1024 + 1), ["a chapters file may have at most 1,048,576"]),
    ],
)
def test_a_bad_chapters_file_is_refused_with_its_problems(
    client, alice, show, make_published, content, messages
):
    episode = make_published(show, slug="pilot")
    Chapter.objects.replace_for(episode, [ChapterEntry(1, "Old")])
    client.force_login(alice)
    upload = SimpleUploadedFile("chapters.json", content, content_type="application/json")

    response = client.post(change_url(episode), {**form_data(episode), "chapters_file": upload})

    assert response.status_code == 200
    errors = response.context["adminform"].form.errors["chapters_file"]
    for message in messages:
        assert any(message in e for e in errors), errors
    assert titles(episode) == [(1.0, "Old")]


def test_the_episode_page_warns_of_chapters_past_the_end_of_the_audio(
    client, alice, show, make_published
):
    episode = make_published(show, slug="pilot")  # 61.6 s: new, shorter audio
    Chapter.objects.replace_for(episode, [ChapterEntry(0, "Intro"), ChapterEntry(90, "Outro")])
    client.force_login(alice)

    page = client.get(change_url(episode))

    assert "The audio is 1:01.6 long, but 1 chapter(s) start after its end: “Outro” (1:30)." in (
        page.text.replace("&ldquo;", "“").replace("&rdquo;", "”")
    )


def test_another_creator_can_neither_see_nor_change_them(
    client, make_creator, make_podcast, show, make_published
):
    alices = make_published(show, slug="pilot")
    Chapter.objects.replace_for(alices, [ChapterEntry(0, "Alice's intro")])
    bob = make_creator("bob")
    bobs = make_published(make_podcast(members=[bob], slug="bobs-show"), slug="bobs-pilot")
    client.force_login(bob)

    assert client.get(change_url(alices)).status_code == 404
    hijack = client.post(change_url(alices), form_data(alices, [("0:05", "Bob was here")]))
    assert hijack.status_code == 404
    # Alice's chapter id smuggled into Bob's own episode form.
    alices_chapter = Chapter.objects.get(episode=alices)
    smuggled = client.post(
        change_url(bobs), form_data(bobs, initial=[(alices_chapter, {"title": "Stolen"})])
    )
    # The formset looks rows up among Bob's episode's chapters only: the foreign id is dropped.
    assert smuggled.status_code == 302
    assert titles(alices) == [(0.0, "Alice's intro")]
    assert titles(bobs) == []


def test_no_login_no_chapters(client, show, make_published):
    episode = make_published(show, slug="pilot")
    response = client.post(change_url(episode), form_data(episode, [("0", "Anon")]))
    assert response.status_code == 302 and "/login/" in response["Location"]
    assert titles(episode) == []


@pytest.mark.slow
def test_saving_the_inline_re_tags_the_files(
    client, alice, show, ready_episode, django_capture_on_commit_callbacks
):
    episode = ready_episode(show, slug="pilot")
    client.force_login(alice)

    with django_capture_on_commit_callbacks(execute=True):
        response = client.post(
            change_url(episode), form_data(episode, [("0", "Intro"), ("4", "End")])
        )

    assert response.status_code == 302
    chaps = ID3(rendition_path(episode, "mp3")).getall("CHAP")
    assert sorted(c.start_time for c in chaps) == [0, 4000]


def test_more_than_100_rows_are_refused_in_the_inline(client, alice, show, make_published):
    episode = make_published(show, slug="pilot")
    client.force_login(alice)
    rows = [(str(n / 10), f"Chapter {n}") for n in range(101)]

    response = client.post(change_url(episode), form_data(episode, rows))

    assert response.status_code == 200
    assert "Please submit at most 100 forms." in response.text
    assert titles(episode) == []
