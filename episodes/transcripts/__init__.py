"""Episode transcripts: one stored form (cues), every served format derived from it.

:mod:`~episodes.transcripts.formats` reads a file (SRT, WebVTT, Podcasting 2.0
JSON, plain text) into cues and writes each served format;
:class:`~episodes.transcripts.errors.TranscriptError` says what is wrong and where.
"""
