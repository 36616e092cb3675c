"""The Podcasting 2.0 namespace beyond guid/locked/season/episode: the data creators enter.

People (``podcast:person``), funding, trailers, licence, medium, location,
``podcast:txt``, the update frequency and the podroll, as models and
validators; :mod:`feeds.namespace` writes them into the feed. Each tag as
https://github.com/Podcastindex-org/podcast-namespace/blob/main/docs/1.0.md
documents it.
"""
