"""Podcasts, episodes and renditions, and the episode lifecycle.

The lifecycle is a compare-and-swap: every status change is one conditional
UPDATE (``... WHERE id = %s AND status = <expected>``) through
:meth:`Episode.transition`, which tells whether it won. Two workers racing on
one episode: one wins, the other gets ``False`` and stops. Nothing else
assigns ``status``.
"""

from __future__ import annotations

import hashlib
import re
import secrets
import uuid
from collections.abc import Iterable
from datetime import datetime
from urllib.parse import urlsplit

from django.conf import settings
from django.core.exceptions import ValidationError
from django.core.files.storage import storages
from django.core.validators import MinValueValidator, RegexValidator
from django.db import models, transaction
from django.db.models import F, Q
from django.urls import reverse
from django.utils import timezone

from episodes import categories
from episodes.artwork import validate_cover_art
from episodes.chapters.entries import ChapterEntry, format_timestamp, is_web_url
from episodes.directories import BY_FIELD, DIRECTORIES, DirectoryURLValidator
from episodes.guids import podcast_guid_for
from episodes.namespace.fields import EpisodeNamespaceFields, ShowNamespaceFields
from episodes.sanitize import sanitize_html
from episodes.signals import chapters_changed, episode_content_changed, episode_transitioned
from episodes.tenancy import TenantQuerySet
from episodes.transcripts.cues import Cue, cues_from_json, cues_to_json
from episodes.webhook_urls import validate_webhook_url
from podcasthost.rows import update_rows
from podcasthost.storage.alias import StorageAlias

# BCP 47 language tag as podcast apps accept it: "en", "en-US", "pt-BR", "zh-Hant".
# Apple asks for ISO 639 with an optional region:
# https://podcasters.apple.com/support/823-podcast-requirements
language_validator = RegexValidator(
    r"^[A-Za-z]{2,3}(-[A-Za-z0-9]{2,8})*$",
    "Use a language tag such as “en”, “en-US” or “pt-BR”.",
)


# First path segments the site itself uses: a show there would be unreachable.
RESERVED_SLUGS = frozenset({"admin", "media", "static", "uploads", "episodes", "oembed", "healthz"})
# Second path segments a show's site uses (/<slug>/embed, /<slug>/feed.xml):
# an episode there would be shadowed or confusing.
RESERVED_EPISODE_SLUGS = frozenset({"embed", "feed", "oembed"})


def validate_slug_not_reserved(value: str) -> None:
    if value.lower() in RESERVED_SLUGS:
        raise ValidationError(f"“{value}” is used by the site itself; choose another slug.")


def validate_episode_slug_not_reserved(value: str) -> None:
    if value.lower() in RESERVED_EPISODE_SLUGS:
        raise ValidationError(f"“{value}” is used by the show's site; choose another slug.")


# Apple: "The maximum amount of text allowed for this tag is 4000 bytes", for the
# show's and each episode's <description>:
# https://help.apple.com/itc/podcasts_connect/#/itcb54353390
DESCRIPTION_MAX_BYTES = 4000


def measured_url(prefix: str, url: str) -> str:
    """``url`` behind a measurement ``prefix`` (OP3, Podtrac); ``url`` itself when there is none.

    Redirect prefixes take the URL without its scheme (OP3 and Podtrac both
    document ``prefix + host/path``): https://op3.dev/setup
    """
    if not prefix:
        return url
    return prefix + url.split("://", 1)[-1]


def validate_measurement_prefix(value: str) -> None:
    """A redirect prefix such as ``https://op3.dev/e/`` or ``https://dts.podtrac.com/redirect.mp3/``.

    The media's host and path are appended to it, so they must land in its
    path: a query (``?``) or fragment (``#``, never sent to the server) would
    swallow them and no app could reach the file.
    """
    try:
        parts = urlsplit(value)
    except ValueError:  # "https://[::1/e/": not even a URL
        parts = None
    if (
        parts is None
        or not value.startswith("https://")
        or not value.endswith("/")
        or len(value) < 12
        or not parts.hostname
        or "?" in value
        or "#" in value
        or "@" in parts.netloc
        or any(c.isspace() for c in value)
    ):
        raise ValidationError(
            "Use the https:// prefix your measurement service gives, ending with “/”, "
            "e.g. https://op3.dev/e/ or https://dts.podtrac.com/redirect.mp3/."
        )


def validate_description_length(value: str) -> None:
    """Refuse a description over Apple's limit, measured as it will be stored (sanitised)."""
    size = len(sanitize_html(value).encode())
    if size > DESCRIPTION_MAX_BYTES:
        raise ValidationError(
            f"Apple Podcasts allows at most {DESCRIPTION_MAX_BYTES:,} bytes of description; "
            f"this one has {size:,} bytes once cleaned. Shorten it, or link to longer notes."
        )


def media_storage() -> StorageAlias:
    """The ``media`` storage, resolved on every operation (so ``override_settings`` applies).

    Django calls a field's storage callable once, at class creation; the proxy
    defers the real lookup to each save/open/url.
    """
    return StorageAlias("media")


def cover_upload_to(podcast: Podcast, filename: str) -> str:
    # A new name on every change: apps cache artwork by URL and never refetch it.
    ext = filename.rsplit(".", 1)[-1].lower() if "." in filename else "jpg"
    return f"covers/{podcast.slug}/{uuid.uuid4().hex}.{ext}"


def directory_link_field(field: str) -> models.URLField:
    """The optional https URL of the show in one directory (``episodes.directories``)."""
    directory = BY_FIELD[field]
    return models.URLField(
        directory.name,
        max_length=500,
        blank=True,
        validators=[DirectoryURLValidator(field)],
        help_text=f"The show's page on {directory.name}, e.g. {directory.example}",
    )


def new_episode_guid() -> str:
    """The guid of an episode created here: a random UUID, as a string."""
    return str(uuid.uuid4())


# A guid that can be a storage-key segment as it is (every UUID we assign).
_KEY_SAFE_GUID = re.compile(r"^[A-Za-z0-9][A-Za-z0-9-]{0,63}$")


def episode_image_upload_to(episode: Episode, filename: str) -> str:
    ext = filename.rsplit(".", 1)[-1].lower() if "." in filename else "jpg"
    return f"covers/{episode.podcast.slug}/episodes/{uuid.uuid4().hex}.{ext}"


class IllegalTransition(Exception):
    """An episode was asked to move between two statuses the lifecycle does not link."""


class PodcastQuerySet(TenantQuerySet):
    members_lookup = "members"


