"""Episode transcripts: one stored form (cues), every served format derived from it."""
