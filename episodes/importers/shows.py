"""Importing a show: the old host's show and items become a Podcast and its Episodes here.

Identity is kept exactly (each item's guid verbatim with its ``isPermaLink``,
the show's ``podcast:guid``), so no listener's app sees a new episode. Every
enclosure is downloaded (at most ``IMPORT_PARALLEL_DOWNLOADS`` at once) into
the uploads storage as the episode's source and goes through the normal
pipeline (probe, transcode, renditions) via :func:`episodes.uploads.confirm_upload`.

Re-running resumes: the show is found again (its ``podcast:guid``, or an
earlier run of the same source), episodes already holding audio are skipped,
drafts whose download failed or never finished are downloaded again.
"""

from __future__ import annotations

import logging
import secrets
import time
import uuid
from collections.abc import Callable
from concurrent.futures import FIRST_COMPLETED, Future, ThreadPoolExecutor, wait
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from pathlib import Path

from celery.exceptions import SoftTimeLimitExceeded
from django.conf import settings
from django.core.exceptions import ValidationError
from django.core.files.base import ContentFile
from django.core.validators import URLValidator, validate_slug
from django.db import DatabaseError, IntegrityError, close_old_connections, transaction
from django.utils import timezone
from django.utils.text import slugify

from episodes import categories
from episodes.artwork import validate_cover_art
from episodes.importers.media import MediaError, download_media, fetch_image
from episodes.importers.parity import DUPLICATE_GUID, parity_report
from episodes.importers.rss import FeedError, parse_feed
from episodes.importers.safe_http import FetchError, FetchSession, open_url
from episodes.importers.source import SourceItem, SourceShow
from episodes.models import (
    RESERVED_EPISODE_SLUGS,
    Episode,
    ImportRun,
    Podcast,
    language_validator,
    validate_slug_not_reserved,
)
from episodes.receivers import processing_in_one_message
from episodes.sanitize import sanitize_html
from episodes.uploads import (
    UploadError,
    check_upload,
    confirm_upload,
    recorded_filename,
    upload_key_for,
    uploads_storage,
)
from feeds.publishing import plan_scheduled, request_publish
from podcasthost.rows import insert_rows

log = logging.getLogger(__name__)

FALLBACK_CATEGORY = "Society & Culture"
GUID_MAX_CHARS = Episode._meta.get_field("guid").max_length
#: How often the downloads finished meanwhile are recorded (and the progress moves).
RECORD_EVERY_SECONDS = 0.25
#: A running import touches its run at least this often, even while one long
#: download is all that happens: a run silent for :data:`ALIVE_SECONDS` is dead.
HEARTBEAT_SECONDS = 60
ALIVE_SECONDS = 5 * HEARTBEAT_SECONDS


class ImportRefused(Exception):
    """The import cannot go ahead (locked show, slug taken, unreadable feed…); says why."""


@dataclass
class Progress:
    """What a long import reports as it goes (the command's bars, the admin's page)."""

    on_found: Callable[[int, int], object] = lambda items, media: None
    on_downloaded: Callable[[], object] = lambda: None


@dataclass
class Plan:
    """What an import does or would do: counts and the problems found."""

    podcast: Podcast | None
    new_items: list[SourceItem] = field(default_factory=list)
    already_imported: list[SourceItem] = field(default_factory=list)
    problems: list[dict] = field(default_factory=list)


# --- reading the source ----------------------------------------------------------


def read_feed_source(source: str) -> SourceShow:
    """The show in the feed at URL ``source``, or in the local file ``source``.

    Raises :class:`ImportRefused` with the reason for an unreachable, oversized,
    HTML or malformed feed.
    """
    source = source.strip()
    if "://" not in source and Path(source).is_file():
        path = Path(source)
        if path.stat().st_size > settings.IMPORT_FEED_MAX_BYTES:
            raise ImportRefused(f"{path} is larger than IMPORT_FEED_MAX_BYTES.")
        body, url, content_type = path.read_bytes(), path.resolve().as_uri(), ""
    else:
        body, url, content_type = fetch_feed(source)
    try:
        return parse_feed(body, url=url, content_type=content_type)
    except FeedError as exc:
        raise ImportRefused(str(exc)) from exc


