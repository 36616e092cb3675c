"""Requests held together until stored: one event per listener, rendition and day.

An ingest hands every counted request to :meth:`Coalescer.add`; requests of
the same listener (address + user agent) for the same rendition on the same
UTC day go into one :class:`~feeds.analytics.models.DownloadEvent` row with
all their times and ranges (:mod:`feeds.analytics.packed`). Nothing about a
request is lost, so the counting is the same as with a row per request.

Memory is bounded whatever the file's size: when :data:`MAX_HELD` requests
or :data:`MAX_GROUPS` listeners are held, everything held is stored.
"""

from __future__ import annotations

from array import array
from datetime import date

from feeds.analytics import packed
from feeds.analytics.rules import EventMaker, store_events

# About 24 bytes a request, and 200 (the fast path's groups) to 400 bytes a
# group: 20 to 30 MiB at the limits, whatever the file's size. Each flush
# stores a row per group held, so larger limits mean fewer, fuller rows.
MAX_HELD = 400_000
MAX_GROUPS = 50_000


class Coalescer:
    """Collects requests, stores them as events; :meth:`flush` stores what is left."""

    def __init__(self, maker: EventMaker) -> None:
        self.maker = maker
        self.requests = 0  # requests added
        self.rows = 0  # events stored
        self._groups: dict[tuple[int, date, str, str], array] = {}
        self._held = 0

    def add(
        self,
        rendition_id: int,
        day: date,
        address: str,
        user_agent: str,
        us: int,
        first: int,
        last: int,
    ) -> None:
        """Hold one counted request: epoch microseconds, body bytes ``first`` to ``last``."""
        key = (rendition_id, day, address, user_agent)
        group = self._groups.get(key)
        if group is None:
            group = self._groups[key] = packed.new()
        group.extend((us, first, last))
        self.requests += 1
        self._held += 1
        if self._held >= MAX_HELD or len(self._groups) >= MAX_GROUPS:
            self.flush()

    def flush(self) -> None:
        """Store everything held (inside the caller's transaction), 5,000 events at a time."""
        event, groups = self.maker.event, self._groups
        while groups:
            batch = []
            for _ in range(min(5000, len(groups))):
                (rendition_id, day, address, agent), group = groups.popitem()
                batch.append(event(rendition_id, day, address, agent, group))
            self.rows += store_events(batch)
        self._held = 0
