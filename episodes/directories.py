"""Podcast directories a show can link to from its public page, with the host each URL must use.

A creator pastes the show's listing URL from each directory's own site; the
public page turns the ones entered into "Listen on …" buttons. Each URL must be
https and on that directory's host, so a typo (or a hostile link dressed as
"Apple Podcasts") cannot send listeners elsewhere.
"""

from __future__ import annotations

from dataclasses import dataclass
from urllib.parse import urlsplit

from django.core.exceptions import ValidationError
from django.utils.deconstruct import deconstructible


@dataclass(frozen=True)
class Directory:
    field: str  # the Podcast field holding the show's URL there
    name: str  # as listeners know it
    hosts: tuple[str, ...]  # accepted hosts (exact, or a subdomain of one)
    example: str


DIRECTORIES: tuple[Directory, ...] = (
    Directory(
        "apple_podcasts_url",
        "Apple Podcasts",
        ("podcasts.apple.com",),
        "https://podcasts.apple.com/us/podcast/my-show/id1234567890",
    ),
    Directory(
        "spotify_url",
        "Spotify",
        ("open.spotify.com",),
        "https://open.spotify.com/show/0123456789abcdefghijkl",
    ),
    Directory("overcast_url", "Overcast", ("overcast.fm",), "https://overcast.fm/itunes1234567890"),
    Directory(
        "pocket_casts_url",
        "Pocket Casts",
        ("pca.st", "pocketcasts.com"),
        "https://pca.st/podcast/0123abcd-0000-0000-0000-000000000000",
    ),
    Directory(
        "antennapod_url",
        "AntennaPod",
        ("antennapod.org",),
        "https://antennapod.org/deeplink/subscribe?url=…",
    ),
    Directory(
        "podcast_addict_url",
        "Podcast Addict",
        ("podcastaddict.com",),
        "https://podcastaddict.com/podcast/1234567",
    ),
    Directory("castbox_url", "Castbox", ("castbox.fm",), "https://castbox.fm/channel/id1234567"),
    Directory(
        "youtube_music_url",
        "YouTube Music",
        ("music.youtube.com",),
        "https://music.youtube.com/playlist?list=PL…",
    ),
)
BY_FIELD = {d.field: d for d in DIRECTORIES}


def _host_matches(host: str, allowed: tuple[str, ...]) -> bool:
    return any(host == h or host.endswith("." + h) for h in allowed)


@deconstructible
class DirectoryURLValidator:
    """Refuse a URL that is not https on the directory's own host."""

    def __init__(self, field: str) -> None:
        self.field = field

    def __call__(self, value: str) -> None:
        directory = BY_FIELD[self.field]
        parts = urlsplit(value)
        host = (parts.hostname or "").lower()
        if parts.scheme != "https" or not _host_matches(host, directory.hosts):
            raise ValidationError(
                f"Use the show's https link on {' or '.join(directory.hosts)}, "
                f"e.g. {directory.example}",
                code="directory_host",
            )

    def __eq__(self, other: object) -> bool:
        return isinstance(other, DirectoryURLValidator) and other.field == self.field