def fetch_feed(url: str) -> tuple[bytes, str, str]:
    """(body, final URL, Content-Type header) of the feed at ``url``, within the caps."""
    deadline = time.monotonic() + settings.IMPORT_FEED_TIMEOUT_SECONDS
    try:
        with open_url(url, accept="application/rss+xml, application/xml;q=0.9, */*;q=0.5") as r:
            limit = settings.IMPORT_FEED_MAX_BYTES
            if r.content_length is not None and r.content_length > limit:
                raise ImportRefused(
                    f"The feed is {r.content_length:,} bytes; the limit "
                    f"(IMPORT_FEED_MAX_BYTES) is {limit:,}."
                )
            body = b"".join(r.chunks(max_bytes=limit, deadline=deadline))
            return body, r.url, r.headers.get("Content-Type", "")
    except FetchError as exc:
        raise ImportRefused(str(exc)) from exc


# --- checks ----------------------------------------------------------------------------


def check_ownership(show: SourceShow, *, user, owner_confirmed: bool) -> None:
    """Refuse a ``podcast:locked`` show unless the importer shows they own it.

    The Podcasting 2.0 spec asks hosts to refuse a locked feed unless its
    owner confirms (the e-mail in the feed, or an explicit confirmation):
    https://github.com/Podcastindex-org/podcast-namespace/blob/main/docs/tags/locked.md
    """
    if not show.locked or owner_confirmed:
        return
    owners = {e.strip().lower() for e in (show.locked_owner, show.owner_email) if e.strip()}
    email = (getattr(user, "email", "") or "").strip().lower()
    if email and email in owners:
        return
    shown = ", ".join(sorted(owners)) or "no address given"
    raise ImportRefused(
        "This show is locked (podcast:locked is yes): its owner asked hosts not to import it. "
        f"Import it as the owner (your account's e-mail must be the feed's owner e-mail: "
        f"{shown}), or confirm that you own it (--i-own-this-show / the “I own this show” box)."
    )


def artwork_problems(data: bytes, name: str) -> list[str]:
    """Apple's artwork rules this image breaks (not square, too small, CMYK, > 3000 px…)."""
    try:
        validate_cover_art(ContentFile(data, name=name))
    except ValidationError as exc:
        return list(exc.messages)
    return []


def _category(show: SourceShow, problems: list[dict]) -> tuple[str, str]:
    valid = set(categories.all_values())
    found = []
    for name, sub in show.categories:
        value = f"{name}{categories.SEPARATOR}{sub}" if sub else name
        if value in valid:
            found.append(value)
        elif name in valid:
            found.append(name)
        else:
            problems.append(_problem("", f"category “{value}” is not one of Apple's; left out"))
    found = list(dict.fromkeys(found))
    if not found:
        problems.append(
            _problem("", f"no Apple category in the feed; set to “{FALLBACK_CATEGORY}”, change it")
        )
        found = [FALLBACK_CATEGORY]
    return found[0], found[1] if len(found) > 1 else ""


def _problem(guid: str, problem: str, *, dropped: bool = False) -> dict:
    return {"guid": guid, "problem": problem, "dropped": dropped}


def _podcast_guid(show: SourceShow, problems: list[dict]) -> uuid.UUID | None:
    if not show.podcast_guid:
        return None
    try:
        return uuid.UUID(show.podcast_guid)
    except ValueError:
        problems.append(
            _problem("", f"podcast:guid “{show.podcast_guid}” is not a UUID; a new one is derived")
        )
        return None


# --- the import ------------------------------------------------------------------------


def find_podcast(run: ImportRun, show: SourceShow) -> Podcast | None:
    """The show an earlier run of this import created here, if any."""
    if run.podcast_id:
        return run.podcast
    guid = _podcast_guid(show, [])
    if guid is not None:
        found = Podcast.objects.filter(podcast_guid=guid).first()
        if found:
            return found
    earlier = (
        ImportRun.objects.filter(source=run.source, podcast__isnull=False)
        .exclude(pk=run.pk)
        .order_by("-pk")
        .first()
    )
    return earlier.podcast if earlier else None


_LANGUAGE_MAX = Podcast._meta.get_field("language").max_length
_LINK_MAX = Podcast._meta.get_field("link").max_length
_SLUG_MAX = Podcast._meta.get_field("slug").max_length