class Podcast(ShowNamespaceFields):
    class ShowType(models.TextChoices):
        EPISODIC = "episodic", "Episodic (newest first)"
        SERIAL = "serial", "Serial (oldest first)"

    slug = models.SlugField(
        max_length=64,
        unique=True,
        validators=[validate_slug_not_reserved],
        # Admin help texts are HTML: no angle brackets, or "<slug>" vanishes as a tag.
        help_text="Part of the public feed URL, e.g. /my-show/feed.xml. "
        "It cannot be changed once the show is saved.",
    )
    title = models.CharField(max_length=255)
    description = models.TextField(
        validators=[validate_description_length],
        help_text="Shown in podcast apps; at most 4,000 bytes (Apple's limit). Basic HTML allowed.",
    )
    author = models.CharField(max_length=255, blank=True)
    owner_name = models.CharField(max_length=255, blank=True)
    owner_email = models.EmailField(
        blank=True,
        help_text="Required by Apple Podcasts (itunes:owner); directories mail it to verify "
        "ownership. Not shown to listeners in podcast apps.",
    )
    language = models.CharField(max_length=35, default="en", validators=[language_validator])
    category = models.CharField(max_length=80, choices=categories.choices())
    second_category = models.CharField(max_length=80, choices=categories.choices(), blank=True)
    explicit = models.BooleanField(default=False)
    show_type = models.CharField(max_length=8, choices=ShowType.choices, default=ShowType.EPISODIC)
    cover = models.ImageField(
        upload_to=cover_upload_to,
        storage=media_storage,
        blank=True,
        validators=[validate_cover_art],
        help_text="Square JPEG or PNG, 1400-3000 px, RGB.",
    )
    link = models.URLField(blank=True, help_text="The show's website.")
    copyright = models.CharField(max_length=255, blank=True)
    podcast_guid = models.UUIDField(
        editable=False,
        unique=True,
        help_text="Podcasting 2.0 GUID: UUIDv5 of the feed URL, set once at creation.",
    )
    locked = models.BooleanField(
        default=True, help_text="podcast:locked — other hosts must refuse to import this show."
    )
    new_feed_url = models.URLField(
        blank=True, help_text="Set only when the show has moved to another host: its new feed URL."
    )
    measurement_prefix = models.URLField(
        blank=True,
        max_length=200,
        validators=[validate_measurement_prefix],
        help_text="Optional: a measurement service's prefix (OP3: https://op3.dev/e/, Podtrac: "
        "https://dts.podtrac.com/redirect.mp3/) put before every enclosure URL in the feed.",
    )
    auto_transcribe = models.BooleanField(
        "make draft transcripts",
        default=False,
        help_text="Transcribe each new episode automatically in the show's language. "
        "The result is a draft: nothing is published until you accept it.",
    )
    members = models.ManyToManyField(
        settings.AUTH_USER_MODEL,
        related_name="podcasts",
        blank=True,
        help_text="Users who may manage this show and its episodes.",
    )
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    # Directory listings, shown as "Listen on …" buttons on the public page.
    apple_podcasts_url = directory_link_field("apple_podcasts_url")
    spotify_url = directory_link_field("spotify_url")
    overcast_url = directory_link_field("overcast_url")
    pocket_casts_url = directory_link_field("pocket_casts_url")
    antennapod_url = directory_link_field("antennapod_url")
    podcast_addict_url = directory_link_field("podcast_addict_url")
    castbox_url = directory_link_field("castbox_url")
    youtube_music_url = directory_link_field("youtube_music_url")

    objects = PodcastQuerySet.as_manager()

    class Meta:
        # What creators call it; the model and URLs keep "podcast".
        verbose_name = "show"
        constraints = [
            models.CheckConstraint(
                condition=Q(category__in=categories.all_values()),
                name="podcast_category_apple",
            ),
            models.CheckConstraint(
                condition=Q(second_category="") | Q(second_category__in=categories.all_values()),
                name="podcast_second_category_apple",
            ),
            models.CheckConstraint(
                condition=Q(show_type__in=["episodic", "serial"]), name="podcast_show_type_valid"
            ),
        ]

    def __str__(self) -> str:
        return f"{self.title} ({self.slug})"

    def save(self, *args, **kwargs) -> None:
        if self.podcast_guid is None:
            self.podcast_guid = podcast_guid_for(self.feed_url)
        self.description = sanitize_html(self.description)
        super().save(*args, **kwargs)

    def get_absolute_url(self) -> str:
        return reverse("feeds:show", kwargs={"slug": self.slug})

    @property
    def feed_url(self) -> str:
        """The public feed URL that listeners' apps subscribe to."""
        return f"{settings.FEED_BASE_URL}/{self.slug}/feed.xml"

    def directory_links(self) -> list[tuple[str, str]]:
        """(directory name, URL) of each directory the creator entered, in a fixed order."""
        return [(d.name, getattr(self, d.field)) for d in DIRECTORIES if getattr(self, d.field)]

    def measured_url(self, url: str) -> str:
        """``url`` behind the show's measurement prefix, if any (:func:`measured_url`)."""
        return measured_url(self.measurement_prefix, url)

    def apple_categories(self) -> list[tuple[str, str | None]]:
        """(category, subcategory or None) pairs in feed order; Apple uses only the first."""
        return [categories.split(v) for v in (self.category, self.second_category) if v]

    def is_managed_by(self, user) -> bool:
        return user.is_superuser or (user.is_active and self.members.filter(pk=user.pk).exists())


class EpisodeQuerySet(TenantQuerySet):
    members_lookup = "podcast__members"

    def in_feed(self, now: datetime) -> EpisodeQuerySet:
        """Episodes listeners see: processed at least once and published by ``now``.

        An episode whose audio is being replaced keeps its earlier renditions
        in the feed until the new ones are ready, so "has renditions", not the
        current status, is the test.
        """
        return self.filter(publish_at__lte=now, renditions__isnull=False).distinct()


