"""The Podcasting 2.0 fields of shows and episodes, as abstract bases of ``Podcast``/``Episode``.

Single-valued tags live on the row itself (licence, medium, location, update
frequency); repeated ones (people, funding, trailers, txt, podroll) are rows
of :mod:`episodes.namespace.models`.
"""

from __future__ import annotations

from django.core.exceptions import ValidationError
from django.db import models

from episodes.namespace import validators as v


class LocationRel(models.TextChoices):
    # https://github.com/Podcastindex-org/podcast-namespace/blob/main/docs/tags/location.md
    CREATOR = "creator", "where it is recorded or produced"
    SUBJECT = "subject", "what it is about"


class _NamespaceFields(models.Model):
    license = models.CharField(
        "licence",
        max_length=128,
        blank=True,
        help_text="podcast:license: a licence identifier such as CC-BY-4.0, CC-BY-NC-ND-4.0 or "
        "ARR (all rights reserved), or the short name of your own licence (then give its URL).",
    )
    license_url = models.URLField(
        "licence URL",
        max_length=500,
        blank=True,
        validators=[v.validate_http_url],
        help_text="The full text of the licence. Required for a licence of your own.",
    )
    location = models.CharField(
        max_length=128,
        blank=True,
        help_text="podcast:location: a place name as listeners should read it, e.g. “Austin, TX”. "
        "Mind your privacy: a city, not a home address.",
    )
    location_rel = models.CharField(
        "location is",
        max_length=8,
        choices=LocationRel.choices,
        default=LocationRel.CREATOR,
        # Blank: no rel attribute, which apps read as "subject" (location.md).
        blank=True,
    )
    location_geo = models.CharField(
        "location geo URI",
        max_length=100,
        blank=True,
        validators=[v.validate_geo_uri],
        help_text="Optional: geo:LATITUDE,LONGITUDE, e.g. geo:30.2672,-97.7431.",
    )
    location_osm = models.CharField(
        "location OpenStreetMap id",
        max_length=32,
        blank=True,
        validators=[v.validate_osm],
        help_text="Optional: N, W or R and the OpenStreetMap id, e.g. R113314.",
    )
    location_country = models.CharField(
        "location country",
        max_length=2,
        blank=True,
        validators=[v.validate_country],
        help_text="Optional: ISO 3166-1 two-letter code, e.g. US, GB, FR.",
    )

    class Meta:
        abstract = True

    def clean(self) -> None:
        super().clean()
        errors: dict[str, str] = {}
        self.location_country = self.location_country.upper()
        if self.license and not self.license_url and not v.is_known_license(self.license):
            errors["license_url"] = (
                f"“{self.license}” is not a well-known licence identifier: give the URL of its "
                "full text (or use one such as CC-BY-4.0)."
            )
        if self.license_url and not self.license:
            errors["license"] = "Name the licence (its identifier or short name)."
        if not self.location and (self.location_geo or self.location_osm or self.location_country):
            errors["location"] = "Name the place: apps show this text."
        if errors:
            raise ValidationError(errors)


class ShowNamespaceFields(_NamespaceFields):
    """A show's single-valued Podcasting 2.0 tags."""

    medium = models.CharField(
        max_length=16,
        choices=[(m, m) for m in v.MEDIUMS],
        default="podcast",
        # Blank: no podcast:medium, which apps read as "podcast" (medium.md).
        blank=True,
        help_text="podcast:medium: what the feed is (apps may change speed or EQ for music).",
    )
    update_frequency = models.CharField(
        max_length=128,
        blank=True,
        help_text="podcast:updateFrequency: the release schedule in words, e.g. “Every Monday”.",
    )
    update_rrule = models.CharField(
        "schedule rule",
        max_length=255,
        blank=True,
        validators=[v.validate_rrule],
        help_text="Optional: the schedule as an iCalendar RRULE, e.g. FREQ=WEEKLY;BYDAY=MO.",
    )
    update_dtstart = models.DateTimeField(
        "schedule starts",
        null=True,
        blank=True,
        help_text="When the schedule begins; needed when the rule has COUNT.",
    )
    update_complete = models.BooleanField(
        "show is complete", default=False, help_text="No further episodes are planned."
    )

    class Meta:
        abstract = True

    def clean(self) -> None:
        errors: dict[str, str] = {}
        try:
            super().clean()
        except ValidationError as exc:
            errors.update({k: e[0] for k, e in exc.message_dict.items()})
        if "COUNT=" in self.update_rrule.upper() and self.update_dtstart is None:
            errors["update_dtstart"] = "A schedule rule with COUNT needs the date it starts."
        scheduled = self.update_rrule or self.update_dtstart or self.update_complete
        if scheduled and not self.update_frequency:
            errors["update_frequency"] = "Describe the schedule in words: apps show this text."
        if errors:
            raise ValidationError(errors)


class EpisodeNamespaceFields(_NamespaceFields):
    """An episode's single-valued Podcasting 2.0 tags (they override the show's)."""

    class Meta:
        abstract = True
