"""The creators' admin: upload, edit and accept transcripts; only on their own shows."""

from __future__ import annotations

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.urls import reverse

from episodes.models import Transcript
from episodes.transcripts.cues import Cue
from tests.transcripts.conftest import FILES

ADD = "admin:episodes_transcript_add"


def change_url(transcript: Transcript) -> str:
    return reverse("admin:episodes_transcript_change", args=[transcript.pk])


def upload(name: str, data: bytes | None = None) -> SimpleUploadedFile:
    return SimpleUploadedFile(name, data if data is not None else (FILES / name).read_bytes())


@pytest.fixture
def two_creators(make_creator, make_podcast, make_published):
    alice, bob = make_creator("alice"), make_creator("bob")
    alices_show = make_podcast(members=[alice], slug="alices", language="fr")
    bobs_show = make_podcast(members=[bob], slug="bobs")
    return {
        "alice": alice,
        "bob": bob,
        "alices_episode": make_published(alices_show, slug="pilot", title="Alice's pilot"),
        "bobs_episode": make_published(bobs_show, slug="pilot", title="Bob's pilot"),
    }


@pytest.fixture
def alice(client, two_creators):
    client.force_login(two_creators["alice"])
    return client


def test_an_upload_is_validated_stored_and_published_in_the_shows_language(alice, two_creators):
    episode = two_creators["alices_episode"]
    form = alice.get(reverse(ADD) + f"?episode={episode.pk}")
    assert form.status_code == 200
    # The show's language is offered; empty also means it.
    assert 'name="language" value="fr"' in form.text
    for junk in ("x", "-1", "9" * 40):
        assert alice.get(reverse(ADD) + f"?episode={junk}").status_code == 200

    response = alice.post(
        reverse(ADD), {"episode": episode.pk, "language": "", "file": upload("lighthouse.vtt")}
    )

    assert response.status_code == 302
    transcript = Transcript.objects.get(episode=episode)
    assert (transcript.language, transcript.origin, transcript.status) == (
        "fr",
        "uploaded",
        "published",
    )
    assert transcript.source_filename == "lighthouse.vtt"
    assert transcript.cue_list()[0] == Cue(0.5, 3.2, "Welcome to the Lighthouse hour.", "Ana")
    page = alice.get(reverse("admin:episodes_episode_change", args=[episode.pk])).text
    assert f'href="{change_url(transcript)}">fr</a>' in page
    detail = alice.get(change_url(transcript)).text
    assert (
        "/alices/pilot/transcript.fr.vtt" in detail and "/alices/pilot/transcript.fr.json" in detail
    )


@pytest.mark.parametrize(
    ("name", "data", "message"),
    [
        (
            "bad.srt",
            b"1\n00:00:04,000 --> 00:00:01,000\nbackwards\n",
            "bad.srt: line 2: the cue ends",
        ),
        (
            "bad.vtt",
            b"1\n00:00:01,000 --> 00:00:02,000\nhi\n",
            "bad.vtt: line 1: a WebVTT file starts",
        ),
        ("slides.pdf", b"%PDF-1.7", "“.pdf” files are not transcripts"),
        ("empty.txt", b"", "empty"),
    ],
)
def test_a_bad_file_is_refused_with_the_line_and_nothing_is_stored(
    alice, two_creators, name, data, message
):
    episode = two_creators["alices_episode"]
    response = alice.post(
        reverse(ADD), {"episode": episode.pk, "language": "fr", "file": upload(name, data)}
    )
    assert response.status_code == 200
    assert message in response.text.replace("&#x27;", "'")
    assert not Transcript.objects.exists()


def test_a_malformed_language_tag_is_refused(alice, two_creators):
    response = alice.post(
        reverse(ADD),
        {
            "episode": two_creators["alices_episode"].pk,
            "language": "english!",
            "file": upload("lighthouse.vtt"),
        },
    )
    assert response.status_code == 200
    assert "Use a language tag such as “en”, “en-US” or “pt-BR”." in response.text
    assert not Transcript.objects.exists()


def test_an_oversized_upload_is_refused_with_the_limit(alice, two_creators, settings):
    settings.TRANSCRIPT_MAX_BYTES = 4096
    big = b"WEBVTT\n\n" + b"00:00:01.000 --> 00:00:02.000\nwords words words\n\n" * 200
    response = alice.post(
        reverse(ADD),
        {"episode": two_creators["alices_episode"].pk, "file": upload("big.vtt", big)},
    )
    assert response.status_code == 200
    assert (
        f"the file has {len(big):,} bytes; transcripts may have at most 4,096 bytes"
        in response.text
    )
    assert not Transcript.objects.exists()


