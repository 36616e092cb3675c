"""Cover art is checked when it is uploaded: Apple's rules, with messages that say what to do."""

from __future__ import annotations

import io

import pytest
from django.core.exceptions import ValidationError
from django.core.files.uploadedfile import SimpleUploadedFile
from PIL import Image

from episodes.artwork import validate_cover_art


def image_file(width: int, height: int, fmt: str, *, mode: str = "RGB", name: str = ""):
    buffer = io.BytesIO()
    Image.new(mode, (width, height), color=(200, 30, 30) if mode == "RGB" else None).save(
        buffer, fmt
    )
    ext = {"JPEG": "jpg", "PNG": "png", "GIF": "gif"}[fmt]
    return SimpleUploadedFile(name or f"cover.{ext}", buffer.getvalue())


def messages_of(upload) -> str:
    with pytest.raises(ValidationError) as info:
        validate_cover_art(upload)
    return " ".join(info.value.messages)


@pytest.mark.parametrize(
    ("width", "fmt", "name"),
    [(1400, "JPEG", "a.jpg"), (3000, "PNG", "a.png"), (2048, "JPEG", "a.JPEG")],
)
def test_good_cover_art_is_accepted(width, fmt, name):
    validate_cover_art(image_file(width, width, fmt, name=name))


def test_too_small():
    assert "between 1400x1400 and 3000x3000 px; this image is 1000x1000" in messages_of(
        image_file(1000, 1000, "JPEG")
    )


def test_too_big():
    assert "this image is 3200x3200" in messages_of(image_file(3200, 3200, "PNG"))


def test_not_square():
    assert "must be square; this image is 1600x1400" in messages_of(image_file(1600, 1400, "JPEG"))


def test_cmyk_is_refused():
    assert "RGB colour space (this image is CMYK)" in messages_of(
        image_file(1400, 1400, "JPEG", mode="CMYK")
    )


def test_transparent_png_is_refused():
    assert "RGB colour space" in messages_of(image_file(1400, 1400, "PNG", mode="RGBA"))


def test_gif_is_refused():
    assert "must be a JPEG or PNG file, not GIF" in messages_of(image_file(1400, 1400, "GIF"))


def test_wrong_extension():
    text = messages_of(image_file(1400, 1400, "PNG", name="cover.jpg"))
    assert "is a PNG image but its name ends in “.jpg”; rename it to end in .png" in text


def test_not_an_image():
    assert "not an image" in messages_of(SimpleUploadedFile("cover.jpg", b"hello"))


def test_admin_form_refuses_bad_cover(make_podcast):
    """The model field carries the validator, so the admin's form refuses the upload."""
    podcast = make_podcast()
    podcast.cover = image_file(500, 500, "JPEG")
    with pytest.raises(ValidationError) as info:
        podcast.full_clean()
    assert "cover" in info.value.message_dict
