"""Signals other parts of the pipeline listen to, so apps need not import each other."""

from django.dispatch import Signal

#: Sent by ``Episode.transition`` after its conditional UPDATE won, inside the
#: caller's transaction. Arguments: ``episode`` (the instance, already in the
#: new state), ``source`` and ``target`` (status values). Receivers that
#: enqueue work must use ``transaction.on_commit`` / ``delay_on_commit``.
episode_transitioned = Signal()

#: Sent by ``pipeline.reconcile`` for an ``uploaded`` episode nobody picked up
#: (its enqueue was lost). Argument: ``episode_id``. Receivers enqueue the
#: processing with ``transaction.on_commit``.
processing_requested = Signal()

#: Sent by ``notifications.record_event`` inside its transaction once an event
#: and its webhook deliveries are stored, and by ``notifications.resend_lost``
#: for what was left unsent. Arguments: ``event_id`` (``None``: deliveries
#: only), ``delivery_ids``. Receivers queue the senders with ``transaction.on_commit``.
event_recorded = Signal()

#: Sent by ``webhooks.redeliver`` when a failed delivery is to be tried again,
#: and by ``webhooks.send_test`` for a test delivery.
#: Argument: ``delivery_id``. Receivers queue it with ``transaction.on_commit``.
delivery_requested = Signal()

#: Sent by ``Episode.touch`` when something its feed item or page shows changed
#: outside the episode's row (a transcript published, edited or removed), after
#: ``updated_at`` moved. Arguments: ``episode_id``, ``podcast_id``. The feeds
#: app requests a publish.
episode_content_changed = Signal()

#: Sent by :mod:`episodes.transcription` when an automatic transcript is to be
#: made (a new pending draft, a lost job, or reconcile finding one nobody
#: works on). Argument: ``transcript_id``. Receivers queue the transcription
#: with ``transaction.on_commit``.
transcription_requested = Signal()

#: Sent by ``ChapterQuerySet.replace_for`` (the admin's chapters inline and file
#: upload, ``attach_chapters``) inside the caller's transaction. Argument:
#: ``episode_id``. The receiver re-tags the renditions with ``transaction.on_commit``.
chapters_changed = Signal()