def check_show_slug(slug: str) -> None:
    """Refuse (:class:`ImportRefused`) a chosen slug no show can have."""
    try:
        validate_slug(slug)
        if len(slug) > _SLUG_MAX:
            raise ValidationError("too long")
    except ValidationError:
        raise ImportRefused(
            f"“{slug[:100]}” is not a slug: use at most {_SLUG_MAX} letters, digits, "
            "hyphens or underscores."
        ) from None
    try:
        validate_slug_not_reserved(slug)
    except ValidationError as exc:
        raise ImportRefused(exc.messages[0]) from None


def new_show_slug(run: ImportRun, show: SourceShow) -> str:
    """The slug of the show an import creates: the one chosen (checked), else the title's.

    Raises :class:`ImportRefused` for a chosen slug no show can have.
    """
    if run.slug:
        check_show_slug(run.slug)
        return run.slug
    return slug_from(show.title)


def slug_from(text: str) -> str:
    """A show slug made of ``text``; one the site uses itself gets "-podcast" after it."""
    slug = slugify(text)[:_SLUG_MAX].strip("-_") or "imported-show"
    try:
        validate_slug_not_reserved(slug)
    except ValidationError:
        slug = f"{slug}-podcast"
    return slug


def _web_link(link: str, problems: list[dict]) -> str:
    """The show's website if it is an http(s) URL that fits; else "" and a problem noted
    (a ``javascript:`` link would run in every visitor's browser)."""
    if not link:
        return ""
    try:
        URLValidator(schemes=["http", "https"])(link)
        if len(link) > _LINK_MAX:
            raise ValidationError("too long")
    except ValidationError:
        problems.append(_problem("", f"link “{link[:100]}” is not a web address; left empty"))
        return ""
    return link


def live_run_of(source: str, *, now: datetime) -> ImportRun | None:
    """The newest import of ``source`` that is queued or running and was heard from
    within :data:`ALIVE_SECONDS`; else ``None``.

    Only a hint for the admin form (a second click goes to the first run's
    page): a run whose process was killed looks alive for that long, and
    running an import again is how it resumes.
    """
    return (
        ImportRun.objects.filter(
            source=source,
            status__in=[ImportRun.Status.QUEUED, ImportRun.Status.RUNNING],
            updated_at__gt=now - timedelta(seconds=ALIVE_SECONDS),
        )
        .order_by("-pk")
        .first()
    )


def plan_import(run: ImportRun, show: SourceShow, *, user) -> Plan:
    """What importing ``show`` would do; writes nothing. Raises :class:`ImportRefused`."""
    check_ownership(show, user=user, owner_confirmed=run.owner_confirmed)
    podcast = find_podcast(run, show)
    if podcast is not None and user is not None and not podcast.is_managed_by(user):
        raise ImportRefused(f"This show is already hosted here as “{podcast.slug}”, not by you.")
    if podcast is None:
        slug = new_show_slug(run, show)
        if Podcast.objects.filter(slug=slug).exists():
            raise ImportRefused(f"The slug “{slug}” is taken; choose another (--slug).")
    plan = Plan(podcast=podcast)
    existing = {}
    if podcast is not None:
        existing = dict(podcast.episodes.values_list("guid", "status"))
    # Imports before guids were kept verbatim squeezed the spaces inside them:
    # such an episode is still the item's (apps know it by the stored guid).
    squeezed = {" ".join(guid.split()): guid for guid in existing}
    seen: set[str] = set()
    for item in show.items:
        stored = squeezed.get(" ".join(item.guid.split()))
        if item.guid not in existing and stored is not None:
            plan.problems.append(
                _problem(stored, f"guid kept as first imported (the feed's is {item.guid!r})")
            )
            item.guid = stored
        if item.unusable:
            plan.problems.append(_problem(item.guid, item.unusable, dropped=True))
        elif len(item.guid) > GUID_MAX_CHARS:
            why = f"a guid longer than {GUID_MAX_CHARS} characters"
            plan.problems.append(_problem(item.guid, why, dropped=True))
        elif item.guid in seen:
            plan.problems.append(_problem(item.guid, DUPLICATE_GUID, dropped=True))
        elif existing.get(item.guid, Episode.Status.DRAFT) != Episode.Status.DRAFT:
            plan.already_imported.append(item)
        else:
            plan.new_items.append(item)
            if item.published_at is None:
                plan.problems.append(_problem(item.guid, "no pubDate: published at import time"))
        seen.add(item.guid)
    return plan


