"""The Celery app: configured from Django settings (``CELERY_*``), tasks found in apps."""

from __future__ import annotations

import os

from celery import Celery

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "podcasthost.settings")

app = Celery("podcasthost")
app.config_from_object("django.conf:settings", namespace="CELERY")
# Task modules: <app>/tasks.py, episodes/ingest.py (the S3 drop-in consumer) and
# episodes/job_events.py (the MediaConvert job-events consumer).
app.autodiscover_tasks()
app.autodiscover_tasks(related_name="ingest")
app.autodiscover_tasks(related_name="job_events")
