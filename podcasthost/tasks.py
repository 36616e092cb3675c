"""The one way to write a Celery task here: ``@task(...)`` with the policy of :class:`PodcastTask`.

A task module (``<app>/tasks.py``) holds thin wrappers: each parses its
keyword arguments and makes one call into its app's domain code. The
policy is declared once, on the class, and each task adds only what is its
own (which errors are transient, an ``expires`` for periodic ones):

* ``acks_late``: a task whose worker dies is redelivered; the domain's
  compare-and-swap makes the second delivery harmless.
* ``autoretry_for`` transient errors only, with exponential backoff
  (5 s, 10 s, 20 s … capped, with full jitter) kept well under the broker's
  visibility timeout, at most ``max_retries`` times:
  https://docs.celeryq.dev/en/stable/userguide/tasks.html#automatic-retry-for-known-exceptions
* ``ignore_result``: nothing reads task results.
* Unknown keyword arguments are logged and dropped, so messages queued by an
  older or newer deploy still run (Read the Docs does the same).
"""

from __future__ import annotations

import inspect
import logging
from collections.abc import Callable
from typing import Any

import celery
from celery import shared_task

log = logging.getLogger(__name__)

MAX_RETRIES = 8


class PodcastTask(celery.Task):
    """Base class of every task of the project; see the module docstring for the policy."""

    acks_late = True
    ignore_result = True
    max_retries = MAX_RETRIES
    autoretry_for: tuple[type[BaseException], ...] = ()
    retry_backoff = 5
    retry_backoff_max = 600
    retry_jitter = True

    def __call__(self, *args: Any, **kwargs: Any) -> Any:
        kwargs = self._known_kwargs(kwargs)
        if self.request.called_directly:
            # A plain function call, outside any worker or apply(): no retries.
            return super().__call__(*args, **kwargs)
        try:
            return super().__call__(*args, **kwargs)
        except self.autoretry_for as exc:
            # Celery's retry() re-raises the error itself only once
            # max_retries are used up; below that it raises Retry.
            return self.retries_exhausted(exc, kwargs)

    def retries_exhausted(self, exc: BaseException, kwargs: dict[str, Any]) -> Any:
        """Called when a transient error outlived the retries; its return value is the result.

        The default re-raises: the task fails and the worker logs it.
        """
        raise exc

    def _known_kwargs(self, kwargs: dict[str, Any]) -> dict[str, Any]:
        parameters = inspect.signature(getattr(self, "_orig_run", self.run)).parameters
        if any(p.kind is inspect.Parameter.VAR_KEYWORD for p in parameters.values()):
            return kwargs
        unknown = sorted(set(kwargs) - set(parameters))
        if not unknown:
            return kwargs
        # Messages from an older or newer deploy may carry other arguments.
        log.info("%s: ignoring unknown task arguments %s", self.name, unknown)
        return {name: value for name, value in kwargs.items() if name in parameters}


def task(
    *, base: type[PodcastTask] = PodcastTask, **options: Any
) -> Callable[[Callable[..., Any]], PodcastTask]:
    """``shared_task`` with :class:`PodcastTask` (or a subclass of it) as its base.

    ``options`` are Celery's task options, e.g. ``autoretry_for=(...)``, ``expires=60``.
    """
    if not issubclass(base, PodcastTask):
        raise TypeError(f"{base!r} is not a PodcastTask")
    return shared_task(base=base, **options)
