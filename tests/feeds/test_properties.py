"""Property-based: whatever creators type, the feed stays well-formed and both clients read it."""

from __future__ import annotations

import itertools
import uuid
import xml.etree.ElementTree as ET
from datetime import timedelta

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from episodes.models import Podcast
from feeds.rss import NAMESPACES, build_feed, render_feed
from tests.feeds.conftest import parse_both, write_rendition

_ids = itertools.count(1)

# Arbitrary Unicode (PostgreSQL text cannot hold NUL, so the database tests leave it
# out; NUL is covered without a database below), plus the nasty bits on purpose.
nasty = st.sampled_from(
    [
        "]]>",
        "<![CDATA[",
        "<b>bold</b>",
        "&amp;",
        "&",
        "<",
        "\x01",
        "\x0b",
        "\x1f",
        "\ufffe",
        "😀",
        "👩‍👩‍👧",
        "\u202e",
        "<script>alert(1)</script>",
        '"',
        "'",
        "\r\n",
        "\t",
    ]
)
# No NUL (Django's form fields refuse it) and no lone surrogates (UTF-8 from a
# browser cannot carry them): everything else a creator can type is fair game.
typed = st.characters(blacklist_characters="\x00", blacklist_categories=("Cs",))
text = st.lists(st.one_of(st.text(alphabet=typed), nasty), max_size=8).map("".join)


def one_line(value: str) -> str:
    """What the feed promises for one-line fields: XML-safe, spaces collapsed, ≤ 255."""
    import re

    cleaned = re.sub("[\x00-\x08\x0b\x0c\x0e-\x1f\ufffe\uffff]", "", value)
    return " ".join(cleaned.split())[:255].strip()


@settings(
    max_examples=40, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(title=text, description=text, author=text, episode_title=text, notes=text)
def test_any_text_gives_a_well_formed_feed_both_clients_parse(
    make_podcast, make_episode, now, title, description, author, episode_title, notes
):
    n = next(_ids)
    podcast = make_podcast(slug=f"prop-{n}", title=title, description=description, author=author)
    episode = make_episode(
        podcast,
        slug=f"e-{n}",
        title=episode_title,
        description=notes,
        publish_at=now - timedelta(hours=1),
    )
    write_rendition(episode, "mp3", b"audio" * 100)

    body = build_feed(podcast, now=now).body
    root = ET.fromstring(body)  # noqa: S314 (our own output) — raises if not well-formed
    channel = root.find("channel")
    assert (channel.findtext("title") or "") == one_line(title)
    itunes_author = channel.findtext(f"{{{NAMESPACES['itunes']}}}author")
    assert (itunes_author or "") == one_line(author)
    item = channel.find("item")
    assert (item.findtext("title") or "") == one_line(episode_title)

    fp, pp = parse_both(body)
    assert not fp.bozo, fp.get("bozo_exception")
    assert [e.id for e in fp.entries] == [str(episode.guid)]
    assert [e.enclosures[0].length for e in fp.entries] == ["500"]
    assert [e["guid"] for e in pp["episodes"]] == [str(episode.guid)]
    assert pp["episodes"][0]["title"] == one_line(episode_title)
    assert pp["episodes"][0]["enclosures"][0]["file_size"] == 500


@settings(max_examples=60, deadline=None)
@given(title=st.text(), description=st.text())
def test_nul_and_every_control_character_are_dropped(title, description):
    podcast = Podcast(
        slug="nul",
        title=title,
        description=description,
        language="en",
        category="Technology",
        podcast_guid=uuid.uuid4(),
    )
    from django.utils import timezone

    body = render_feed(podcast, [], built_at=timezone.now())
    channel = ET.fromstring(body).find("channel")  # noqa: S314
    assert (channel.findtext("title") or "") == one_line(title)
    fp, _ = parse_both(body)
    assert not fp.bozo, fp.get("bozo_exception")
