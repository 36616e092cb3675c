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
from datetime import UTC, datetime
from functools import lru_cache
from urllib.parse import unquote

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
# Longest line worth reading: CloudFront truncates long fields; anything far
# longer is not a CloudFront log line.
MAX_LINE = 64 * 1024


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


@lru_cache(maxsize=8192)
def _timestamp(day: str, time: str) -> datetime:
    return datetime.fromisoformat(f"{day}T{time}").replace(tzinfo=UTC)


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
        self._date, self._time = index["date"], index["time"]
        self._bytes, self._ip = index["sc-bytes"], index["c-ip"]
        self._method, self._stem = index["cs-method"], index["cs-uri-stem"]
        self._status = index["sc-status"]
        self._agent = index.get("cs(User-Agent)")
        self._range = index.get("sc-range-start")
        self._range_end = index.get("sc-range-end")

    def requests(self, lines: Iterable[str | bytes]) -> Iterator[MediaRequest]:
        """Every well-formed request line as a :class:`MediaRequest`."""
        for line in lines:
            if isinstance(line, bytes):
                line = line.decode("utf-8", "replace")
            if line.startswith("#"):
                if line.startswith("#Fields:"):
                    try:
                        self._columns(line[len("#Fields:") :].split())
                    except ValueError:
                        self.skipped += 1
                continue
            line = line.rstrip("\r\n")
            if not line:
                continue
            self.lines += 1
            request = self._parse(line)
            if request is None:
                self.skipped += 1
            else:
                yield request

    def _parse(self, line: str) -> MediaRequest | None:
        if len(line) > MAX_LINE:
            return None
        parts = line.split("\t")
        if len(parts) < self._width:
            return None
        try:
            at = _timestamp(parts[self._date], parts[self._time])
            status = int(parts[self._status])
            served = int(parts[self._bytes])
            first = 0
            if self._range is not None and parts[self._range] not in ("-", ""):
                first = int(parts[self._range])
                # sc-bytes counts the headers too: the range's end bounds the body.
                if self._range_end is not None and parts[self._range_end] not in ("-", ""):
                    served = min(served, int(parts[self._range_end]) - first + 1)
        except ValueError:
            return None
        if served < 0 or first < 0:
            return None
        agent = parts[self._agent] if self._agent is not None else "-"
        return MediaRequest(
            at=at,
            path=_decode(parts[self._stem]),
            method=parts[self._method],
            status=status,
            first_byte=first,
            bytes_served=served,
            user_agent="" if agent == "-" else _decode(agent),
            client_address=parts[self._ip],
        )
