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

#: Sent by ``feeds.publishing.publish_feed`` when the publish gate's errors
#: blocked a publish (the last good feed stays), once per new set of errors.
#: Arguments: ``podcast_id``, ``findings`` (one plain sentence each).
feed_publish_blocked = Signal()  # podcast_id: int, findings: list[str]

#: Sent by ``PlannedPublish.objects.plan`` when a publish at ``publish_at`` (a
#: scheduled episode's time) is newly planned. Arguments: ``podcast_id``,
#: ``publish_at``. The receiver queues the task with that ``eta`` on commit.
feed_publish_planned = Signal()
