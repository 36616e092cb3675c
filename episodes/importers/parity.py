"""The parity report: the old feed's items against our feed, as a real client reads it.

Our feed is rendered exactly as it is served (:func:`feeds.rss.build_feed`)
and parsed with feedparser; for every item of the old feed the report says
whether ours has the same guid, title, pubDate, episode number and a
duration within 1 s, or why it is missing.
"""

from __future__ import annotations

import calendar
from dataclasses import dataclass, field
from datetime import UTC, datetime

import feedparser
from django.utils import timezone

from episodes.importers.rss import parse_duration
from episodes.models import Episode, ImportRun
from feeds.rss import build_feed

DURATION_TOLERANCE_SECONDS = 1.0
# Why a later item with an earlier item's guid is not imported (apps would take it for that one).
DUPLICATE_GUID = "a second item with the same guid"
# Longer guids are cut in the report's lines (the report itself keeps them whole).
SHOWN_GUID_CHARS = 100


@dataclass
class ItemParity:
    guid: str
    title: str
    differences: list[str] = field(default_factory=list)
    missing: str = ""

    @property
    def ok(self) -> bool:
        return not self.differences and not self.missing


@dataclass
class ParityReport:
    old_count: int
    new_count: int
    items: list[ItemParity]
    problems: list[dict]

    @property
    def clean(self) -> bool:
        return self.old_count == self.new_count and all(i.ok for i in self.items)

    def lines(self) -> list[str]:
        """The report as text, one line per item that differs, then the totals."""
        out = [f"items: old feed {self.old_count}, our feed {self.new_count}"]
        for item in self.items:
            guid = _shown(item.guid)
            if item.missing:
                out.append(f"MISSING {guid} “{item.title}”: {item.missing}")
            elif item.differences:
                out.append(f"DIFFERS {guid} “{item.title}”: {'; '.join(item.differences)}")
        for p in self.problems:
            if not p.get("dropped"):
                out.append(f"note {_shown(p['guid']) or '(show)'}: {p['problem']}")
        ok = sum(i.ok for i in self.items)
        out.append(f"same guid, title, pubDate, number and duration: {ok} of {self.old_count}")
        out.append("parity: clean" if self.clean else "parity: NOT clean")
        return out


def _shown(guid: str) -> str:
    return guid if len(guid) <= SHOWN_GUID_CHARS else guid[:SHOWN_GUID_CHARS] + "…"


def _served(entry) -> dict:
    published = entry.get("published_parsed")
    return {
        "title": entry.get("title", ""),
        "published_at": datetime.fromtimestamp(calendar.timegm(published), UTC)
        if published
        else None,
        "number": int(entry["itunes_episode"]) if entry.get("itunes_episode") else None,
        "duration_seconds": parse_duration(entry.get("itunes_duration", "")),
    }


def _why_missing(run: ImportRun, guid: str, episodes: dict[str, Episode]) -> str:
    for p in run.problems:
        if p.get("dropped") and p.get("guid") == guid:
            return p["problem"]
    episode = episodes.get(guid)
    if episode is None:
        return "not imported"
    if episode.status == Episode.Status.FAILED:
        return f"failed processing: {episode.error_message}"
    if episode.status in (Episode.Status.UPLOADED, Episode.Status.PROCESSING):
        return "still processing"
    if episode.status == Episode.Status.DRAFT:
        return episode.error_message or "no audio yet"
    return "not in the feed"


def _differences(old: dict, ours: dict) -> list[str]:
    diffs = []
    if old["title"] != ours["title"]:
        diffs.append(f"title “{ours['title']}” (was “{old['title']}”)")
    old_at = datetime.fromisoformat(old["published_at"]) if old["published_at"] else None
    if old_at is not None and ours["published_at"] != old_at.replace(microsecond=0):
        diffs.append(f"pubDate {ours['published_at']} (was {old_at})")
    if old["number"] != ours["number"]:
        diffs.append(f"episode number {ours['number']} (was {old['number']})")
    was, now = old["duration_seconds"], ours["duration_seconds"]
    if was is not None and (now is None or abs(now - was) > DURATION_TOLERANCE_SECONDS):
        diffs.append(f"duration {now} s (was {was:g} s)")
    return diffs


def parity_report(run: ImportRun, *, now: datetime | None = None) -> ParityReport:
    """Compare the run's snapshot of the old feed with the podcast's feed as served at ``now``."""
    now = now or timezone.now()
    podcast = run.podcast
    served: dict[str, dict] = {}
    if podcast is not None:
        parsed = feedparser.parse(build_feed(podcast, now=now).body)
        served = {e.get("id", ""): _served(e) for e in parsed.entries}
        episodes = {e.guid: e for e in podcast.episodes.all()}
    else:
        episodes = {}
    items = []
    seen: set[str] = set()
    for old in run.old_items:
        repeated = bool(old["guid"]) and old["guid"] in seen
        seen.add(old["guid"])
        ours = None if repeated else served.get(old["guid"])
        parity = ItemParity(old["guid"], old["title"])
        if repeated:
            parity.missing = DUPLICATE_GUID
        elif ours is None:
            parity.missing = _why_missing(run, old["guid"], episodes)
        else:
            parity.differences = _differences(old, ours)
        items.append(parity)
    return ParityReport(len(run.old_items), len(served), items, list(run.problems))
