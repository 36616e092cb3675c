"""Which client made a request: app, device, OS, or a bot — from the OPAWG lists.

The patterns are the Open Podcast Analytics Working Group's user-agent lists
(``data/``, MIT), matched in the order their files prescribe: bots, apps,
libraries, browsers, the first matching entry of a file in file order; a
library whose ``category`` is ``bot`` is a bot too.
https://github.com/opawg/user-agents-v2

The lists name no operating system, so the OS comes from the few platform
tokens every user agent carries (``Android``, ``iPhone``, ``Windows``...).
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass
from functools import cache, lru_cache
from pathlib import Path

DATA = Path(__file__).resolve().parent / "data"
UNKNOWN = "Unknown"

# First match wins; Apple's frameworks (CFNetwork/Darwin) without a device
# token are almost always iOS apps.
_OS_PATTERNS = (
    ("watchOS", re.compile(r"watchOS|Watch OS|AppleWatch|Apple Watch")),
    ("Android", re.compile(r"Android|ExoPlayer|okhttp", re.IGNORECASE)),
    ("iOS", re.compile(r"iPhone|iPad|iPod|\biOS\b|AppleCoreMedia/.*\(iP")),
    ("macOS", re.compile(r"Macintosh|Mac OS X|macOS|Darwin.*Mac")),
    ("Windows", re.compile(r"Windows")),
    ("ChromeOS", re.compile(r"CrOS")),
    ("Linux", re.compile(r"Linux|X11")),
    ("iOS", re.compile(r"CFNetwork|Darwin")),
)


@dataclass(frozen=True)
class Client:
    kind: str  # "bot", "app", "library", "browser" or "unknown"
    app: str
    device: str
    os: str

    @property
    def is_bot(self) -> bool:
        return self.kind == "bot"


@cache
def _entries(name: str) -> tuple[tuple[re.Pattern[str], dict], ...]:
    with (DATA / f"{name}.json").open(encoding="utf-8") as f:
        entries = json.load(f)["entries"]
    return tuple((re.compile(entry["pattern"]), entry) for entry in entries)


def _first(name: str, user_agent: str) -> dict | None:
    for pattern, entry in _entries(name):
        if pattern.search(user_agent):
            return entry
    return None


def _os(user_agent: str) -> str:
    for name, pattern in _OS_PATTERNS:
        if pattern.search(user_agent):
            return name
    return UNKNOWN


@lru_cache(maxsize=8192)
def classify(user_agent: str) -> Client:
    """The client behind ``user_agent``; an empty or unknown agent is ``kind="unknown"``.

    Cached: a log holds few distinct agents.
    """
    if not user_agent.strip():
        return Client("unknown", UNKNOWN, UNKNOWN, UNKNOWN)
    if (bot := _first("bots", user_agent)) is not None:
        return Client("bot", bot["name"], UNKNOWN, UNKNOWN)
    kind, entry = "unknown", None
    for candidate, name in (("app", "apps"), ("library", "libraries"), ("browser", "browsers")):
        if (entry := _first(name, user_agent)) is not None:
            kind = candidate
            break
    if entry is not None and kind == "library" and entry.get("category") == "bot":
        return Client("bot", entry["name"], UNKNOWN, UNKNOWN)
    device = _first("devices", user_agent)
    return Client(
        kind,
        entry["name"] if entry else UNKNOWN,
        device["name"] if device else UNKNOWN,
        _os(user_agent),
    )
