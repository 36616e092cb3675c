"""Cover-art rules: what Apple accepts, checked when the image is uploaded.

Square JPEG or PNG, 1400-3000 px a side, RGB colour space, and a file
extension that matches the real format:
https://podcasters.apple.com/support/823-podcast-requirements (artwork).
Wrong artwork is a classic reason for a show to be rejected, so it is refused
at upload with a message that says how to fix it rather than found later.
"""

from __future__ import annotations

import os

from django.core.exceptions import ValidationError
from PIL import Image, UnidentifiedImageError

MIN_SIDE = 1400
MAX_SIDE = 3000
_EXTENSIONS = {"JPEG": {".jpg", ".jpeg"}, "PNG": {".png"}}


def validate_cover_art(file) -> None:
    """Raise :class:`ValidationError` unless ``file`` is cover art Apple accepts.

    ``file`` is an uploaded or stored file (anything with ``name`` and a
    readable binary stream). Leaves the stream at position 0.
    """
    name = getattr(file, "name", "") or ""
    try:
        file.seek(0)
        with Image.open(file) as image:
            fmt, mode, (width, height) = image.format, image.mode, image.size
    except (UnidentifiedImageError, OSError, ValueError):
        raise ValidationError(
            "This file is not an image we can read. Upload a JPEG or PNG.", code="not_image"
        ) from None
    finally:
        file.seek(0)
    errors = []
    if fmt not in _EXTENSIONS:
        errors.append(
            ValidationError(
                f"Cover art must be a JPEG or PNG file, not {fmt or 'this format'}. "
                "Export it as JPEG or PNG.",
                code="format",
            )
        )
    else:
        ext = os.path.splitext(name)[1].lower()
        if ext not in _EXTENSIONS[fmt]:
            expected = " or ".join(sorted(_EXTENSIONS[fmt]))
            errors.append(
                ValidationError(
                    f"The file is a {fmt} image but its name ends in “{ext or '(nothing)'}”; "
                    f"rename it to end in {expected}.",
                    code="extension",
                )
            )
    if mode != "RGB":
        space = "CMYK" if mode == "CMYK" else f"“{mode}”"
        errors.append(
            ValidationError(
                f"Cover art must use the RGB colour space (this image is {space}). "
                "Convert it to RGB without transparency and upload it again.",
                code="colour_space",
            )
        )
    if width != height:
        errors.append(
            ValidationError(
                f"Cover art must be square; this image is {width}x{height} px. "
                "Crop it to equal width and height.",
                code="not_square",
            )
        )
    side = min(width, height) if width != height else width
    if not MIN_SIDE <= side <= MAX_SIDE or not MIN_SIDE <= max(width, height) <= MAX_SIDE:
        errors.append(
            ValidationError(
                f"Cover art must be between {MIN_SIDE}x{MIN_SIDE} and {MAX_SIDE}x{MAX_SIDE} px; "
                f"this image is {width}x{height} px.",
                code="size",
            )
        )
    if errors:
        raise ValidationError(errors)