def import_show(
    run: ImportRun, show: SourceShow, *, user, progress: Progress | None = None
) -> Plan:
    """Import ``show`` into the run's podcast (created if new); return what was done.

    Idempotent and resumable (see the module docstring). A failed download
    fails that one episode (a draft with the reason in its error) and is
    listed in ``run.problems``; the others go on. Raises
    :class:`ImportRefused` before writing anything if the show may not be imported.
    """
    progress = progress or Progress()
    now = timezone.now()
    run.mark_running(now=now)
    plan = plan_import(run, show, user=user)
    problems = plan.problems
    podcast = _save_podcast(run, show, plan.podcast, user=user, problems=problems)
    plan.podcast = podcast
    episodes = _save_episodes(podcast, plan.new_items, now)
    old = [item.snapshot() for item in show.items]
    todo = [] if run.skip_media else [(e, i) for e, i in zip(episodes, plan.new_items, strict=True)]
    if run.skip_media and episodes:
        problems.append(
            _problem("", f"{len(episodes)} episodes imported without audio (skip media)")
        )
    run.record_found(old_items=old, problems=problems, media_total=len(todo))
    progress.on_found(len(show.items), len(todo))
    _download_all(run, todo, show, problems, progress)
    run.record_problems(problems)
    run.mark_done()
    return plan


def _save_podcast(
    run: ImportRun, show: SourceShow, podcast: Podcast | None, *, user, problems: list[dict]
) -> Podcast:
    created = podcast is None
    if created:
        category, second = _category(show, problems)
        language = show.language
        try:
            language_validator(language)
            if len(language) > _LANGUAGE_MAX:
                raise ValidationError("too long")
        except ValidationError:
            problems.append(
                _problem("", f"language “{language[:100]}” is not a language tag; set “en”")
            )
            language = "en"
        podcast = Podcast(
            slug=new_show_slug(run, show),
            title=show.title[:255] or "Imported show",
            description=show.description_html,
            author=show.author[:255],
            owner_name=show.owner_name[:255],
            owner_email=show.owner_email[:254],
            language=language,
            category=category,
            second_category=second,
            explicit=show.explicit,
            show_type=show.show_type,
            link=_web_link(show.link, problems),
            copyright=show.copyright[:255],
            podcast_guid=_podcast_guid(show, problems),
            locked=True if show.locked is None else show.locked,
        )
        try:
            with transaction.atomic():
                podcast.save()
                if user is not None:
                    podcast.members.add(user)
                run.podcast = podcast
                run.save(update_fields=["podcast"])
        except IntegrityError:
            # Another run of the same feed created the show a moment ago (a double
            # click): this run goes on into that show, as a re-run would.
            podcast = find_podcast(run, show)
            if podcast is None or (user is not None and not podcast.is_managed_by(user)):
                raise ImportRefused(
                    "The show's slug or podcast:guid was taken while this import started; "
                    "try again (with another --slug if the slug is taken)."
                ) from None
            run.podcast = podcast
            run.save(update_fields=["podcast"])
    elif run.podcast_id != podcast.pk:
        run.podcast = podcast
        run.save(update_fields=["podcast"])
    if show.image_url and not podcast.cover:
        _import_artwork(
            show.image_url, "", problems, lambda n, d: _store_artwork(podcast, "cover", n, d)
        )
    if not Podcast.objects.filter(pk=podcast.pk).exists():
        raise ImportRefused(f"The show “{podcast.slug}” was deleted during the import.")
    return podcast


def _store_artwork(obj: Podcast | Episode, field: str, name: str, data: ContentFile) -> str:
    """Store artwork as ``obj``'s ``field`` unless its row has some by now; a problem or "".

    One conditional UPDATE, never a ``save()`` of the in-memory copy: that
    would undo the creator's edits made during the download, or bring back
    a show or episode deleted meanwhile.
    """
    file = getattr(obj, field)
    file.save(name, data, save=False)  # writes the file; file.name is where
    stored = (
        type(obj)
        .objects.filter(pk=obj.pk, **{field: ""})
        .update(**{field: file.name, "updated_at": timezone.now()})
    )
    if stored:
        if isinstance(obj, Podcast):
            request_publish(obj.pk, now=timezone.now())  # no save(), so no receiver did
        return ""
    file.storage.delete(file.name)
    setattr(obj, field, type(obj).objects.filter(pk=obj.pk).values_list(field, flat=True).first())
    return "artwork set here during the import was kept; the feed's was not used"


