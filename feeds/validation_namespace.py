"""``validate_feed``'s checks of the Podcasting 2.0 tags beyond guid/locked/season/episode.

Each rule as https://github.com/Podcastindex-org/podcast-namespace/blob/main/docs/1.0.md
and its tag pages state it (parent, count, required attributes, allowed values).
Messages start with "Channel:" or the item's label, as :mod:`feeds.validation`'s do,
so the publish gate judges them the same way.
"""

from __future__ import annotations

import email.utils
import uuid
from datetime import datetime

from django.core.exceptions import ValidationError

from episodes.namespace import taxonomy
from episodes.namespace import validators as v
from feeds.rss import NAMESPACES


def _q(name: str) -> str:
    return f"{{{NAMESPACES['podcast']}}}{name}"


def _valid(validator, value: str) -> bool:
    try:
        validator(value)
    except ValidationError:
        return False
    return True


def _text(el) -> str:
    return (el.text or "").strip()


def _at_most_one(parent, name: str, where: str) -> list[str]:
    n = len(parent.findall(_q(name)))
    return [f"{where}: podcast:{name} may appear only once, not {n} times."] if n > 1 else []


def _persons(parent, where: str) -> list[str]:
    problems = []
    for el in parent.findall(_q("person")):
        name = _text(el)
        if not name or len(name) > 128:
            problems.append(f"{where}: podcast:person needs a name of 1-128 characters.")
        role = el.get("role") or taxonomy.DEFAULT_ROLE
        group = el.get("group") or taxonomy.DEFAULT_GROUP
        if not taxonomy.groups_of(role):
            problems.append(f"{where}: podcast:person role “{role}” is not in the taxonomy.")
        elif not taxonomy.is_known(role, group):
            problems.append(
                f"{where}: podcast:person role “{role}” is not a role of the group “{group}”."
            )
        for attr in ("img", "href"):
            if el.get(attr) is not None and not _valid(v.validate_http_url, el.get(attr)):
                problems.append(f"{where}: podcast:person {attr} is not an http(s) URL.")
    return problems


def _license(parent, where: str) -> list[str]:
    problems = _at_most_one(parent, "license", where)
    for el in parent.findall(_q("license")):
        name = _text(el)
        if not name or len(name) > 128:
            problems.append(f"{where}: podcast:license needs an identifier of 1-128 characters.")
        elif not el.get("url") and not v.is_known_license(name):
            problems.append(f"{where}: podcast:license “{name}” is a custom licence without url.")
    return problems


def _locations(parent, where: str) -> list[str]:
    problems = []
    for el in parent.findall(_q("location")):
        name = _text(el)
        if not name or len(name) > 128:
            problems.append(f"{where}: podcast:location needs a place name of 1-128 characters.")
        if el.get("rel") not in (None, "subject", "creator"):
            problems.append(f"{where}: podcast:location rel must be subject or creator.")
        for attr, validator in (
            ("geo", v.validate_geo_uri),
            ("osm", v.validate_osm),
            ("country", v.validate_country),
        ):
            value = el.get(attr)
            if value is not None and not _valid(validator, value):
                problems.append(f"{where}: podcast:location {attr} “{value}” is not valid.")
    return problems


def _iso8601(value: str) -> bool:
    try:
        datetime.fromisoformat(value.replace("Z", "+00:00"))
    except ValueError:
        return False
    return True


