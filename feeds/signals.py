"""Signals of the feeds app, so its domain code need not import its tasks."""

from django.dispatch import Signal

#: Sent by ``FeedState.objects.request_publish`` when it set the "publish
#: requested" marker (the first change of a burst), inside the caller's
#: transaction. Argument: ``podcast_id``. Receivers that enqueue the publish
#: must use ``transaction.on_commit``.
feed_publish_requested = Signal()

#: Sent by ``publishing.publish_feed`` after a publish ran to its end (outside
#: any transaction). Arguments: ``podcast_id``, ``changed`` (``True`` when a
#: new feed was written to the feeds storage). Receivers enqueue the pings and
#: the "published" notifications.
feed_published = Signal()  # podcast_id: int, changed: bool

#: Sent by the publish gate when its findings kept the old feed in place.
#: Arguments: ``podcast_id``, ``findings`` (one plain sentence each).
feed_publish_blocked = Signal()  # podcast_id: int, findings: list[str]
