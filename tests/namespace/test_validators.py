"""The value checks behind the forms and validate_feed, on the namespace's own examples."""

from __future__ import annotations

import pytest
from django.core.exceptions import ValidationError

from episodes.namespace import taxonomy
from episodes.namespace import validators as v


@pytest.mark.parametrize(
    "value",
    [
        "geo:30.2672,97.7431",
        "geo:33.51601,-86.81455",
        "geo:37.786971,-122.399677,250",
        "geo:37.786971,-122.399677;u=350",
        "geo:39.7837304,-100.445882;u=3900000",
        "geo:-90,180",
    ],
)
def test_geo_uris_of_the_location_docs_are_accepted(value):
    v.validate_geo_uri(value)


@pytest.mark.parametrize(
    "value",
    ["30.2672,97.7431", "geo:30.2672", "geo:90.5,0", "geo:0,181", "geo:a,b", "geo:1,2;crs=Mars"],
)
def test_bad_geo_uris_are_refused(value):
    with pytest.raises(ValidationError):
        v.validate_geo_uri(value)


@pytest.mark.parametrize(
    "value, ok",
    [
        ("R113314", True),
        ("W5013364", True),
        ("R7444#188", True),
        ("N1", True),
        ("113314", False),
        ("r113314", False),
        ("X1", False),
        ("R", False),
        ("R0", False),
    ],
)
def test_osm_ids(value, ok):
    if ok:
        v.validate_osm(value)
    else:
        with pytest.raises(ValidationError):
            v.validate_osm(value)


@pytest.mark.parametrize(
    "value",
    [
        "FREQ=DAILY",
        "FREQ=WEEKLY;INTERVAL=2",
        "FREQ=DAILY;INTERVAL=1;BYDAY=MO,TU,WE,TH,FR",
        "FREQ=YEARLY;BYDAY=+4TH;BYMONTH=11",
        "FREQ=WEEKLY;INTERVAL=2;BYDAY=MO;COUNT=10",
        "FREQ=WEEKLY;UNTIL=20231231T000000Z;BYDAY=MO",
        # update-frequency.md's own spelling: UNTIL in the dtstart (ISO 8601) format.
        "FREQ=WEEKLY;UNTIL=2023-12-31T00:00:00.000Z;BYDAY=MO",
        "FREQ=MONTHLY;UNTIL=20261231",
    ],
)
def test_rrules_of_the_update_frequency_docs_parse(value):
    v.validate_rrule(value)


@pytest.mark.parametrize("value", ["FREQ=SOMETIMES", "weekly", "RRULE:FREQ=WEEKLY", "BYDAY=MO"])
def test_bad_rrules_are_refused(value):
    with pytest.raises(ValidationError):
        v.validate_rrule(value)


def test_sri_values():
    v.validate_sri("sha384-ExVqijgYHm15PqQqdXfW95x+Rs6C+d6E/ICxyQOeFevnxNLR/wtJNrNYTjIysUBo")
    for bad in ("sha384-abc", "md5-xyz", "sha384-" + "A" * 65, ""):
        with pytest.raises(ValidationError):
            v.validate_sri(bad)


def test_taxonomy_is_case_insensitive_and_trimmed():
    # The list spells some roles with a trailing space ("Producer ") and capitals.
    assert taxonomy.is_known("Producer", "Creative Direction")
    assert taxonomy.is_known("cover art designer", "VISUALS")
    # "Editor" is a role of two groups.
    assert taxonomy.groups_of("editor") == {"writing", "video post-production"}
    assert not taxonomy.is_known("guest", "visuals")
    assert len(taxonomy.groups()) == 11


def test_role_group_pairs_are_validated_with_the_right_group_named():
    taxonomy.validate_role_group("Guest", "Cast")
    with pytest.raises(ValidationError) as refused:
        taxonomy.validate_role_group("composer", "cast")
    assert "“audio post-production”" in str(refused.value)


def test_list_mediums_are_documented_values():
    assert {"podcastL", "musicL", "mixed"} <= v.ALL_MEDIUMS
    assert "podcast" not in v.LIST_MEDIUMS
