"""podcast:integrity: the SRI SHA-384 of each rendition, computed when it is recorded,
equals a hash computed independently from the file the feed's URL serves."""

from __future__ import annotations

import base64
import hashlib
import urllib.request
from datetime import timedelta

import pytest
from django.core.files.base import ContentFile
from django.core.files.storage import storages
from lxml import etree

from episodes.integrity import sri_sha384
from episodes.models import Episode
from feeds.rss import NAMESPACES, build_feed
from tests.transcoding.conftest import generate_audio, put_upload, s3  # noqa: F401

P = NAMESPACES["podcast"]


def independent_sri(data: bytes) -> str:
    return "sha384-" + base64.b64encode(hashlib.sha384(data).digest()).decode()


@pytest.mark.parametrize("size", [0, 1, 1024 * 1024, 3 * 1024 * 1024 + 17])
def test_sri_sha384_of_a_stored_file(size):
    data = bytes((i * 7919) % 251 for i in range(size))
    media = storages["media"]
    key = media.save("hash/file.bin", ContentFile(data))
    assert sri_sha384(media, key) == independent_sri(data)


def test_sri_sha384_of_an_object_in_s3(s3):  # noqa: F811  (moto, the S3 media storage)
    data = bytes(range(256)) * 9000  # over 2 MiB: several chunks
    s3.put_object(Bucket="show-media", Key="show/ep/mp3.mp3", Body=data)
    assert sri_sha384(storages["media"], "show/ep/mp3.mp3") == independent_sri(data)
    with pytest.raises(FileNotFoundError):
        sri_sha384(storages["media"], "show/ep/missing.mp3")


def test_sri_sha384_of_a_missing_file_raises():
    with pytest.raises(FileNotFoundError):
        sri_sha384(storages["media"], "hash/nothing-here.bin")


@pytest.mark.slow
# Committed rows: the live server's thread records each download in the database.
@pytest.mark.django_db(transaction=True)
def test_integrity_in_the_feed_is_the_hash_of_the_served_file(
    make_podcast,
    make_episode,
    tmp_path,
    now,
):
    podcast = make_podcast()
    episode = make_episode(podcast, publish_at=now - timedelta(minutes=5))
    source = generate_audio(tmp_path / "talk.wav", content="speech", seconds=2.0)
    key = put_upload(episode, source)
    # The commit runs the real pipeline (eager Celery, real ffmpeg): probe, encode, finish.
    assert episode.mark_uploaded(source_key=key, source_bytes=source.stat().st_size)
    episode.refresh_from_db()
    assert episode.status == Episode.Status.READY

    renditions = {r.preset: r for r in episode.renditions.all()}
    assert renditions and all(r.integrity.startswith("sha384-") for r in renditions.values())

    item = etree.fromstring(build_feed(podcast, now=now).body).find("channel/item")
    alternates = item.findall(f"{{{P}}}alternateEnclosure")
    assert len(alternates) == len(renditions)
    for alt in alternates:
        url = alt.find(f"{{{P}}}source").get("uri")
        with urllib.request.urlopen(url, timeout=30) as response:
            served = response.read()
        integrity = alt.find(f"{{{P}}}integrity")
        assert integrity.get("type") == "sri"
        assert integrity.get("value") == independent_sri(served), alt.get("type")
        assert alt.get("length") == str(len(served))


def test_a_rendition_recorded_before_hashing_has_no_integrity_element(make_published, now):
    episode = make_published()
    assert set(episode.renditions.values_list("integrity", flat=True)) == {""}
    item = etree.fromstring(build_feed(episode.podcast, now=now).body).find("channel/item")
    alternates = item.findall(f"{{{P}}}alternateEnclosure")
    assert len(alternates) == 3
    assert all(a.find(f"{{{P}}}integrity") is None for a in alternates)