def test_a_second_upload_in_the_same_language_is_sent_to_the_existing_transcript(
    alice, two_creators, attach
):
    episode = two_creators["alices_episode"]
    attach(episode, language="fr")
    response = alice.post(
        reverse(ADD), {"episode": episode.pk, "language": "fr", "file": upload("lighthouse.vtt")}
    )
    assert response.status_code == 200
    assert "already has a transcript in “fr”" in response.text
    assert Transcript.objects.count() == 1


def test_a_new_file_replaces_the_transcript_from_its_page(alice, two_creators, draft):
    transcript = draft(two_creators["alices_episode"], [Cue(0.0, 1.0, "draft words")], "fr")
    response = alice.post(change_url(transcript), {"file": upload("lighthouse-windows.srt")})
    assert response.status_code == 302
    transcript.refresh_from_db()
    assert (transcript.origin, transcript.status) == ("uploaded", "published")
    assert transcript.cue_list()[0].text == "Welcome to the Lighthouse hour."


def test_a_draft_is_edited_as_webvtt_then_accepted(alice, two_creators, draft):
    transcript = draft(
        two_creators["alices_episode"],
        [Cue(0.0, 2.0, "helo wrld", "Ana"), Cue(2.0, 4.0, "second line")],
        "fr",
    )
    page = alice.get(change_url(transcript)).text
    assert "draft (not published)" in page
    assert 'name="_accept" value="Accept and publish"' in page
    assert "00:00:00.000 --&gt; 00:00:02.000\n&lt;v Ana&gt;helo wrld" in page

    # Not WebVTT at all: said so, in the format's own words.
    response = alice.post(change_url(transcript), {"text": "Hello world"})
    assert "Line 1: a WebVTT file starts with “WEBVTT”" in response.text
    # A mistake in the edit: refused with its line, nothing saved, the text kept.
    first = "WEBVTT\n\n00:00:00.000 --> 00:00:02.000\n<v Ana>Hello world\n\n"
    broken = first + "00:00:05.000 --> 00:00:03.000\nx\n"
    response = alice.post(change_url(transcript), {"text": broken})
    assert response.status_code == 200
    assert "Line 6: the cue ends (00:00:03.000) before it starts (00:00:05.000)." in response.text
    assert "&lt;v Ana&gt;Hello world" in response.text
    transcript.refresh_from_db()
    assert transcript.cue_list()[0].text == "helo wrld"

    # Saved: still a draft, with the new words.
    fixed = first + "00:00:02.000 --> 00:00:04.000\nSecond line.\n"
    assert alice.post(change_url(transcript), {"text": fixed}).status_code == 302
    transcript.refresh_from_db()
    assert transcript.status == "draft"
    assert transcript.cue_list() == [
        Cue(0.0, 2.0, "Hello world", "Ana"),
        Cue(2.0, 4.0, "Second line."),
    ]

    # Accepted, with one more edit.
    accepted = fixed.replace("Second line.", "The second line.")
    response = alice.post(
        change_url(transcript), {"text": accepted, "_accept": "Accept and publish"}
    )
    assert response.status_code == 302
    transcript.refresh_from_db()
    assert transcript.status == "published"
    assert transcript.cue_list()[1].text == "The second line."
    assert (
        alice.get("/alices/pilot/transcript.fr.txt").content
        == b"Ana: Hello world\n\nThe second line.\n"
    )


def test_accept_without_edits_keeps_the_transcribers_exact_times(alice, two_creators, draft):
    cues = [Cue(0.1234, 1.98765, "exact times")]
    transcript = draft(two_creators["alices_episode"], cues, "fr")
    text = alice.get(change_url(transcript)).context["adminform"].form.initial["text"]
    response = alice.post(change_url(transcript), {"text": text, "_accept": "Accept and publish"})
    assert response.status_code == 302
    transcript.refresh_from_db()
    assert transcript.status == "published"
    assert transcript.cue_list() == cues


def test_pending_and_failed_automatic_transcripts_show_progress_and_reason(alice, two_creators):
    episode = two_creators["alices_episode"]
    pending = Transcript.objects.create(
        episode=episode,
        language="fr",
        origin="automatic",
        status="pending",
        progress_percent=42,
    )
    failed = Transcript.objects.create(
        episode=episode,
        language="de",
        origin="automatic",
        status="failed",
        error_message="No speech model for “de”: upload a transcript instead.",
    )
    page = alice.get(reverse("admin:episodes_episode_change", args=[episode.pk])).text
    assert 'being transcribed <progress max="100" value="42"></progress> 42%' in page
    assert "No speech model for “de”: upload a transcript instead." in page
    listing = alice.get(reverse("admin:episodes_transcript_changelist")).text
    assert 'value="42"' in listing and "No speech model" in listing
    # Nothing to edit while the transcriber works, and no accept.
    detail = alice.get(change_url(pending)).text
    assert 'name="text"' not in detail and "_accept" not in detail
    assert 'name="file"' in detail
    assert 'name="text"' not in alice.get(change_url(failed)).text
    # An edit posted anyway changes nothing.
    alice.post(change_url(pending), {"text": "WEBVTT\n\n00:01.000 --> 00:02.000\nsneaky\n"})
    pending.refresh_from_db()
    assert (pending.status, pending.cues) == ("pending", [])


