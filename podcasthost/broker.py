"""The check ops commands make before work that queues Celery tasks.

Their tasks are queued after the database commit, where a broker error can
only be logged: the command would report success while nothing was queued.
So the commands check the broker first and stop with one clear line.
"""

from __future__ import annotations

from django.conf import settings
from django.core.management.base import CommandError


def broker_problem(url: str, *, timeout_seconds: float = 5.0) -> tuple[str, Exception | None]:
    """``(url with the password masked, the error)``; the error is ``None`` when it answers."""
    from podcasthost.celery import app as celery_app

    connection = celery_app.connection_for_write(url=url, connect_timeout=timeout_seconds)
    shown = connection.as_uri()
    try:
        connection.ensure_connection(max_retries=1, interval_start=0, timeout=timeout_seconds)
    except Exception as exc:  # kombu raises the transport's own errors
        return shown, exc
    finally:
        connection.release()
    return shown, None


def require_broker(*, timeout_seconds: float = 5.0) -> None:
    """Return if the Celery broker accepts a connection (or tasks run eagerly).

    Raises ``CommandError`` naming the broker URL (password masked) otherwise.
    """
    from podcasthost.celery import app as celery_app

    if celery_app.conf.task_always_eager:
        return
    shown, exc = broker_problem(settings.CELERY_BROKER_URL, timeout_seconds=timeout_seconds)
    if exc is not None:
        raise CommandError(
            f"Cannot reach the task broker at {shown}: {exc} — is `make run` "
            "running (with the same VAR_DIR)? Otherwise set REDIS_URL or CELERY_BROKER_URL."
        )
