"""Episode chapters: the Podcasting 2.0 JSON format, their rules, and the tags written into files.

Stored once as :class:`episodes.models.Chapter` rows; served as JSON chapters
(:mod:`episodes.chapters.json_format`), linked from the feed with
``<podcast:chapters>``, and written into the MP3 (ID3v2 ``CHAP``/``CTOC``) and
M4A (chapter track) renditions under new keys (:mod:`episodes.chapters.files`).
"""
