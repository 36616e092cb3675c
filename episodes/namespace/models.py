"""The repeated Podcasting 2.0 tags of shows and episodes, one row each.

Imported at the end of :mod:`episodes.models`, so Django registers them with
the ``episodes`` app. An episode's people are part of its feed item: saving
or deleting one moves the episode's ``updated_at``, the item's revision
(:func:`feeds.rss.item_revision`); ``feeds.receivers`` requests the publish.
"""

from __future__ import annotations

from django.core.exceptions import ValidationError
from django.core.validators import MinValueValidator
from django.db import models
from django.utils import timezone

from episodes.namespace import taxonomy
from episodes.namespace import validators as v
from episodes.tenancy import TenantQuerySet


class PersonBase(models.Model):
    """``podcast:person``: https://github.com/Podcastindex-org/podcast-namespace/blob/main/docs/tags/person.md"""

    name = models.CharField(max_length=128, help_text="Full name or alias, as apps show it.")
    role = models.CharField(
        max_length=64, choices=taxonomy.role_choices(), default=taxonomy.DEFAULT_ROLE
    )
    group = models.CharField(
        max_length=64, choices=taxonomy.group_choices(), default=taxonomy.DEFAULT_GROUP
    )
    img = models.URLField(
        "picture URL",
        max_length=500,
        blank=True,
        validators=[v.validate_http_url],
        help_text="Optional: a picture or avatar of the person.",
    )
    href = models.URLField(
        "link",
        max_length=500,
        blank=True,
        validators=[v.validate_http_url],
        help_text="Optional: their homepage or a profile page.",
    )
    position = models.PositiveSmallIntegerField(default=0, help_text="Order in the feed.")

    class Meta:
        abstract = True

    def clean(self) -> None:
        super().clean()
        self.name = " ".join(self.name.split())
        if not self.name:
            raise ValidationError({"name": "A person needs a name."})
        self.role = taxonomy.normalize(self.role)
        self.group = taxonomy.normalize(self.group)
        taxonomy.validate_role_group(self.role, self.group)


class PodcastPersonQuerySet(TenantQuerySet):
    members_lookup = "podcast__members"


class PodcastPerson(PersonBase):
    """One of the show's regular people (hosts, producers…), ``podcast:person`` in the channel."""

    podcast = models.ForeignKey(
        "episodes.Podcast", on_delete=models.CASCADE, related_name="persons", verbose_name="show"
    )

    objects = PodcastPersonQuerySet.as_manager()

    class Meta:
        verbose_name = "person of the show"
        verbose_name_plural = "people of the show"

    def __str__(self) -> str:
        return f"{self.name} ({self.role}, {self.podcast_id}#{self.pk})"


class EpisodePersonQuerySet(TenantQuerySet):
    members_lookup = "episode__podcast__members"


class EpisodePerson(PersonBase):
    """A person of one episode; an episode with any replaces the show's people for that item."""

    episode = models.ForeignKey(
        "episodes.Episode", on_delete=models.CASCADE, related_name="persons"
    )

    objects = EpisodePersonQuerySet.as_manager()

    class Meta:
        verbose_name = "person of the episode"
        verbose_name_plural = "people of the episode"

    def __str__(self) -> str:
        return f"{self.name} ({self.role}, episode #{self.episode_id}, #{self.pk})"

    def save(self, *args, **kwargs) -> None:
        super().save(*args, **kwargs)
        self._touch_episode()

    def delete(self, *args, **kwargs):
        result = super().delete(*args, **kwargs)
        self._touch_episode()
        return result

    def _touch_episode(self) -> None:
        # The person is in the episode's <item>: a new revision re-renders it.
        # Imported here: episodes.models imports this module to register its models.
        from episodes.models import Episode

        Episode.objects.filter(pk=self.episode_id).update(updated_at=timezone.now())


