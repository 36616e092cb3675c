"""Bringing a show over from another host: its RSS feed, or the seed's DynamoDB table.

``rss`` reads a feed, ``dynamodb`` the seed's table, both into the
source-neutral :mod:`~episodes.importers.source` shapes; ``shows`` imports
them (identity kept, media downloaded through ``safe_http``/``media`` into the
normal pipeline); ``parity`` compares the old feed with ours.
"""
