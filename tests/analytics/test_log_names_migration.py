"""Migration 0006: log files recorded as s3://bucket/key go by their delivery (base) name."""

from __future__ import annotations

import importlib

import pytest
from django.apps import apps
from django.utils import timezone

from feeds.analytics.models import ProcessedLogFile

migration = importlib.import_module("feeds.migrations.0006_window_before_hash_log_delivery_names")


@pytest.mark.django_db
def test_s3_rows_take_their_base_name_and_a_file_counted_both_ways_stays_once():
    now = timezone.now()
    for name in (
        "s3://logs/cdn/E2.2026-11-30-09.aaaa.gz",
        "s3://logs/cdn/E2.2026-11-30-10.bbbb.gz",
        "E2.2026-11-30-10.bbbb.gz",  # the same delivery, also ingested as a local copy
        "local-only.gz",
    ):
        ProcessedLogFile.objects.create(name=name, processed_at=now)

    migration.by_delivery_name(apps, None)

    assert sorted(ProcessedLogFile.objects.values_list("name", flat=True)) == [
        "E2.2026-11-30-09.aaaa.gz",
        "E2.2026-11-30-10.bbbb.gz",
        "local-only.gz",
    ]
