"""The ingest's fast path: a clean block of CloudFront log lines, counted column by column.

A log file is read in blocks of whole lines (:func:`blocks`). When every line
of a block has exactly the fields the ``#Fields`` header names, the block is
split once on tabs and each column is a slice of that one list; dates, times,
numbers, paths and agents then go through the very functions
:meth:`~feeds.analytics.cloudfront.LogParser.scan` uses, but column by column
(``map`` over a list runs the loop in C) and each distinct path, agent, date
and time once. Anything ``scan`` would skip or read differently (a header, a
blank or overlong line, a value that does not parse, a range end without a
start…) makes the whole block go through ``scan`` line by line instead: a
block is counted exactly as ``scan`` counts it, whichever way it goes
(``tests/analytics/test_blocks.py`` compares both on random logs).

The counted requests of a block are grouped at once into their stored form
(:mod:`feeds.analytics.packed`), one buffer per listener, rendition and day,
and stored as events within the same memory limits as
:class:`~feeds.analytics.coalesce.Coalescer`.
"""

from __future__ import annotations

from collections import Counter, defaultdict, deque
from collections.abc import Iterator
from datetime import date
from itertools import compress, repeat
from operator import add, and_, gt, itemgetter, le, lt, sub
from typing import IO

from feeds.analytics import coalesce, packed, rules
from feeds.analytics.clients import classify
from feeds.analytics.cloudfront import (
    MAX_BYTE,
    MAX_LINE,
    LogParser,
    day_of,
    decode_agent,
    decode_path,
    seconds_of,
)

# Measured: bigger blocks are slower, their lists no longer fit the CPU's caches.
BLOCK_BYTES = 1 << 17
# Distinct (path, method, status, agent, date) remembered; past this, held
# requests are stored and the table starts afresh (a hostile log cannot grow it).
MAX_KNOWN = 50_000
# Not audio, or audio with a method or status that never counts.
_NOT_AUDIO, _METHOD, _STATUS = -1, -2, -3
_REASONS = ((_NOT_AUDIO, "not audio"), (_METHOD, "method"), (_STATUS, "status"))
_NO_VALUE = {"-": "0", "": "0"}
# A range end for a line without one: larger than any first byte + body a
# block may hold (bigger values send the block line by line).
_HUGE = 10**18
_NO_END = {"-": str(_HUGE), "": str(_HUGE)}


class NotClean(Exception):
    """A block the fast path does not take; it goes line by line instead."""


def blocks(stream: IO[bytes], size: int | None = None) -> Iterator[bytes]:
    """The stream's bytes in blocks of whole lines (each ends with a newline, but the last).

    A line is never split between blocks. A line longer than ``4 * MAX_LINE``
    bytes (more than ``MAX_LINE`` characters, whatever its encoding) is yielded
    alone, cut to its first ``4 * MAX_LINE + 1`` bytes, and the rest of it is
    read and dropped: memory stays bounded, and ``scan`` skips the line as it
    would skip the whole of it.
    """
    limit = 4 * MAX_LINE + 1
    size = size or BLOCK_BYTES
    while block := stream.read(size):
        if not block.endswith(b"\n"):
            block += stream.readline(limit)
            cut = block.rfind(b"\n") + 1
            if not block.endswith(b"\n") and len(block) - cut >= limit:
                if cut:
                    yield block[:cut]
                yield block[cut : cut + limit]
                while (rest := stream.readline(limit)) and not rest.endswith(b"\n"):
                    pass
                continue
        yield block


def _may_hold_a_long_line(text: str) -> bool:
    """False only if no line of ``text`` is longer than ``MAX_LINE`` characters.

    Any run of ``MAX_LINE + 1`` characters covers a whole window of half that
    size, so a window without a newline is the only place such a line can be.
    """
    window = (MAX_LINE + 1) // 2
    find = text.find
    return any(find("\n", at, at + window) < 0 for at in range(0, len(text) - window + 1, window))


class _Verdicts(dict):
    """``(path, method, status, agent, date)`` → a class index (audio that may count),
    or a negative reason code; computed once per distinct key."""

    def __init__(self, owner: BlockCounter) -> None:
        super().__init__()
        self.owner = owner

    def __missing__(self, key: tuple[str, str, str, str, str]) -> int:
        stem, method, status, agent, day_text = key
        status_code = int(status)  # ValueError: the block goes line by line
        midnight, day = self.owner.day(day_text)
        rendition_id = self.owner.paths.get(decode_path(stem))
        if rendition_id is None:
            verdict = _NOT_AUDIO
        elif method not in rules.COUNTED_METHODS:
            verdict = _METHOD
        elif status_code not in rules.COUNTED_STATUSES:
            verdict = _STATUS
        else:
            decoded = decode_agent(agent)
            verdict = len(self.owner.classes)
            self.owner.classes.append((rendition_id, day, midnight, decoded))
            self.owner.bot_of[verdict] = classify(decoded).is_bot
        self[key] = verdict
        return verdict


class _Seconds(dict):
    """``"HH:MM:SS"`` → microseconds since midnight, as :func:`seconds_of` reads it."""

    def __missing__(self, value: str) -> int:
        return seconds_of(value, self)


