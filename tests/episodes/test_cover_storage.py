"""Cover art goes to the ``media`` storage configured when it is saved, not at import time."""

from __future__ import annotations

import io
from pathlib import Path

from django.core.files.base import ContentFile
from PIL import Image

from episodes.models import Podcast


def png() -> ContentFile:
    buffer = io.BytesIO()
    Image.new("RGB", (16, 16), "red").save(buffer, "PNG")
    return ContentFile(buffer.getvalue(), name="cover.png")


def point_media_at(settings, folder: Path, base_url: str) -> None:
    storages = dict(settings.STORAGES)
    storages["media"] = {
        "BACKEND": "django.core.files.storage.FileSystemStorage",
        "OPTIONS": {"location": str(folder), "base_url": base_url},
    }
    settings.STORAGES = storages


def test_overriding_storages_moves_where_a_cover_is_written(settings, tmp_path, make_podcast):
    podcast = make_podcast(slug="art-show")
    point_media_at(settings, tmp_path / "first", "https://cdn-one.example/")
    podcast.cover.save("cover.png", png())
    first_name, first_url = podcast.cover.name, podcast.cover.url

    point_media_at(settings, tmp_path / "second", "https://cdn-two.example/")
    podcast = Podcast.objects.get(pk=podcast.pk)
    podcast.cover.save("cover.png", png())

    assert (tmp_path / "first" / first_name).is_file()
    assert first_url.startswith("https://cdn-one.example/covers/art-show/")
    assert (tmp_path / "second" / podcast.cover.name).is_file()
    assert podcast.cover.url.startswith("https://cdn-two.example/covers/art-show/")
    assert not (tmp_path / "first" / podcast.cover.name).exists()


def test_tests_covers_land_in_the_isolated_storage(isolated_storages, make_podcast):
    podcast = make_podcast()
    podcast.cover.save("cover.png", png())

    assert (isolated_storages / "media" / podcast.cover.name).is_file()
