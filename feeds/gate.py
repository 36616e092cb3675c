"""The publish gate: what must hold before a rendering replaces the published feed.

:func:`check_publish` runs inside every publish (:mod:`feeds.publishing`), on
the rendering about to be written and the feed last published:

* the project's feed checks (:mod:`feeds.validation`, what ``validate_feed``
  prints); those that directories reject — owner e-mail, artwork, category,
  explicit — and a feed that is not well-formed are errors, the rest warnings;
* the diff against the last published feed: an item whose ``<guid>`` changed
  (apps would download it again as a new episode) and an item that vanished
  although its episode is still published (the creator neither unpublished
  nor deleted it) are errors;
* every enclosure new since then must answer ``HEAD`` at its public URL with
  its type, ``Accept-Ranges: bytes`` and the recorded length (Apple fetches
  it so: https://podcasters.apple.com/support/823-podcast-requirements).

Errors block the publish and keep the last good feed; warnings do not.
:func:`check_saved_show` is the part that needs no network and no history:
the admin shows it while a creator edits a show.
"""

from __future__ import annotations

import re
import threading
import urllib.error
import urllib.request

# ElementTree parses only feeds we rendered ourselves, never outside input.
import xml.etree.ElementTree as ET
from collections.abc import Iterable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import asdict, dataclass
from datetime import datetime

from django.conf import settings

from episodes.models import Episode, Podcast
from feeds.rss import NAMESPACES, build_feed, item_guid
from feeds.validation import check_chapter_times, check_cover_art, check_feed_xml

ERROR = "error"
WARNING = "warning"

# Several HEAD requests at a time: a first publish checks every enclosure.
_HEAD_CONCURRENCY = 8
# After this many failed HEADs the publish is blocked anyway: stop, so a host
# that is down costs seconds, not one timeout per episode of a large show.
_MAX_HEAD_FAILURES = 20

_SHOW_PAGE = "on the show's page in the admin"


@dataclass(frozen=True)
class Finding:
    """One problem the gate found: ``error`` blocks the publish, ``warning`` does not."""

    severity: str
    message: str
    fix: str

    @property
    def blocking(self) -> bool:
        return self.severity == ERROR

    def as_dict(self) -> dict[str, str]:
        return asdict(self)

    @classmethod
    def of(cls, data: dict) -> Finding:
        return cls(data.get("severity", WARNING), data.get("message", ""), data.get("fix", ""))


# How a message of feeds.validation is judged and fixed: the first pattern that
# matches wins. Errors: what Apple Podcasts and Spotify refuse a feed for
# (https://podcasters.apple.com/support/823-podcast-requirements,
# https://support.spotify.com/us/creators/article/podcast-specification-doc/),
# and a feed no app could read.
_RULES: tuple[tuple[re.Pattern, str, str], ...] = tuple(
    (re.compile(pattern), severity, fix)
    for pattern, severity, fix in (
        (
            r"not well-formed|exactly one <channel>|root element|does not start with <\?xml",
            ERROR,
            "The rendering is broken: report it to the site's operator with the show's slug.",
        ),
        (
            r"<itunes:owner>",
            ERROR,
            "Enter the owner e-mail (Ownership) " + _SHOW_PAGE + ": directories send their "
            "verification mail there.",
        ),
        (
            r"<itunes:image>|^Cover art:",
            ERROR,
            "Upload square cover art (JPEG or PNG, RGB, 1400-3000 px) in the Cover field "
            + _SHOW_PAGE
            + ".",
        ),
        (
            r"itunes:category",
            ERROR,
            "Choose a category from Apple's list " + _SHOW_PAGE + ".",
        ),
        (
            r"<itunes:explicit>",
            ERROR,
            "Set the Explicit box " + _SHOW_PAGE + " or the episode's page.",
        ),
        (r"<itunes:author>", WARNING, "Enter the Author " + _SHOW_PAGE + "."),
        (
            r"<podcast:guid>",
            WARNING,
            "Expected for a show imported from another host; otherwise report it to the operator.",
        ),
        (
            r"serial show needs",
            WARNING,
            "Number every episode, or make the show episodic " + _SHOW_PAGE + ".",
        ),
        (r"^Item ", WARNING, "Correct it on that episode's page in the admin."),
        (r"^Channel: ", WARNING, "Correct it " + _SHOW_PAGE + "."),
    )
)
_DEFAULT_FIX = "Correct it on the show's or the episode's page in the admin."


