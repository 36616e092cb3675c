"""Checks of the values the Podcasting 2.0 tags carry, with messages a creator can act on.

Used by the models (admin forms) and by ``feeds.validation`` (the rendered feed).
"""

from __future__ import annotations

import re
from datetime import UTC, datetime

from django.core.exceptions import ValidationError

# https://github.com/Podcastindex-org/podcast-namespace/blob/main/docs/tags/medium.md
MEDIUMS = ("podcast", "music", "video", "film", "audiobook", "newsletter", "blog", "course")
#: The documented list mediums: each medium with "L", "publisher", and "mixed".
ALL_MEDIUMS = frozenset(
    (*MEDIUMS, "publisher", *(f"{m}L" for m in (*MEDIUMS, "publisher")), "mixed")
)
LIST_MEDIUMS = frozenset(m for m in ALL_MEDIUMS if m.endswith("L") or m == "mixed")

# Well-known licences whose url is optional: the namespace's list
# (https://github.com/Podcastindex-org/podcast-namespace/blob/main/license/licenses.json)
# and the Creative Commons SPDX identifiers. Compared lower-case.
KNOWN_LICENSES = frozenset(
    s.lower()
    for s in (
        "ARR",
        "V4V-1.0",
        "CC0-1.0",
        "CC-BY-4.0",
        "CC-BY-SA-4.0",
        "CC-BY-ND-4.0",
        "CC-BY-NC-4.0",
        "CC-BY-NC-SA-4.0",
        "CC-BY-NC-ND-4.0",
    )
)

# RFC 5870 "geo" URI, WGS-84 only: geo:lat,lon[,alt][;crs=wgs84][;u=metres]
_GEO = re.compile(
    r"^geo:(?P<lat>-?\d{1,2}(?:\.\d+)?),(?P<lon>-?\d{1,3}(?:\.\d+)?)(?:,-?\d+(?:\.\d+)?)?"
    r"(?:;crs=wgs84)?(?:;u=\d+(?:\.\d+)?)?$",
    re.IGNORECASE,
)
# OpenStreetMap type (Node, Way, Relation) and id, optional "#revision".
_OSM = re.compile(r"^[NWR][1-9]\d*(?:#\d+)?$")
_COUNTRY = re.compile(r"^[A-Za-z]{2}$")  # stored and written upper-case
# SRI: https://www.w3.org/TR/SRI/#the-integrity-attribute (base64 of the digest).
_SRI = re.compile(r"^sha(?:256|384|512)-[A-Za-z0-9+/]+={0,2}$")
_SRI_LENGTHS = {"sha256": 44, "sha384": 64, "sha512": 88}


def validate_geo_uri(value: str) -> None:
    """``geo:30.2672,-97.7431`` (latitude, longitude[, altitude][;u=uncertainty]) in range."""
    match = _GEO.match(value)
    if match is None:
        raise ValidationError(
            f"“{value}” is not a geo URI: write geo:LATITUDE,LONGITUDE, "
            "e.g. geo:30.2672,-97.7431 (RFC 5870)."
        )
    lat, lon = float(match["lat"]), float(match["lon"])
    if not -90 <= lat <= 90:
        raise ValidationError(f"Latitude {lat} is outside -90…90.")
    if not -180 <= lon <= 180:
        raise ValidationError(f"Longitude {lon} is outside -180…180.")


def validate_osm(value: str) -> None:
    """An OpenStreetMap object: N, W or R then its id, e.g. ``R113314``."""
    if not _OSM.match(value):
        raise ValidationError(
            f"“{value}” is not an OpenStreetMap id: write its type (N node, W way, "
            "R relation) then its number, e.g. R113314."
        )


def validate_country(value: str) -> None:
    if not _COUNTRY.match(value):
        raise ValidationError(
            f"“{value}” is not a two-letter ISO 3166-1 country code (e.g. US, GB, FR)."
        )


def validate_rrule(value: str) -> None:
    """An iCalendar recurrence rule (RFC 5545 §3.3.10), e.g. ``FREQ=WEEKLY;BYDAY=MO``."""
    from dateutil.rrule import rrulestr

    if value.upper().startswith("RRULE:"):
        raise ValidationError("Leave out “RRULE:”: write the rule itself, e.g. FREQ=WEEKLY.")
    rule, utc = _rfc5545_until(value)
    try:
        # dtstart given so a rule with COUNT or UNTIL parses without the clock;
        # aware when UNTIL is in UTC, as dateutil (and RFC 5545) require.
        rrulestr(rule, dtstart=datetime(2000, 1, 1, tzinfo=UTC if utc else None))
    except (ValueError, TypeError) as exc:
        raise ValidationError(
            f"“{value}” is not a recurrence rule ({exc}); e.g. FREQ=WEEKLY or "
            "FREQ=MONTHLY;BYDAY=1MO (RFC 5545)."
        ) from None


def _rfc5545_until(value: str) -> tuple[str, bool]:
    """``value`` with an ISO 8601 UNTIL (updateFrequency's examples) in RFC 5545 form.

    update-frequency.md writes ``UNTIL=2023-12-31T00:00:00.000Z`` (the dtstart
    format); RFC 5545 writes ``UNTIL=20231231T000000Z``. Returns the rule and
    whether UNTIL is in UTC.
    """
    match = re.search(r"UNTIL=([^;]+)", value, re.IGNORECASE)
    if match is None:
        return value, False
    until = match[1]
    if "-" in until:
        try:
            parsed = datetime.fromisoformat(until.replace("Z", "+00:00"))
        except ValueError:
            return value, False
        if parsed.tzinfo is not None:
            until = parsed.astimezone(UTC).strftime("%Y%m%dT%H%M%SZ")
        else:
            until = parsed.strftime("%Y%m%dT%H%M%S" if "T" in match[1] else "%Y%m%d")
    return value[: match.start(1)] + until + value[match.end(1) :], until.endswith("Z")


def validate_http_url(value: str) -> None:
    if not re.match(r"^https?://[^\s/$.?#][^\s]*$", value, re.IGNORECASE):
        raise ValidationError(f"“{value}” is not an http(s) URL.")


def validate_sri(value: str) -> None:
    """An SRI hash such as ``sha384-<base64>``, of the right length for its algorithm."""
    algorithm = value.split("-", 1)[0]
    if not _SRI.match(value) or len(value) - len(algorithm) - 1 != _SRI_LENGTHS[algorithm]:
        raise ValidationError(f"“{value}” is not an SRI hash (sha384-… in base64).")


def is_known_license(value: str) -> bool:
    return value.strip().lower() in KNOWN_LICENSES