def test_the_list_action_accepts_the_selected_drafts(alice, two_creators, draft):
    transcript = draft(two_creators["alices_episode"], [Cue(0.0, 1.0, "words")], "fr")
    response = alice.post(
        reverse("admin:episodes_transcript_changelist"),
        {"action": "accept_drafts", "_selected_action": [transcript.pk]},
    )
    assert response.status_code == 302
    transcript.refresh_from_db()
    assert transcript.status == "published"


def test_a_creator_never_sees_or_touches_another_creators_transcripts(
    client, two_creators, attach, draft
):
    alices = attach(two_creators["alices_episode"], language="fr")
    alices_draft = draft(two_creators["alices_episode"], [Cue(0.0, 1.0, "private")], "de")
    client.force_login(two_creators["bob"])

    listing = client.get(reverse("admin:episodes_transcript_changelist"))
    assert listing.status_code == 200
    assert "Alice" not in listing.text
    for transcript in (alices, alices_draft):
        for view in ("change", "delete", "history"):
            url = reverse(f"admin:episodes_transcript_{view}", args=[transcript.pk])
            assert client.get(url).status_code == 404
        assert client.post(change_url(transcript), {"text": "WEBVTT\n"}).status_code == 404
        assert (
            client.post(
                reverse("admin:episodes_transcript_delete", args=[transcript.pk]), {"post": "yes"}
            ).status_code
            == 404
        )
    # Attaching to her episode: not a choice Bob has.
    response = client.post(
        reverse(ADD),
        {
            "episode": two_creators["alices_episode"].pk,
            "language": "en",
            "file": upload("lighthouse.vtt"),
        },
    )
    assert response.status_code == 200
    assert "Select a valid choice" in response.text
    # The add form's episode preset does not reveal her show's language either.
    form = client.get(reverse(ADD) + f"?episode={two_creators['alices_episode'].pk}").text
    assert 'value="fr"' not in form
    # The bulk action acts on his own rows only.
    client.post(
        reverse("admin:episodes_transcript_changelist"),
        {"action": "accept_drafts", "_selected_action": [alices_draft.pk]},
    )
    alices_draft.refresh_from_db()
    assert alices_draft.status == "draft"
    assert Transcript.objects.filter(episode=two_creators["alices_episode"]).count() == 2


def test_the_admin_needs_a_login(client, two_creators, attach):
    transcript = attach(two_creators["alices_episode"], language="fr")
    for url in (reverse(ADD), change_url(transcript)):
        response = client.get(url)
        assert response.status_code == 302
        assert "/login/" in response["Location"]


def test_a_creator_deletes_a_transcript(alice, two_creators, attach):
    transcript = attach(two_creators["alices_episode"], language="fr")
    response = alice.post(
        reverse("admin:episodes_transcript_delete", args=[transcript.pk]), {"post": "yes"}
    )
    assert response.status_code == 302
    assert not Transcript.objects.exists()
    assert alice.get("/alices/pilot/transcript.fr.vtt").status_code == 404


def test_saving_a_pending_transcripts_page_unchanged_is_not_an_error(alice, two_creators):
    pending = Transcript.objects.create(
        episode=two_creators["alices_episode"], language="fr", origin="automatic", status="pending"
    )
    response = alice.post(change_url(pending), {})
    assert response.status_code == 302
    pending.refresh_from_db()
    assert pending.status == "pending"


def test_a_transcript_too_long_for_a_form_post_is_replaced_by_file_instead(
    alice, two_creators, draft, settings
):
    settings.DATA_UPLOAD_MAX_MEMORY_SIZE = 100_000
    many = [Cue(i, i + 1, f"cue number {i}") for i in range(2000)]
    transcript = draft(two_creators["alices_episode"], many, "fr")
    page = alice.get(change_url(transcript)).text
    assert 'name="text"' not in page
    assert "Too long to edit here" in page
    # Accepting it still works: nothing to post but the button.
    response = alice.post(change_url(transcript), {"_accept": "Accept and publish"})
    assert response.status_code == 302
    transcript.refresh_from_db()
    assert transcript.status == "published" and len(transcript.cues) == 2000