def judge(message: str) -> Finding:
    """A message of :mod:`feeds.validation` as a finding: its severity and how to fix it."""
    for pattern, severity, fix in _RULES:
        if pattern.search(message):
            return Finding(severity, message, fix)
    return Finding(WARNING, message, _DEFAULT_FIX)


# --- what a feed holds ---


@dataclass(frozen=True)
class _Item:
    guid: str
    title: str
    enclosure_url: str
    enclosure_type: str
    enclosure_length: str


def _items(body: bytes) -> list[_Item]:
    try:
        root = ET.fromstring(body)  # noqa: S314
    except ET.ParseError:
        return []
    items = []
    for item in root.iter("item"):
        enclosure = item.find("enclosure")
        attrs = enclosure.attrib if enclosure is not None else {}
        items.append(
            _Item(
                guid=(item.findtext("guid") or "").strip(),
                title=item.findtext("title") or "",
                enclosure_url=attrs.get("url", ""),
                enclosure_type=attrs.get("type", ""),
                enclosure_length=attrs.get("length", ""),
            )
        )
    return items


def _cover_url(body: bytes) -> str:
    try:
        root = ET.fromstring(body)  # noqa: S314
    except ET.ParseError:
        return ""
    image = root.find(f"channel/{{{NAMESPACES['itunes']}}}image")
    return image.get("href", "") if image is not None else ""


# --- the checks ---


def check_rendering(podcast: Podcast, body: bytes, *, now: datetime) -> list[Finding]:
    """The feed checks of ``validate_feed`` on ``body``, judged (no network, no history)."""
    return [judge(m) for m in check_feed_xml(body, feed_url=podcast.feed_url, now=now)]


def check_saved_show(podcast: Podcast, *, now: datetime) -> list[Finding]:
    """What the gate would say about ``podcast`` as saved, minus the network and the diff.

    Shown while a creator edits the show, so an error is seen before a publish is blocked.
    """
    return check_offline(podcast, build_feed(podcast, now=now).body, now=now)


def check_offline(podcast: Podcast, body: bytes, *, now: datetime) -> list[Finding]:
    """The feed checks on ``body`` and the cover art file: all but the diff and the network."""
    return (
        check_rendering(podcast, body, now=now)
        + [judge(m) for m in check_cover_art(podcast)]
        + [judge(m) for m in check_chapter_times(podcast, now=now)]
    )


def check_history(
    podcast: Podcast, body: bytes, previous: bytes, *, now: datetime
) -> list[Finding]:
    """Errors in the change from the ``previous`` published feed to ``body``.

    An item whose guid changed (same enclosure file, another guid), and an
    item that vanished while its episode is still published with audio. An
    episode that was unpublished, rescheduled, deleted or moved to another show
    may leave.
    """
    before, after = _items(previous), _items(body)
    after_guids = {item.guid for item in after}
    by_enclosure = {item.enclosure_url: item for item in after if item.enclosure_url}
    gone = [item for item in before if item.guid not in after_guids]
    if not gone:
        return []
    episodes = {
        item_guid(e): e
        for e in Episode.objects.filter(podcast=podcast).prefetch_related("renditions")
    }
    findings = []
    for item in gone:
        successor = by_enclosure.get(item.enclosure_url)
        if successor is not None and successor.guid != item.guid:
            findings.append(
                Finding(
                    ERROR,
                    f"Item “{item.title[:60]}”: its guid changed from {item.guid} to "
                    f"{successor.guid}; apps would download it again as a new episode.",
                    "An episode's guid must never change: restore the old one, or delete the "
                    "episode and create it anew if it really is a different episode.",
                )
            )
            continue
        episode = episodes.get(item.guid)
        if episode is None or not episode.is_published(now):
            continue  # deleted, moved, unpublished or rescheduled by the creator
        reason = (
            "its audio files are gone"
            if not episode.renditions.all()
            else "it is published but was not rendered"
        )
        findings.append(
            Finding(
                ERROR,
                f"Item “{item.title[:60]}” ({item.guid}) vanished from the feed: {reason}.",
                "Re-process the episode's audio (Retry, or upload it again), or unpublish or "
                "delete the episode if it should leave the feed.",
            )
        )
    return findings