class PodcastFunding(models.Model):
    """``podcast:funding``: https://github.com/Podcastindex-org/podcast-namespace/blob/main/docs/tags/funding.md"""

    podcast = models.ForeignKey(
        "episodes.Podcast", on_delete=models.CASCADE, related_name="funding", verbose_name="show"
    )
    url = models.URLField("URL", max_length=500, validators=[v.validate_http_url])
    text = models.CharField(
        max_length=128, help_text="Shown next to the link, e.g. “Support the show!”"
    )
    position = models.PositiveSmallIntegerField(default=0)

    class Meta:
        verbose_name = "funding link"

    def __str__(self) -> str:
        return f"{self.text} → {self.url} (#{self.pk})"


class PodcastTrailer(models.Model):
    """``podcast:trailer``: https://github.com/Podcastindex-org/podcast-namespace/blob/main/docs/tags/trailer.md"""

    podcast = models.ForeignKey(
        "episodes.Podcast", on_delete=models.CASCADE, related_name="trailers", verbose_name="show"
    )
    title = models.CharField(max_length=128)
    url = models.URLField(
        "URL",
        max_length=500,
        validators=[v.validate_http_url],
        help_text="The trailer's audio or video file (http or https).",
    )
    pubdate = models.DateTimeField("published at")
    length_bytes = models.PositiveBigIntegerField(
        "size in bytes", null=True, blank=True, validators=[MinValueValidator(1)]
    )
    mime_type = models.CharField(
        "type", max_length=64, blank=True, help_text="e.g. audio/mpeg or video/mp4."
    )
    season = models.PositiveIntegerField(
        null=True,
        blank=True,
        validators=[MinValueValidator(1)],
        help_text="Optional: the season this trailer announces.",
    )

    class Meta:
        verbose_name = "trailer"

    def __str__(self) -> str:
        return f"{self.title} (#{self.pk})"

    def clean(self) -> None:
        super().clean()
        if self.mime_type and self.mime_type.split("/")[0] not in ("audio", "video"):
            raise ValidationError({"mime_type": "A trailer is audio/… or video/…."})


class PodcastTxt(models.Model):
    """``podcast:txt``: https://github.com/Podcastindex-org/podcast-namespace/blob/main/docs/tags/txt.md"""

    podcast = models.ForeignKey(
        "episodes.Podcast",
        on_delete=models.CASCADE,
        related_name="txt_records",
        verbose_name="show",
    )
    purpose = models.CharField(
        max_length=128,
        blank=True,
        help_text="e.g. “verify” or “applepodcastsverify”, as the service asks.",
    )
    text = models.TextField(max_length=4000, help_text="The text the service gave you.")

    class Meta:
        verbose_name = "txt record"

    def __str__(self) -> str:
        return f"txt {self.purpose or '-'} (#{self.pk})"


class PodrollItem(models.Model):
    """A show recommended in ``podcast:podroll`` as a ``podcast:remoteItem``.

    https://github.com/Podcastindex-org/podcast-namespace/blob/main/docs/tags/podroll.md,
    https://github.com/Podcastindex-org/podcast-namespace/blob/main/docs/tags/remote-item.md
    """

    podcast = models.ForeignKey(
        "episodes.Podcast", on_delete=models.CASCADE, related_name="podroll", verbose_name="show"
    )
    feed_guid = models.UUIDField(
        "feed GUID",
        help_text="The recommended show's podcast:guid (search it on podcastindex.org).",
    )
    feed_url = models.URLField(
        "feed URL", max_length=500, blank=True, validators=[v.validate_http_url]
    )
    item_guid = models.CharField(
        "episode guid",
        max_length=1024,
        blank=True,
        help_text="Optional: recommend one episode of it (its guid).",
    )
    title = models.CharField(max_length=128, blank=True)
    medium = models.CharField(
        max_length=16,
        blank=True,
        choices=[(m, m) for m in v.MEDIUMS],
        help_text="Only when the show is not a podcast (music, video…).",
    )
    position = models.PositiveSmallIntegerField(default=0)

    class Meta:
        verbose_name = "recommended show"

    def __str__(self) -> str:
        return f"{self.title or self.feed_guid} (#{self.pk})"
