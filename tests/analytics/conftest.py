"""Fixtures of the analytics tests: a show with a rendition, and CloudFront log lines."""

from __future__ import annotations

import gzip
from datetime import UTC, datetime
from pathlib import Path
from urllib.parse import quote

import pytest

from episodes.models import Rendition
from feeds.analytics.clients import classify
from feeds.analytics.cloudfront import DEFAULT_FIELDS

FIXTURES = Path(__file__).parent / "fixtures"
# Real user agents, from the OPAWG lists' examples.
APPLE = "AppleCoreMedia/1.0.0.20E252 (iPhone; U; CPU OS 16_4_1 like Mac OS X; en_us)"
OVERCAST = "Overcast/3.0 (+http://overcast.fm/; iOS podcast app)"
POCKETCASTS = "Pocket Casts"
SPOTIFY = "Spotify/8.8.12 Android/33 (SM-G991B)"
BOT = "Mozilla/5.0 (compatible; Googlebot/2.1; +http://www.google.com/bot.html)"
T0 = datetime(2026, 11, 30, 9, 0, tzinfo=UTC)
# 8 kb/s: one minute is 60,000 bytes; the file is 400,000.
BITRATE = 8_000
SIZE = 400_000
MINUTE_BYTES = BITRATE * 60 // 8


@pytest.fixture
def rendition(make_podcast, make_episode, now):
    podcast = make_podcast(slug="stats-show", title="Stats show")
    episode = make_episode(podcast, title="Pilot", slug="pilot", publish_at=T0)
    return Rendition.objects.create(
        episode=episode,
        preset="mp3",
        key="stats-show/0f0e/mp3.mp3",
        mime_type="audio/mpeg",
        size_bytes=SIZE,
        bitrate=BITRATE,
        duration_seconds=400.0,
    )


def cf_line(
    at: datetime,
    *,
    ip: str = "198.51.100.7",
    agent: str = APPLE,
    stem: str = "/stats-show/0f0e/mp3.mp3",
    method: str = "GET",
    status: int = 206,
    first: int | None = 0,
    last: int | None = None,
    served: int | None = None,
) -> str:
    """One CloudFront standard log line (33 tab-separated fields, URL-encoded agent)."""
    if last is None:
        last = SIZE - 1
    body = last - (first or 0) + 1
    values = dict.fromkeys(DEFAULT_FIELDS, "-")
    values.update(
        {
            "date": at.strftime("%Y-%m-%d"),
            "time": at.strftime("%H:%M:%S"),
            "x-edge-location": "FRA56-P5",
            # sc-bytes counts the response headers too.
            "sc-bytes": str((served if served is not None else body) + 350),
            "c-ip": ip,
            "cs-method": method,
            "cs(Host)": "d111111abcdef8.cloudfront.net",
            "cs-uri-stem": stem,
            "sc-status": str(status),
            "cs(User-Agent)": quote(agent, safe="/;(),:+"),
            "x-edge-result-type": "Hit",
            "x-edge-request-id": "ZwnP9bk0Jx2nH7hYGk0bZ6PqL4nWcQ==",
            "x-host-header": "d111111abcdef8.cloudfront.net",
            "cs-protocol": "https",
            "cs-bytes": "180",
            "time-taken": "0.002",
            "ssl-protocol": "TLSv1.3",
            "ssl-cipher": "TLS_AES_128_GCM_SHA256",
            "x-edge-response-result-type": "Hit",
            "cs-protocol-version": "HTTP/2.0",
            "c-port": "51234",
            "time-to-first-byte": "0.001",
            "x-edge-detailed-result-type": "Hit",
            "sc-content-type": "audio/mpeg",
            "sc-content-len": str(body),
            "sc-range-start": "-" if first is None or status == 200 else str(first),
            "sc-range-end": "-" if first is None or status == 200 else str(last),
        }
    )
    return "\t".join(values[name] for name in DEFAULT_FIELDS)


HEADER = "#Version: 1.0\n#Fields: " + " ".join(DEFAULT_FIELDS) + "\n"


def write_log(path: Path, lines: list[str], *, compress: bool = True) -> Path:
    """A log file as CloudFront delivers it: header lines, then one request a line."""
    text = (HEADER + "".join(f"{line}\n" for line in lines)).encode()
    path.write_bytes(gzip.compress(text) if compress else text)
    return path


@pytest.fixture(autouse=True)
def _agents_are_what_we_think():
    # The known answers below rest on these classifications.
    assert classify(BOT).is_bot
    assert not classify(APPLE).is_bot and not classify(OVERCAST).is_bot