def _import_artwork(url: str, guid: str, problems: list[dict], save) -> None:
    """Store the artwork at ``url`` as it is; flag (never alter) what breaks Apple's rules."""
    try:
        data, name = fetch_image(url)
    except MediaError as exc:
        problems.append(_problem(guid, f"artwork not imported: {exc}"))
        return
    found = artwork_problems(data, name)
    if any("not an image" in p for p in found):
        problems.append(_problem(guid, f"artwork {url} is not an image; not imported"))
        return
    kept = save(name, ContentFile(data))
    if kept:
        problems.append(_problem(guid, kept))
        return
    for p in found:
        problems.append(_problem(guid, f"artwork imported as is, but Apple will refuse it: {p}"))


def _episode_fields(item: SourceItem, now: datetime) -> dict:
    return {
        "title": item.title,
        "description": item.description_html,
        "season": item.season,
        "number": item.number,
        "episode_type": item.episode_type,
        "explicit": item.explicit,
        "publish_at": item.published_at or now,
        "guid_is_permalink": item.guid_is_permalink,
    }


def _save_episodes(podcast: Podcast, items: list[SourceItem], now: datetime) -> list[Episode]:
    """The draft episode of each item, in order: new ones created, an earlier run's refreshed.

    One transaction and a handful of queries for the whole list (not five per
    episode): existing drafts and taken slugs are read once, new episodes are
    inserted in one ``executemany`` (:func:`_insert`). That sends no ``post_save``, so
    what its feed receiver does is done here once: one debounced publish
    request for the show, and a planned publish for each scheduled time.
    """
    if not items:
        return []
    with transaction.atomic():
        drafts = {
            e.guid: e for e in podcast.episodes.filter(guid__in=[item.guid for item in items])
        }
        taken = set(podcast.episodes.values_list("slug", flat=True))
        episodes, new = [], []
        for item in items:
            fields = _episode_fields(item, now)
            episode = drafts.get(item.guid)
            if episode is not None:  # a draft an earlier run created: refresh what the feed says
                for name, value in fields.items():
                    setattr(episode, name, value)
                episode.save()
            else:
                episode = Episode(
                    podcast=podcast, guid=item.guid, slug=_free_slug(item.title, taken), **fields
                )
                # What Episode.save() does, which an INSERT of rows skips.
                episode.description = sanitize_html(episode.description)
                new.append(episode)
            episodes.append(episode)
        _insert(podcast, new)
        if new:
            request_publish(podcast.pk, now=now)
            for publish_at in {e.publish_at for e in new}:
                plan_scheduled(podcast.pk, publish_at, now=now)
    return episodes


def _insert(podcast: Podcast, episodes: list[Episode]) -> None:
    """INSERT new episodes with one ``executemany``, then read their ids back (by guid).

    ``bulk_create`` compiles each of an episode's 40 values (about 0.4 ms an
    episode); a show of thousands of episodes would wait seconds on it. Each
    field's ``pre_save`` runs as in a save (``created_at``/``updated_at``).
    """
    if not episodes:
        return
    fields = [f for f in Episode._meta.concrete_fields if not f.primary_key]
    rows = [[f.pre_save(e, add=True) for f in fields] for e in episodes]
    insert_rows(Episode, [f.name for f in fields], rows)
    ids = dict(
        podcast.episodes.filter(guid__in=[e.guid for e in episodes]).values_list("guid", "pk")
    )
    for episode in episodes:
        episode.pk = ids[episode.guid]
        episode._state.adding = False
        episode._state.db = Episode.objects.db


def _free_slug(title: str, taken: set[str]) -> str:
    """Like :func:`episodes.ingest.create_episode`: the title's slug, a random suffix if
    taken or one the show's site uses (an episode titled "Feed")."""
    base = slugify(title)[:90] or "episode"
    slug = base
    while slug in taken or slug in RESERVED_EPISODE_SLUGS:
        slug = f"{base}-{secrets.token_hex(3)}"
    taken.add(slug)
    return slug