def check_channel_namespace(channel, *, item_count: int) -> list[str]:
    """Problems with the channel's Podcasting 2.0 tags."""
    where = "Channel"
    problems = _at_most_one(channel, "medium", where)
    medium = channel.findtext(_q("medium"))
    if medium is not None:
        if medium not in v.ALL_MEDIUMS:
            problems.append(f"{where}: podcast:medium “{medium}” is not a documented medium.")
        elif medium in v.LIST_MEDIUMS and item_count:
            problems.append(f"{where}: podcast:medium “{medium}” is for feeds without items.")
    problems += _persons(channel, where) + _license(channel, where) + _locations(channel, where)
    for el in channel.findall(_q("funding")):
        if not _valid(v.validate_http_url, el.get("url") or ""):
            problems.append(f"{where}: podcast:funding needs an http(s) url.")
        if not _text(el) or len(_text(el)) > 128:
            problems.append(f"{where}: podcast:funding needs a text of 1-128 characters.")
    for el in channel.findall(_q("trailer")):
        if not _valid(v.validate_http_url, el.get("url") or ""):
            problems.append(f"{where}: podcast:trailer needs an http(s) url.")
        if email.utils.parsedate_tz(el.get("pubdate") or "") is None:
            problems.append(f"{where}: podcast:trailer pubdate is not an RFC 2822 date.")
        if not _text(el) or len(_text(el)) > 128:
            problems.append(f"{where}: podcast:trailer needs a title of 1-128 characters.")
        for attr in ("length", "season"):
            value = el.get(attr)
            if value is not None and (not value.isdigit() or int(value) < 1):
                problems.append(f"{where}: podcast:trailer {attr} must be a positive number.")
        kind = el.get("type")
        if kind is not None and kind.split("/")[0] not in ("audio", "video"):
            problems.append(f"{where}: podcast:trailer type “{kind}” is not audio or video.")
    for el in channel.findall(_q("txt")):
        if not _text(el) or len(_text(el)) > 4000:
            problems.append(f"{where}: podcast:txt needs a text of 1-4000 characters.")
        if len(el.get("purpose") or "") > 128:
            problems.append(f"{where}: podcast:txt purpose is longer than 128 characters.")
    problems += _at_most_one(channel, "updateFrequency", where)
    for el in channel.findall(_q("updateFrequency")):
        rrule, dtstart = el.get("rrule"), el.get("dtstart")
        if rrule is not None and not _valid(v.validate_rrule, rrule):
            problems.append(f"{where}: podcast:updateFrequency rrule “{rrule}” does not parse.")
        if rrule and "COUNT=" in rrule.upper() and dtstart is None:
            problems.append(f"{where}: podcast:updateFrequency with COUNT needs dtstart.")
        if dtstart is not None and not _iso8601(dtstart):
            problems.append(f"{where}: podcast:updateFrequency dtstart is not ISO 8601.")
        if el.get("complete") not in (None, "true", "false"):
            problems.append(f"{where}: podcast:updateFrequency complete must be true or false.")
    problems += _at_most_one(channel, "podroll", where)
    for podroll in channel.findall(_q("podroll")):
        items = podroll.findall(_q("remoteItem"))
        if not items:
            problems.append(f"{where}: podcast:podroll needs at least one podcast:remoteItem.")
        for item in items:
            try:
                uuid.UUID(item.get("feedGuid") or "")
            except ValueError:
                problems.append(f"{where}: podcast:remoteItem needs the feedGuid of the show.")
            medium = item.get("medium")
            if medium is not None and medium not in v.ALL_MEDIUMS:
                problems.append(f"{where}: podcast:remoteItem medium “{medium}” is unknown.")
    return problems


def check_item_namespace(item, where: str) -> list[str]:
    """Problems with one item's Podcasting 2.0 tags (people, licence, location, alternates)."""
    problems = _persons(item, where) + _license(item, where) + _locations(item, where)
    alternates = item.findall(_q("alternateEnclosure"))
    defaults = [a for a in alternates if a.get("default") == "true"]
    if alternates and len(defaults) != 1:
        problems.append(
            f'{where}: exactly one podcast:alternateEnclosure must be default="true" '
            f"(the enclosure's file), not {len(defaults)}."
        )
    enclosure = item.find("enclosure")
    for alt in defaults[:1]:
        if enclosure is not None and (
            alt.get("type") != enclosure.get("type")
            or alt.get("length") != enclosure.get("length")
            or enclosure.get("url") not in [s.get("uri") for s in alt.findall(_q("source"))]
        ):
            problems.append(
                f"{where}: the default podcast:alternateEnclosure is not the enclosure's file."
            )
    for alt in alternates:
        if alt.get("default") not in (None, "true", "false"):
            problems.append(f"{where}: podcast:alternateEnclosure default must be true or false.")
        if any(not s.get("uri") for s in alt.findall(_q("source"))):
            problems.append(f"{where}: podcast:source needs a uri.")
        integrity = alt.findall(_q("integrity"))
        if len(integrity) > 1:
            problems.append(f"{where}: podcast:alternateEnclosure has more than one integrity.")
        for el in integrity:
            kind, value = el.get("type"), el.get("value") or ""
            if kind not in ("sri", "pgp-signature"):
                problems.append(f"{where}: podcast:integrity type must be sri or pgp-signature.")
            elif kind == "sri" and not _valid(v.validate_sri, value):
                problems.append(f"{where}: podcast:integrity value “{value[:20]}” is not SRI.")
            elif not value:
                problems.append(f"{where}: podcast:integrity needs a value.")
    return problems
