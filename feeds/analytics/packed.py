"""The requests of one stored download event, packed: ``(time, first byte, last byte)`` each.

A :class:`~feeds.analytics.models.DownloadEvent` row holds every counted
request of one listener for one rendition on one UTC day that one ingest saw
together. Each request is three signed 64-bit little-endian integers: the
request's time in microseconds since the Unix epoch (UTC), then the first
and last byte of the body sent. Nothing is merged away: the aggregation sees
every request, in time order, exactly as if each were its own row; storing
them together only saves a database row per request.
"""

from __future__ import annotations

import struct
import sys
from array import array
from collections.abc import Iterable
from datetime import UTC, datetime, timedelta

EPOCH = datetime(1970, 1, 1, tzinfo=UTC)
REQUEST_BYTES = 24  # three int64 values a request
# One request's stored form from its three values (what pack makes of them).
pack_one = struct.Struct("<qqq").pack
_BIG_ENDIAN = sys.byteorder == "big"


def microseconds(at: datetime) -> int:
    """``at`` (aware) as whole microseconds since the epoch."""
    delta = at - EPOCH
    return (delta.days * 86_400 + delta.seconds) * 1_000_000 + delta.microseconds


def from_microseconds(us: int) -> datetime:
    return EPOCH + timedelta(microseconds=us)


def new(values: Iterable[int] = ()) -> array:
    """A buffer of requests (flat ``us, first, last…``), to ``extend((us, first, last))``."""
    return array("q", values)


def pack(requests: array | Iterable[int]) -> bytes:
    """The stored form of a flat ``us, first, last, us, first, last…`` sequence."""
    values = requests if isinstance(requests, array) else array("q", requests)
    if _BIG_ENDIAN:
        values = array("q", values)
        values.byteswap()
    return values.tobytes()


def earliest(data: bytes) -> int:
    """The earliest request time (epoch µs) of a stored value holding at least one request."""
    values = array("q")
    values.frombytes(data)
    if _BIG_ENDIAN:
        values.byteswap()
    return min(values[0::3])


def unpack(data: bytes | memoryview) -> list[tuple[int, int, int]]:
    """``[(us, first, last), …]`` of a stored value; raises ``ValueError`` if it is not one."""
    values = array("q")
    values.frombytes(bytes(data))
    if len(values) % 3:
        raise ValueError("a packed request is three integers")
    if _BIG_ENDIAN:
        values.byteswap()
    return list(zip(values[0::3], values[1::3], values[2::3], strict=True))