class Episode(EpisodeNamespaceFields):
    class Status(models.TextChoices):
        DRAFT = "draft", "Draft"
        UPLOADED = "uploaded", "Uploaded"
        PROCESSING = "processing", "Processing"
        READY = "ready", "Ready"
        FAILED = "failed", "Failed"

    class EpisodeType(models.TextChoices):
        FULL = "full", "Full"
        TRAILER = "trailer", "Trailer"
        BONUS = "bonus", "Bonus"

    # Which statuses each status may move to. ready → processing is a
    # re-transcode (new audio or new presets); it never passes through
    # "uploaded", so "ready → uploaded" is refused.
    TRANSITIONS: dict[str, frozenset[str]] = {
        Status.DRAFT: frozenset({Status.UPLOADED}),
        Status.UPLOADED: frozenset({Status.PROCESSING, Status.FAILED, Status.UPLOADED}),
        Status.PROCESSING: frozenset({Status.READY, Status.FAILED, Status.UPLOADED}),
        Status.READY: frozenset({Status.PROCESSING}),
        Status.FAILED: frozenset({Status.UPLOADED}),
    }

    podcast = models.ForeignKey(
        Podcast, on_delete=models.CASCADE, related_name="episodes", verbose_name="show"
    )
    # Any string a feed carries (an imported show keeps its items' guids
    # verbatim); our own episodes get a UUID. Unique per show, as apps key
    # episodes by (feed, guid).
    guid = models.CharField(
        max_length=1024,
        default=new_episode_guid,
        editable=False,
        help_text="Never changes once assigned.",
    )
    guid_is_permalink = models.BooleanField(
        null=True,
        default=False,
        editable=False,
        help_text="The guid's isPermaLink as the feed had it; empty: the attribute was absent.",
    )
    title = models.CharField(max_length=255)
    slug = models.SlugField(max_length=100, validators=[validate_episode_slug_not_reserved])
    description = models.TextField(
        blank=True,
        validators=[validate_description_length],
        help_text="Show notes; at most 4,000 bytes (Apple's limit). Basic HTML allowed.",
    )
    season = models.PositiveIntegerField(null=True, blank=True, validators=[MinValueValidator(1)])
    number = models.PositiveIntegerField(
        "episode number", null=True, blank=True, validators=[MinValueValidator(1)]
    )
    episode_type = models.CharField(
        max_length=8, choices=EpisodeType.choices, default=EpisodeType.FULL
    )
    explicit = models.BooleanField(default=False)
    publish_at = models.DateTimeField(
        null=True, blank=True, help_text="Empty: not published. In the future: scheduled."
    )
    image = models.ImageField(
        upload_to=episode_image_upload_to,
        storage=media_storage,
        blank=True,
        validators=[validate_cover_art],
        help_text="Episode artwork (optional): square JPEG or PNG, 1400-3000 px, RGB.",
    )

    status = models.CharField(
        max_length=12, choices=Status.choices, default=Status.DRAFT, editable=False
    )
    attempt = models.PositiveIntegerField(
        default=0, editable=False, help_text="Incremented on every new processing run."
    )
    source_key = models.CharField(max_length=512, blank=True, editable=False)
    source_filename = models.CharField(max_length=255, blank=True, editable=False)
    source_bytes = models.BigIntegerField(null=True, blank=True, editable=False)
    duration_seconds = models.FloatField(null=True, blank=True, editable=False)
    container = models.CharField(max_length=64, blank=True, editable=False)
    codec = models.CharField(max_length=64, blank=True, editable=False)
    sample_rate = models.PositiveIntegerField(null=True, blank=True, editable=False)
    channels = models.PositiveSmallIntegerField(null=True, blank=True, editable=False)
    loudness_lufs = models.FloatField(
        "integrated loudness (LUFS)", null=True, blank=True, editable=False
    )
    transcode_job_id = models.CharField(max_length=255, blank=True, editable=False)
    progress_percent = models.PositiveSmallIntegerField(default=0, editable=False)
    error_message = models.TextField(blank=True, editable=False)
    missing_renditions = models.TextField(
        blank=True,
        editable=False,
        help_text="Presets the last finished run could not produce, one per line, with why.",
    )

    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)
    uploaded_at = models.DateTimeField(null=True, blank=True, editable=False)
    submitted_at = models.DateTimeField(null=True, blank=True, editable=False)
    progress_at = models.DateTimeField(null=True, blank=True, editable=False)
    completed_at = models.DateTimeField(null=True, blank=True, editable=False)
    announced_at = models.DateTimeField(
        null=True,
        blank=True,
        editable=False,
        help_text="When the episode first appeared in a published feed; announced once.",
    )

    objects = EpisodeQuerySet.as_manager()

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["podcast", "slug"], name="episode_slug_per_podcast"),
            models.UniqueConstraint(fields=["podcast", "guid"], name="episode_guid_per_podcast"),
            models.CheckConstraint(
                condition=Q(season__isnull=True) | Q(season__gte=1), name="episode_season_positive"
            ),
            models.CheckConstraint(
                condition=Q(number__isnull=True) | Q(number__gte=1), name="episode_number_positive"
            ),
            models.CheckConstraint(
                condition=Q(progress_percent__gte=0) & Q(progress_percent__lte=100),
                name="episode_progress_percent_range",
            ),
            models.CheckConstraint(
                condition=Q(status__in=["draft", "uploaded", "processing", "ready", "failed"]),
                name="episode_status_valid",
            ),
            models.CheckConstraint(
                condition=Q(episode_type__in=["full", "trailer", "bonus"]),
                name="episode_type_valid",
            ),
        ]
        indexes = [
            models.Index(fields=["status", "updated_at"], name="episode_status_idx"),
            models.Index(fields=["podcast", "publish_at"], name="episode_publish_idx"),
            models.Index(fields=["guid"], name="episode_guid_idx"),
        ]

    def __str__(self) -> str:
        # Unique (the slug pair) yet readable; lists select_related("podcast").
        return f"{self.title} ({self.podcast.slug}/{self.slug})"

    def save(self, *args, **kwargs) -> None:
        self.description = sanitize_html(self.description)
        update_fields = kwargs.get("update_fields")
        if self.pk and update_fields is None:
            # Never write status or pipeline fields from a stale in-memory copy:
            # a plain save() (the admin's) must not undo a worker's transition.
            kwargs["update_fields"] = [
                f.name for f in self._meta.concrete_fields if f.editable and not f.primary_key
            ] + ["updated_at"]
        super().save(*args, **kwargs)

    def get_absolute_url(self) -> str:
        """The episode's public page, ``/<show>/<episode>/`` (404 until it is published)."""
        return reverse(
            "feeds:episode", kwargs={"slug": self.podcast.slug, "episode_slug": self.slug}
        )

    @property
    def storage_id(self) -> str:
        """The guid as a storage-key and URL-fragment segment.

        Our UUIDs as they are (existing keys keep their shape); an imported
        guid (a URL, spaces, anything) as a digest of it.
        """
        if _KEY_SAFE_GUID.match(self.guid):
            return self.guid
        return "g" + hashlib.sha256(self.guid.encode()).hexdigest()[:32]

    # --- lifecycle ---

    def can_move_to(self, to: str) -> bool:
        return to in self.TRANSITIONS[self.status]

    def transition(
        self, to: str, *, now: datetime | None = None, expect: dict | None = None, **changes
    ) -> bool:
        """Move from the in-memory status to ``to`` with one conditional UPDATE.

        ``changes`` are other fields written in the same UPDATE (``F()``
        expressions allowed); ``expect`` are more fields the row must still
        hold (e.g. the ``source_key`` a worker probed: ``uploaded → uploaded``
        with new audio keeps the status but changes the work). Returns ``True``
        when this call won; ``False`` when the row no longer matched (another
        process moved it first), in which case nothing was written. Raises
        :class:`IllegalTransition` when the lifecycle does not link the two
        statuses.
        """
        if not self.can_move_to(to):
            raise IllegalTransition(
                f"Episode {self.pk} cannot move from “{self.status}” to “{to}”."
            )
        now = now or timezone.now()
        changes["updated_at"] = now
        source = self.status
        won = (
            Episode.objects.filter(pk=self.pk, status=self.status, **(expect or {})).update(
                status=to, **changes
            )
            == 1
        )
        if won:
            self.status = to
            if any(isinstance(v, (F, models.Expression)) for v in changes.values()):
                self.refresh_from_db()
            else:
                for name, value in changes.items():
                    setattr(self, name, value)
            episode_transitioned.send(sender=Episode, episode=self, source=source, target=to)
        return won

    def mark_uploaded(
        self, *, source_key: str, source_bytes: int, filename: str = "", now: datetime | None = None
    ) -> bool:
        """Record new source audio: draft/uploaded/processing/failed → uploaded."""
        now = now or timezone.now()
        return self.transition(
            self.Status.UPLOADED,
            now=now,
            source_key=source_key,
            source_bytes=source_bytes,
            source_filename=filename,
            uploaded_at=now,
            **self.run_reset(now),
        )

    @classmethod
    def mark_uploaded_many(
        cls, sources: Iterable[tuple[Episode, str, int, str]], *, now: datetime | None = None
    ) -> list[Episode]:
        """:meth:`mark_uploaded` for many episodes (not ``ready``) in one transaction.

        ``sources`` are ``(episode, source_key, source_bytes, filename)``. For
        each :attr:`UPDATE_MANY_CHUNK` episodes, one UPDATE (executed for each
        row) moves every row that still holds its in-memory status (the same
        compare-and-swap as :meth:`transition`) and one SELECT reads which rows
        took this call's values. Returns the episodes that moved:
        their in-memory copies are updated and ``episode_transitioned`` is sent
        for each. Any other episode is untouched (another process moved it
        first); the caller decides what to do with it. Raises
        :class:`IllegalTransition` (writing nothing) for a ``ready`` episode.
        """
        sources = list(sources)
        if not sources:
            return []
        for episode, *_ in sources:
            if episode.status == cls.Status.READY or not episode.can_move_to(cls.Status.UPLOADED):
                raise IllegalTransition(
                    f"Episode {episode.pk} cannot move from “{episode.status}” to “uploaded”."
                )
        now = now or timezone.now()
        moved: list[Episode] = []
        with transaction.atomic():
            # Chunks keep each statement's parameters well within every database's limit.
            for start in range(0, len(sources), cls.UPDATE_MANY_CHUNK):
                moved += cls._mark_uploaded_chunk(
                    sources[start : start + cls.UPDATE_MANY_CHUNK], now
                )
        return moved

    UPDATE_MANY_CHUNK = 100

    @classmethod
    def _mark_uploaded_chunk(
        cls, sources: list[tuple[Episode, str, int, str]], now: datetime
    ) -> list[Episode]:
        by_pk = {episode.pk: (episode, key, size, name) for episode, key, size, name in sources}
        common = {
            "status": cls.Status.UPLOADED,
            "uploaded_at": now,
            "updated_at": now,
            **cls.run_reset(now),
        }
        # One statement run for every row (executemany): an ORM update per row,
        # or one with a CASE per field, costs far more than the writes themselves.
        names = [*common, "source_key", "source_bytes", "source_filename"]
        update_rows(
            cls,
            names,
            [
                (*common.values(), key, size, name, episode.pk, episode.status)
                for episode, key, size, name in sources
            ],
            where=("status",),
        )
        # This call's rows: uploaded at this very instant with the key it wrote.
        taken = cls.objects.filter(
            pk__in=list(by_pk), status=cls.Status.UPLOADED, uploaded_at=now
        ).values_list("pk", "source_key")
        moved = [by_pk[pk] for pk, key in taken if key == by_pk[pk][1]]
        for episode, key, size, name in moved:
            source = episode.status
            values = {**common, "source_key": key, "source_bytes": size, "source_filename": name}
            for field, value in values.items():
                setattr(episode, field, value)
            episode_transitioned.send(
                sender=Episode, episode=episode, source=source, target=episode.status
            )
        return [episode for episode, *_ in moved]

    def replace_source(
        self, *, source_key: str, source_bytes: int, filename: str = "", now: datetime | None = None
    ) -> bool:
        """Make new audio the source and start (re)processing it. ``True`` if this call won.

        A ``ready`` episode keeps its renditions in the feed: ready → processing
        with the new source and a fresh attempt (never "ready → uploaded").
        Any other status: :meth:`mark_uploaded`.
        """
        if self.status != self.Status.READY:
            return self.mark_uploaded(
                source_key=source_key, source_bytes=source_bytes, filename=filename, now=now
            )
        now = now or timezone.now()
        return self.transition(
            self.Status.PROCESSING,
            now=now,
            source_key=source_key,
            source_bytes=source_bytes,
            source_filename=filename,
            uploaded_at=now,
            attempt=F("attempt") + 1,
            **self.run_reset(now),
        )

    def start_processing(self, *, now: datetime | None = None, expect: dict | None = None) -> bool:
        """Claim the episode for a new processing run (uploaded or ready → processing)."""
        now = now or timezone.now()
        return self.transition(
            self.Status.PROCESSING,
            now=now,
            expect=expect,
            attempt=F("attempt") + 1,
            **self.run_reset(now),
        )

    def mark_ready(self, *, now: datetime | None = None) -> bool:
        """processing → ready, progress 100."""
        now = now or timezone.now()
        return self.transition(
            self.Status.READY, now=now, progress_percent=100, completed_at=now, progress_at=now
        )

    def mark_failed(
        self, message: str, *, now: datetime | None = None, expect: dict | None = None
    ) -> bool:
        """uploaded/processing → failed, keeping a reason a creator can act on."""
        now = now or timezone.now()
        return self.transition(
            self.Status.FAILED,
            now=now,
            expect=expect,
            error_message=message[:2000],
            completed_at=now,
        )

    def retry(self, *, now: datetime | None = None) -> bool:
        """failed → uploaded, so the pipeline picks it up again."""
        now = now or timezone.now()
        return self.transition(self.Status.UPLOADED, now=now, **self.run_reset(now))

    def requeue(self, *, now: datetime | None = None) -> bool:
        """processing → uploaded: the run died (worker killed, job lost); start it again."""
        now = now or timezone.now()
        return self.transition(self.Status.UPLOADED, now=now, **self.run_reset(now))

    @staticmethod
    def run_reset(now: datetime) -> dict:
        """The fields a run (re)starts from: no job, no progress, no error.

        Written by every transition that begins or restarts processing.
        """
        return {
            "transcode_job_id": "",
            "progress_percent": 0,
            "progress_at": now,
            "error_message": "",
        }

    # --- pipeline facts: conditional UPDATEs that never change ``status`` ---

    def _write_if(self, expect: dict, **changes) -> bool:
        """One UPDATE of this row, only if it still matches ``expect``; ``True`` if it did.

        On a win the in-memory copy takes the written values; on a loss
        nothing was written (another process moved the row first).
        """
        won = Episode.objects.filter(pk=self.pk, **expect).update(**changes) == 1
        if won:
            for name, value in changes.items():
                setattr(self, name, value)
        return won

    def _run_guard(self, attempt: int | None, job_id: str | None = None) -> dict:
        # "Still this run": processing, and (when given) the same attempt and job.
        guard: dict = {"status": self.Status.PROCESSING}
        if attempt is not None:
            guard["attempt"] = attempt
        if job_id is not None:
            guard["transcode_job_id"] = job_id
        return guard

    def record_probe(
        self,
        *,
        attempt: int,
        duration_seconds: float | None,
        container: str,
        codec: str,
        sample_rate: int | None,
        channels: int | None,
        loudness_lufs: float | None,
    ) -> bool:
        """Store what the probe found, if ``attempt`` is still the processing run."""
        return self._write_if(
            self._run_guard(attempt),
            duration_seconds=duration_seconds,
            container=container,
            codec=codec,
            sample_rate=sample_rate,
            channels=channels,
            loudness_lufs=loudness_lufs,
            # The duration can show in the feed item: a new revision (feeds.rss.item_revision).
            updated_at=timezone.now(),
        )

    def record_job(self, job_id: str, *, attempt: int, now: datetime) -> bool:
        """Store the transcoder's job id of ``attempt``; ``True`` if this call won.

        Loses (writes nothing) unless the row is still processing ``attempt``
        with no job yet: a stale run or a second submit never replaces a job.
        """
        return self._write_if(
            {**self._run_guard(attempt), "transcode_job_id": ""},
            transcode_job_id=job_id,
            submitted_at=now,
            progress_at=now,
            updated_at=now,
        )

    def record_progress(
        self,
        percent: int,
        *,
        attempt: int | None = None,
        job_id: str | None = None,
        now: datetime | None = None,
    ) -> bool:
        """Store job progress (clamped to 0-100) while processing; ``True`` if written.

        A no-op (``False``) in any other status, or when ``attempt`` / ``job_id``
        are given and the row has moved on to another run or job.
        """
        now = now or timezone.now()
        return self._write_if(
            self._run_guard(attempt, job_id),
            progress_percent=max(0, min(100, int(percent))),
            progress_at=now,
            updated_at=now,
        )

    def record_missing_renditions(self, missing: str, *, attempt: int, job_id: str) -> bool:
        """Store which presets run ``attempt``/``job_id`` could not produce (``""``: none).

        Written by the run that is about to become ready, so the admin names
        what the feed lacks; ``False`` (nothing written) if the run is stale.
        """
        return self._write_if(self._run_guard(attempt, job_id), missing_renditions=missing)

    def touch_if_unchanged(self, *, now: datetime) -> bool:
        """Set ``updated_at`` to ``now`` if the row still has this copy's status and ``updated_at``.

        Marks an episode as "seen at ``now``" exactly once among racing callers.
        """
        return self._write_if(
            {"status": self.status, "updated_at": self.updated_at}, updated_at=now
        )

    def record_import_failure(self, message: str, *, now: datetime | None = None) -> bool:
        """Note why an imported draft got no audio (download refused, not audio…).

        Only a draft is written (one with audio has its own pipeline errors);
        a later import run that gets the audio clears it through ``run_reset``.
        """
        now = now or timezone.now()
        return self._write_if(
            {"status": self.Status.DRAFT}, error_message=message[:2000], updated_at=now
        )

    def is_published(self, now: datetime) -> bool:
        return self.publish_at is not None and self.publish_at <= now

    def mark_announced(self, *, now: datetime) -> bool:
        """Record that the episode's first appearance in a feed was announced; ``True`` once."""
        return self._write_if({"announced_at__isnull": True}, announced_at=now)

    def touch(self, *, now: datetime | None = None) -> None:
        """Note that something its feed item or page shows changed outside this row.

        A transcript (or another row the item carries) was published, edited
        or removed: one UPDATE of ``updated_at`` moves the item's revision
        (``feeds.rss.item_revision``) and the pages' version, and
        :data:`~episodes.signals.episode_content_changed` requests a feed publish.
        """
        now = now or timezone.now()
        Episode.objects.filter(pk=self.pk).update(updated_at=now)
        self.updated_at = now
        episode_content_changed.send(sender=Episode, episode_id=self.pk, podcast_id=self.podcast_id)