def _download_all(run: ImportRun, todo, show: SourceShow, problems, progress: Progress) -> None:
    """Download every episode's audio in parallel threads; record them in batches here.

    The first finished download is recorded at once, then what finished is
    recorded at most every :data:`RECORD_EVERY_SECONDS`, each batch in one
    commit with its processing queued as one message: a killed process loses
    at most that batch's records, and a re-run downloads those drafts again.
    """
    if not todo:
        return
    workers = max(1, settings.IMPORT_PARALLEL_DOWNLOADS)
    pending: dict[Future, tuple[Episode, SourceItem, str]] = {}
    with (
        uploads_storage().scratch_dir() as scratch,
        FetchSession(connections=workers) as session,
        ThreadPoolExecutor(max_workers=workers, thread_name_prefix="import") as pool,
    ):
        finished: list = []  # taken from pending, not yet recorded
        try:
            for episode, item in todo:
                key = upload_key_for(episode, item.media.filename)
                job = (episode, item, key, Path(scratch), session)
                pending[pool.submit(_download, *job)] = (episode, item, key)
            last = -RECORD_EVERY_SECONDS
            while pending:
                if not wait(pending, HEARTBEAT_SECONDS, return_when=FIRST_COMPLETED).done:
                    run.touch()  # one long download: still alive
                    continue
                # The first download is recorded at once; then at most every
                # RECORD_EVERY_SECONDS, with all that finished meanwhile.
                gap = last + RECORD_EVERY_SECONDS - time.monotonic()
                if gap > 0:
                    wait(pending, timeout=gap)
                last = time.monotonic()
                done = [future for future in pending if future.done()]
                finished = [(future, *pending.pop(future)) for future in done]
                # Item artwork is fetched before the batch's transaction: a slow
                # image host must not hold the database's write lock.
                for future, episode, item, _key in finished:
                    if future.exception() is None:
                        _attach_artwork(episode, item, show, problems)
                if finished:
                    _record(run, finished, problems)
                count, finished = len(finished), []
                for _ in range(count):
                    progress.on_downloaded()
        except BaseException:
            for future in pending:
                future.cancel()  # what has not started never starts; the rest finish
            wait(pending)
            # Stored but never recorded: nothing refers to these files (a re-run
            # downloads the episodes again, under new keys).
            unrecorded = [*finished, *((future, *job) for future, job in pending.items())]
            stored = [
                key
                for future, _episode, _item, key in unrecorded
                if not future.cancelled() and future.exception() is None
            ]
            # A batch broken off after its commit (in the hooks that queue its
            # processing) is recorded: its episodes' audio stays.
            recorded = set(
                Episode.objects.filter(source_key__in=stored).values_list("source_key", flat=True)
            )
            for key in stored:
                if key not in recorded:
                    uploads_storage().delete_quietly(key)
            raise


def _download(
    episode: Episode, item: SourceItem, key: str, scratch: Path, session: FetchSession
) -> int:
    """Store the item's audio at ``key``; its checked size. Storage and network I/O only."""
    try:
        download_media(item.media, key, scratch=scratch, session=session)
        return check_upload(episode, key)
    finally:
        close_old_connections()  # threads never use the database, but be sure


def _attach_artwork(episode, item: SourceItem, show: SourceShow, problems: list[dict]) -> None:
    """The item's own artwork (not the show's), imported as is; flagged in ``problems``."""
    if item.image_url and item.image_url != show.image_url and not episode.image:
        _import_artwork(
            item.image_url, item.guid, problems, lambda n, d: _store_artwork(episode, "image", n, d)
        )


