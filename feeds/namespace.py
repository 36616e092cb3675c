"""The Podcasting 2.0 tags of the channel and of each item, beyond guid/locked/season/episode.

:func:`channel_namespace` reads the show's rows (a constant number of queries,
made at every render: the channel is never cached) and
:func:`write_channel_namespace` writes them; :func:`item_namespace` reads an
episode's prefetched people and fields (part of the cached item, so every
change to them moves the episode's revision) and :func:`write_item_namespace`
writes them. Every tag and attribute as documented in
https://github.com/Podcastindex-org/podcast-namespace/blob/main/docs/1.0.md
"""

from __future__ import annotations

import email.utils
from datetime import datetime

from django.db.models import Prefetch

from episodes.models import EpisodePerson, Podcast
from episodes.namespace.validators import is_known_license

#: The prefetch of an episode's people that every feed query adds.
PERSONS_PREFETCH = Prefetch("persons", queryset=EpisodePerson.objects.order_by("position", "pk"))


def _clean(value: object, limit: int = 128) -> str:
    from feeds.rss import xml_text  # rss imports this module

    return " ".join(xml_text(value).split())[:limit].strip()


def _person(p) -> tuple[str, dict[str, str]]:
    attrs = {"role": p.role, "group": p.group}
    if p.img:
        attrs["img"] = p.img
    if p.href:
        attrs["href"] = p.href
    return _clean(p.name), attrs


def _license(obj) -> tuple[str, dict[str, str]] | None:
    if not obj.license:
        return None
    name = _clean(obj.license)
    # Well-known identifiers are written lower-case, as the namespace asks.
    text = name.lower() if is_known_license(name) else name
    return text, ({"url": obj.license_url} if obj.license_url else {})


def _location(obj) -> tuple[str, dict[str, str]] | None:
    if not obj.location:
        return None
    attrs = {"rel": obj.location_rel} if obj.location_rel else {}
    if obj.location_geo:
        attrs["geo"] = obj.location_geo
    if obj.location_osm:
        attrs["osm"] = obj.location_osm
    if obj.location_country:
        attrs["country"] = obj.location_country.upper()
    return _clean(obj.location), attrs


def _rfc2822(value: datetime) -> str:
    return email.utils.format_datetime(value)


def _rows(podcast: Podcast, related: str, *order: str) -> list:
    # A show not saved yet (a preview, a property test) has no rows to query.
    return list(getattr(podcast, related).order_by(*order)) if podcast.pk else []


def channel_namespace(podcast: Podcast) -> dict:
    """What the channel's Podcasting 2.0 tags hold: five queries, whatever the show."""
    persons = [_person(p) for p in _rows(podcast, "persons", "position", "pk")]
    funding = [(_clean(f.text), f.url) for f in _rows(podcast, "funding", "position", "pk")]
    trailers = []
    for t in _rows(podcast, "trailers", "-pubdate", "pk"):
        attrs = {"pubdate": _rfc2822(t.pubdate), "url": t.url}
        if t.length_bytes:
            attrs["length"] = str(t.length_bytes)
        if t.mime_type:
            attrs["type"] = t.mime_type
        if t.season:
            attrs["season"] = str(t.season)
        trailers.append((_clean(t.title), attrs))
    txt = [
        (_clean(t.text, 4000), {"purpose": _clean(t.purpose)} if t.purpose else {})
        for t in _rows(podcast, "txt_records", "pk")
    ]
    podroll = []
    for r in _rows(podcast, "podroll", "position", "pk"):
        attrs = {"feedGuid": str(r.feed_guid)}
        for name, value in (
            ("feedUrl", r.feed_url),
            ("itemGuid", r.item_guid),
            ("medium", r.medium),
            ("title", _clean(r.title)),
        ):
            if value:
                attrs[name] = value
        podroll.append(attrs)
    update = None
    if podcast.update_frequency:
        attrs = {}
        if podcast.update_complete:
            attrs["complete"] = "true"
        if podcast.update_dtstart:
            attrs["dtstart"] = podcast.update_dtstart.isoformat().replace("+00:00", "Z")
        if podcast.update_rrule:
            attrs["rrule"] = podcast.update_rrule
        update = (_clean(podcast.update_frequency), attrs)
    return {
        "persons": persons,
        "funding": funding,
        "trailers": trailers,
        "license": _license(podcast),
        "medium": podcast.medium,
        "location": _location(podcast),
        "txt": txt,
        "update_frequency": update,
        "podroll": podroll,
    }


def write_channel_namespace(handler, data: dict) -> None:
    """Write the channel's tags from :func:`channel_namespace`'s dict."""
    if data["medium"]:
        handler.addQuickElement("podcast:medium", data["medium"])
    for name, attrs in data["persons"]:
        handler.addQuickElement("podcast:person", name, attrs)
    for text, url in data["funding"]:
        handler.addQuickElement("podcast:funding", text, {"url": url})
    for title, attrs in data["trailers"]:
        handler.addQuickElement("podcast:trailer", title, attrs)
    if data["license"]:
        handler.addQuickElement("podcast:license", *data["license"])
    if data["location"]:
        handler.addQuickElement("podcast:location", *data["location"])
    for text, attrs in data["txt"]:
        handler.addQuickElement("podcast:txt", text, attrs)
    if data["update_frequency"]:
        handler.addQuickElement("podcast:updateFrequency", *data["update_frequency"])
    if data["podroll"]:
        handler.startElement("podcast:podroll", {})
        for attrs in data["podroll"]:
            handler.addQuickElement("podcast:remoteItem", None, attrs)
        handler.endElement("podcast:podroll")


def item_namespace(episode) -> dict:
    """What an item's Podcasting 2.0 tags hold, from the episode and its prefetched people.

    An episode's people replace the show's for that item (person.md), so an
    episode without any writes none and apps use the channel's.
    """
    return {
        "persons": [_person(p) for p in episode.persons.all()],
        "license": _license(episode),
        "location": _location(episode),
    }


def write_item_namespace(handler, data: dict) -> None:
    for name, attrs in data["persons"]:
        handler.addQuickElement("podcast:person", name, attrs)
    if data["license"]:
        handler.addQuickElement("podcast:license", *data["license"])
    if data["location"]:
        handler.addQuickElement("podcast:location", *data["location"])