class Rendition(models.Model):
    """One encoded file of an episode, as really produced and measured in storage."""

    episode = models.ForeignKey(Episode, on_delete=models.CASCADE, related_name="renditions")
    preset = models.CharField(max_length=32)
    key = models.CharField("storage key", max_length=512)
    mime_type = models.CharField(max_length=64)
    size_bytes = models.BigIntegerField(validators=[MinValueValidator(1)])
    bitrate = models.PositiveIntegerField(help_text="Bits per second.", null=True, blank=True)
    duration_seconds = models.FloatField(null=True, blank=True)
    #: SRI hash of the file (``sha384-<base64>``, :func:`episodes.integrity.sri_sha384`),
    #: the feed's ``podcast:integrity``; empty for files recorded before it was computed.
    integrity = models.CharField(max_length=100, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["episode", "preset"], name="rendition_preset_once"),
            models.CheckConstraint(condition=Q(size_bytes__gt=0), name="rendition_size_positive"),
        ]

    def __str__(self) -> str:
        return f"{self.episode} [{self.preset}]"

    @property
    def url(self) -> str:
        """Public URL of the file (CloudFront on AWS, /media/ on one machine)."""
        return storages["media"].url(self.key)


class TranscriptQuerySet(TenantQuerySet):
    members_lookup = "episode__podcast__members"

    def published(self) -> TranscriptQuerySet:
        return self.filter(status=Transcript.Status.PUBLISHED)

    def attach(
        self,
        episode: Episode,
        *,
        language: str,
        cues: list[Cue],
        timed: bool,
        source_filename: str = "",
        now: datetime | None = None,
    ) -> Transcript:
        """Store an uploaded transcript of ``episode`` in ``language``, published at once.

        Replaces whatever that language had (an earlier upload, a draft, a
        pending or failed automatic one: a transcriber still working on it
        then loses its compare-and-swap, as the row is no longer pending).
        ``cues`` come from :func:`episodes.transcripts.formats.parse_transcript`.
        Raises ``ValidationError`` for a malformed language tag.
        """
        language_validator(language)
        now = now or timezone.now()
        fields = {
            "origin": Transcript.Origin.UPLOADED,
            "status": Transcript.Status.PUBLISHED,
            "cues": cues_to_json(cues),
            "timed": timed,
            "source_filename": source_filename[:255],
            "job_id": "",
            "progress_percent": 0,
            "error_message": "",
        }
        transcript, created = self.get_or_create(
            episode=episode, language=language, defaults=fields
        )
        if not created:
            self.filter(pk=transcript.pk).update(**fields, updated_at=now)
            transcript.refresh_from_db()
        episode.touch(now=now)
        return transcript


