"""Download analytics after the IAB Podcast Measurement Technical Guidelines v2.

Two sources, one set of rules: the one-machine ``/media/`` view
(:mod:`feeds.analytics.recording`) and CloudFront standard logs
(:mod:`feeds.analytics.cloudfront`, :mod:`feeds.analytics.ingest`) both turn
requests into :class:`~feeds.analytics.models.DownloadEvent` rows through
:mod:`feeds.analytics.rules`; :mod:`feeds.analytics.aggregate` merges each
listener's byte ranges into downloads, keeps only daily aggregates and deletes
raw events after ``ANALYTICS_RAW_RETENTION_DAYS``.
"""