class BlockCounter:
    """Counts the clean blocks of an ingest; holds their requests until stored."""

    def __init__(self, parser: LogParser, paths: dict[str, int], maker: rules.EventMaker) -> None:
        self.parser, self.paths, self.maker = parser, paths, maker
        self.requests = 0  # counted requests taken
        self.rows = 0  # events stored
        self.ignored: Counter[str] = Counter()
        self.classes: list[tuple[int, date, int, str]] = []  # (rendition, day, midnight, agent)
        # class index (or reason code) → whether the agent is a bot
        self.bot_of: dict[int, bool] = dict.fromkeys(dict(_REASONS), False)
        self._verdicts = _Verdicts(self)
        self._seconds = _Seconds()
        self._days: dict[str, tuple[int, date]] = {}
        # address + chr(class) → the packed requests of that listener, rendition and day
        self._groups: defaultdict[str, bytearray] = defaultdict(bytearray)
        self._held = 0

    def day(self, value: str) -> tuple[int, date]:
        return self._days.get(value) or day_of(value, self._days)

    def take(self, block: bytes) -> bool:
        """Count ``block`` and return True if it is clean; else change nothing, return False."""
        if len(self._verdicts) > MAX_KNOWN:
            self.flush()  # held keys name classes by index: store them first
            self._verdicts.clear()
            self.classes.clear()
            self.bot_of = dict.fromkeys(dict(_REASONS), False)
        try:
            lines, ignored, keys, requests = self._count(block)
        except (NotClean, ValueError):
            return False
        self.parser.lines += lines
        self.ignored.update(ignored)
        groups = self._groups
        # One C loop: each request's 24 bytes onto its group's buffer.
        deque(map(bytearray.extend, map(groups.__getitem__, keys), requests), 0)
        self.requests += len(keys)
        self._held += len(keys)
        if self._held >= coalesce.MAX_HELD or len(groups) >= coalesce.MAX_GROUPS:
            self.flush()
        return True

    def _count(self, block: bytes):
        """(lines, ignored counts, group keys, packed requests) of a clean block.

        Raises :class:`NotClean` or ``ValueError`` for any other block.
        """
        parser = self.parser
        if parser.padded or not block.endswith(b"\n") or b"\r" in block:
            raise NotClean
        text = block.decode("utf-8", "replace")
        if _may_hold_a_long_line(text):
            raise NotClean
        lines = text.count("\n")
        tabs = parser.width - 1
        fields = text[:-1].split("\t")
        # Every line has exactly ``width`` fields if and only if there are
        # ``tabs * lines + 1`` fields and each field at a line joint holds a newline
        # (a block has ``lines - 1`` newlines, so then each holds exactly one).
        if len(fields) != tabs * lines + 1:
            raise NotClean
        joints = fields[tabs:-1:tabs]
        if not all(map(str.__contains__, joints, repeat("\n"))):
            raise NotClean
        pairs = list(map(str.split, joints, repeat("\n")))

        def column(index: int) -> list[str]:
            if index == 0:
                return [fields[0], *map(itemgetter(1), pairs)]
            if index == tabs:
                return [*map(itemgetter(0), pairs), fields[-1]]
            return fields[index::tabs]

        dates, times, statuses, sent, starts, ends, stems, methods, agents, addresses = map(
            column, parser.read_indexes
        )
        # Every line is read as scan reads it; a ValueError sends the block line by line.
        verdicts = list(
            map(
                self._verdicts.__getitem__,
                zip(stems, methods, statuses, agents, dates, strict=True),
            )
        )
        offsets = list(map(self._seconds.__getitem__, times))
        sent_bytes = list(map(int, sent))
        no_start = list(map(_NO_VALUE.__contains__, starts))
        no_end = list(map(_NO_VALUE.__contains__, ends))
        if any(map(gt, no_start, no_end)) or max(sent_bytes) >= _HUGE // 2:
            raise NotClean  # a range end without a start, or sizes beyond the sentinel
        firsts = list(map(int, map(_NO_VALUE.get, starts, starts)))
        range_ends = map(int, map(_NO_END.get, ends, ends))
        # scan: body bytes = min(sc-bytes, end - first + 1), so last = min(end, first + sent - 1).
        lasts = list(map(min, range_ends, map(add, firsts, map((-1).__add__, sent_bytes))))
        spans = list(map(sub, lasts, firsts))  # body bytes - 1
        if min(firsts) < 0 or min(spans) < -1 or max(lasts) >= MAX_BYTE:
            raise NotClean  # scan skips these lines

        ignored = Counter(verdicts)
        counts = {reason: ignored.pop(code, 0) for code, reason in _REASONS}
        audio = list(map(le, repeat(0), verdicts))
        listening = list(map(lt, repeat(rules.PROBE_MAX_BYTES - 1), spans))
        counts["probe"] = sum(map(gt, audio, listening))
        keep = list(map(and_, audio, listening))
        bots = list(map(self.bot_of.__getitem__, verdicts))
        counts["bot"] = sum(map(and_, keep, bots))
        keep = list(map(gt, keep, bots))  # audio, not a probe, not a bot

        def take(values: list) -> list:
            return list(compress(values, keep))

        kept = take(verdicts)
        classes = self.classes
        midnights = map(itemgetter(2), map(classes.__getitem__, kept))
        times_us = map(add, midnights, take(offsets))
        requests = list(map(packed.pack_one, times_us, take(firsts), take(lasts)))
        keys = list(map(add, take(addresses), map(chr, kept)))
        return lines, {k: n for k, n in counts.items() if n}, keys, requests

    def flush(self) -> None:
        """Store what is held (in the caller's transaction), 5,000 events at a time."""
        groups, classes, event = self._groups, self.classes, self.maker.packed_event
        while groups:
            batch = []
            for _ in range(min(5000, len(groups))):
                key, data = groups.popitem()
                rendition_id, day, _midnight, agent = classes[ord(key[-1])]
                batch.append(event(rendition_id, day, key[:-1], agent, bytes(data)))
            self.rows += rules.store_events(batch)
        self._held = 0