class Transcript(models.Model):
    """One language of an episode's transcript, stored once as cues.

    Uploaded transcripts are published at once; automatic ones go
    ``pending`` (the transcriber is working) → ``draft`` (or ``failed``) and
    reach listeners only when the creator accepts them (``published``).
    Only published transcripts appear in feeds and on the site.
    """

    class Origin(models.TextChoices):
        UPLOADED = "uploaded", "uploaded"
        AUTOMATIC = "automatic", "automatic"

    class Status(models.TextChoices):
        PENDING = "pending", "being transcribed"
        DRAFT = "draft", "draft (not published)"
        PUBLISHED = "published", "published"
        FAILED = "failed", "failed"

    episode = models.ForeignKey(Episode, on_delete=models.CASCADE, related_name="transcripts")
    language = models.CharField(max_length=35, validators=[language_validator])
    origin = models.CharField(max_length=10, choices=Origin.choices, default=Origin.UPLOADED)
    status = models.CharField(max_length=10, choices=Status.choices, default=Status.PUBLISHED)
    #: ``[{"start": s, "end": s, "text": ..., "speaker": ...}]``, see
    #: :mod:`episodes.transcripts.cues`; start/end are null for plain text.
    cues = models.JSONField(default=list, blank=True)
    #: ``False`` for a plain-text transcript: SRT/VTT/JSON cannot be derived from it.
    timed = models.BooleanField(default=True)
    source_filename = models.CharField(max_length=255, blank=True)
    #: The transcriber backend's job id while an automatic transcript is pending.
    job_id = models.CharField(max_length=255, blank=True, editable=False)
    #: How far a pending automatic transcript has got, for the admin's progress display.
    progress_percent = models.PositiveSmallIntegerField(default=0, editable=False)
    error_message = models.TextField(blank=True, editable=False)
    #: Automatic transcripts: incremented by every claim of a transcription run,
    #: so each run has its own job name and a stale run's writes lose.
    attempt = models.PositiveIntegerField(default=0, editable=False)
    #: When the current run was claimed; ``None`` while no worker holds it.
    claimed_at = models.DateTimeField(null=True, blank=True, editable=False)
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    objects = TranscriptQuerySet.as_manager()

    class Meta:
        constraints = [
            models.UniqueConstraint(
                fields=["episode", "language"], name="transcript_language_once"
            ),
        ]

    def __str__(self) -> str:
        return f"{self.episode} [{self.language}, {self.get_status_display()}]"

    def cue_list(self) -> list[Cue]:
        """The stored cues as :class:`~episodes.transcripts.cues.Cue` objects, in order."""
        return cues_from_json(self.cues)

    def accept(self, cues: list[Cue] | None = None, *, now: datetime | None = None) -> bool:
        """draft → published, with the creator's edited ``cues`` if given; ``True`` if this won.

        ``False`` (nothing written) unless the row is still a draft: accepted
        twice, replaced by an upload, or deleted meanwhile.
        """
        now = now or timezone.now()
        changes: dict = {"status": self.Status.PUBLISHED}
        if cues is not None:
            changes["cues"] = cues_to_json(cues)
        won = self._write_if({"status": self.Status.DRAFT}, now=now, **changes)
        if won:
            self.episode.touch(now=now)
        return won

    def revise(self, cues: list[Cue], *, timed: bool, now: datetime | None = None) -> bool:
        """Replace the cues of a draft or published transcript (the creator's edit).

        The status stays; a published one changes for listeners at once.
        ``False`` if the row is neither (still pending, failed) or is gone.
        """
        now = now or timezone.now()
        editable = [self.Status.DRAFT, self.Status.PUBLISHED]
        won = self._write_if(
            {"status__in": editable}, now=now, cues=cues_to_json(cues), timed=timed
        )
        if won:
            # Touched for a draft too: the in-memory status may be stale, and
            # a needless publish request changes no byte of the feed.
            self.episode.touch(now=now)
        return won

    # --- automatic drafts: conditional UPDATEs, as Episode's pipeline writes ---

    def _write_if(self, expect: dict, *, now: datetime | None = None, **changes) -> bool:
        """One UPDATE of this row if it still matches ``expect``; ``True`` if it did.

        ``now``, if given, is stored as ``updated_at``.
        """
        if now is not None:
            changes["updated_at"] = now
        won = Transcript.objects.filter(pk=self.pk, **expect).update(**changes) == 1
        if won:
            if any(isinstance(v, (F, models.Expression)) for v in changes.values()):
                self.refresh_from_db()
            else:
                for name, value in changes.items():
                    setattr(self, name, value)
        return won

    def claim(self, *, now: datetime, stalled_before: datetime) -> bool:
        """Start a transcription run of a pending transcript: ``attempt`` + 1. ``True`` if won.

        Wins only while no job is recorded and either no worker holds the row
        or the holder gave no sign of life since ``stalled_before`` (it died):
        a redelivered task never runs a live transcription twice.
        """
        alive = Q(claimed_at__isnull=False, updated_at__gt=stalled_before)
        won = (
            Transcript.objects.filter(
                pk=self.pk, status=self.Status.PENDING, job_id="", attempt=self.attempt
            )
            .exclude(alive)
            .update(
                attempt=F("attempt") + 1,
                claimed_at=now,
                progress_percent=0,
                error_message="",
                updated_at=now,
            )
            == 1
        )
        if won:
            self.refresh_from_db()
        return won

    def record_job(self, job_id: str, *, attempt: int, now: datetime | None = None) -> bool:
        """Store the transcriber's job id of run ``attempt``; never replaces a recorded job."""
        return self._write_if(
            {"status": self.Status.PENDING, "attempt": attempt, "job_id": ""},
            job_id=job_id,
            updated_at=now or timezone.now(),
        )

    def record_progress(self, percent: int, *, attempt: int, now: datetime | None = None) -> bool:
        """Store how far run ``attempt`` has got (clamped to 0-99: only a draft is 100)."""
        return self._write_if(
            {"status": self.Status.PENDING, "attempt": attempt},
            progress_percent=max(0, min(99, int(percent))),
            updated_at=now or timezone.now(),
        )

    def record_draft(self, cues: list, *, job_id: str, now: datetime | None = None) -> bool:
        """pending (this job) → draft with ``cues`` (:class:`~episodes.transcripts.cues.Cue`).

        Never publishes: the creator accepts a draft. ``False`` if the run is stale.
        """
        from episodes.transcripts.cues import cues_to_json

        return self._write_if(
            {"status": self.Status.PENDING, "job_id": job_id},
            status=self.Status.DRAFT,
            cues=cues_to_json(cues),
            timed=True,
            progress_percent=100,
            error_message="",
            updated_at=now or timezone.now(),
        )

    def record_failure(
        self, reason: str, *, attempt: int | None = None, now: datetime | None = None
    ) -> bool:
        """pending → failed with a reason a creator can read; ``attempt`` guards a stale run."""
        expect: dict = {"status": self.Status.PENDING}
        if attempt is not None:
            expect["attempt"] = attempt
        return self._write_if(
            expect,
            status=self.Status.FAILED,
            error_message=reason[:2000],
            updated_at=now or timezone.now(),
        )

    def release(self, *, attempt: int, now: datetime | None = None) -> bool:
        """Give up run ``attempt``'s claim before it recorded a job (a transient error).

        The retry claims again at once instead of waiting for the stall time.
        """
        return self._write_if(
            {"status": self.Status.PENDING, "attempt": attempt, "job_id": ""},
            claimed_at=None,
            updated_at=now or timezone.now(),
        )

    def forget_job(self, job_id: str, *, now: datetime | None = None) -> bool:
        """The backend lost ``job_id`` (its result vanished): pending, unclaimed, to run again."""
        return self._write_if(
            {"status": self.Status.PENDING, "job_id": job_id},
            job_id="",
            claimed_at=None,
            progress_percent=0,
            updated_at=now or timezone.now(),
        )

    def abandon_stale_claim(self, *, now: datetime) -> bool:
        """Mark "seen at ``now``" a pending run with no job that this copy saw last; ``True`` once.

        For reconcile: the holder (if any) gave no sign of life, so its claim
        is dropped; among racing reconcilers exactly one wins and re-queues it.
        """
        return self._write_if(
            {"status": self.Status.PENDING, "job_id": "", "updated_at": self.updated_at},
            claimed_at=None,
            updated_at=now,
        )

    def restart(self, *, now: datetime | None = None) -> bool:
        """A failed automatic transcript → pending again (new audio, or a retry)."""
        return self._write_if(
            {"status": self.Status.FAILED, "origin": self.Origin.AUTOMATIC},
            status=self.Status.PENDING,
            job_id="",
            claimed_at=None,
            progress_percent=0,
            error_message="",
            updated_at=now or timezone.now(),
        )


