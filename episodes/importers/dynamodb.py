"""Reading the seed's DynamoDB table: one show per ``podcastId``, one episode per ``episodeId``.

The seed's Lambdas wrote ``{podcastId, episodeId, originalKey, status
(PROCESSING | COMPLETED | ERROR), createdAt, completedAt, formats: [keys in
the output bucket, the MP3 first]}`` and published each item with the guid
``<podcastId>-<episodeId>``, title ``Episode <episodeId>``, pubDate
``completedAt``, in a show titled ``Podcast <podcastId>``. Those are kept, so
the seed's listeners see the same episodes.
"""

from __future__ import annotations

from collections import defaultdict
from datetime import UTC, datetime

import boto3
from botocore.exceptions import BotoCoreError, ClientError

from episodes.importers.source import SourceItem, SourceMedia, SourceShow


class TableError(Exception):
    """The table cannot be read; the message says why."""


def _when(value: str) -> datetime | None:
    try:
        parsed = datetime.fromisoformat(value.replace("Z", "+00:00"))
    except (AttributeError, ValueError):
        return None
    return parsed if parsed.tzinfo else parsed.replace(tzinfo=UTC)


def read_table(table: str, *, bucket: str, region: str) -> dict[str, SourceShow]:
    """Every show of the seed's ``table``, keyed by ``podcastId``, items newest first.

    Raises :class:`TableError` if the table cannot be scanned.
    """
    client = boto3.client("dynamodb", region_name=region)
    shows: dict[str, list[dict]] = defaultdict(list)
    try:
        for page in client.get_paginator("scan").paginate(TableName=table):
            for raw in page["Items"]:
                shows[raw["podcastId"]["S"]].append(raw)
    except (ClientError, BotoCoreError) as exc:
        raise TableError(f"Could not read the DynamoDB table {table!r}: {exc}") from exc
    return {pid: _show(pid, rows, bucket, region) for pid, rows in sorted(shows.items())}


def _item(podcast_id: str, row: dict, bucket: str, region: str) -> SourceItem:
    episode_id = row["episodeId"]["S"]
    status = row.get("status", {}).get("S", "")
    formats = [f["S"] for f in row.get("formats", {}).get("L", []) if "S" in f]
    item = SourceItem(
        guid=f"{podcast_id}-{episode_id}",
        guid_is_permalink=None,
        title=f"Episode {episode_id}",
        published_at=_when(row.get("completedAt", {}).get("S", "")),
        description_html=f"Podcast episode {episode_id}",
    )
    if status != "COMPLETED":
        error = row.get("error", {}).get("S", "")
        item.unusable = f"the seed never finished it (status {status or 'unknown'}) {error}".strip()
    elif not formats:
        item.unusable = "the seed recorded no output file"
    else:
        item.media = SourceMedia(
            bucket=bucket, key=formats[0], region=region, declared_type="audio/mpeg"
        )
    return item


def _show(podcast_id: str, rows: list[dict], bucket: str, region: str) -> SourceShow:
    items = [_item(podcast_id, row, bucket, region) for row in rows]
    items.sort(key=lambda i: i.published_at or datetime.min.replace(tzinfo=UTC), reverse=True)
    return SourceShow(
        title=f"Podcast {podcast_id}",
        description_html=f"Automated podcast feed for {podcast_id}",
        language="en-us",
        author=f"Podcast {podcast_id}",
        categories=[("Technology", None)],
        items=items,
    )