def head_problem(url: str, *, mime_type: str, length: str, timeout: float) -> str:
    """Why ``url`` does not serve as a podcast enclosure; ``""`` when it does.

    ``HEAD`` must answer 2xx (after redirects) with ``Content-Type`` ``mime_type``,
    ``Accept-Ranges: bytes`` and ``Content-Length`` ``length``. Never raises.
    """
    if not url.lower().startswith(("http://", "https://")):
        # Never let urllib open file: or ftp: URLs on the worker's behalf.
        return f"{url[:200]} is not an http(s) URL"
    try:
        request = urllib.request.Request(url, method="HEAD")  # noqa: S310  (our own URLs)
        with urllib.request.urlopen(request, timeout=timeout) as response:  # noqa: S310
            headers = response.headers
    except urllib.error.HTTPError as exc:
        return f"HEAD {url} answered {exc.code}"
    except (OSError, ValueError) as exc:
        return f"HEAD {url} failed: {getattr(exc, 'reason', exc)}"
    problems = []
    got_type = (headers.get("Content-Type") or "").split(";")[0].strip().lower()
    if got_type != mime_type.lower():
        problems.append(f"Content-Type {got_type or 'missing'} (expected {mime_type})")
    if "bytes" not in (headers.get("Accept-Ranges") or "").lower():
        problems.append("no Accept-Ranges: bytes")
    if (headers.get("Content-Length") or "").strip() != length:
        problems.append(
            f"Content-Length {headers.get('Content-Length') or 'missing'} (the feed says {length})"
        )
    return f"HEAD {url}: {', '.join(problems)}" if problems else ""


def check_new_enclosures(body: bytes, previous: bytes | None) -> list[Finding]:
    """Errors for enclosures new since ``previous`` that do not answer ``HEAD`` properly."""
    known = {item.enclosure_url for item in _items(previous)} if previous else set()
    new = [item for item in _items(body) if item.enclosure_url and item.enclosure_url not in known]
    if not new:
        return []
    timeout = settings.FEED_ENCLOSURE_CHECK_TIMEOUT_SECONDS
    failures = 0
    lock = threading.Lock()

    def check(item: _Item) -> str | None:
        nonlocal failures
        with lock:
            if failures >= _MAX_HEAD_FAILURES:
                return None  # blocked already: the rest would only add time, not news
        problem = head_problem(
            item.enclosure_url,
            mime_type=item.enclosure_type,
            length=item.enclosure_length,
            timeout=timeout,
        )
        if problem:
            with lock:
                failures += 1
        return problem

    with ThreadPoolExecutor(max_workers=min(_HEAD_CONCURRENCY, len(new))) as pool:
        answers = list(pool.map(check, new))
    fix = (
        "Check that the file is in the media storage and that its public URL serves it "
        "(one machine: the web server at PUBLIC_BASE_URL; AWS: the CloudFront domain); "
        "then publish again."
    )
    findings = [
        Finding(
            ERROR,
            f"Item “{item.title[:60]}”: its audio does not answer as apps fetch it: {problem}.",
            fix,
        )
        for item, problem in zip(new, answers, strict=True)
        if problem
    ]
    unchecked = answers.count(None)
    if unchecked:
        findings.append(Finding(ERROR, f"{unchecked} more new enclosures were not checked.", fix))
    return findings


def check_publish(
    podcast: Podcast, body: bytes, *, previous: bytes | None, now: datetime
) -> list[Finding]:
    """Every finding on ``body`` about to replace ``previous`` (``None``: never published)."""
    findings = check_rendering(podcast, body, now=now)
    if not previous or _cover_url(previous) != _cover_url(body):
        # The file is checked when its URL is new; the XML check covers its presence.
        findings += [judge(m) for m in check_cover_art(podcast)]
    if previous:
        findings += check_history(podcast, body, previous, now=now)
    findings += check_new_enclosures(body, previous)
    # Warnings ("Item …"): shorter new audio left chapters past its end.
    findings += [judge(m) for m in check_chapter_times(podcast, now=now)]
    return findings


def errors_of(findings: Iterable[Finding]) -> list[Finding]:
    return [f for f in findings if f.blocking]