class ChapterQuerySet(TenantQuerySet):
    members_lookup = "episode__podcast__members"

    def of(self, episode_id: int) -> ChapterQuerySet:
        """``episode_id``'s chapters in time order."""
        return self.filter(episode_id=episode_id).order_by("start_seconds", "pk")

    def replace_for(self, episode: Episode, entries: Iterable[ChapterEntry]) -> list[Chapter]:
        """Make ``entries`` the chapters of ``episode`` (sorted by start), in one transaction.

        The caller has checked them (:func:`episodes.chapters.entries.problems_of`).
        Each row's save/delete moves the episode's feed revision and requests a
        publish (receivers); once committed, the files are re-tagged
        (:data:`~episodes.signals.chapters_changed`).
        """
        rows = [
            Chapter(
                episode=episode,
                start_seconds=e.start_seconds,
                title=e.title,
                url=e.url,
                image_url=e.image_url,
                toc=e.toc,
            )
            for e in sorted(entries, key=lambda e: e.start_seconds)
        ]
        with transaction.atomic():
            for old in self.filter(episode=episode):
                old.delete()
            for row in rows:
                row.save()
            chapters_changed.send(sender=Chapter, episode_id=episode.pk)
        return rows


def validate_web_url(value: str) -> None:
    if value and not is_web_url(value):
        raise ValidationError("Use an http:// or https:// address.")


