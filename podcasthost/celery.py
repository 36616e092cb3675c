"""The Celery app: configured from Django settings (``CELERY_*``), tasks found in apps."""

from __future__ import annotations

import os

from celery import Celery

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "podcasthost.settings")

app = Celery("podcasthost")
app.config_from_object("django.conf:settings", namespace="CELERY")
# Tasks live in <app>/tasks.py only; periodic ones are in CELERY_BEAT_SCHEDULE.
app.autodiscover_tasks()