def _record(run: ImportRun, finished: list, problems: list[dict]) -> None:
    """Record a batch of finished downloads in one commit (two queries per 100 episodes)."""
    sources, failures = [], []
    for future, episode, item, key in finished:
        try:
            size = future.result()
        except (MediaError, UploadError) as exc:
            failures.append((episode, item, str(exc)))
        except Exception as exc:  # storage down, disk full…: that episode fails, the rest go on
            log.exception("importing %s: could not store its audio", item.guid)
            failures.append((episode, item, f"could not store the audio: {exc}"))
        else:
            sources.append((episode, key, size, recorded_filename(key, item.media.filename)))
    items = {episode.pk: item for _f, episode, item, _k in finished}
    with transaction.atomic(), processing_in_one_message():
        moved = {e.pk for e in Episode.mark_uploaded_many(sources, now=timezone.now())}
        for episode, key, size, name in sources:
            if episode.pk in moved:
                log.info(
                    "imported %s (%s bytes) as episode %s", items[episode.pk].guid, size, episode.pk
                )
                continue
            kept = _kept_meanwhile(episode)
            if kept:
                # The creator's own audio (uploaded in the admin meanwhile) wins over the
                # feed's copy, which nothing will refer to: delete it.
                uploads_storage().delete_quietly(key)
                problems.append(_problem(items[episode.pk].guid, kept))
                continue
            try:
                confirm_upload(episode, key=key, filename=name)
            except UploadError as exc:
                failures.append((episode, items[episode.pk], str(exc)))
        for episode, item, reason in failures:
            episode.record_import_failure(reason)
            problems.append(_problem(item.guid, f"audio not imported: {reason}", dropped=True))
        run.record_downloaded(len(finished))


def _kept_meanwhile(episode: Episode) -> str:
    """Why the feed's audio must not replace what ``episode`` got during its download ("" if
    it is still a draft waiting for it)."""
    try:
        episode.refresh_from_db(fields=["status"])
    except Episode.DoesNotExist:
        return "deleted during the import: the feed's audio was not kept"
    if episode.status == Episode.Status.DRAFT:
        return ""
    return "audio uploaded in the admin during the import was kept; the feed's copy was not used"


def import_status(run: ImportRun) -> dict:
    """What the admin's import page polls: status, the three counters, and the report once done."""
    processed = 0
    if run.podcast_id:
        processed = run.podcast.episodes.filter(
            guid__in=[i["guid"] for i in run.old_items],
            status__in=(Episode.Status.READY, Episode.Status.FAILED),
        ).count()
    data = {
        "id": run.pk,
        "status": run.status,
        "status_display": run.get_status_display(),
        "error_message": run.error_message,
        "items_found": run.items_found,
        "media_total": run.media_total,
        "media_downloaded": run.media_downloaded,
        "processed": processed,
        "podcast_slug": run.podcast.slug if run.podcast_id else "",
        "report": [],
        "clean": None,
    }
    if run.status == ImportRun.Status.DONE:
        report = parity_report(run)
        data["report"] = report.lines()
        data["clean"] = report.clean
    return data


def run_feed_import(run_id: int) -> str:
    """Run (or resume) the RSS import ``run_id`` as its requester. Idempotent.

    A refused import (locked, unreachable, not a feed…) fails the run with the reason.
    """
    run = ImportRun.objects.select_related("requested_by", "podcast").filter(pk=run_id).first()
    if run is None or run.status in (ImportRun.Status.DONE, ImportRun.Status.FAILED):
        return "nothing to do"
    try:
        show = read_feed_source_url(run.source)
        import_show(run, show, user=run.requested_by)
    except ImportRefused as exc:
        run.mark_failed(str(exc))
        return "refused"
    except (DatabaseError, SoftTimeLimitExceeded):
        raise  # the task retries (a busy database) or is redelivered: the run resumes
    except Exception as exc:
        # Never a run left "running" for its page to poll forever: what was imported
        # stays, and importing the same feed again resumes from there.
        log.exception("Import #%s broke off", run.pk)
        run.mark_failed(
            f"The import broke off ({type(exc).__name__}: {str(exc)[:300]}). "
            "What was imported is kept; import the same feed again to resume."
        )
        return "failed"
    return "imported"


def give_up(run_id: int, reason: str) -> None:
    """Fail the run ``run_id`` once its task has used up its retries."""
    run = ImportRun.objects.filter(pk=run_id).first()
    if run is not None and run.status not in (ImportRun.Status.DONE, ImportRun.Status.FAILED):
        run.mark_failed(
            f"The import kept failing ({reason[:300]}). What was imported is kept; "
            "import the same feed again to resume."
        )


def read_feed_source_url(url: str) -> SourceShow:
    """Like :func:`read_feed_source`, but a URL only: a web form never names a local file."""
    body, final, content_type = fetch_feed(url)
    try:
        return parse_feed(body, url=final, content_type=content_type)
    except FeedError as exc:
        raise ImportRefused(str(exc)) from exc