class Chapter(models.Model):
    """One chapter of an episode: its start, title and optional link and artwork (URLs).

    Rows, not a JSON blob: the admin edits them as an inline, the database
    keeps each start unique per episode, and a saved row moves the episode's
    feed revision through the ordinary save signals.
    """

    episode = models.ForeignKey(Episode, on_delete=models.CASCADE, related_name="chapters")
    start_seconds = models.FloatField("start (seconds)", validators=[MinValueValidator(0)])
    title = models.CharField(max_length=255)
    url = models.URLField(
        "link",
        max_length=2000,
        blank=True,
        validators=[validate_web_url],
        help_text="A web page about this chapter (optional).",
    )
    image_url = models.URLField(
        "image URL",
        max_length=2000,
        blank=True,
        validators=[validate_web_url],
        help_text="Chapter artwork (optional): the address of a JPEG or PNG.",
    )
    toc = models.BooleanField(
        "listed",
        default=True,
        help_text="Untick for a silent chapter: its image and link show, it is not in the list.",
    )

    objects = ChapterQuerySet.as_manager()

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["episode", "start_seconds"], name="chapter_start_once"),
            models.CheckConstraint(
                condition=Q(start_seconds__gte=0), name="chapter_start_not_negative"
            ),
        ]

    def __str__(self) -> str:
        return f"{self.title} ({format_timestamp(self.start_seconds)}, episode #{self.episode_id})"

    def touch_episode(self) -> None:
        """Move the episode's ``updated_at``: its feed item's revision and the site's version."""
        Episode.objects.filter(pk=self.episode_id).update(updated_at=timezone.now())

    def as_entry(self) -> ChapterEntry:
        return ChapterEntry(
            start_seconds=self.start_seconds,
            title=self.title,
            url=self.url,
            image_url=self.image_url,
            toc=self.toc,
        )


class EpisodeEvent(models.Model):
    """Something a show's creators are told about: by e-mail, SNS and their webhooks.

    ``payload`` is the JSON document sent to webhooks and SNS, fixed when the
    event happened, so a retry sends the same bytes. ``emailed_at`` and
    ``sns_published_at`` make each channel send once.
    """

    class Kind(models.TextChoices):
        READY = "episode.ready", "Episode ready"
        FAILED = "episode.failed", "Episode failed"
        PUBLISHED = "episode.published", "Episode published"
        PUBLISH_BLOCKED = "feed.publish_blocked", "Feed publish blocked"
        TEST = "webhook.test", "Webhook test"

    uuid = models.UUIDField(default=uuid.uuid4, editable=False, unique=True)
    podcast = models.ForeignKey(
        Podcast, on_delete=models.CASCADE, related_name="events", verbose_name="show"
    )
    episode = models.ForeignKey(
        Episode, on_delete=models.SET_NULL, null=True, blank=True, related_name="events"
    )
    kind = models.CharField(max_length=32, choices=Kind.choices)
    subject = models.CharField(max_length=255)
    message = models.TextField(help_text="The e-mail's text: what happened and what to do.")
    payload = models.JSONField()
    created_at = models.DateTimeField()
    emailed_at = models.DateTimeField(null=True, blank=True)
    sns_published_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        indexes = [models.Index(fields=["podcast", "-created_at"], name="event_podcast_idx")]

    def __str__(self) -> str:
        return f"{self.kind} {self.uuid}"

    def _write_if(self, expect: dict, **changes) -> bool:
        won = EpisodeEvent.objects.filter(pk=self.pk, **expect).update(**changes) == 1
        if won:
            for name, value in changes.items():
                setattr(self, name, value)
        return won

    def mark_emailed(self, *, now: datetime) -> bool:
        return self._write_if({"emailed_at__isnull": True}, emailed_at=now)

    def mark_sns_published(self, *, now: datetime) -> bool:
        return self._write_if({"sns_published_at__isnull": True}, sns_published_at=now)


def new_webhook_secret() -> str:
    """A fresh signing secret: 256 random bits, URL-safe."""
    return secrets.token_urlsafe(32)


class WebhookQuerySet(TenantQuerySet):
    members_lookup = "podcast__members"


class Webhook(models.Model):
    """A creator's URL that receives every event of one show as signed JSON."""

    podcast = models.ForeignKey(
        Podcast, on_delete=models.CASCADE, related_name="webhooks", verbose_name="show"
    )
    url = models.URLField(
        "URL",
        max_length=2000,
        validators=[validate_webhook_url],
        help_text="Receives a POST of JSON for every event of the show. Public http(s) only.",
    )
    secret = models.CharField(
        max_length=64,
        default=new_webhook_secret,
        editable=False,
        help_text="Key of the HMAC-SHA256 signature in X-Podcasthost-Signature.",
    )
    active = models.BooleanField(default=True, help_text="Untick to stop deliveries.")
    created_at = models.DateTimeField(auto_now_add=True)

    objects = WebhookQuerySet.as_manager()

    def __str__(self) -> str:
        # Never the secret: __str__ ends up in logs and the admin's history.
        return f"{self.url} ({self.podcast.slug}, #{self.pk})"

    def rotate_secret(self) -> str:
        """Replace the signing secret (e.g. after it leaked); returns the new one."""
        self.secret = new_webhook_secret()
        Webhook.objects.filter(pk=self.pk).update(secret=self.secret)
        return self.secret


class WebhookDeliveryQuerySet(TenantQuerySet):
    members_lookup = "webhook__podcast__members"


