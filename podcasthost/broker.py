"""The check ops commands make before work that queues Celery tasks.

Their tasks are queued after the database commit, where a broker error can
only be logged: the command would report success while nothing was queued.
So the commands check the broker first and stop with one clear line.
"""

from __future__ import annotations

from django.conf import settings
from django.core.management.base import CommandError


def require_broker(*, timeout_seconds: float = 5.0) -> None:
    """Return if the Celery broker accepts a connection (or tasks run eagerly).

    Raises ``CommandError`` naming the broker URL (password masked) otherwise.
    """
    from podcasthost.celery import app as celery_app

    if celery_app.conf.task_always_eager:
        return
    connection = celery_app.connection_for_write(
        url=settings.CELERY_BROKER_URL, connect_timeout=timeout_seconds
    )
    try:
        connection.ensure_connection(max_retries=1, interval_start=0, timeout=timeout_seconds)
    except Exception as exc:  # kombu raises the transport's own errors
        raise CommandError(
            f"Cannot reach the task broker at {connection.as_uri()}: {exc} — is `make run` "
            "running (with the same VAR_DIR)? Otherwise set REDIS_URL or CELERY_BROKER_URL."
        ) from None
    finally:
        connection.release()
