"""CloudFront standard (access) logs → :class:`~feeds.analytics.rules.MediaRequest`.

The format: tab-separated, one request a line, ``#Version`` and ``#Fields``
header lines naming the columns, URL-encoded ``cs-uri-stem`` and
``cs(User-Agent)``, ``-`` for an empty value, delivered gzip-compressed:
https://docs.aws.amazon.com/AmazonCloudFront/latest/DeveloperGuide/standard-logs-reference.html

Columns are found by the ``#Fields`` header, so a file with columns added or
reordered still parses; without a header the documented order is assumed.
A line that cannot be read is counted in :attr:`LogParser.skipped`, never raised.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from datetime import UTC, date, datetime
from datetime import time as dt_time
from functools import lru_cache
from operator import itemgetter
from urllib.parse import unquote

from feeds.analytics.packed import from_microseconds, microseconds
from feeds.analytics.rules import MediaRequest

DEFAULT_FIELDS = (
    "date",
    "time",
    "x-edge-location",
    "sc-bytes",
    "c-ip",
    "cs-method",
    "cs(Host)",
    "cs-uri-stem",
    "sc-status",
    "cs(Referer)",
    "cs(User-Agent)",
    "cs-uri-query",
    "cs(Cookie)",
    "x-edge-result-type",
    "x-edge-request-id",
    "x-host-header",
    "cs-protocol",
    "cs-bytes",
    "time-taken",
    "x-forwarded-for",
    "ssl-protocol",
    "ssl-cipher",
    "x-edge-response-result-type",
    "cs-protocol-version",
    "fle-status",
    "fle-encrypted-fields",
    "c-port",
    "time-to-first-byte",
    "x-edge-detailed-result-type",
    "sc-content-type",
    "sc-content-len",
    "sc-range-start",
    "sc-range-end",
)
REQUIRED = ("date", "time", "sc-bytes", "c-ip", "cs-method", "cs-uri-stem", "sc-status")
# The columns LogParser.scan reads, in the order it unpacks them; those not
# in REQUIRED read as "-" when a file's header lacks them.
READ = (
    "date",
    "time",
    "sc-status",
    "sc-bytes",
    "sc-range-start",
    "sc-range-end",
    "cs-uri-stem",
    "cs-method",
    "cs(User-Agent)",
    "c-ip",
)
# Longest line worth reading: CloudFront truncates long fields; anything far
# longer is not a CloudFront log line.
MAX_LINE = 64 * 1024
# Bytes beyond this cannot be a real offset (and do not fit a stored int64).
MAX_BYTE = 2**63 - 1


@lru_cache(maxsize=4096)
def _decode(value: str) -> str:
    # CloudFront encodes spaces and other characters as %XX; some agents arrive
    # encoded twice (%2520), so decode until stable (at most three times).
    for _ in range(3):
        decoded = unquote(value)
        if decoded == value:
            break
        value = decoded
    return value


# A request as LogParser.scan yields it: (microseconds since the epoch, UTC day,
# decoded path, method, status, first byte, body bytes sent, decoded user
# agent, client address).
Scanned = tuple[int, date, str, str, int, int, int, str, str]


def decode_path(stem: str) -> str:
    """A ``cs-uri-stem`` value as the path it names."""
    return _decode(stem) if "%" in stem else stem


def decode_agent(agent: str) -> str:
    """A ``cs(User-Agent)`` value as the agent it names (``""`` for ``-``)."""
    return "" if agent == "-" else _decode(agent)


def day_of(value: str, known: dict[str, tuple[int, date]]) -> tuple[int, date]:
    """``(midnight of the day in epoch µs, the date)``, remembered in ``known``."""
    day = date.fromisoformat(value)
    if len(known) > 1000:  # a log spans a few days; a hostile one cannot grow this
        known.clear()
    known[value] = found = (microseconds(datetime.combine(day, dt_time(), UTC)), day)
    return found


def seconds_of(value: str, known: dict[str, int]) -> int:
    """Microseconds since midnight of a ``HH:MM:SS[.ffffff]`` time, remembered in ``known``."""
    at = dt_time.fromisoformat(value)
    if at.tzinfo is not None:
        raise ValueError(f"a time with an offset: {value}")
    if len(known) > 100_000:  # whole seconds: at most 86,400 in a well-formed log
        known.clear()
    known[value] = found = (
        at.hour * 3600 + at.minute * 60 + at.second
    ) * 1_000_000 + at.microsecond
    return found


class LogParser:
    """Reads the lines of one log file; counts what it could not read."""

    def __init__(self) -> None:
        self.lines = 0
        self.skipped = 0
        self._columns(DEFAULT_FIELDS)

    def _columns(self, fields: Iterable[str]) -> None:
        index = {name: i for i, name in enumerate(fields)}
        missing = [name for name in REQUIRED if name not in index]
        if missing:
            raise ValueError(f"#Fields header lacks {', '.join(missing)}")
        self._width = len(index)
        # A column the header lacks points one past the line, where scan appends "-".
        columns = [index.get(name, len(index)) for name in READ]
        self._padded = len(index) in columns
        self._pick = itemgetter(*columns)
        self.read_indexes = tuple(columns)

    @property
    def width(self) -> int:
        """Fields a line must have, by the current ``#Fields`` header."""
        return self._width

    @property
    def padded(self) -> bool:
        """Whether a column :data:`READ` names is missing from the current header."""
        return self._padded

    def requests(self, lines: Iterable[str | bytes]) -> Iterator[MediaRequest]:
        """Every well-formed request line as a :class:`MediaRequest`."""
        for us, _day, path, method, status, first, served, agent, address in self.scan(lines):
            yield MediaRequest(
                at=from_microseconds(us),
                path=path,
                method=method,
                status=status,
                first_byte=first,
                bytes_served=served,
                user_agent=agent,
                client_address=address,
            )

    def scan(self, lines: Iterable[str | bytes]) -> Iterator[Scanned]:
        """Every well-formed request line as a :data:`Scanned` tuple, in file order.

        The ingest's hot loop: a log holds few distinct seconds, paths and
        agents, so each is converted once and then looked up.
        """
        days: dict[str, tuple[int, date]] = {}  # "2026-11-30" → (its midnight in µs, date)
        seconds: dict[str, int] = {}  # "09:00:00" → µs since midnight
        counted = skipped = 0
        pick, width, padded = self._pick, self._width, self._padded
        try:
            for line in lines:
                if isinstance(line, bytes):
                    line = line.decode("utf-8", "replace")
                if line.startswith("#"):
                    if line.startswith("#Fields:"):
                        try:
                            self._columns(line[len("#Fields:") :].split())
                        except ValueError:
                            skipped += 1
                        pick, width, padded = self._pick, self._width, self._padded
                    continue
                line = line.rstrip("\r\n")
                if not line:
                    continue
                counted += 1
                if len(line) > MAX_LINE:
                    skipped += 1
                    continue
                parts = line.split("\t")
                if len(parts) < width:
                    skipped += 1
                    continue
                if padded:  # a column the header lacks reads as "-"
                    parts.append("-")
                day_text, time_text, status, served, start, end, stem, method, agent, ip = pick(
                    parts
                )
                try:
                    day = days.get(day_text) or day_of(day_text, days)
                    offset = seconds.get(time_text)
                    if offset is None:
                        offset = seconds_of(time_text, seconds)
                    status = int(status)
                    served = int(served)
                    first = 0
                    if start != "-" and start:
                        first = int(start)
                        # sc-bytes counts the headers too: the range's end bounds the body.
                        if end != "-" and end:
                            served = min(served, int(end) - first + 1)
                except ValueError:
                    skipped += 1
                    continue
                if served < 0 or first < 0 or first + served > MAX_BYTE:
                    skipped += 1  # no file has such bytes; they would not fit a stored int64
                    continue
                yield (
                    day[0] + offset,
                    day[1],
                    _decode(stem) if "%" in stem else stem,  # decode_path, inlined
                    method,
                    status,
                    first,
                    served,
                    "" if agent == "-" else _decode(agent),  # decode_agent, inlined
                    ip,
                )
        finally:
            self.lines += counted
            self.skipped += skipped