class WebhookDelivery(models.Model):
    """One event sent (or being sent) to one webhook: the delivery log of the admin."""

    class Status(models.TextChoices):
        PENDING = "pending", "Pending"
        DELIVERED = "delivered", "Delivered"
        FAILED = "failed", "Failed"

    webhook = models.ForeignKey(Webhook, on_delete=models.CASCADE, related_name="deliveries")
    event = models.ForeignKey(EpisodeEvent, on_delete=models.CASCADE, related_name="deliveries")
    status = models.CharField(max_length=10, choices=Status.choices, default=Status.PENDING)
    attempts = models.PositiveIntegerField(default=0)
    response_status = models.PositiveSmallIntegerField(null=True, blank=True)
    response_excerpt = models.TextField(blank=True)
    error = models.TextField(blank=True)
    created_at = models.DateTimeField()
    last_attempt_at = models.DateTimeField(null=True, blank=True)
    delivered_at = models.DateTimeField(null=True, blank=True)

    objects = WebhookDeliveryQuerySet.as_manager()

    class Meta:
        verbose_name_plural = "webhook deliveries"
        constraints = [
            models.UniqueConstraint(fields=["webhook", "event"], name="delivery_once_per_event"),
            models.CheckConstraint(
                condition=Q(status__in=["pending", "delivered", "failed"]),
                name="delivery_status_valid",
            ),
        ]
        indexes = [models.Index(fields=["webhook", "-created_at"], name="delivery_webhook_idx")]

    def __str__(self) -> str:
        return f"delivery #{self.pk} of {self.event.kind} to webhook #{self.webhook_id}"

    def record_attempt(
        self,
        *,
        now: datetime,
        status: str,
        response_status: int | None = None,
        excerpt: str = "",
        error: str = "",
    ) -> bool:
        """Store the outcome of one attempt unless the delivery already succeeded."""
        changes: dict = {
            "status": status,
            "attempts": F("attempts") + 1,
            "response_status": response_status,
            "response_excerpt": excerpt[:1000],
            "error": error[:2000],
            "last_attempt_at": now,
        }
        if status == self.Status.DELIVERED:
            changes["delivered_at"] = now
        won = (
            WebhookDelivery.objects.filter(pk=self.pk)
            .exclude(status=self.Status.DELIVERED)
            .update(**changes)
            == 1
        )
        if won:
            self.refresh_from_db()
        return won

    def give_up(self, reason: str, *, now: datetime) -> bool:
        """pending → failed, keeping why (retries used up)."""
        won = (
            WebhookDelivery.objects.filter(pk=self.pk, status=self.Status.PENDING).update(
                status=self.Status.FAILED, error=reason[:2000], last_attempt_at=now
            )
            == 1
        )
        if won:
            self.refresh_from_db()
        return won

    def requeue(self) -> bool:
        """failed → pending, for the admin's "Deliver again"."""
        won = (
            WebhookDelivery.objects.filter(pk=self.pk, status=self.Status.FAILED).update(
                status=self.Status.PENDING
            )
            == 1
        )
        if won:
            self.status = self.Status.PENDING
        return won


class ImportRun(models.Model):
    """One import of a show from another host: what was asked, progress, and the outcome.

    Progress and the old feed's items are stored here, not in a worker's
    memory, so a reload or a second web process shows the same page, and a
    run whose worker died is resumed by running it again.
    """

    class Kind(models.TextChoices):
        RSS = "rss", "RSS feed"
        DYNAMODB = "dynamodb", "Seed DynamoDB table"

    class Status(models.TextChoices):
        QUEUED = "queued", "Queued"
        RUNNING = "running", "Importing"
        DONE = "done", "Imported"
        FAILED = "failed", "Failed"

    kind = models.CharField(max_length=8, choices=Kind.choices, default=Kind.RSS)
    source = models.CharField(max_length=2048, help_text="Feed URL or file, or table/show id.")
    slug = models.SlugField(max_length=64, blank=True)
    podcast = models.ForeignKey(
        Podcast, null=True, blank=True, on_delete=models.SET_NULL, related_name="import_runs"
    )
    requested_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL
    )
    owner_confirmed = models.BooleanField(default=False)
    skip_media = models.BooleanField(default=False)
    status = models.CharField(max_length=8, choices=Status.choices, default=Status.QUEUED)
    error_message = models.TextField(blank=True)
    items_found = models.PositiveIntegerField(default=0)
    media_total = models.PositiveIntegerField(default=0)
    media_downloaded = models.PositiveIntegerField(default=0)
    #: The old feed's items as the parity report compares them (guid, title, …).
    old_items = models.JSONField(default=list, blank=True)
    #: Problems found: dropped items, flagged artwork, replaced values; each {"guid", "problem"}.
    problems = models.JSONField(default=list, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)
    started_at = models.DateTimeField(null=True, blank=True)
    finished_at = models.DateTimeField(null=True, blank=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        constraints = [
            models.CheckConstraint(
                condition=Q(status__in=["queued", "running", "done", "failed"]),
                name="importrun_status_valid",
            ),
        ]

    def __str__(self) -> str:
        return f"Import #{self.pk} of {self.source}"

    def _write(self, **changes) -> None:
        # Field-scoped writes: the parallel download threads' counters and the
        # status never overwrite each other from a stale copy.
        changes["updated_at"] = timezone.now()
        ImportRun.objects.filter(pk=self.pk).update(**changes)
        for name, value in changes.items():
            if not isinstance(value, models.Expression):
                setattr(self, name, value)

    def touch(self) -> None:
        """Say the run is alive (``updated_at``) while nothing else changes."""
        self._write()

    def mark_running(self, *, now: datetime | None = None) -> None:
        """Start (or resume) the run: counters start again from what is left to do."""
        self._write(
            status=self.Status.RUNNING,
            started_at=now or timezone.now(),
            error_message="",
            media_downloaded=0,
            finished_at=None,
        )

    def record_found(self, *, old_items: list[dict], problems: list[dict], media_total: int):
        self._write(
            items_found=len(old_items),
            old_items=old_items,
            problems=problems,
            media_total=media_total,
        )

    def record_downloaded(self, count: int = 1) -> None:
        """Count ``count`` more enclosures brought over (one UPDATE for a batch)."""
        self._write(media_downloaded=F("media_downloaded") + count)

    def record_problems(self, problems: list[dict]) -> None:
        self._write(problems=problems)

    def mark_done(self, *, now: datetime | None = None) -> None:
        self._write(status=self.Status.DONE, finished_at=now or timezone.now())

    def mark_failed(self, message: str, *, now: datetime | None = None) -> None:
        self._write(
            status=self.Status.FAILED,
            error_message=message[:2000],
            finished_at=now or timezone.now(),
        )

    def is_visible_to(self, user) -> bool:
        """Superusers see every run; a creator the runs they started."""
        return user.is_superuser or (user.is_active and self.requested_by_id == user.pk)


# The repeated Podcasting 2.0 tags (people, funding, trailers, txt, podroll):
# imported here so Django registers them with this app.
from episodes.namespace.models import (  # noqa: E402, F401
    EpisodePerson,
    PodcastFunding,
    PodcastPerson,
    PodcastTrailer,
    PodcastTxt,
    PodrollItem,
)
