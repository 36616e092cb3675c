"""Signals of the feeds app, so its domain code need not import its tasks."""

from django.dispatch import Signal

#: Sent by ``FeedState.objects.request_publish`` when it set the "publish
#: requested" marker (the first change of a burst), inside the caller's
#: transaction. Argument: ``podcast_id``. Receivers that enqueue the publish
#: must use ``transaction.on_commit``.
feed_publish_requested = Signal()
